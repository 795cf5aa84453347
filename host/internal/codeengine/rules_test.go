package codeengine_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// The whole life of a main-platform rule: create on a spec, bind, publish,
// resolve, new versions, several enabled, disable, delete.
func TestRuleLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	app := e.app(tenancy.MainPlatformID, "随申办")
	spec := must(e.rules.CreateSpec(ctx, &codeengine.SpecIn{Name: "城市码通用规范", Fields: []codeengine.Field{
		{Name: "certNo", Label: "证件号码", Length: 18, Required: true}, {Name: "certType", Length: 2}}}))(t)

	in := identityRule("")
	in.SpecID = spec.ID
	in.IndustryCode = "government"
	in.QRStyle = codeengine.QRStyle{Caption: "{rule}", LogoRef: "logos/shanghai.png"}
	r := e.rule(in)
	if r.ID != "R0001" || r.Status != "pending" || !r.Enabled || r.Kind != "person" || r.PlatformID != tenancy.MainPlatformID ||
		r.SpecName != spec.Name || len(r.SpecFields) != 2 || r.SpecFields[0].Type != "string" || r.CurrentVersion != 1 || !r.InPool || r.Dirty {
		t.Fatalf("created %+v", r)
	}
	if r.QRStyle.Level != "H" || r.QRStyle.Position != "bottom" || r.QRStyle.FontSize != 0 {
		t.Fatalf("QR style defaults: %+v", r.QRStyle)
	}

	// Not bound, then bound but pending.
	_, err := e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeUnauthorizedOperation, codeengine.ErrNotBound)
	b := must(e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID, r.ID}}))(t)
	if len(b.RuleIDs) != 1 || b.RuleIDs[0] != r.ID {
		t.Fatalf("bindings %+v", b)
	}
	_, err = e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrNotPublished)
	if p := must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t); p.Status != "published" {
		t.Fatalf("published: %+v", p)
	}
	must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t) // idempotent

	res := must(e.rules.Resolve(ctx, app, r.ID))(t)
	if res.Version != 1 || !res.Active() || res.Inactive() != nil || res.Function.RefreshSeconds != 60 || !res.Function.Offline ||
		res.Family != "identity" || len(res.Collection) != 1 || len(res.SpecFields) != 2 || res.IndustryCode != "government" || res.QRStyle.Caption != "{rule}" {
		t.Fatalf("resolved %+v", res)
	}
	wantCode(t, res.CheckCollection(map[string]any{}), fault.CodeMissingParameter)
	if err := res.CheckCollection(map[string]any{}); !strings.Contains(err.Error(), `"location"`) {
		t.Fatalf("the missing field is not named: %v", err)
	}
	wantCode(t, res.CheckCollection(map[string]any{"location": 12.0}), fault.CodeInvalidParameter)
	if err := res.CheckCollection(map[string]any{"location": "人民广场站", "other": 1}); err != nil {
		t.Fatal(err)
	}

	// Editing makes version 2, which takes over; several versions may be
	// enabled, and the highest enabled one is current.
	v2 := must(e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: r.ID, Function: codeengine.Function{ValiditySeconds: 120, RefreshSeconds: 30},
		Collection: []codeengine.Field{{Name: "gate", Type: "enum", Options: []string{"A", "B"}, Required: true}}}))(t)
	if v2.Version != 2 || !v2.Enabled || v2.Changed {
		t.Fatalf("version 2: %+v", v2)
	}
	if res := must(e.rules.Resolve(ctx, app, r.ID))(t); res.Version != 2 || res.Function.ValiditySeconds != 120 || res.Collection[0].Name != "gate" {
		t.Fatalf("version 2 is not current: %+v", res)
	}
	v3 := must(e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: r.ID, Function: codeengine.Function{ValiditySeconds: 300}}))(t)
	must(e.rules.DisableVersion(ctx, &codeengine.VersionIDIn{RuleID: r.ID, Version: v3.Version}))(t)
	if res := must(e.rules.Resolve(ctx, app, r.ID))(t); res.Version != 2 {
		t.Fatalf("after disabling version 3: %+v", res)
	}
	old := must(e.rules.Version(ctx, r.ID, 3))(t)
	if old.Active() || old.Function.ValiditySeconds != 300 {
		t.Fatalf("disabled version 3: %+v", old)
	}
	wantCause(t, old.Inactive(), fault.CodeCodeNotActive, codeengine.ErrVersionDisabled)
	if v1 := must(e.rules.Version(ctx, r.ID, 1))(t); !v1.Active() || v1.Function.ValiditySeconds != 60 {
		t.Fatalf("version 1 still verifies: %+v", v1)
	}
	_, err = e.rules.Version(ctx, r.ID, 9)
	wantCode(t, err, fault.CodeResourceNotFound)

	// Edit version 2 in place: a main-platform rule applies it at once.
	must(e.rules.UpdateVersion(ctx, &codeengine.UpdateVersionIn{Version: 2, VersionIn: codeengine.VersionIn{RuleID: r.ID,
		Function: codeengine.Function{ValiditySeconds: 90}}}))(t)
	if res := must(e.rules.Resolve(ctx, app, r.ID))(t); res.Version != 2 || res.Function.ValiditySeconds != 90 || len(res.Collection) != 0 {
		t.Fatalf("edited version 2: %+v", res)
	}

	for _, v := range []int{1, 2} {
		must(e.rules.DisableVersion(ctx, &codeengine.VersionIDIn{RuleID: r.ID, Version: v}))(t)
	}
	_, err = e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrNoEnabledVersion)
	must(e.rules.EnableVersion(ctx, &codeengine.VersionIDIn{RuleID: r.ID, Version: 1}))(t)
	must(e.rules.EnableVersion(ctx, &codeengine.VersionIDIn{RuleID: r.ID, Version: 3}))(t)
	got := must(e.rules.GetRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	if got.CurrentVersion != 3 || got.LatestVersion != 3 || len(got.Versions) != 3 || !got.Versions[0].Enabled || got.Versions[1].Enabled {
		t.Fatalf("detail %+v", got)
	}

	must(e.rules.DisableRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	_, err = e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrRuleDisabled)
	wantCause(t, must(e.rules.Version(ctx, r.ID, 1))(t).Inactive(), fault.CodeCodeNotActive, codeengine.ErrRuleDisabled)

	_, err = e.rules.DeleteRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeResourceInUse)
	if !strings.Contains(err.Error(), app) {
		t.Fatalf("the bound app is not named: %v", err)
	}
	b = must(e.rules.Unbind(ctx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID}))(t)
	if len(b.RuleIDs) != 0 {
		t.Fatalf("after unbinding: %+v", b)
	}
	_, err = e.rules.Unbind(ctx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID})
	wantCode(t, err, fault.CodeResourceNotFound)
	must(e.rules.DeleteRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	_, err = e.rules.Resolve(ctx, app, r.ID)
	wantCode(t, err, fault.CodeResourceNotFound)
	_, err = e.rules.DeleteRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID})
	wantCode(t, err, fault.CodeResourceNotFound)
}

