package tenancy_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

func appIDs(p *tenancy.Page[tenancy.App]) []string {
	var ids []string
	for _, a := range p.Items {
		ids = append(ids, a.AppID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	slices.Sort(ids)
	return ids
}

func TestAppScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	must[*tenancy.Region](t)(e.svc.CreateRegion(ctx, &tenancy.CreateRegionIn{Code: "310104014", ParentCode: "310104", Name: "徐家汇街道", Level: 4}))
	a := e.platform("徐汇子平台", "310104")
	b := e.platform("静安子平台", "310106")

	a1 := e.app(subAdmin(a.ID), "", "徐汇挂号", "")                         // platform's region 310104
	a2 := e.app(subAdmin(a.ID), "", "徐家汇服务", "310104014")               // a street of 310104
	a3 := e.app(subAdmin(a.ID), "", "黄浦应用", "310101")                   // sub-platform app outside 310104
	b1 := e.app(subAdmin(b.ID), "", "静安挂号", "")                         // 310106
	m1 := e.app(mainAdmin(), tenancy.MainPlatformID, "主平台徐汇", "310104") // main platform, 310104
	m2 := e.app(mainAdmin(), "", "主平台全市", "")                           // main platform, 310000
	if a1.PlatformID != a.ID || a1.RegionCode != "310104" || m2.PlatformID != tenancy.MainPlatformID || m2.RegionCode != "310000" {
		t.Fatalf("defaults: %+v / %+v", a1.App, m2.App)
	}

	for _, tc := range []struct {
		name string
		as   *actor.Actor
		want []string
	}{
		{"main admin sees all", mainAdmin(), sorted(a1.AppID, a2.AppID, a3.AppID, b1.AppID, m1.AppID, m2.AppID)},
		{"root sees all", root(), sorted(a1.AppID, a2.AppID, a3.AppID, b1.AppID, m1.AppID, m2.AppID)},
		{"sub admin sees its platform", subAdmin(a.ID), sorted(a1.AppID, a2.AppID, a3.AppID)},
		{"other sub admin", subAdmin(b.ID), sorted(b1.AppID)},
		{"region account of the main platform", staff(tenancy.MainPlatformID, "310104", "app.read"), sorted(a1.AppID, a2.AppID, m1.AppID)},
		{"region account of a sub-platform", staff(a.ID, "310104", "app.read"), sorted(a1.AppID, a2.AppID)},
		{"street account", staff(a.ID, "310104014", "app.*"), sorted(a2.AppID)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := e.ctx(tc.as)
			page := must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{}))
			if got := appIDs(page); !slices.Equal(got, tc.want) || page.Total != int64(len(tc.want)) {
				t.Fatalf("total %d, apps %v; want %v", page.Total, got, tc.want)
			}
			// Paging keeps the scoped total.
			page = must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{PageIn: tenancy.PageIn{PageSize: 1, PageNo: 2}}))
			if page.Total != int64(len(tc.want)) || len(page.Items) != min(1, len(tc.want)-1) {
				t.Fatalf("page 2: total %d, %d items", page.Total, len(page.Items))
			}
			// Searching for an app outside the scope finds nothing.
			page = must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{Name: "静安"}))
			if want := slices.Contains(tc.want, b1.AppID); (page.Total == 1) != want {
				t.Fatalf("search for another platform's app: total %d", page.Total)
			}
			// Every app outside the scope is 403 for reads and every change.
			for _, id := range []string{a1.AppID, a2.AppID, a3.AppID, b1.AppID, m1.AppID, m2.AppID} {
				if slices.Contains(tc.want, id) {
					must[*tenancy.App](t)(e.svc.GetApp(ctx, &tenancy.AppIDIn{AppID: id}))
					continue
				}
				in := &tenancy.AppIDIn{AppID: id}
				_, err := e.svc.GetApp(ctx, in)
				wantCode(t, err, fault.CodeUnauthorizedOperation)
				_, err = e.svc.UpdateApp(ctx, &tenancy.UpdateAppIn{AppID: id, AppFields: tenancy.AppFields{Name: "x", BusinessUnit: "x"}})
				wantCode(t, err, fault.CodeUnauthorizedOperation)
				_, err = e.svc.DisableApp(ctx, in)
				wantCode(t, err, fault.CodeUnauthorizedOperation)
				_, err = e.svc.RotateSecret(ctx, in)
				wantCode(t, err, fault.CodeUnauthorizedOperation)
				_, err = e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: id, Listed: ptr(true)})
				wantCode(t, err, fault.CodeUnauthorizedOperation)
				wantCode(t, e.svc.DeleteApp(ctx, in), fault.CodeUnauthorizedOperation)
			}
		})
	}

	t.Run("sub admin creates only in its platform", func(t *testing.T) {
		ctx := e.ctx(subAdmin(a.ID))
		for _, pid := range []string{b.ID, tenancy.MainPlatformID, "P0999"} {
			_, err := e.svc.CreateApp(ctx, appIn(pid, "越权应用", ""))
			wantCode(t, err, fault.CodeUnauthorizedOperation)
		}
		if n := e.count("SELECT count(*) FROM apps WHERE name = '越权应用'"); n != 0 {
			t.Fatal("app created in another platform")
		}
		// A main-platform administrator naming an unknown platform gets a 400.
		_, err := e.svc.CreateApp(e.ctx(mainAdmin()), appIn("P0999", "x", ""))
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	t.Run("region account cannot move an app out of its region", func(t *testing.T) {
		ctx := e.ctx(staff(a.ID, "310104", "app.*"))
		_, err := e.svc.UpdateApp(ctx, &tenancy.UpdateAppIn{AppID: a1.AppID, AppFields: tenancy.AppFields{
			Name: "徐汇挂号", BusinessUnit: "x", RegionCode: "310106"}})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = e.svc.CreateApp(ctx, appIn("", "区外应用", "310106"))
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		got := must[*tenancy.CreatedApp](t)(e.svc.CreateApp(ctx, appIn("", "区内应用", "310104014")))
		if got.PlatformID != a.ID {
			t.Fatalf("created in %s", got.PlatformID)
		}
	})

	t.Run("filters", func(t *testing.T) {
		must[*tenancy.App](t)(e.svc.DisableApp(ctx, &tenancy.AppIDIn{AppID: m2.AppID}))
		for _, tc := range []struct {
			in   tenancy.ListAppsIn
			want []string
		}{
			{tenancy.ListAppsIn{Name: "挂号"}, sorted(a1.AppID, b1.AppID)},
			{tenancy.ListAppsIn{AppID: a2.AppID[3:10]}, sorted(a2.AppID)},
			{tenancy.ListAppsIn{AppID: strings.ToUpper(a2.AppID)}, sorted(a2.AppID)},
			{tenancy.ListAppsIn{PlatformID: b.ID}, sorted(b1.AppID)},
			{tenancy.ListAppsIn{Status: tenancy.StatusDisabled}, sorted(m2.AppID)},
			{tenancy.ListAppsIn{IndustryCode: "transport"}, nil},
			{tenancy.ListAppsIn{Name: "_"}, nil},
		} {
			got := appIDs(must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tc.in)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("%+v: %v, want %v", tc.in, got, tc.want)
			}
		}
	})
}

func TestAppTimeRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	first := e.app(mainAdmin(), "", "一月", "")
	e.clock.Advance(48 * time.Hour)
	second := e.app(mainAdmin(), "", "三月", "")
	mid := first.CreatedAt.Add(24 * time.Hour)
	for _, tc := range []struct {
		r    tenancy.TimeRange
		want []string
	}{
		{tenancy.TimeRange{CreatedFrom: mid}, []string{second.AppID}},
		{tenancy.TimeRange{CreatedTo: mid}, []string{first.AppID}},
		{tenancy.TimeRange{CreatedFrom: first.CreatedAt, CreatedTo: second.CreatedAt}, sorted(first.AppID, second.AppID)},
	} {
		got := appIDs(must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{TimeRange: tc.r})))
		if !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.r, got, tc.want)
		}
	}
	// Newest first.
	page := must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{}))
	if page.Items[0].AppID != second.AppID {
		t.Fatal("not newest first")
	}
}

func TestCreateAppValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	e.app(mainAdmin(), "", "已有应用", "")
	_, pub, err := codec.GenerateSM2Key()
	ok(t, err)
	must[*tenancy.Industry](t)(e.svc.UpdateIndustry(ctx, &tenancy.UpdateIndustryIn{Code: "transport",
		IndustryFields: tenancy.IndustryFields{Name: "交通出行", Status: tenancy.StatusDisabled}}))

	for _, tc := range []struct {
		name   string
		change func(*tenancy.CreateAppIn)
		code   string
		param  string
	}{
		{"missing name", func(in *tenancy.CreateAppIn) { in.Name = "" }, fault.CodeMissingParameter, "name"},
		{"name too long", func(in *tenancy.CreateAppIn) { in.Name = strings.Repeat("a", 65) }, fault.CodeInvalidParameter, "name"},
		{"missing business unit", func(in *tenancy.CreateAppIn) { in.BusinessUnit = " " }, fault.CodeMissingParameter, "businessUnit"},
		{"description too long", func(in *tenancy.CreateAppIn) { in.Description = strings.Repeat("说", 501) }, fault.CodeInvalidParameter, "description"},
		{"unknown region", func(in *tenancy.CreateAppIn) { in.RegionCode = "320000" }, fault.CodeInvalidParameter, "regionCode"},
		{"malformed region", func(in *tenancy.CreateAppIn) { in.RegionCode = "31010x" }, fault.CodeInvalidParameter, "regionCode"},
		{"unknown industry", func(in *tenancy.CreateAppIn) { in.IndustryCode = "mining" }, fault.CodeInvalidParameter, "industryCode"},
		{"disabled industry", func(in *tenancy.CreateAppIn) { in.IndustryCode = "transport" }, fault.CodeInvalidParameter, "industryCode"},
		{"bad platform id", func(in *tenancy.CreateAppIn) { in.PlatformID = "P1' OR '1'='1" }, fault.CodeInvalidParameter, "platformId"},
		{"missing developer", func(in *tenancy.CreateAppIn) { in.Developer = tenancy.DeveloperFields{} }, fault.CodeMissingParameter, "developer.name"},
		{"bad mobile", func(in *tenancy.CreateAppIn) { in.Developer.Mobile = "138****5678" }, fault.CodeInvalidParameter, "developer.mobile"},
		{"bad email", func(in *tenancy.CreateAppIn) { in.Developer.Email = "nobody" }, fault.CodeInvalidParameter, "developer.email"},
		{"bad sm2 key", func(in *tenancy.CreateAppIn) { in.SM2PublicKey = "not a key" }, fault.CodeInvalidParameter, "sm2PublicKey"},
		{"duplicate name", func(in *tenancy.CreateAppIn) { in.Name = "已有应用" }, fault.CodeResourceAlreadyExists, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := appIn("", "新应用", "")
			tc.change(in)
			_, err := e.svc.CreateApp(ctx, in)
			wantCode(t, err, tc.code)
			if tc.param != "" && !strings.Contains(err.Error(), `"`+tc.param+`"`) {
				t.Fatalf("error %v does not name %s", err, tc.param)
			}
		})
	}
	if n := e.count("SELECT count(*) FROM apps"); n != 1 {
		t.Fatalf("%d apps after refused creations", n)
	}

	t.Run("staff without app.create", func(t *testing.T) {
		_, err := e.svc.CreateApp(e.ctx(staff(tenancy.MainPlatformID, "", "app.read")), appIn("", "新应用", ""))
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	})

	t.Run("sm2 key and data key", func(t *testing.T) {
		in := appIn("", "国密应用", "")
		in.SM2PublicKey, in.GenerateDataKey = pub, true
		got := must[*tenancy.CreatedApp](t)(e.svc.CreateApp(ctx, in))
		if got.SM2PublicKey != strings.TrimSpace(pub) || !got.HasDataKey || len(got.DataKey) != 32 {
			t.Fatalf("created %+v", got)
		}
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, got.AppID))
		if hex.EncodeToString(s.DataKey) != got.DataKey || s.SM2PublicKey != got.SM2PublicKey {
			t.Fatal("secrets do not hold the data key and SM2 key")
		}
	})
}

func TestAppSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	created := e.app(mainAdmin(), "", "随申码", "")

	if !strings.HasPrefix(created.AppID, "cc") || len(created.AppID) != 18 || len(created.AppSecret) != 64 || created.DataKey != "" {
		t.Fatalf("created %s / %q", created.AppID, created.AppSecret)
	}
	secret, err := hex.DecodeString(created.AppSecret)
	ok(t, err)

	t.Run("stored only sealed", func(t *testing.T) {
		var raw string
		ok(t, e.pool.QueryRow(context.Background(), "SELECT secret_sealed FROM apps WHERE id = $1", created.AppID).Scan(&raw))
		if raw == "" || strings.Contains(strings.ToLower(raw), created.AppSecret) || bytes.Contains([]byte(raw), secret) {
			t.Fatalf("raw column %q holds the secret", raw)
		}
		var mobile, masked string
		ok(t, e.pool.QueryRow(context.Background(), "SELECT mobile_sealed, mobile_masked FROM developers WHERE app_id = $1",
			created.AppID).Scan(&mobile, &masked))
		if strings.Contains(mobile, "13812345678") || masked != "138****5678" {
			t.Fatalf("developer mobile stored as %q / %q", mobile, masked)
		}
	})

	t.Run("answers", func(t *testing.T) {
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID))
		if !bytes.Equal(s.Secret, secret) || !s.Enabled || s.PlatformID != tenancy.MainPlatformID || s.AppID != created.AppID || s.DataKey != nil {
			t.Fatalf("secrets %+v", s)
		}
		for _, id := range []string{"cc0000000000000000", "", "x' OR 1=1 --", strings.Repeat("c", 1000)} {
			if _, err := e.svc.AppSecrets(ctx, id); !errors.Is(err, tenancy.ErrAppNotFound) {
				t.Fatalf("AppSecrets(%q) = %v", id, err)
			}
		}
		// Detail answers never carry the secret.
		a := must[*tenancy.App](t)(e.svc.GetApp(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
		if a.Developer == nil || a.Developer.Mobile != "138****5678" || a.PlatformName != "城市码主平台" {
			t.Fatalf("detail %+v", a)
		}
	})

	t.Run("rotation", func(t *testing.T) {
		k := must[*tenancy.AppKey](t)(e.svc.RotateSecret(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
		if len(k.AppSecret) != 64 || k.AppSecret == created.AppSecret {
			t.Fatalf("rotated to %q", k.AppSecret)
		}
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID))
		if hex.EncodeToString(s.Secret) != k.AppSecret {
			t.Fatal("AppSecrets still answers the old secret")
		}
		secret, _ = hex.DecodeString(k.AppSecret)
	})

	t.Run("keys", func(t *testing.T) {
		_, pub, err := codec.GenerateSM2Key()
		ok(t, err)
		in := &tenancy.AppIDIn{AppID: created.AppID}
		a := must[*tenancy.App](t)(e.svc.SetSM2Key(ctx, &tenancy.SM2KeyIn{AppID: created.AppID, PublicKey: pub}))
		if a.SM2PublicKey == "" {
			t.Fatal("key not set")
		}
		_, err = e.svc.SetSM2Key(ctx, &tenancy.SM2KeyIn{AppID: created.AppID, PublicKey: "04abcd"})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = e.svc.SetSM2Key(ctx, &tenancy.SM2KeyIn{AppID: created.AppID})
		wantCode(t, err, fault.CodeMissingParameter)
		k := must[*tenancy.AppKey](t)(e.svc.GenerateDataKey(ctx, in))
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID))
		if hex.EncodeToString(s.DataKey) != k.DataKey || s.SM2PublicKey != strings.TrimSpace(pub) {
			t.Fatalf("secrets after setting keys: %+v", s)
		}
		must[*tenancy.App](t)(e.svc.ClearSM2Key(ctx, in))
		a = must[*tenancy.App](t)(e.svc.ClearDataKey(ctx, in))
		s = must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID))
		if a.SM2PublicKey != "" || a.HasDataKey || s.SM2PublicKey != "" || s.DataKey != nil {
			t.Fatalf("keys not cleared: %+v / %+v", a, s)
		}
		// Staff without app.secret cannot touch keys.
		_, err = e.svc.RotateSecret(e.ctx(staff(tenancy.MainPlatformID, "", "app.read", "app.update")), in)
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	})

	t.Run("disabled app", func(t *testing.T) {
		must[*tenancy.App](t)(e.svc.DisableApp(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID))
		if s.Enabled || !bytes.Equal(s.Secret, secret) {
			t.Fatalf("disabled app: %+v", s)
		}
		must[*tenancy.App](t)(e.svc.EnableApp(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
	})

	t.Run("cache on another host", func(t *testing.T) {
		other := e.service(2 * time.Second)
		if s := must[*tenancy.AppSecrets](t)(other.AppSecrets(ctx, created.AppID)); !s.Enabled {
			t.Fatal("enabled app reported disabled")
		}
		unknown := "cc0123456789abcdef"
		if _, err := other.AppSecrets(ctx, unknown); !errors.Is(err, tenancy.ErrAppNotFound) {
			t.Fatal(err)
		}
		must[*tenancy.App](t)(e.svc.DisableApp(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
		// This host sees the change at once, the other within the TTL.
		if s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, created.AppID)); s.Enabled {
			t.Fatal("this host still reports the app enabled")
		}
		if s := must[*tenancy.AppSecrets](t)(other.AppSecrets(ctx, created.AppID)); !s.Enabled {
			t.Fatal("the other host did not cache the answer")
		}
		e.clock.Advance(2 * time.Second)
		if s := must[*tenancy.AppSecrets](t)(other.AppSecrets(ctx, created.AppID)); s.Enabled {
			t.Fatal("the other host still reports the app enabled after the TTL")
		}
		other.Invalidate(created.AppID)
		if s := must[*tenancy.AppSecrets](t)(other.AppSecrets(ctx, created.AppID)); s.Enabled {
			t.Fatal("reloaded answer is stale")
		}

		// Without a cache every call reads the database.
		uncached := e.service(-1)
		must[*tenancy.App](t)(e.svc.EnableApp(ctx, &tenancy.AppIDIn{AppID: created.AppID}))
		if s := must[*tenancy.AppSecrets](t)(uncached.AppSecrets(ctx, created.AppID)); !s.Enabled {
			t.Fatal("uncached answer is stale")
		}
	})

	t.Run("disabled platform", func(t *testing.T) {
		p := e.platform("徐汇子平台", "310104")
		a := e.app(subAdmin(p.ID), "", "子平台应用", "")
		must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, a.AppID))
		// Disable the platform behind the service's back, as another host
		// would, to see that Enabled joins the platform's status.
		_, err := e.pool.Exec(context.Background(), "UPDATE platforms SET status = 'disabled' WHERE id = $1", p.ID)
		ok(t, err)
		e.svc.Invalidate(a.AppID)
		s := must[*tenancy.AppSecrets](t)(e.svc.AppSecrets(ctx, a.AppID))
		if s.Enabled || s.PlatformID != p.ID {
			t.Fatalf("app of a disabled platform: %+v", s)
		}
	})
}

func TestAppLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	a := e.app(mainAdmin(), "", "随申办", "")
	in := &tenancy.AppIDIn{AppID: a.AppID}

	wantCode(t, e.svc.DeleteApp(ctx, in), fault.CodeFailedOperation)

	must[*tenancy.App](t)(e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: a.AppID, Listed: ptr(true)}))
	_, err := e.svc.DisableApp(ctx, in)
	wantCode(t, err, fault.CodeFailedOperation)
	if !strings.Contains(err.Error(), "C端上架") {
		t.Fatalf("message %v", err)
	}
	_, err = e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: a.AppID})
	wantCode(t, err, fault.CodeMissingParameter)
	got := must[*tenancy.App](t)(e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: a.AppID, Listed: ptr(false)}))
	if got.CListed {
		t.Fatal("still listed")
	}
	got = must[*tenancy.App](t)(e.svc.DisableApp(ctx, in))
	if got.Status != tenancy.StatusDisabled {
		t.Fatalf("status %s", got.Status)
	}
	_, err = e.svc.SetListing(ctx, &tenancy.ListingIn{AppID: a.AppID, Listed: ptr(true)})
	wantCode(t, err, fault.CodeFailedOperation)

	t.Run("update", func(t *testing.T) {
		u := must[*tenancy.App](t)(e.svc.UpdateApp(ctx, &tenancy.UpdateAppIn{AppID: a.AppID, AppFields: tenancy.AppFields{
			Name: "随申办市民云", BusinessUnit: "市政府办公厅", IndustryCode: "government", Description: "政务服务总入口"}}))
		if u.Name != "随申办市民云" || u.IndustryName != "政务服务" || u.RegionCode != a.RegionCode || u.Developer == nil {
			t.Fatalf("updated %+v", u)
		}
		_, err := e.svc.UpdateApp(ctx, &tenancy.UpdateAppIn{AppID: a.AppID, AppFields: tenancy.AppFields{Name: "", BusinessUnit: "x"}})
		wantCode(t, err, fault.CodeMissingParameter)
		_, err = e.svc.UpdateApp(ctx, &tenancy.UpdateAppIn{AppID: "cc0000000000000000", AppFields: tenancy.AppFields{Name: "x", BusinessUnit: "x"}})
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	ok(t, e.svc.DeleteApp(ctx, in))
	if n := e.count("SELECT count(*) FROM developers"); n != 0 {
		t.Fatalf("%d developers left", n)
	}
	_, err = e.svc.GetApp(ctx, in)
	wantCode(t, err, fault.CodeResourceNotFound)
	wantCode(t, e.svc.DeleteApp(ctx, in), fault.CodeResourceNotFound)
	if _, err := e.svc.AppSecrets(ctx, a.AppID); !errors.Is(err, tenancy.ErrAppNotFound) {
		t.Fatalf("deleted app's secrets: %v", err)
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	for _, name := range []string{"a", "b", "c", "d", "e"} {
		e.app(mainAdmin(), "", name, "")
	}
	for _, tc := range []struct {
		p     tenancy.PageIn
		items int
	}{
		{tenancy.PageIn{}, 5},
		{tenancy.PageIn{PageNo: 1, PageSize: 2}, 2},
		{tenancy.PageIn{PageNo: 3, PageSize: 2}, 1},
		{tenancy.PageIn{PageNo: 4, PageSize: 2}, 0},
		{tenancy.PageIn{PageNo: 1_000_000, PageSize: 500}, 0},
	} {
		page := must[*tenancy.Page[tenancy.App]](t)(e.svc.ListApps(ctx, &tenancy.ListAppsIn{PageIn: tc.p}))
		if page.Total != 5 || len(page.Items) != tc.items || page.Items == nil {
			t.Errorf("%+v: total %d, %d items", tc.p, page.Total, len(page.Items))
		}
	}
	for _, p := range []tenancy.PageIn{{PageNo: -1}, {PageSize: -5}, {PageSize: 501}, {PageNo: 1_000_001}} {
		_, err := e.svc.ListApps(ctx, &tenancy.ListAppsIn{PageIn: p})
		wantCode(t, err, fault.CodeInvalidParameter)
	}
}

func TestDevelopers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	a := e.platform("徐汇子平台", "310104")
	b := e.platform("静安子平台", "310106")
	appA := e.app(subAdmin(a.ID), "", "徐汇应用", "")
	appB := e.app(subAdmin(b.ID), "", "静安应用", "")
	devA, devB := appA.Developer, appB.Developer
	if devA == nil || !strings.HasPrefix(devA.ID, "D") || devA.Mobile != "138****5678" || devA.AppName != "徐汇应用" {
		t.Fatalf("developer %+v", devA)
	}

	asA := e.ctx(subAdmin(a.ID))
	page := must[*tenancy.Page[tenancy.Developer]](t)(e.svc.ListDevelopers(asA, &tenancy.ListDevelopersIn{}))
	if page.Total != 1 || page.Items[0].ID != devA.ID {
		t.Fatalf("sub admin sees %+v", page)
	}
	page = must[*tenancy.Page[tenancy.Developer]](t)(e.svc.ListDevelopers(ctx, &tenancy.ListDevelopersIn{}))
	if page.Total != 2 {
		t.Fatalf("main admin sees %d developers", page.Total)
	}
	for _, tc := range []struct {
		in   tenancy.ListDevelopersIn
		want int64
	}{
		{tenancy.ListDevelopersIn{ID: devB.ID[5:]}, 1},
		{tenancy.ListDevelopersIn{Name: "静安"}, 1},
		{tenancy.ListDevelopersIn{AppID: appA.AppID}, 1},
		{tenancy.ListDevelopersIn{Name: "开发者"}, 2},
	} {
		if got := must[*tenancy.Page[tenancy.Developer]](t)(e.svc.ListDevelopers(ctx, &tc.in)); got.Total != tc.want {
			t.Errorf("%+v: %d, want %d", tc.in, got.Total, tc.want)
		}
	}

	_, err := e.svc.GetDeveloper(asA, &tenancy.DeveloperIDIn{ID: devB.ID})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.UpdateDeveloper(asA, &tenancy.UpdateDeveloperIn{ID: devB.ID, Name: "x"})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.GetDeveloper(asA, &tenancy.DeveloperIDIn{ID: "D99999999"})
	wantCode(t, err, fault.CodeResourceNotFound)

	// Mobile absent keeps it; a new one replaces it; empty clears it.
	d := must[*tenancy.Developer](t)(e.svc.UpdateDeveloper(asA, &tenancy.UpdateDeveloperIn{ID: devA.ID, Name: "徐汇信息中心", Email: "xh@example.cn"}))
	if d.Name != "徐汇信息中心" || d.Mobile != "138****5678" || d.Contact != "" {
		t.Fatalf("updated %+v", d)
	}
	d = must[*tenancy.Developer](t)(e.svc.UpdateDeveloper(asA, &tenancy.UpdateDeveloperIn{ID: devA.ID, Name: "徐汇信息中心", Mobile: ptr("13900001111")}))
	if d.Mobile != "139****1111" {
		t.Fatalf("mobile %q", d.Mobile)
	}
	d = must[*tenancy.Developer](t)(e.svc.UpdateDeveloper(asA, &tenancy.UpdateDeveloperIn{ID: devA.ID, Name: "徐汇信息中心", Mobile: ptr("")}))
	if d.Mobile != "" {
		t.Fatalf("mobile %q", d.Mobile)
	}
	for _, in := range []*tenancy.UpdateDeveloperIn{
		{ID: devA.ID, Name: ""},
		{ID: devA.ID, Name: "x", Mobile: ptr("139****1111")},
		{ID: devA.ID, Name: strings.Repeat("x", 65)},
	} {
		_, err := e.svc.UpdateDeveloper(asA, in)
		if k := fault.KindOf(err); k != fault.Invalid {
			t.Errorf("%+v: %v", in, err)
		}
	}
}
