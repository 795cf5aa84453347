package tenancy_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

func TestCreatePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())

	p := e.platform("徐汇子平台", "310104")
	if p.ID != "P0001" || p.Kind != tenancy.KindSub || p.Status != tenancy.StatusEnabled || p.RegionName != "徐汇区" {
		t.Fatalf("created %+v", p.Platform)
	}
	if p.AdminAccount != "admin_310104" || p.OneTimePassword != oneTimePassword {
		t.Fatalf("administrator %q / %q", p.AdminAccount, p.OneTimePassword)
	}
	if len(e.admins.calls) != 1 || e.admins.calls[0] != (provisionCall{"P0001", "admin_310104", "", true}) {
		t.Fatalf("provisioner calls %+v", e.admins.calls)
	}
	// The password is never answered again.
	got := must[*tenancy.Platform](t)(e.svc.GetPlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}))
	if got.AdminAccount != "admin_310104" {
		t.Fatalf("get %+v", got)
	}

	t.Run("taken account stores nothing", func(t *testing.T) {
		for _, fail := range []error{
			fmt.Errorf("auth: %w", tenancy.ErrAdminAccountTaken),
			fault.Conflictf(fault.CodeResourceAlreadyExists, "account exists"),
		} {
			e.admins.err = fail
			_, err := e.svc.CreatePlatform(ctx, &tenancy.CreatePlatformIn{
				PlatformFields: tenancy.PlatformFields{Name: "静安子平台", ServiceURL: "https://ja.example.cn", RegionCode: "310106"},
				AdminAccount:   "taken",
			})
			e.admins.err = nil
			wantCode(t, err, fault.CodeResourceAlreadyExists)
			if n := e.count("SELECT count(*) FROM platforms WHERE name = '静安子平台'"); n != 0 {
				t.Fatalf("platform stored despite the failure")
			}
		}
		e.admins.err = errBoom
		_, err := e.svc.CreatePlatform(ctx, &tenancy.CreatePlatformIn{
			PlatformFields: tenancy.PlatformFields{Name: "静安子平台", ServiceURL: "https://ja.example.cn", RegionCode: "310106"},
			AdminAccount:   "other",
		})
		e.admins.err = nil
		if err == nil || fault.KindOf(err) != fault.Internal {
			t.Fatalf("provisioner failure answered %v", err)
		}
		if n := e.count("SELECT count(*) FROM platforms"); n != 2 {
			t.Fatalf("%d platforms after failed creations", n)
		}
	})

	valid := func() *tenancy.CreatePlatformIn {
		return &tenancy.CreatePlatformIn{
			PlatformFields: tenancy.PlatformFields{Name: "新平台", ServiceURL: "https://new.example.cn/api", RegionCode: "310101"},
			AdminAccount:   "new_admin",
		}
	}
	for _, tc := range []struct {
		name   string
		change func(*tenancy.CreatePlatformIn)
		code   string
		param  string
	}{
		{"missing name", func(in *tenancy.CreatePlatformIn) { in.Name = "  " }, fault.CodeMissingParameter, "name"},
		{"name too long", func(in *tenancy.CreatePlatformIn) { in.Name = strings.Repeat("平", 65) }, fault.CodeInvalidParameter, "name"},
		{"missing service url", func(in *tenancy.CreatePlatformIn) { in.ServiceURL = "" }, fault.CodeMissingParameter, "serviceUrl"},
		{"bad service url", func(in *tenancy.CreatePlatformIn) { in.ServiceURL = "ftp://x" }, fault.CodeInvalidParameter, "serviceUrl"},
		{"missing region", func(in *tenancy.CreatePlatformIn) { in.RegionCode = "" }, fault.CodeMissingParameter, "regionCode"},
		{"malformed region", func(in *tenancy.CreatePlatformIn) { in.RegionCode = "31'--" }, fault.CodeInvalidParameter, "regionCode"},
		{"unknown region", func(in *tenancy.CreatePlatformIn) { in.RegionCode = "110101" }, fault.CodeInvalidParameter, "regionCode"},
		{"missing account", func(in *tenancy.CreatePlatformIn) { in.AdminAccount = "" }, fault.CodeMissingParameter, "adminAccount"},
		{"bad account", func(in *tenancy.CreatePlatformIn) { in.AdminAccount = "a b" }, fault.CodeInvalidParameter, "adminAccount"},
		{"duplicate name", func(in *tenancy.CreatePlatformIn) { in.Name = "徐汇子平台" }, fault.CodeResourceAlreadyExists, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := valid()
			tc.change(in)
			_, err := e.svc.CreatePlatform(ctx, in)
			wantCode(t, err, tc.code)
			if tc.param != "" && !strings.Contains(err.Error(), `"`+tc.param+`"`) {
				t.Fatalf("error %v does not name %s", err, tc.param)
			}
		})
	}

	t.Run("disabled region", func(t *testing.T) {
		must[*tenancy.Region](t)(e.svc.SetRegionStatus(ctx, "310101", tenancy.StatusDisabled))
		_, err := e.svc.CreatePlatform(ctx, valid())
		wantCode(t, err, fault.CodeInvalidParameter)
		must[*tenancy.Region](t)(e.svc.SetRegionStatus(ctx, "310101", tenancy.StatusEnabled))
	})

	t.Run("only main-platform operators", func(t *testing.T) {
		_, err := e.svc.CreatePlatform(e.ctx(subAdmin(p.ID)), valid())
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = e.svc.CreatePlatform(e.ctx(staff(tenancy.MainPlatformID, "", "platform.read")), valid())
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		must[*tenancy.CreatedPlatform](t)(e.svc.CreatePlatform(e.ctx(staff(tenancy.MainPlatformID, "", "platform.create")), valid()))
	})
}