func TestCheckCollection(t *testing.T) {
	t.Parallel()
	r := &codeengine.Resolved{Collection: []codeengine.Field{
		{Name: "temperature", Type: "number", Required: true},
		{Name: "visitDate", Type: "date"},
		{Name: "gate", Type: "enum", Options: []string{"east", "west"}},
		{Name: "escorted", Type: "boolean"},
		{Name: "plate", Type: "string", Length: 8},
	}}
	for _, tc := range []struct {
		name   string
		params string
		code   string // "" = accepted
		names  string // the parameter the error names
	}{
		{"all valid", `{"temperature": 36.6, "visitDate": "2025-03-01", "gate": "east", "escorted": true, "plate": "沪A12345"}`, "", ""},
		{"number as string", `{"temperature": "36.6"}`, fault.CodeInvalidParameter, "temperature"},
		{"RFC 3339 date", `{"temperature": 1, "visitDate": "2025-03-01T08:00:00+08:00"}`, "", ""},
		{"optional empty", `{"temperature": 1, "plate": ""}`, "", ""},
		{"missing", `{}`, fault.CodeMissingParameter, "temperature"},
		{"null", `{"temperature": null}`, fault.CodeMissingParameter, "temperature"},
		{"empty string", `{"temperature": ""}`, fault.CodeMissingParameter, "temperature"},
		{"not a number", `{"temperature": "hot"}`, fault.CodeInvalidParameter, "temperature"},
		{"number as object", `{"temperature": {"v": 1}}`, fault.CodeInvalidParameter, "temperature"},
		{"bad date", `{"temperature": 1, "visitDate": "2025-13-01"}`, fault.CodeInvalidParameter, "visitDate"},
		{"date as number", `{"temperature": 1, "visitDate": 20250301}`, fault.CodeInvalidParameter, "visitDate"},
		{"unknown enum value", `{"temperature": 1, "gate": "north"}`, fault.CodeInvalidParameter, "gate"},
		{"boolean as string", `{"temperature": 1, "escorted": "yes"}`, fault.CodeInvalidParameter, "escorted"},
		{"string too long", `{"temperature": 1, "plate": "沪A123456789"}`, fault.CodeInvalidParameter, "plate"},
		{"string as number", `{"temperature": 1, "plate": 12345}`, fault.CodeInvalidParameter, "plate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var params map[string]any
			if err := json.Unmarshal([]byte(tc.params), &params); err != nil {
				t.Fatal(err)
			}
			err := r.CheckCollection(params)
			if tc.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tc.code)
			if !strings.Contains(err.Error(), `"`+tc.names+`"`) {
				t.Fatalf("%v does not name %s", err, tc.names)
			}
		})
	}
}

