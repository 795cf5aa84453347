package codeengine_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// objEnv is an env with the object-code service and an object rule bound
// to an app of the main platform and to an app of a sub-platform (徐汇).
type objEnv struct {
	*env
	obj     *codeengine.Objects
	rule    string
	app     string
	sub     string
	subRule string
	subApp  string
}

func newObjEnv(t *testing.T) *objEnv {
	t.Helper()
	e := &objEnv{env: newEnv(t)}
	e.obj = e.objects(e.rules)
	main := e.ctx(mainAdmin())
	r := e.env.rule(&codeengine.RuleIn{Name: "一物一码", Form: "static", Family: "object"})
	must(e.rules.Publish(main, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	e.rule, e.app = r.ID, e.env.app(tenancy.MainPlatformID, "城管")
	must(e.rules.Bind(main, &codeengine.BindIn{AppID: e.app, RuleIDs: []string{r.ID}}))(t)
	e.sub = e.platform("徐汇", "310104")
	sr := e.env.rule(&codeengine.RuleIn{Name: "徐汇一物一码", Form: "static", Family: "object", PlatformID: e.sub})
	must(e.rules.Publish(main, &codeengine.RuleIDIn{RuleID: sr.ID}))(t)
	must(e.rules.Push(main, &codeengine.RuleIDIn{RuleID: sr.ID}))(t)
	e.subRule, e.subApp = sr.ID, e.env.app(e.sub, "徐汇城管")
	must(e.rules.Bind(e.ctx(subAdmin(e.sub)), &codeengine.BindIn{AppID: e.subApp, RuleIDs: []string{sr.ID}}))(t)
	return e
}

// objects is an object-code service over rules, as a host node has.
func (e *env) objects(rules *codeengine.Rules) *codeengine.Objects {
	e.t.Helper()
	ev, err := events.New(context.Background(), events.Config{Pool: e.pool, Clock: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { ev.Close(context.Background()) })
	o, err := codeengine.NewObjects(rules, ev, "https://m.example.cn")
	if err != nil {
		e.t.Fatal(err)
	}
	return o
}

// console is ctx for a as the HTTP layer makes it for a console route
// requiring action: authorized, with the decision's data scope.
func (e *env) console(a *actor.Actor, action string) context.Context {
	e.t.Helper()
	ctx, err := e.eng.AuthorizeAction(e.ctx(a), action)
	if err != nil {
		e.t.Fatalf("%s may not %s: %v", a.Account, action, err)
	}
	return ctx
}

// codes pre-issues n empty codes of typeID for the main platform's app.
func (e *objEnv) codes(typeID, region string, n int) []codeengine.ObjectCode {
	e.t.Helper()
	ctx := e.ctx(root())
	b, err := e.obj.PreIssue(ctx, e.app, tenancy.MainPlatformID, e.rule, typeID, region, n)
	if err != nil {
		e.t.Fatal(err)
	}
	cs, err := e.obj.BatchCodes(ctx, tenancy.MainPlatformID, b.BatchID, 0, n)
	if err != nil {
		e.t.Fatal(err)
	}
	return cs
}

func (e *objEnv) typ(in *codeengine.TypeIn) *codeengine.ObjectType {
	e.t.Helper()
	t, err := e.obj.CreateType(e.ctx(mainAdmin()), in)
	if err != nil {
		e.t.Fatalf("create type %s: %v", in.Name, err)
	}
	return t
}

func num(c codeengine.ObjectCode) string { return strconv.FormatInt(c.Number, 10) }

func boolp(b bool) *bool { return &b }

// toilet is a type of public toilets: address and componentNo required.
func toilet(review, unique bool) *codeengine.TypeIn {
	in := &codeengine.TypeIn{Name: "公共厕所", RequiredFields: []codeengine.Field{
		{Name: "address", Required: true}, {Name: "componentNo", Label: "部件编号", Required: true}},
		ReviewRequired: review}
	if unique {
		in.IndustryCodeField, in.IndustryCodeUnique = "componentNo", true
	}
	return in
}

func attrs(no string) map[string]any {
	return map[string]any{"address": "徐汇区漕溪北路1号", "componentNo": no}
}

// wantMessage fails unless err carries code and its message holds every part.
func wantMessage(t *testing.T, err error, code string, parts ...string) {
	t.Helper()
	wantCode(t, err, code)
	fe, _ := fault.As(err)
	for _, p := range parts {
		if !strings.Contains(fe.Message, p) {
			t.Fatalf("message %q lacks %q", fe.Message, p)
		}
	}
}

// 需审核: with the switch on, activation and entry leave codes pending
// review; verification says so; the competent department approves or
// rejects with a reason; the decision is recorded; switched off, codes are
// active at once.
func TestObjectReview(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	ctx := e.ctx(root())
	typ := e.typ(toilet(true, false))
	if !typ.ReviewRequired || typ.ReviewAutoApprove == nil || !*typ.ReviewAutoApprove {
		t.Fatalf("created type %+v", typ)
	}
	cs := e.codes(typ.ID, "310104", 4)

	got := must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, cs[0].Token, &codeengine.ActivateIn{Attributes: attrs("WC-1"), OwnerUnit: "徐汇区绿化市容局"}))(t)
	if got.Status != "pending_review" {
		t.Fatalf("activated under review: %s", got.Status)
	}
	_, err := e.obj.Verify(ctx, e.app, tenancy.MainPlatformID, got.URL, "")
	wantMessage(t, err, fault.CodeCodeNotActive, "awaits review")
	entered := must(e.obj.Enter(ctx, e.app, tenancy.MainPlatformID, &codeengine.EntryIn{CodeDefID: e.rule,
		EntryItem: codeengine.EntryItem{TypeID: typ.ID, RegionCode: "310104", Attributes: attrs("WC-2")}}))(t)
	if entered.Status != "pending_review" {
		t.Fatalf("entered under review: %s", entered.Status)
	}

	reviewer := e.console(mainAdmin(), "objcode.review")
	queue := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{Result: "pending"}))(t)
	if queue.Total != 2 || queue.Items[0].Number != got.Number || queue.Items[0].Action != "activate" || queue.Items[1].Action != "entry" ||
		queue.Items[0].AutoApproveAt == nil || !queue.Items[0].AutoApproveAt.Equal(e.clock.Now().Add(72*time.Hour)) ||
		!strings.Contains(string(queue.Items[0].Attributes), "WC-1") || queue.Items[0].OwnerUnit != "徐汇区绿化市容局" {
		t.Fatalf("review queue %+v", queue)
	}
	first, second := queue.Items[0].ID, queue.Items[1].ID

	t.Run("a rejection needs a reason and is recorded", func(t *testing.T) {
		_, err := e.obj.Reject(reviewer, &codeengine.ReviewIn{ReviewID: first, Reason: "  "})
		wantCode(t, err, fault.CodeMissingParameter)
		e.clock.Advance(time.Hour)
		r := must(e.obj.Reject(reviewer, &codeengine.ReviewIn{ReviewID: first, Reason: "地址与现场不符"}))(t)
		if r.Result != "rejected" || r.Reviewer != "main" || r.ReviewerID != 1 || r.Reason != "地址与现场不符" ||
			r.ReviewedAt == nil || !r.ReviewedAt.Equal(e.clock.Now()) || r.AutoApproveAt != nil {
			t.Fatalf("rejection %+v", r)
		}
		_, err = e.obj.Verify(ctx, e.app, tenancy.MainPlatformID, got.Token, "")
		wantMessage(t, err, fault.CodeCodeNotActive, "rejected", "地址与现场不符")
		_, err = e.obj.Approve(reviewer, &codeengine.ReviewIn{ReviewID: first})
		wantMessage(t, err, fault.CodeFailedOperation, "already decided", "rejected by main")
		// The submitter corrects the data and submits it again.
		again := must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, got.Token, &codeengine.ActivateIn{Attributes: attrs("WC-1b")}))(t)
		if again.Status != "pending_review" || again.ReviewReason != "" {
			t.Fatalf("resubmitted: %+v", again)
		}
	})

	t.Run("approval makes the code active", func(t *testing.T) {
		r := must(e.obj.Approve(reviewer, &codeengine.ReviewIn{ReviewID: second}))(t)
		if r.Result != "approved" || r.Reviewer != "main" {
			t.Fatalf("approval %+v", r)
		}
		v := must(e.obj.Verify(ctx, e.app, tenancy.MainPlatformID, entered.URL, ""))(t)
		if v.Status != "active" {
			t.Fatalf("approved code verifies as %s", v.Status)
		}
		_, err := e.obj.Approve(reviewer, &codeengine.ReviewIn{ReviewID: 999999})
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("modifying a pending code replaces its submission", func(t *testing.T) {
		m := must(e.obj.Modify(ctx, e.app, tenancy.MainPlatformID, got.Token, &codeengine.ModifyIn{Attributes: map[string]any{"componentNo": "WC-1c"}}))(t)
		if m.Status != "pending_review" {
			t.Fatalf("modified pending code: %s", m.Status)
		}
		l := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{Number: got.Number}))(t)
		if l.Total != 3 || l.Items[0].Action != "modify" || l.Items[0].Result != "pending" || !strings.Contains(string(l.Items[0].Attributes), "WC-1c") ||
			l.Items[1].Result != "withdrawn" || l.Items[2].Result != "rejected" {
			t.Fatalf("reviews of the code %+v", l.Items)
		}
	})

	t.Run("the competent department only", func(t *testing.T) {
		pending := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{Result: "pending"}))(t)
		if pending.Total != 1 {
			t.Fatalf("pending %+v", pending)
		}
		id := pending.Items[0].ID
		// Another sub-platform's administrator: outside its platform.
		other := e.platform("静安", "310106")
		_, err := e.obj.Approve(e.console(subAdmin(other), "objcode.review"), &codeengine.ReviewIn{ReviewID: id})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		// A main-platform reviewer confined to another object type.
		narrow := staff(tenancy.MainPlatformID, "objcode.review")
		narrow.ObjectTypes = []string{"T9999"}
		nctx := e.console(narrow, "objcode.review")
		_, err = e.obj.Approve(nctx, &codeengine.ReviewIn{ReviewID: id})
		wantMessage(t, err, fault.CodeUnauthorizedOperation, "object types")
		if l := must(e.obj.ListReviews(nctx, &codeengine.ListReviewsIn{}))(t); l.Total != 0 {
			t.Fatalf("a reviewer of another type lists %d reviews", l.Total)
		}
		// Staff without the review permission are refused by the policy.
		if _, err := e.eng.AuthorizeAction(e.ctx(staff(tenancy.MainPlatformID, "objcode.read")), "objcode.review"); fault.CodeOf(err) != fault.CodeUnauthorizedOperation {
			t.Fatalf("review without permission: %v", err)
		}
		// A city-wide type is reviewed by the main platform, not the district.
		city := e.typ(&codeengine.TypeIn{Name: "消防栓", Management: "city", ReviewRequired: true})
		b := must(e.obj.PreIssue(ctx, e.subApp, e.sub, e.subRule, city.ID, "310104", 1))(t)
		c := must(e.obj.BatchCodes(ctx, e.sub, b.BatchID, 0, 1))(t)[0]
		must(e.obj.Activate(ctx, e.subApp, e.sub, c.Token, &codeengine.ActivateIn{}))(t)
		district := e.console(subAdmin(e.sub), "objcode.review")
		if l := must(e.obj.ListReviews(district, &codeengine.ListReviewsIn{}))(t); l.Total != 0 {
			t.Fatalf("the district lists city-wide reviews: %+v", l.Items)
		}
		cr := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{TypeID: city.ID}))(t).Items[0]
		_, err = e.obj.Approve(district, &codeengine.ReviewIn{ReviewID: cr.ID})
		wantMessage(t, err, fault.CodeUnauthorizedOperation, "city-wide")
		must(e.obj.Approve(reviewer, &codeengine.ReviewIn{ReviewID: cr.ID}))(t)
		// A local type's code of the district is the district's to review.
		local := e.typ(&codeengine.TypeIn{Name: "垃圾箱", ReviewRequired: true})
		b = must(e.obj.PreIssue(ctx, e.subApp, e.sub, e.subRule, local.ID, "310104", 1))(t)
		c = must(e.obj.BatchCodes(ctx, e.sub, b.BatchID, 0, 1))(t)[0]
		must(e.obj.Activate(ctx, e.subApp, e.sub, c.Token, &codeengine.ActivateIn{}))(t)
		lr := must(e.obj.ListReviews(district, &codeengine.ListReviewsIn{}))(t)
		if lr.Total != 1 || lr.Items[0].Number != c.Number {
			t.Fatalf("the district's queue %+v", lr.Items)
		}
		must(e.obj.Approve(district, &codeengine.ReviewIn{ReviewID: lr.Items[0].ID}))(t)
	})

	t.Run("cancelling withdraws a pending submission", func(t *testing.T) {
		c := must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, cs[1].Token, &codeengine.ActivateIn{Attributes: attrs("WC-3")}))(t)
		must(0, e.obj.Cancel(ctx, e.app, tenancy.MainPlatformID, c.Token))(t)
		l := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{Number: c.Number}))(t)
		if l.Total != 1 || l.Items[0].Result != "withdrawn" {
			t.Fatalf("review of a cancelled code %+v", l.Items)
		}
		_, err := e.obj.Approve(reviewer, &codeengine.ReviewIn{ReviewID: l.Items[0].ID})
		wantCode(t, err, fault.CodeFailedOperation)
	})

	t.Run("switched off, codes are active at once", func(t *testing.T) {
		in := toilet(false, false)
		must(e.obj.UpdateType(e.console(mainAdmin(), "objtype.update"), &codeengine.UpdateTypeIn{TypeID: typ.ID, TypeIn: *in}))(t)
		c := must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, cs[2].Token, &codeengine.ActivateIn{Attributes: attrs("WC-4")}))(t)
		if c.Status != "active" {
			t.Fatalf("activated with review off: %s", c.Status)
		}
		// The submission made while it was on still waits.
		if l := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{Result: "pending"}))(t); l.Total != 1 || l.Items[0].Number != got.Number {
			t.Fatalf("pending after the switch %+v", l.Items)
		}
	})
}