func TestMainPlatformProtected(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	main := &tenancy.PlatformIDIn{ID: tenancy.MainPlatformID}
	for _, a := range []string{"root", "main admin"} {
		as := root()
		if a == "main admin" {
			as = mainAdmin()
		}
		ctx := e.ctx(as)
		t.Run(a, func(t *testing.T) {
			wantCode(t, e.svc.DeletePlatform(ctx, main), fault.CodeFailedOperation)
			_, err := e.svc.DisablePlatform(ctx, main)
			wantCode(t, err, fault.CodeFailedOperation)
			if !strings.Contains(err.Error(), "main platform") {
				t.Fatalf("message %v", err)
			}
			_, err = e.svc.EnablePlatform(ctx, main)
			wantCode(t, err, fault.CodeFailedOperation)
		})
	}
	// The main platform's administrators may still edit it.
	p := must[*tenancy.Platform](t)(e.svc.UpdatePlatform(e.ctx(mainAdmin()), &tenancy.UpdatePlatformIn{
		ID: tenancy.MainPlatformID, PlatformFields: tenancy.PlatformFields{Name: "上海城市码", RegionCode: "310000"},
	}))
	if p.Name != "上海城市码" || p.Status != tenancy.StatusEnabled {
		t.Fatalf("updated %+v", p)
	}
	sub := e.platform("子平台", "310104")
	wantCode(t, e.svc.DeletePlatform(e.ctx(subAdmin(sub.ID)), main), fault.CodeUnauthorizedOperation)
	if n := e.count("SELECT count(*) FROM platforms WHERE id = 'P0000' AND status = 'enabled'"); n != 1 {
		t.Fatal("main platform changed")
	}
}

func TestPlatformScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.platform("徐汇子平台", "310104")
	b := e.platform("静安子平台", "310106")
	asA := e.ctx(subAdmin(a.ID))

	page := must[*tenancy.Page[tenancy.Platform]](t)(e.svc.ListPlatforms(asA, &tenancy.ListPlatformsIn{}))
	if page.Total != 1 || len(page.Items) != 1 || page.Items[0].ID != a.ID {
		t.Fatalf("sub-platform admin sees %+v", page)
	}
	page = must[*tenancy.Page[tenancy.Platform]](t)(e.svc.ListPlatforms(asA, &tenancy.ListPlatformsIn{Name: "静安"}))
	if page.Total != 0 || len(page.Items) != 0 {
		t.Fatalf("search found another platform: %+v", page)
	}
	all := must[*tenancy.Page[tenancy.Platform]](t)(e.svc.ListPlatforms(e.ctx(mainAdmin()), &tenancy.ListPlatformsIn{}))
	if all.Total != 3 || all.Items[0].ID != tenancy.MainPlatformID {
		t.Fatalf("main admin sees %+v", all)
	}

	for _, id := range []string{b.ID, tenancy.MainPlatformID} {
		_, err := e.svc.GetPlatform(asA, &tenancy.PlatformIDIn{ID: id})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = e.svc.UpdatePlatform(asA, &tenancy.UpdatePlatformIn{ID: id, PlatformFields: tenancy.PlatformFields{
			Name: "taken over", ServiceURL: "https://x.example.cn", RegionCode: "310104"}})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	}
	_, err := e.svc.GetPlatform(asA, &tenancy.PlatformIDIn{ID: "P0099"})
	wantCode(t, err, fault.CodeResourceNotFound)

	// Its own platform it may read and edit, but not delete, enable or disable.
	p := must[*tenancy.Platform](t)(e.svc.UpdatePlatform(asA, &tenancy.UpdatePlatformIn{ID: a.ID, PlatformFields: tenancy.PlatformFields{
		Name: "徐汇区城市码", ServiceURL: "https://xh.example.cn", RegionCode: "310104", Contact: "021-12345678"}}))
	if p.Name != "徐汇区城市码" || p.Contact != "021-12345678" {
		t.Fatalf("updated %+v", p)
	}
	wantCode(t, e.svc.DeletePlatform(asA, &tenancy.PlatformIDIn{ID: a.ID}), fault.CodeUnauthorizedOperation)
	_, err = e.svc.DisablePlatform(asA, &tenancy.PlatformIDIn{ID: a.ID})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.UpdatePlatform(asA, &tenancy.UpdatePlatformIn{ID: a.ID, PlatformFields: tenancy.PlatformFields{
		Name: "静安子平台", ServiceURL: "https://xh.example.cn", RegionCode: "310104"}})
	wantCode(t, err, fault.CodeResourceAlreadyExists)

	t.Run("filters", func(t *testing.T) {
		ctx := e.ctx(mainAdmin())
		for _, tc := range []struct {
			in   tenancy.ListPlatformsIn
			want int64
		}{
			{tenancy.ListPlatformsIn{ID: "0001"}, 1},
			{tenancy.ListPlatformsIn{Name: "子平台"}, 1},
			{tenancy.ListPlatformsIn{Kind: tenancy.KindSub}, 2},
			{tenancy.ListPlatformsIn{Status: tenancy.StatusDisabled}, 0},
			{tenancy.ListPlatformsIn{Name: "%"}, 0},
			{tenancy.ListPlatformsIn{TimeRange: tenancy.TimeRange{CreatedFrom: e.clock.Now().Add(-1)}}, 3},
			{tenancy.ListPlatformsIn{TimeRange: tenancy.TimeRange{CreatedTo: e.clock.Now().Add(-1)}}, 0},
		} {
			got := must[*tenancy.Page[tenancy.Platform]](t)(e.svc.ListPlatforms(ctx, &tc.in))
			if got.Total != tc.want || int64(len(got.Items)) != tc.want {
				t.Errorf("%+v: total %d items %d, want %d", tc.in, got.Total, len(got.Items), tc.want)
			}
		}
		for _, in := range []tenancy.ListPlatformsIn{
			{Status: "on"}, {Kind: "other"},
			{TimeRange: tenancy.TimeRange{CreatedFrom: e.clock.Now(), CreatedTo: e.clock.Now().Add(-1)}},
			{PageIn: tenancy.PageIn{PageNo: -1}}, {PageIn: tenancy.PageIn{PageSize: 501}},
		} {
			_, err := e.svc.ListPlatforms(ctx, &in)
			wantCode(t, err, fault.CodeInvalidParameter)
		}
	})
}

func TestDeletePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	p := e.platform("徐汇子平台", "310104")
	app := e.app(subAdmin(p.ID), "", "挂号", "")
	must[*tenancy.Department](t)(e.svc.CreateDepartment(e.ctx(subAdmin(p.ID)), &tenancy.CreateDepartmentIn{
		DepartmentFields: tenancy.DepartmentFields{Name: "办公室"}}))

	wantCode(t, e.svc.DeletePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}), fault.CodeResourceInUse)
	must[*tenancy.App](t)(e.svc.DisableApp(ctx, &tenancy.AppIDIn{AppID: app.AppID}))
	ok(t, e.svc.DeleteApp(ctx, &tenancy.AppIDIn{AppID: app.AppID}))
	ok(t, e.svc.DeletePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}))
	if n := e.count("SELECT count(*) FROM departments"); n != 0 {
		t.Fatalf("%d departments left", n)
	}
	_, err := e.svc.GetPlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID})
	wantCode(t, err, fault.CodeResourceNotFound)
	wantCode(t, e.svc.DeletePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}), fault.CodeResourceNotFound)
}