// Bad rule input is a 400 naming what is wrong, never stored.
func TestRuleValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	dyn := codeengine.Function{ValiditySeconds: 60}
	ext := func(lengths ...int) []codeengine.Field {
		var fs []codeengine.Field
		for i, n := range lengths {
			fs = append(fs, codeengine.Field{Name: "f" + string(rune('a'+i)), Length: n})
		}
		return fs
	}
	for _, tc := range []struct {
		name string
		in   codeengine.RuleIn
		code string
	}{
		{"no name", codeengine.RuleIn{Name: " ", Form: "dynamic", Family: "identity", Function: dyn}, fault.CodeMissingParameter},
		{"validity too short", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 5}}, fault.CodeInvalidParameter},
		{"validity too long", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 86401}}, fault.CodeInvalidParameter},
		{"refresh beyond validity", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 30, RefreshSeconds: 60}}, fault.CodeInvalidParameter},
		{"negative refresh", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 30, RefreshSeconds: -1}}, fault.CodeInvalidParameter},
		{"static person code", codeengine.RuleIn{Name: "x", Form: "static", Family: "health"}, fault.CodeInvalidParameter},
		{"dynamic object code", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "object", Function: dyn}, fault.CodeInvalidParameter},
		{"static virtual code", codeengine.RuleIn{Name: "x", Form: "static", Family: "virtual"}, fault.CodeInvalidParameter},
		{"kind against family", codeengine.RuleIn{Name: "x", Form: "dynamic", Kind: "enterprise", Family: "identity", Function: dyn}, fault.CodeInvalidParameter},
		{"unknown family", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "loyalty", Function: dyn}, fault.CodeInvalidParameter},
		{"unknown form", codeengine.RuleIn{Name: "x", Form: "animated", Family: "identity", Function: dyn}, fault.CodeInvalidParameter},
		{"offline static code", codeengine.RuleIn{Name: "x", Form: "static", Family: "object", Function: codeengine.Function{Offline: true}}, fault.CodeInvalidParameter},
		{"static refresh", codeengine.RuleIn{Name: "x", Form: "static", Family: "object", Function: codeengine.Function{RefreshSeconds: 10}}, fault.CodeInvalidParameter},
		{"static validity too short", codeengine.RuleIn{Name: "x", Form: "static", Family: "enterprise", Function: codeengine.Function{ValiditySeconds: 3}}, fault.CodeInvalidParameter},
		{"unknown platform", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, PlatformID: "P9999"}, fault.CodeInvalidParameter},
		{"unknown industry", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, IndustryCode: "mining"}, fault.CodeInvalidParameter},
		{"unknown spec", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, SpecID: "S9999"}, fault.CodeInvalidParameter},
		{"spec fields without spec", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, SpecFields: ext(5)}, fault.CodeInvalidParameter},
		{"extension beyond 200", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Extension: ext(150, 51)}, fault.CodeInvalidParameter},
		{"extension without length", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Extension: ext(0)}, fault.CodeInvalidParameter},
		{"field name with a space", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a b"}}}, fault.CodeInvalidParameter},
		{"field name starting with a digit", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "1a"}}}, fault.CodeInvalidParameter},
		{"field twice", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a"}, {Name: "a"}}}, fault.CodeInvalidParameter},
		{"enum without options", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a", Type: "enum"}}}, fault.CodeInvalidParameter},
		{"options of a string", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a", Options: []string{"x"}}}}, fault.CodeInvalidParameter},
		{"repeated option", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a", Type: "enum", Options: []string{"x", "x"}}}}, fault.CodeInvalidParameter},
		{"unknown field type", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, Collection: []codeengine.Field{{Name: "a", Type: "blob"}}}, fault.CodeInvalidParameter},
		{"logo at level Q", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{Level: "Q", LogoRef: "logo.png"}}, fault.CodeInvalidParameter},
		{"logo path escaping", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{LogoRef: "../../etc/passwd"}}, fault.CodeInvalidParameter},
		{"logo over http", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{LogoRef: "http://x.cn/a.png"}}, fault.CodeInvalidParameter},
		{"unknown placeholder", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{Caption: "{certNo}"}}, fault.CodeInvalidParameter},
		{"unclosed placeholder", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{Caption: "{rule"}}, fault.CodeInvalidParameter},
		{"unknown level", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{Level: "X"}}, fault.CodeInvalidParameter},
		{"font too small", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{FontSize: 4}}, fault.CodeInvalidParameter},
		{"unknown position", codeengine.RuleIn{Name: "x", Form: "dynamic", Family: "identity", Function: dyn, QRStyle: codeengine.QRStyle{Position: "left"}}, fault.CodeInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := e.rules.CreateRule(ctx, &in)
			wantCode(t, err, tc.code)
		})
	}
	if n := must(e.rules.ListRules(ctx, &codeengine.ListRulesIn{}))(t).Total; n != 0 {
		t.Fatalf("%d rules stored from bad input", n)
	}

	// Accepted shapes: an enterprise code may be static with a validity; a
	// virtual code dynamic; a kind given as the family's.
	for _, in := range []codeengine.RuleIn{
		{Name: "一企一码", Form: "static", Family: "enterprise", Function: codeengine.Function{ValiditySeconds: 365 * 86400}},
		{Name: "扫码登录", Form: "dynamic", Family: "virtual", Kind: "virtual", Function: codeengine.Function{ValiditySeconds: 10}},
		{Name: "企业动态码", Form: "dynamic", Family: "enterprise", Function: dyn, Extension: ext(100, 100)},
	} {
		must(e.rules.CreateRule(ctx, &in))(t)
	}

	// A version must suit the rule's form.
	obj := e.rule(&codeengine.RuleIn{Name: "公厕", Form: "static", Family: "object"})
	_, err := e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: obj.ID, Function: codeengine.Function{ValiditySeconds: 60, Offline: true}})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.rules.UpdateVersion(ctx, &codeengine.UpdateVersionIn{Version: 1, VersionIn: codeengine.VersionIn{RuleID: obj.ID, Function: codeengine.Function{RefreshSeconds: 5}}})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.rules.UpdateVersion(ctx, &codeengine.UpdateVersionIn{Version: 7, VersionIn: codeengine.VersionIn{RuleID: obj.ID}})
	wantCode(t, err, fault.CodeResourceNotFound)
	_, err = e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: "R9999"})
	wantCode(t, err, fault.CodeResourceNotFound)
	_, err = e.rules.UpdateRule(ctx, &codeengine.UpdateRuleIn{RuleID: obj.ID, Name: "公厕", QRStyle: codeengine.QRStyle{FontSize: 200}})
	wantCode(t, err, fault.CodeInvalidParameter)
	upd := must(e.rules.UpdateRule(ctx, &codeengine.UpdateRuleIn{RuleID: obj.ID, Name: "公共厕所", IndustryCode: "sanitation",
		QRStyle: codeengine.QRStyle{Caption: "公厕编号 {number}", Position: "top", FontSize: 20}}))(t)
	if upd.Name != "公共厕所" || upd.IndustryCode != "sanitation" || upd.QRStyle.Position != "top" || upd.QRStyle.Level != "M" {
		t.Fatalf("updated %+v", upd)
	}
}