// 72小时自动通过: the sweep approves what nobody reviewed in 72 hours, by
// the service's clock, only when the type allows it, once whatever the
// number of nodes sweeping.
func TestReviewAutoApproval(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	ctx := e.ctx(root())
	auto := e.typ(&codeengine.TypeIn{Name: "井盖", ReviewRequired: true})
	manual := e.typ(&codeengine.TypeIn{Name: "路灯", ReviewRequired: true, ReviewAutoApprove: boolp(false)})
	items := make([]codeengine.EntryItem, 300)
	for i := range items {
		items[i] = codeengine.EntryItem{TypeID: auto.ID, RegionCode: "310104"}
	}
	items[299].TypeID = manual.ID
	res := must(e.obj.EnterBatch(ctx, e.app, tenancy.MainPlatformID, &codeengine.BatchEntryIn{CodeDefID: e.rule, Items: items}))(t)
	if res.Created != 300 || res.Failed != 0 {
		t.Fatalf("entry %+v", res)
	}

	e.clock.Advance(72*time.Hour - time.Second)
	if n := must(e.obj.SweepReviews(ctx))(t); n != 0 {
		t.Fatalf("swept %d before 72 hours", n)
	}
	e.clock.Advance(time.Second)
	// Three nodes sweep at once: each code is approved exactly once.
	nodes := []*codeengine.Objects{e.obj, e.objects(e.service()), e.objects(e.service())}
	var wg sync.WaitGroup
	counts := make([]int, len(nodes))
	errs := make([]error, len(nodes))
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = n.SweepReviews(ctx)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if counts[0]+counts[1]+counts[2] != 299 {
		t.Fatalf("the nodes approved %v codes, want 299 in all", counts)
	}
	var approved, active, decided int
	e.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE result = 'auto_approved' AND reviewer = 'system'), count(*) FILTER (WHERE result <> 'pending')
		FROM object_code_reviews`).Scan(&approved, &decided)
	e.pool.QueryRow(ctx, `SELECT count(*) FROM object_codes WHERE status = 'active'`).Scan(&active)
	if approved != 299 || decided != 299 || active != 299 {
		t.Fatalf("%d auto-approved, %d decided, %d active", approved, decided, active)
	}
	last := res.Items[299]
	_, err := e.obj.Verify(ctx, e.app, tenancy.MainPlatformID, last.Token, "")
	wantMessage(t, err, fault.CodeCodeNotActive, "awaits review")

	// Turning auto-approval on applies to what is waiting; the background
	// sweep started by the host picks it up.
	in := &codeengine.TypeIn{Name: "路灯", ReviewRequired: true}
	must(e.obj.UpdateType(e.console(mainAdmin(), "objtype.update"), &codeengine.UpdateTypeIn{TypeID: manual.ID, TypeIn: *in}))(t)
	e.obj.Start(ctx, 10*time.Millisecond)
	defer e.obj.Close(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		v, err := e.obj.Verify(ctx, e.app, tenancy.MainPlatformID, last.Token, "")
		if err == nil && v.Status == "active" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the background sweep did not approve %d: %v", last.Number, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.obj.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// 行业管理编码唯一性: a type requiring unique industry codes refuses a second
// live code with one, on activation, entry and modification, naming the
// holder; cancelled and rejected codes free theirs; the database refuses
// it whoever writes; concurrent activations cannot both win.
func TestIndustryCodeUnique(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	ctx := e.ctx(root())
	main := tenancy.MainPlatformID

	t.Run("the type's settings are checked", func(t *testing.T) {
		in := toilet(false, true)
		in.RequiredFields[1].Required = false
		_, err := e.obj.CreateType(ctx, in)
		wantMessage(t, err, fault.CodeInvalidParameter, "must be a required field")
		_, err = e.obj.CreateType(ctx, &codeengine.TypeIn{Name: "x", IndustryCodeUnique: true})
		wantMessage(t, err, fault.CodeInvalidParameter, "industryCodeField")
		_, err = e.obj.CreateType(ctx, &codeengine.TypeIn{Name: "x", IndustryCodeField: "1bad"})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = e.obj.CreateType(ctx, &codeengine.TypeIn{Name: "x", RequiredFields: []codeengine.Field{{Name: "a"}, {Name: "a"}}})
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	typ := e.typ(toilet(false, true))
	cs := e.codes(typ.ID, "310104", 30)
	activate := func(c codeengine.ObjectCode, no string) (*codeengine.ObjectCode, error) {
		return e.obj.Activate(ctx, e.app, main, c.Token, &codeengine.ActivateIn{Attributes: attrs(no)})
	}
	a := must(activate(cs[0], "GB-001"))(t)
	if a.IndustryCode != "GB-001" {
		t.Fatalf("industry code %q", a.IndustryCode)
	}
	_, err := activate(cs[1], "GB-001")
	wantMessage(t, err, fault.CodeFailedOperation, `"GB-001"`, num(*a))
	_, err = activate(cs[1], " GB-001 ")
	wantMessage(t, err, fault.CodeFailedOperation, num(*a))
	if v, _ := e.obj.BatchCodes(ctx, main, cs[1].BatchID, 1, 1); v[0].Status != "empty" {
		t.Fatalf("a refused activation left the code %s", v[0].Status)
	}

	t.Run("entry, one by one and in batches", func(t *testing.T) {
		_, err := e.obj.Enter(ctx, e.app, main, &codeengine.EntryIn{CodeDefID: e.rule, EntryItem: codeengine.EntryItem{TypeID: typ.ID, Attributes: attrs("GB-001")}})
		wantMessage(t, err, fault.CodeFailedOperation, num(*a))
		res := must(e.obj.EnterBatch(ctx, e.app, main, &codeengine.BatchEntryIn{CodeDefID: e.rule, Items: []codeengine.EntryItem{
			{TypeID: typ.ID, Attributes: attrs("GB-100")},
			{TypeID: typ.ID, Attributes: attrs("GB-100")},
			{TypeID: "T9999", Attributes: attrs("GB-101")},
			{TypeID: typ.ID, Attributes: map[string]any{"address": "x"}},
			{TypeID: typ.ID, Attributes: attrs("GB-102")},
		}}))(t)
		if res.Created != 2 || res.Failed != 3 || len(res.Items) != 2 || res.Items[1].Number/10 != res.Items[0].Number/10+1 {
			t.Fatalf("batch entry %+v", res)
		}
		want := []struct {
			index int
			code  string
		}{{1, fault.CodeFailedOperation}, {2, fault.CodeInvalidParameter}, {3, fault.CodeMissingParameter}}
		for i, w := range want {
			if e := res.Errors[i]; e.Index != w.index || e.Code != w.code {
				t.Fatalf("error %d: %+v, want %+v", i, e, w)
			}
		}
		if !strings.Contains(res.Errors[0].Message, num(res.Items[0])) {
			t.Fatalf("the clash within the batch does not name %d: %s", res.Items[0].Number, res.Errors[0].Message)
		}
		// The next batch continues the numbers: none was lost to refusals.
		next := must(e.obj.Enter(ctx, e.app, main, &codeengine.EntryIn{CodeDefID: e.rule, EntryItem: codeengine.EntryItem{TypeID: typ.ID, Attributes: attrs("GB-103")}}))(t)
		if next.Number/10 != res.Items[1].Number/10+1 {
			t.Fatalf("numbers after a batch with refusals: %d then %d", res.Items[1].Number, next.Number)
		}
		_, err = e.obj.EnterBatch(ctx, e.app, main, &codeengine.BatchEntryIn{CodeDefID: e.rule})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = e.obj.Enter(ctx, e.app, main, &codeengine.EntryIn{CodeDefID: "R9999", EntryItem: codeengine.EntryItem{TypeID: typ.ID}})
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("modification", func(t *testing.T) {
		b := must(activate(cs[2], "GB-002"))(t)
		_, err := e.obj.Modify(ctx, e.app, main, b.Token, &codeengine.ModifyIn{Attributes: map[string]any{"componentNo": "GB-001"}})
		wantMessage(t, err, fault.CodeFailedOperation, num(*a))
		m := must(e.obj.Modify(ctx, e.app, main, b.Token, &codeengine.ModifyIn{Attributes: map[string]any{"componentNo": "GB-009"}, OwnerUnit: "新单位"}))(t)
		if m.IndustryCode != "GB-009" || m.OwnerUnit != "新单位" || !strings.Contains(string(m.Attributes), "漕溪北路") {
			t.Fatalf("modified %+v", m)
		}
		must(activate(cs[3], "GB-002"))(t) // freed by the modification
		_, err = e.obj.Modify(ctx, e.app, main, b.Token, &codeengine.ModifyIn{Attributes: map[string]any{"componentNo": nil}})
		wantCode(t, err, fault.CodeMissingParameter)
		_, err = e.obj.Modify(ctx, e.app, main, b.Token, &codeengine.ModifyIn{})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = e.obj.Modify(ctx, e.app, main, cs[4].Token, &codeengine.ModifyIn{OwnerUnit: "x"})
		wantMessage(t, err, fault.CodeFailedOperation, "empty")
		_, err = e.obj.Modify(ctx, e.subApp, e.sub, b.Token, &codeengine.ModifyIn{OwnerUnit: "x"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	})

	t.Run("cancelled and rejected codes free theirs", func(t *testing.T) {
		must(0, e.obj.Cancel(ctx, e.app, main, a.Token))(t)
		must(activate(cs[1], "GB-001"))(t)
		reviewed := e.typ(&codeengine.TypeIn{Name: "审核厕所", ReviewRequired: true, RequiredFields: toilet(false, false).RequiredFields,
			IndustryCodeField: "componentNo", IndustryCodeUnique: true})
		rc := e.codes(reviewed.ID, "310104", 2)
		must(e.obj.Activate(ctx, e.app, main, rc[0].Token, &codeengine.ActivateIn{Attributes: attrs("R-1")}))(t)
		// Pending review holds the industry code...
		_, err := e.obj.Activate(ctx, e.app, main, rc[1].Token, &codeengine.ActivateIn{Attributes: attrs("R-1")})
		wantCode(t, err, fault.CodeFailedOperation)
		// ...a rejection frees it.
		reviewer := e.console(mainAdmin(), "objcode.review")
		r := must(e.obj.ListReviews(reviewer, &codeengine.ListReviewsIn{TypeID: reviewed.ID}))(t).Items[0]
		must(e.obj.Reject(reviewer, &codeengine.ReviewIn{ReviewID: r.ID, Reason: "重复"}))(t)
		must(e.obj.Activate(ctx, e.app, main, rc[1].Token, &codeengine.ActivateIn{Attributes: attrs("R-1")}))(t)
	})

	t.Run("the database refuses whoever writes", func(t *testing.T) {
		_, err := e.pool.Exec(ctx, `UPDATE object_codes SET attributes = attributes || '{"componentNo": "GB-001"}' WHERE token = $1`, cs[3].Token)
		if err == nil || !strings.Contains(err.Error(), "object_codes_industry_unique") {
			t.Fatalf("a direct write of a held industry code: %v", err)
		}
	})

	t.Run("concurrent activations: one wins", func(t *testing.T) {
		var wg sync.WaitGroup
		results := make([]error, 20)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, results[i] = activate(cs[10+i], "RACE-1")
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range results {
			switch {
			case err == nil:
				won++
			case fault.CodeOf(err) != fault.CodeFailedOperation:
				t.Fatalf("a losing activation answered %v", err)
			}
		}
		var live int
		e.pool.QueryRow(ctx, `SELECT count(*) FROM object_codes WHERE industry_code = 'RACE-1' AND status = 'active'`).Scan(&live)
		if won != 1 || live != 1 {
			t.Fatalf("%d activations won, %d live codes hold RACE-1", won, live)
		}
	})

	t.Run("requiring uniqueness later", func(t *testing.T) {
		loose := e.typ(toilet(false, false))
		lc := e.codes(loose.ID, "", 3)
		x := must(activate(lc[0], "D-1"))(t)
		y := must(activate(lc[1], "D-1"))(t) // allowed: not unique yet
		admin := e.console(mainAdmin(), "objtype.update")
		_, err := e.obj.UpdateType(admin, &codeengine.UpdateTypeIn{TypeID: loose.ID, TypeIn: *toilet(false, true)})
		wantMessage(t, err, fault.CodeFailedOperation, num(*x), num(*y), `"D-1"`)
		if got := must(e.obj.GetType(admin, &codeengine.TypeIDIn{TypeID: loose.ID}))(t); got.IndustryCodeUnique {
			t.Fatal("a refused update changed the type")
		}
		must(0, e.obj.Cancel(ctx, e.app, main, y.Token))(t)
		must(e.obj.UpdateType(admin, &codeengine.UpdateTypeIn{TypeID: loose.ID, TypeIn: *toilet(false, true)}))(t)
		_, err = activate(lc[2], "D-1")
		wantMessage(t, err, fault.CodeFailedOperation, num(*x))
		// Only the main platform's operators change the city's types.
		_, err = e.obj.UpdateType(e.console(subAdmin(e.sub), "objtype.update"), &codeengine.UpdateTypeIn{TypeID: loose.ID, TypeIn: *toilet(false, false)})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = e.obj.UpdateType(admin, &codeengine.UpdateTypeIn{TypeID: "T9999", TypeIn: *toilet(false, false)})
		wantCode(t, err, fault.CodeResourceNotFound)
		in := toilet(false, false)
		in.ParentID = loose.ID
		_, err = e.obj.UpdateType(admin, &codeengine.UpdateTypeIn{TypeID: loose.ID, TypeIn: *in})
		wantCode(t, err, fault.CodeInvalidParameter)
	})
}

// 统一编码信息查询 and 查码值: a code by its 9-digit number, checked before
// the database is asked, and by its industry code.
func TestObjectLookups(t *testing.T) {
	t.Parallel()
	e := newObjEnv(t)
	ctx := e.ctx(root())
	typ := e.typ(toilet(false, true))
	cs := e.codes(typ.ID, "310104", 2)
	c := must(e.obj.Activate(ctx, e.app, tenancy.MainPlatformID, cs[0].Token, &codeengine.ActivateIn{Attributes: attrs("GB-7")}))(t)

	got := must(e.obj.ByNumber(ctx, tenancy.MainPlatformID, num(*c)))(t)
	if got.Token != c.Token || got.URL == "" || got.BatchID == "" || got.IndustryCode != "GB-7" {
		t.Fatalf("own code by number %+v", got)
	}
	foreign := must(e.obj.ByNumber(ctx, e.sub, num(*c)))(t)
	if foreign.Token != "" || foreign.URL != "" || foreign.BatchID != "" || foreign.TypeName != "公共厕所" || !strings.Contains(string(foreign.Attributes), "漕溪北路") {
		t.Fatalf("another platform's code by number %+v", foreign)
	}
	v := must(e.obj.Verify(ctx, e.subApp, e.sub, num(*c), ""))(t)
	if v.Token != "" || v.URL != "" {
		t.Fatalf("verify by number answers another platform its token: %+v", v)
	}
	if v := must(e.obj.Verify(ctx, e.subApp, e.sub, c.URL, ""))(t); v.Token != c.Token {
		t.Fatalf("verify by URL: %+v", v)
	}
	if empty := must(e.obj.ByNumber(ctx, tenancy.MainPlatformID, num(cs[1])))(t); empty.Status != "empty" {
		t.Fatalf("an empty code by number: %+v", empty)
	}
	bad := c.Number - c.Number%10 + (c.Number%10+1)%10
	for _, tc := range []struct{ in, code string }{
		{strconv.FormatInt(bad, 10), fault.CodeInvalidParameter},
		{num(*c)[:8], fault.CodeInvalidParameter},
		{num(*c) + "0", fault.CodeInvalidParameter},
		{"12345678a", fault.CodeInvalidParameter},
		{"", fault.CodeInvalidParameter},
		{strconv.FormatInt(99999999*10+codeengine.CheckDigit(99999999), 10), fault.CodeResourceNotFound}, // never issued
	} {
		_, err := e.obj.ByNumber(ctx, tenancy.MainPlatformID, tc.in)
		wantCode(t, err, tc.code)
	}

	list := must(e.obj.ByIndustryCode(ctx, tenancy.MainPlatformID, "", "GB-7"))(t)
	if len(list) != 1 || list[0].Token != c.Token || list[0].BatchID != cs[0].BatchID {
		t.Fatalf("by industry code %+v", list)
	}
	if l := must(e.obj.ByIndustryCode(ctx, e.sub, "", "GB-7"))(t); len(l) != 0 {
		t.Fatalf("another platform finds %+v", l)
	}
	_, err := e.obj.ByIndustryCode(ctx, tenancy.MainPlatformID, "", " ")
	wantCode(t, err, fault.CodeMissingParameter)
}