func TestDisablePlatform(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	p := e.platform("徐汇子平台", "310104")
	listed := e.app(mainAdmin(), p.ID, "随申办", "")
	other := e.app(mainAdmin(), p.ID, "挂号", "")
	outside := e.app(mainAdmin(), tenancy.MainPlatformID, "主平台应用", "")
	must[*tenancy.App](t)(e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: listed.AppID, Listed: ptr(true)}))

	_, err := e.svc.DisablePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID})
	wantCode(t, err, fault.CodeFailedOperation)
	if !strings.Contains(err.Error(), "随申办") || strings.Contains(err.Error(), "挂号") {
		t.Fatalf("message does not name exactly the listed app: %v", err)
	}
	if n := e.count("SELECT count(*) FROM apps WHERE status = 'disabled'"); n != 0 {
		t.Fatalf("%d apps disabled by a refused disable", n)
	}

	// Warm the secrets cache: disabling must take effect at once here.
	if s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, other.AppID)); !s.Enabled {
		t.Fatal("enabled app reported disabled")
	}
	must[*tenancy.App](t)(e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: listed.AppID, Listed: ptr(false)}))
	got := must[*tenancy.Platform](t)(e.svc.DisablePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}))
	if got.Status != tenancy.StatusDisabled {
		t.Fatalf("platform %+v", got)
	}
	for _, id := range []string{listed.AppID, other.AppID} {
		a := must[*tenancy.App](t)(e.svc.GetApp(ctx, &tenancy.AppIDIn{AppID: id}))
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, id))
		if a.Status != tenancy.StatusDisabled || s.Enabled {
			t.Fatalf("app %s after disabling its platform: %s, secrets enabled %v", id, a.Status, s.Enabled)
		}
	}
	if a := must[*tenancy.App](t)(e.svc.GetApp(ctx, &tenancy.AppIDIn{AppID: outside.AppID})); a.Status != tenancy.StatusEnabled {
		t.Fatal("another platform's app was disabled")
	}
	// Apps of a disabled platform can be neither created, enabled nor listed.
	_, err = e.svc.CreateApp(ctx, appIn(p.ID, "新应用", ""))
	wantCode(t, err, fault.CodeFailedOperation)
	_, err = e.svc.EnableApp(ctx, &tenancy.AppIDIn{AppID: other.AppID})
	wantCode(t, err, fault.CodeFailedOperation)
	_, err = e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: other.AppID, Listed: ptr(true)})
	wantCode(t, err, fault.CodeFailedOperation)

	// Enabling the platform leaves its apps as they are.
	got = must[*tenancy.Platform](t)(e.svc.EnablePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}))
	if got.Status != tenancy.StatusEnabled {
		t.Fatalf("platform %+v", got)
	}
	if a := must[*tenancy.App](t)(e.svc.GetApp(ctx, &tenancy.AppIDIn{AppID: other.AppID})); a.Status != tenancy.StatusDisabled {
		t.Fatal("enabling the platform enabled its apps")
	}
	must[*tenancy.App](t)(e.svc.EnableApp(ctx, &tenancy.AppIDIn{AppID: other.AppID}))
	if s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, other.AppID)); !s.Enabled {
		t.Fatal("re-enabled app reported disabled")
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.platform("徐汇子平台", "310104")
	b := e.platform("静安子平台", "310106")
	e.app(mainAdmin(), a.ID, "一", "")
	e.app(mainAdmin(), a.ID, "二", "")
	e.app(mainAdmin(), b.ID, "三", "")
	e.app(mainAdmin(), tenancy.MainPlatformID, "四", "310104")
	for _, tc := range []struct {
		name               string
		as                 *actor.Actor
		action             string
		subPlatforms, apps int64
	}{
		{"main admin", mainAdmin(), "platform.read", 2, 4},
		{"sub admin", subAdmin(a.ID), "platform.read", 1, 2},
		{"region staff", staff(tenancy.MainPlatformID, "310104", "app.read"), "app.read", 1, 3},
		{"no scope in context", mainAdmin(), "", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := e.ctx(tc.as)
			if tc.action != "" {
				sc, err := e.eng.Require(ctx, tc.action, nil)
				ok(t, err)
				ctx = policy.WithScope(ctx, sc)
			}
			subs, apps, err := e.svc.Counts(ctx)
			ok(t, err)
			if subs != tc.subPlatforms || apps != tc.apps {
				t.Fatalf("counts %d, %d; want %d, %d", subs, apps, tc.subPlatforms, tc.apps)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// Disabling a platform while its apps are being listed and enabled never
// leaves a listed or enabled app in a disabled platform.
func TestDisablePlatformRaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	for round := range 5 {
		p := e.platform(fmt.Sprintf("平台%d", round), "310104")
		var apps []string
		for i := range 4 {
			apps = append(apps, e.app(mainAdmin(), p.ID, fmt.Sprint("应用", i), "").AppID)
		}
		var wg sync.WaitGroup
		for i, id := range apps {
			wg.Go(func() {
				if i%2 == 0 {
					_, _ = e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: id, Listed: ptr(true)})
				} else {
					_, _ = e.svc.EnableApp(ctx, &tenancy.AppIDIn{AppID: id})
				}
			})
		}
		wg.Go(func() { _, _ = e.svc.DisablePlatform(ctx, &tenancy.PlatformIDIn{ID: p.ID}) })
		wg.Wait()
		if n := e.count(`SELECT count(*) FROM apps a JOIN platforms p ON p.id = a.platform_id
			WHERE p.status = 'disabled' AND (a.c_listed OR a.status = 'enabled')`); n != 0 {
			t.Fatalf("round %d: %d listed or enabled apps in a disabled platform", round, n)
		}
	}
}