// Lists filter by name, platform, status, enabled, industry, kind, family,
// pool and creation time, with totals matching the filter.
func TestListRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	sub := e.platform("徐汇", "310104")
	a := e.rule(&codeengine.RuleIn{Name: "随申码·身份码", Form: "dynamic", Family: "identity", IndustryCode: "government", Function: codeengine.Function{ValiditySeconds: 60}})
	e.clock.Advance(time.Hour)
	b := e.rule(&codeengine.RuleIn{Name: "随申码·健康码", Form: "dynamic", Family: "health", IndustryCode: "health", Function: codeengine.Function{ValiditySeconds: 60}})
	e.clock.Advance(time.Hour)
	c := e.rule(&codeengine.RuleIn{Name: "徐汇公厕", Form: "static", Family: "object", PlatformID: sub})
	must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: b.ID}))(t)
	must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: c.ID}))(t)
	must(e.rules.DisableRule(ctx, &codeengine.RuleIDIn{RuleID: a.ID}))(t)
	no, yes := false, true
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   codeengine.ListRulesIn
		want []string
	}{
		{"all, newest first", codeengine.ListRulesIn{}, []string{c.ID, b.ID, a.ID}},
		{"fuzzy name", codeengine.ListRulesIn{Name: "随申码"}, []string{b.ID, a.ID}},
		{"name with a LIKE wildcard", codeengine.ListRulesIn{Name: "%"}, nil},
		{"platform", codeengine.ListRulesIn{PlatformID: sub}, []string{c.ID}},
		{"main pool", codeengine.ListRulesIn{Pool: tenancy.MainPlatformID}, []string{b.ID, a.ID}},
		{"sub pool before push", codeengine.ListRulesIn{Pool: sub}, nil},
		{"pending", codeengine.ListRulesIn{Status: "pending"}, []string{a.ID}},
		{"published", codeengine.ListRulesIn{Status: "published"}, []string{c.ID, b.ID}},
		{"disabled", codeengine.ListRulesIn{Enabled: &no}, []string{a.ID}},
		{"enabled", codeengine.ListRulesIn{Enabled: &yes}, []string{c.ID, b.ID}},
		{"industry", codeengine.ListRulesIn{IndustryCode: "health"}, []string{b.ID}},
		{"kind", codeengine.ListRulesIn{Kind: "person"}, []string{b.ID, a.ID}},
		{"family", codeengine.ListRulesIn{Family: "object"}, []string{c.ID}},
		{"created from", codeengine.ListRulesIn{TimeRange: codeengine.TimeRange{CreatedFrom: start.Add(30 * time.Minute)}}, []string{c.ID, b.ID}},
		{"created range", codeengine.ListRulesIn{TimeRange: codeengine.TimeRange{CreatedFrom: start.Add(30 * time.Minute), CreatedTo: start.Add(90 * time.Minute)}}, []string{b.ID}},
		{"page 2 of 2", codeengine.ListRulesIn{PageIn: codeengine.PageIn{PageNo: 2, PageSize: 2}}, []string{a.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			page := must(e.rules.ListRules(ctx, &in))(t)
			var ids []string
			for _, r := range page.Items {
				ids = append(ids, r.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
			if in.PageNo == 0 && page.Total != int64(len(tc.want)) {
				t.Fatalf("total %d for %d items", page.Total, len(tc.want))
			}
		})
	}
	for _, bad := range []codeengine.ListRulesIn{
		{PageIn: codeengine.PageIn{PageSize: 501}},
		{PageIn: codeengine.PageIn{PageNo: -1}},
		{TimeRange: codeengine.TimeRange{CreatedFrom: start.Add(time.Hour), CreatedTo: start}},
	} {
		_, err := e.rules.ListRules(ctx, &bad)
		wantCode(t, err, fault.CodeInvalidParameter)
	}
}

// Answers are cached: a change made here applies at once, a change made
// by another node within the cache TTL.
func TestResolveCache(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	app := e.app(tenancy.MainPlatformID, "随申办")
	r := e.rule(identityRule(""))
	must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	must(e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}))(t)
	must(e.rules.Resolve(ctx, app, r.ID))(t)

	other := e.service() // another node
	must(other.Resolve(ctx, app, r.ID))(t)
	must(e.rules.DisableRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	_, err := e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrRuleDisabled)
	if _, err := other.Resolve(ctx, app, r.ID); err != nil {
		t.Fatalf("another node answers from its cache within the TTL: %v", err)
	}
	e.clock.Advance(2 * time.Second)
	_, err = other.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeCodeNotActive, codeengine.ErrRuleDisabled)

	// Bindings too.
	must(e.rules.EnableRule(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	must(e.rules.Unbind(ctx, &codeengine.UnbindIn{AppID: app, RuleID: r.ID}))(t)
	_, err = e.rules.Resolve(ctx, app, r.ID)
	wantCause(t, err, fault.CodeUnauthorizedOperation, codeengine.ErrNotBound)
}

// Concurrent resolves while the rule changes: no error other than the
// documented ones, and the final answer reflects the final state.
func TestResolveConcurrentWithChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	app := e.app(tenancy.MainPlatformID, "随申办")
	r := e.rule(identityRule(""))
	must(e.rules.Publish(ctx, &codeengine.RuleIDIn{RuleID: r.ID}))(t)
	must(e.rules.Bind(ctx, &codeengine.BindIn{AppID: app, RuleIDs: []string{r.ID}}))(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for cctx.Err() == nil {
				if _, err := e.rules.Resolve(cctx, app, r.ID); err != nil && fault.CodeOf(err) != fault.CodeCodeNotActive && cctx.Err() == nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := range 10 {
		must(e.rules.NewVersion(ctx, &codeengine.VersionIn{RuleID: r.ID, Function: codeengine.Function{ValiditySeconds: 60 + i}}))(t)
	}
	cancel()
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if res := must(e.rules.Resolve(ctx, app, r.ID))(t); res.Version != 11 || res.Function.ValiditySeconds != 69 {
		t.Fatalf("final %+v", res)
	}
}
