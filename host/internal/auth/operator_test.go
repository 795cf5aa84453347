package auth

import (
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
)

func TestPlatformScope(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	p2 := f.platformAdmin("P0002", "p2admin", "")
	p1staff, _ := f.operator(p1, OperatorInput{Account: "p1.staff", Name: "一号"})
	p2staff, _ := f.operator(p2, OperatorInput{Account: "p2.staff", Name: "二号"})
	if p1staff.PlatformID != "P0001" || p1staff.ParentID != 0 {
		t.Fatalf("created by a platform admin: %+v", p1staff)
	}

	t.Run("lists and totals exclude other platforms", func(t *testing.T) {
		page, err := f.svc.ListOperators(f.as(p1, "operator.read"), OperatorFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if got := accounts(page.Items); page.Total != 2 || !slices.Equal(got, []string{"p1.staff", "p1admin"}) {
			t.Fatalf("P0001 admin sees %d: %v", page.Total, got)
		}
		// Asking for another platform explicitly finds nothing.
		page, _ = f.svc.ListOperators(f.as(p1, "operator.read"), OperatorFilter{PlatformID: "P0002"})
		if page.Total != 0 || len(page.Items) != 0 {
			t.Fatalf("P0001 admin sees P0002: %v", accounts(page.Items))
		}
		page, _ = f.svc.ListOperators(f.as(root, "operator.read"), OperatorFilter{PageSize: 2})
		if page.Total != 5 || len(page.Items) != 2 {
			t.Fatalf("root: total %d, page %d", page.Total, len(page.Items))
		}
		page, _ = f.svc.ListOperators(f.as(root, "operator.read"), OperatorFilter{Keyword: "staff"})
		if got := accounts(page.Items); !slices.Equal(got, []string{"p1.staff", "p2.staff"}) {
			t.Fatalf("keyword: %v", got)
		}
		page, _ = f.svc.ListOperators(f.as(root, "operator.read"), OperatorFilter{Keyword: "二"})
		if got := accounts(page.Items); !slices.Equal(got, []string{"p2.staff"}) {
			t.Fatalf("keyword on name: %v", got)
		}
		page, _ = f.svc.ListOperators(f.as(root, "operator.read"), OperatorFilter{Keyword: "%"})
		if page.Total != 0 {
			t.Fatalf("LIKE metacharacters must be literal: %v", accounts(page.Items))
		}
	})

	t.Run("another platform's operator is 403", func(t *testing.T) {
		ctx := f.as(p1, "operator.read")
		_, err := f.svc.GetOperator(ctx, p2staff.ID)
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		if _, err := f.svc.GetOperator(ctx, p1staff.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.UpdateOperator(f.as(p1, "operator.update"), p2staff.ID, OperatorInput{Name: "x"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		wantCode(t, f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{p2staff.ID}), fault.CodeUnauthorizedOperation)
		// All or nothing: one foreign id spoils the batch.
		wantCode(t, f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{p1staff.ID, p2staff.ID}), fault.CodeUnauthorizedOperation)
		if _, err := f.svc.GetOperator(f.as(p1, "operator.read"), p1staff.ID); err != nil {
			t.Fatalf("p1.staff deleted by a refused batch: %v", err)
		}
		_, err = f.svc.ResetPassword(f.as(p1, "operator.reset_password"), p2staff.ID)
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		wantCode(t, f.svc.SetOperatorStatus(f.as(p1, "operator.disable"), p2staff.ID, false), fault.CodeUnauthorizedOperation)
		_, err = f.svc.GetOperator(ctx, 999999)
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("sub-platform admin creates only in its platform", func(t *testing.T) {
		ctx := f.as(p1, "operator.create")
		_, err := f.svc.CreateOperator(ctx, OperatorInput{Account: "intruder", Name: "x", PlatformID: "P0002"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = f.svc.CreateOperator(ctx, OperatorInput{Account: "intruder", Name: "x", PlatformID: "P0002", Type: actor.PlatformAdmin})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = f.svc.CreateOperator(ctx, OperatorInput{Account: "intruder", Name: "x", Type: actor.Root})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		n, err := f.svc.CreateOperator(ctx, OperatorInput{Account: "p1.admin2", Name: "x", Type: actor.PlatformAdmin})
		if err != nil || n.Operator.PlatformID != "P0001" {
			t.Fatalf("second admin of its own platform: %+v %v", n, err)
		}
		_, err = f.svc.CreateOperator(ctx, OperatorInput{Account: "P1.ADMIN2", Name: "x"})
		wantCode(t, err, fault.CodeResourceAlreadyExists)
	})

	t.Run("bad input", func(t *testing.T) {
		ctx := f.as(root, "operator.create")
		for name, in := range map[string]OperatorInput{
			"no account":      {Name: "x"},
			"short account":   {Account: "ab", Name: "x"},
			"account charset": {Account: "张三abc", Name: "x"},
			"no name":         {Account: "abc"},
			"bad mobile":      {Account: "abc", Name: "x", Mobile: "call me"},
			"bad region":      {Account: "abc", Name: "x", RegionCode: "31 01"},
			"bad object type": {Account: "abc", Name: "x", ObjectTypes: []string{"a b"}},
			"unknown role":    {Account: "abc", Name: "x", RoleIDs: []int64{424242}},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := f.svc.CreateOperator(ctx, in)
				if k := fault.KindOf(err); k != fault.Invalid {
					t.Fatalf("kind %v (%v), want invalid", k, err)
				}
			})
		}
	})
}

func TestRegionAccount(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	opRole := f.role(p1, "ops", "operator.read", "operator.create", "operator.update", "role.read")
	xuhui, xa := f.operator(p1, OperatorInput{Account: "xuhui", Name: "徐汇", RegionCode: "310104", RoleIDs: []int64{opRole.ID}})
	f.operator(p1, OperatorInput{Account: "xuhui.a", Name: "a", RegionCode: "31010401"})
	jingan, _ := f.operator(p1, OperatorInput{Account: "jingan", Name: "静安", RegionCode: "310106"})
	f.operator(p1, OperatorInput{Account: "citywide", Name: "全市"})

	page, err := f.svc.ListOperators(f.as(xa, "operator.read"), OperatorFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if got := accounts(page.Items); page.Total != 2 || !slices.Equal(got, []string{"xuhui", "xuhui.a"}) {
		t.Fatalf("region account sees %d: %v", page.Total, got)
	}
	_, err = f.svc.GetOperator(f.as(xa, "operator.read"), jingan.ID)
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	if _, err := f.svc.GetOperator(f.as(xa, "operator.read"), xuhui.ID); err != nil {
		t.Fatal(err)
	}
	// It may see its platform's roles, to give them.
	roles, err := f.svc.ListRoles(f.as(xa, "role.read"), RoleFilter{})
	if err != nil || roles.Total != 1 {
		t.Fatalf("roles seen by a region account: %+v %v", roles, err)
	}
	if _, err := f.svc.GetRole(f.as(xa, "role.read"), opRole.ID); err != nil {
		t.Fatal(err)
	}
	// Moving an operator of its region to another region is refused.
	sub, _ := f.operator(xa, OperatorInput{Account: "xuhui.sub", Name: "s", RegionCode: "3101040101"})
	_, err = f.svc.UpdateOperator(f.as(xa, "operator.update"), sub.ID, OperatorInput{Name: "s", RegionCode: "310106"})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestGrantNotBeyondParent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	small := f.role(p1, "small", "operator.read", "operator.create", "app.read")
	big := f.role(p1, "big", "operator.read", "operator.create", "app.read", "app.delete")
	_, parent := f.operator(p1, OperatorInput{Account: "parent", Name: "p", RegionCode: "3101",
		ObjectTypes: []string{"toilet", "well"}, RoleIDs: []int64{small.ID}})
	ctx := f.as(parent, "operator.create")

	for _, tc := range []struct {
		name      string
		in        OperatorInput
		violation string
	}{
		{"a permission", OperatorInput{RegionCode: "3101", ObjectTypes: []string{"toilet"}, RoleIDs: []int64{big.ID}}, "permission app.delete exceeds parent"},
		{"a wider region", OperatorInput{RegionCode: "31", ObjectTypes: []string{"toilet"}, RoleIDs: []int64{small.ID}}, "region"},
		{"no region", OperatorInput{ObjectTypes: []string{"toilet"}, RoleIDs: []int64{small.ID}}, "region"},
		{"an object type", OperatorInput{RegionCode: "3101", ObjectTypes: []string{"shop"}, RoleIDs: []int64{small.ID}}, "object type shop outside parent"},
		{"any object type", OperatorInput{RegionCode: "3101", RoleIDs: []int64{small.ID}}, "object types (all) outside parent"},
		{"administrator", OperatorInput{RegionCode: "3101", ObjectTypes: []string{"toilet"}, Type: actor.PlatformAdmin}, "permission * exceeds parent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Account, tc.in.Name = "child", "c"
			_, err := f.svc.CreateOperator(ctx, tc.in)
			wantCode(t, err, fault.CodeUnauthorizedOperation)
			if !strings.Contains(err.Error(), tc.violation) {
				t.Fatalf("violations %q lack %q", err, tc.violation)
			}
		})
	}

	n, err := f.svc.CreateOperator(ctx, OperatorInput{Account: "child", Name: "c", RegionCode: "310104",
		ObjectTypes: []string{"toilet"}, RoleIDs: []int64{small.ID}})
	if err != nil {
		t.Fatalf("a grant within the parent's: %v", err)
	}
	if n.Operator.ParentID != parent.OperatorID {
		t.Fatalf("sub-account parent %d, want %d", n.Operator.ParentID, parent.OperatorID)
	}
	child := f.session("child", n.Password)
	if !slices.Equal(child.ObjectTypes, []string{"toilet"}) || child.RegionCode != "310104" || child.ParentID != parent.OperatorID ||
		!slices.Equal(child.Permissions, []string{"app.read", "operator.create", "operator.read"}) {
		t.Fatalf("child actor: %+v", child)
	}

	// Staff cannot manage an operator holding more than they do: no taking
	// over an administrator by resetting its password.
	f.operator(p1, OperatorInput{Account: "p1admin2", Name: "a", Type: actor.PlatformAdmin})
	resetter := f.role(p1, "resetter", "operator.read", "operator.reset_password", "operator.update")
	_, helpdesk := f.operator(p1, OperatorInput{Account: "helpdesk", Name: "h", RoleIDs: []int64{resetter.ID}})
	var adminID int64
	f.pool.QueryRow(f.ctx, `SELECT id FROM auth_operators WHERE account = 'p1admin2'`).Scan(&adminID)
	_, err = f.svc.ResetPassword(f.as(helpdesk, "operator.reset_password"), adminID)
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	// Nor widen its own grant.
	_, err = f.svc.UpdateOperator(f.as(helpdesk, "operator.update"), helpdesk.OperatorID,
		OperatorInput{Name: "h", RoleIDs: []int64{resetter.ID, big.ID}})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
}

func TestOperatorLifecycle(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	root := f.seedRoot()
	p1 := f.platformAdmin("P0001", "p1admin", "")
	n, err := f.svc.CreateOperator(f.as(p1, "operator.create"), OperatorInput{
		Account: "li.si", Name: "李四", Mobile: "138 1234 5678", Email: "li.si@example.org", DepartmentID: "D01"})
	if err != nil {
		t.Fatal(err)
	}
	op := n.Operator
	if !op.MustChangePassword || op.Status != StatusEnabled || op.Mobile != "138****5678" || op.Type != actor.Staff {
		t.Fatalf("created: %+v", op)
	}

	t.Run("mobile stored sealed and found by blind index", func(t *testing.T) {
		var sealed, index string
		f.pool.QueryRow(f.ctx, `SELECT mobile_sealed, mobile_index FROM auth_operators WHERE id = $1`, op.ID).Scan(&sealed, &index)
		if sealed == "" || strings.Contains(sealed, "5678") || strings.Contains(sealed, "13812345678") || strings.Contains(index, "13812345678") {
			t.Fatalf("raw columns reveal the number: %q %q", sealed, index)
		}
		page, err := f.svc.ListOperators(f.as(p1, "operator.read"), OperatorFilter{Mobile: "13812345678"})
		if err != nil || page.Total != 1 || page.Items[0].Mobile != "138****5678" {
			t.Fatalf("by mobile: %+v %v", page, err)
		}
		// The masked number sent back on update keeps the number.
		up, err := f.svc.UpdateOperator(f.as(p1, "operator.update"), op.ID, OperatorInput{Name: "李四四", Mobile: op.Mobile, Email: op.Email})
		if err != nil || up.Mobile != "138****5678" || up.Name != "李四四" {
			t.Fatalf("update: %+v %v", up, err)
		}
		_, err = f.svc.UpdateOperator(f.as(p1, "operator.update"), op.ID, OperatorInput{Name: "x", Account: "other"})
		wantCode(t, err, fault.CodeInvalidParameter)
		_, err = f.svc.UpdateOperator(f.as(p1, "operator.update"), op.ID, OperatorInput{Name: "x", PlatformID: "P0002"})
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	t.Run("reset password revokes sessions", func(t *testing.T) {
		res, err := f.login("li.si", n.Password)
		if err != nil {
			t.Fatal(err)
		}
		pw, err := f.svc.ResetPassword(f.as(p1, "operator.reset_password"), op.ID)
		if err != nil || len(pw) != 16 || pw == n.Password {
			t.Fatalf("reset: %q %v", pw, err)
		}
		_, err = f.svc.Authenticate(f.ctx, res.Token)
		wantCode(t, err, fault.CodeSessionExpired)
		_, err = f.login("li.si", n.Password)
		wantCode(t, err, fault.CodeInvalidCredential)
		res, err = f.login("li.si", pw)
		if err != nil || !res.MustChangePassword {
			t.Fatalf("login with the reset password: %+v %v", res, err)
		}
	})

	t.Run("self and root are protected", func(t *testing.T) {
		wantCode(t, f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{p1.OperatorID}), fault.CodeUnauthorizedOperation)
		wantCode(t, f.svc.SetOperatorStatus(f.as(p1, "operator.disable"), p1.OperatorID, false), fault.CodeUnauthorizedOperation)
		_, err := f.svc.UpdateOperator(f.as(p1, "operator.update"), p1.OperatorID, OperatorInput{Name: "me", Status: StatusDisabled})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		mainAdmin := f.platformAdmin(mainID, "main.admin", "")
		for name, err := range map[string]error{
			"reset": func() error {
				_, err := f.svc.ResetPassword(f.as(mainAdmin, "operator.reset_password"), root.OperatorID)
				return err
			}(),
			"disable": f.svc.SetOperatorStatus(f.as(mainAdmin, "operator.disable"), root.OperatorID, false),
			"delete":  f.svc.DeleteOperators(f.as(mainAdmin, "operator.delete"), []int64{root.OperatorID}),
			"update": func() error {
				_, err := f.svc.UpdateOperator(f.as(mainAdmin, "operator.update"), root.OperatorID, OperatorInput{Name: "x"})
				return err
			}(),
			"root deletes itself": f.svc.DeleteOperators(f.as(root, "operator.delete"), []int64{root.OperatorID}),
			"root demoted": func() error {
				_, err := f.svc.UpdateOperator(f.as(root, "operator.update"), root.OperatorID, OperatorInput{Name: "x", Type: actor.PlatformAdmin})
				return err
			}(),
		} {
			if fault.CodeOf(err) != fault.CodeUnauthorizedOperation {
				t.Errorf("%s: %v, want UnauthorizedOperation", name, err)
			}
		}
		if _, err := f.svc.UpdateOperator(f.as(root, "operator.update"), root.OperatorID, OperatorInput{Name: "超级管理员"}); err != nil {
			t.Fatalf("root edits itself: %v", err)
		}
	})

	t.Run("sub-accounts block deleting their parent", func(t *testing.T) {
		r := f.role(p1, "creator", "operator.create", "operator.read")
		parent, pa := f.operator(p1, OperatorInput{Account: "parent", Name: "p", RoleIDs: []int64{r.ID}})
		child, _ := f.operator(pa, OperatorInput{Account: "child", Name: "c", RoleIDs: []int64{r.ID}})
		wantCode(t, f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{parent.ID}), fault.CodeResourceInUse)
		if err := f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{parent.ID, child.ID}); err != nil {
			t.Fatalf("parent and child together: %v", err)
		}
		_, err := f.svc.GetOperator(f.as(p1, "operator.read"), child.ID)
		wantCode(t, err, fault.CodeResourceNotFound)
	})

	t.Run("delete", func(t *testing.T) {
		if err := f.svc.DeleteOperators(f.as(p1, "operator.delete"), []int64{op.ID}); err != nil {
			t.Fatal(err)
		}
		wantCode(t, f.svc.DeleteOperators(f.as(p1, "operator.delete"), nil), fault.CodeMissingParameter)
	})
}

func TestCreatePlatformAdmin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.svc.Seed(f.ctx)
	var pw string
	err := store.Tx(f.ctx, f.pool, func(tx pgx.Tx) error {
		var err error
		if pw, err = f.svc.CreatePlatformAdmin(f.ctx, tx, "P0003", "jingan.admin", "310106"); err != nil {
			return err
		}
		_, err = f.svc.CreatePlatformAdmin(f.ctx, tx, "P0004", "Jingan.Admin", "")
		wantCode(t, err, fault.CodeResourceAlreadyExists)
		// The transaction is still usable after the refusal.
		_, err = f.svc.CreatePlatformAdmin(f.ctx, tx, "P0004", "p4.admin", "")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := f.login("jingan.admin", pw)
	if err != nil {
		t.Fatal(err)
	}
	o := res.Operator
	if o.Type != actor.PlatformAdmin || o.PlatformID != "P0003" || o.RegionCode != "310106" || !res.MustChangePassword {
		t.Fatalf("platform admin: %+v", o)
	}
	_, err = f.svc.CreatePlatformAdmin(f.ctx, nil, "P0005", "x", "")
	wantCode(t, err, fault.CodeInvalidParameter)
}
