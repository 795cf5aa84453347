package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
)

func TestRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	p2 := f.platformAdmin("P0002", "p2admin", "")

	viewer := f.role(p1, "viewer", "app.read", "operator.read")
	if viewer.PlatformID != "P0001" || viewer.Status != StatusEnabled || !slices.Equal(viewer.Permissions, []string{"app.read", "operator.read"}) {
		t.Fatalf("role: %+v", viewer)
	}
	f.role(p2, "viewer", "app.read") // codes are unique per platform only
	_, err := f.svc.CreateRole(f.as(p1, "role.create"), RoleInput{Code: "viewer", Name: "dup"})
	wantCode(t, err, fault.CodeResourceAlreadyExists)

	t.Run("scope", func(t *testing.T) {
		page, err := f.svc.ListRoles(f.as(p1, "role.read"), RoleFilter{})
		if err != nil || page.Total != 1 || page.Items[0].ID != viewer.ID {
			t.Fatalf("P0001 roles: %+v %v", page, err)
		}
		page, _ = f.svc.ListRoles(f.as(root, "role.read"), RoleFilter{Keyword: "view"})
		if page.Total != 2 {
			t.Fatalf("root sees %d roles", page.Total)
		}
		_, err = f.svc.GetRole(f.as(p2, "role.read"), viewer.ID)
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = f.svc.UpdateRole(f.as(p2, "role.update"), viewer.ID, RoleInput{Code: "viewer", Name: "x"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		wantCode(t, f.svc.DeleteRoles(f.as(p2, "role.delete"), []int64{viewer.ID}), fault.CodeUnauthorizedOperation)
		_, err = f.svc.CreateRole(f.as(p2, "role.create"), RoleInput{PlatformID: "P0001", Code: "x", Name: "x"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
	})

	t.Run("roles give permissions to their holders", func(t *testing.T) {
		_, staff := f.operator(p1, OperatorInput{Account: "viewer1", Name: "v", RoleIDs: []int64{viewer.ID}})
		if !slices.Equal(staff.Permissions, []string{"app.read", "operator.read"}) {
			t.Fatalf("permissions %v", staff.Permissions)
		}
		// A role of another platform cannot be given.
		var p2role int64
		f.pool.QueryRow(f.ctx, `SELECT id FROM auth_roles WHERE platform_id = 'P0002'`).Scan(&p2role)
		_, err := f.svc.CreateOperator(f.as(p1, "operator.create"), OperatorInput{Account: "x1", Name: "x", RoleIDs: []int64{p2role}})
		wantCode(t, err, fault.CodeInvalidParameter)

		// Disabling the role takes its permissions away at the next request.
		up, err := f.svc.UpdateRole(f.as(p1, "role.update"), viewer.ID, RoleInput{Code: "viewer", Name: "查看", Status: StatusDisabled, MenuIDs: viewer.MenuIDs})
		if err != nil || up.Status != StatusDisabled || up.Name != "查看" {
			t.Fatalf("update: %+v %v", up, err)
		}
		a := f.reauth(staff)
		if len(a.Permissions) != 0 {
			t.Fatalf("disabled role still grants %v", a.Permissions)
		}
		f.svc.UpdateRole(f.as(p1, "role.update"), viewer.ID, RoleInput{Code: "viewer", Name: "查看", Status: StatusEnabled, MenuIDs: viewer.MenuIDs})

		// Deleting the role removes its assignments.
		if err := f.svc.DeleteRoles(f.as(p1, "role.delete"), []int64{viewer.ID}); err != nil {
			t.Fatal(err)
		}
		a = f.reauth(staff)
		o, _ := f.svc.GetOperator(f.as(p1, "operator.read"), a.OperatorID)
		if len(a.Permissions) != 0 || len(o.RoleIDs) != 0 {
			t.Fatalf("deleted role still held: %v %v", a.Permissions, o.RoleIDs)
		}
	})

	t.Run("staff build roles only from what they hold", func(t *testing.T) {
		builder := f.role(p1, "builder", "role.create", "role.read", "role.update", "app.read")
		_, staff := f.operator(p1, OperatorInput{Account: "builder1", Name: "b", RoleIDs: []int64{builder.ID}})
		ctx := f.as(staff, "role.create")
		_, err := f.svc.CreateRole(ctx, RoleInput{Code: "greedy", Name: "g", MenuIDs: f.menuIDs("app.read", "app.delete")})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		if !strings.Contains(err.Error(), "permission app.delete exceeds parent") {
			t.Fatalf("violations: %v", err)
		}
		if _, err := f.svc.CreateRole(ctx, RoleInput{Code: "modest", Name: "m", MenuIDs: f.menuIDs("app.read")}); err != nil {
			t.Fatal(err)
		}
		// Nor change a role that grants more than they hold.
		big := f.role(p1, "big", "app.read", "app.delete")
		_, err = f.svc.UpdateRole(f.as(staff, "role.update"), big.ID, RoleInput{Code: "big", Name: "b", MenuIDs: f.menuIDs("app.read")})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		// A sub-platform administrator may give anything but main-only
		// actions are still refused by the policy at use time.
		if _, err := f.svc.CreateRole(f.as(p1, "role.create"), RoleInput{Code: "menus", Name: "m", MenuIDs: f.menuIDs("menu.create")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		ctx := f.as(p1, "role.create")
		for name, in := range map[string]RoleInput{
			"no name":      {Code: "a"},
			"bad code":     {Code: "a b", Name: "x"},
			"unknown menu": {Code: "a", Name: "x", MenuIDs: []int64{987654}},
		} {
			_, err := f.svc.CreateRole(ctx, in)
			if fault.KindOf(err) != fault.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		wantCode(t, f.svc.DeleteRoles(f.as(p1, "role.delete"), nil), fault.CodeMissingParameter)
	})
}

func TestRegionAccountCannotChangeRoles(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	rr := f.role(p1, "rr", "role.read", "role.create", "role.update", "app.read")
	_, region := f.operator(p1, OperatorInput{Account: "region", Name: "r", RegionCode: "310104", RoleIDs: []int64{rr.ID}})
	// A role is a platform-wide grant: a region account giving app.read to
	// a role held city-wide would widen its own reach.
	_, err := f.svc.CreateRole(f.as(region, "role.create"), RoleInput{Code: "x", Name: "x", MenuIDs: f.menuIDs("app.read")})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = f.svc.UpdateRole(f.as(region, "role.update"), rr.ID, RoleInput{Code: "rr", Name: "x", MenuIDs: rr.MenuIDs})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestMenus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")

	tree, err := f.svc.MenuTree(f.as(root, "menu.read"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range tree {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"业务配置", "运维管理", "码核心引擎", "插件与落地页", "场景管控", "场景管理", "城市码风控", "互联互通", "城市码运营", "城市码管控", "开放平台", "用户服务", "业务管理", "系统管理"}) {
		t.Fatalf("top level: %v", names)
	}
	base := tree[0].Children[0]
	if base.Name != "基础配置管理" || len(base.Children) != 4 || base.Children[1].Name != "应用管理" || base.Children[1].Permission != "app.read" {
		t.Fatalf("基础配置管理: %+v", base)
	}
	if b := base.Children[1].Children[0]; b.Kind != KindButton || b.Permission != "app.create" || !b.Builtin {
		t.Fatalf("first button of 应用管理: %+v", b)
	}

	t.Run("main platform only", func(t *testing.T) {
		// httpapi refuses before the handler; the service refuses too.
		_, err := f.svc.CreateMenu(f.with(p1), MenuInput{Name: "x", Kind: KindMenu})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		wantCode(t, f.svc.DeleteMenu(f.with(p1), base.ID), fault.CodeUnauthorizedOperation)
	})

	t.Run("crud", func(t *testing.T) {
		ctx := f.as(root, "menu.create")
		m, err := f.svc.CreateMenu(ctx, MenuInput{ParentID: tree[3].ID, Name: "策略管理", Path: "/sys/policies", Kind: KindMenu, Permission: "policy.read"})
		if err != nil || m.Builtin || m.ParentID != tree[3].ID {
			t.Fatalf("create: %+v %v", m, err)
		}
		btn, err := f.svc.CreateMenu(ctx, MenuInput{ParentID: m.ID, Name: "上传", Kind: KindButton, Permission: "policy.update"})
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]MenuInput{
			"button without permission": {Name: "x", Kind: KindButton},
			"bad permission":            {Name: "x", Kind: KindMenu, Permission: "DROP TABLE"},
			"unknown parent":            {ParentID: 999999, Name: "x", Kind: KindMenu},
			"child of a button":         {ParentID: btn.ID, Name: "x", Kind: KindMenu},
			"bad kind":                  {Name: "x", Kind: "tab"},
		} {
			if _, err := f.svc.CreateMenu(ctx, in); fault.KindOf(err) != fault.Invalid {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		uctx := f.as(root, "menu.update")
		_, err = f.svc.UpdateMenu(uctx, m.ID, MenuInput{ParentID: btn.ID, Name: "x", Kind: KindMenu})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = f.svc.UpdateMenu(uctx, tree[3].ID, MenuInput{ParentID: m.ID, Name: "系统管理", Kind: KindMenu})
		wantCode(t, err, fault.CodeInvalidParameter) // below its own descendant
		_, err = f.svc.UpdateMenu(uctx, base.Children[1].ID, MenuInput{ParentID: base.ID, Name: "应用", Kind: KindMenu, Permission: "app.anything"})
		wantCode(t, err, fault.CodeFailedOperation)
		up, err := f.svc.UpdateMenu(uctx, base.Children[1].ID, MenuInput{ParentID: base.ID, Name: "应用", Kind: KindMenu, Permission: "app.read", Sort: 5})
		if err != nil || up.Name != "应用" {
			t.Fatalf("rename a built-in: %+v %v", up, err)
		}
		dctx := f.as(root, "menu.delete")
		wantCode(t, f.svc.DeleteMenu(dctx, base.ID), fault.CodeResourceInUse)
		wantCode(t, f.svc.DeleteMenu(dctx, m.ID), fault.CodeResourceInUse) // has a child
		if err := f.svc.DeleteMenu(dctx, btn.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteMenu(dctx, m.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.GetMenu(f.as(root, "menu.read"), m.ID)
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("my menus", func(t *testing.T) {
		r := f.role(p1, "apps", "app.read", "app.create", "app.delete", "audit.export")
		_, staff := f.operator(p1, OperatorInput{Account: "apps1", Name: "a", RoleIDs: []int64{r.ID}})
		mine, err := f.svc.MyMenus(f.with(staff))
		if err != nil {
			t.Fatal(err)
		}
		// 业务配置 > 基础配置管理 > 应用 > [新增, 删除]; the export button
		// of a page it cannot open is not shown.
		got := flatten(mine)
		want := []string{"业务配置", "基础配置管理", "应用", "新增", "删除"}
		if !slices.Equal(got, want) {
			t.Fatalf("staff menus %v, want %v", got, want)
		}
		all, _ := f.svc.MyMenus(f.with(root))
		sub, _ := f.svc.MyMenus(f.with(p1))
		fa, fs := flatten(all), flatten(sub)
		if len(fs) >= len(fa) || !slices.Contains(fs, "平台管理") {
			t.Fatalf("sub-platform admin menus: %d of %d", len(fs), len(fa))
		}
		for _, m := range allNodes(sub) {
			if m.Permission == "menu.create" || m.Permission == "platform.create" {
				t.Fatalf("sub-platform admin shown main-only %s", m.Permission)
			}
		}
	})
}

func flatten(ms []*Menu) []string {
	var out []string
	for _, m := range allNodes(ms) {
		out = append(out, m.Name)
	}
	return out
}

func allNodes(ms []*Menu) []*Menu {
	var out []*Menu
	for _, m := range ms {
		out = append(out, m)
		out = append(out, allNodes(m.Children)...)
	}
	return out
}
