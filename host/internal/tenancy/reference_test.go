package tenancy_test

import (
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

func TestRegions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())

	street := must[*tenancy.Region](t)(e.svc.CreateRegion(ctx, &tenancy.CreateRegionIn{Code: "310104014", ParentCode: "310104", Name: "徐家汇街道", Level: 4}))
	if street.Status != tenancy.StatusEnabled || street.ParentCode != "310104" {
		t.Fatalf("created %+v", street)
	}
	must[*tenancy.Region](t)(e.svc.CreateRegion(ctx, &tenancy.CreateRegionIn{Code: "320000", Name: "江苏省", Level: 1}))
	must[*tenancy.Region](t)(e.svc.CreateRegion(ctx, &tenancy.CreateRegionIn{Code: "320100", ParentCode: "320000", Name: "南京市", Level: 2}))

	for _, tc := range []struct {
		name string
		in   tenancy.CreateRegionIn
		code string
	}{
		{"missing code", tenancy.CreateRegionIn{Name: "x", Level: 1}, fault.CodeMissingParameter},
		{"missing name", tenancy.CreateRegionIn{Code: "330000", Level: 1}, fault.CodeMissingParameter},
		{"missing level", tenancy.CreateRegionIn{Code: "330000", Name: "浙江省"}, fault.CodeMissingParameter},
		{"level out of range", tenancy.CreateRegionIn{Code: "330000", Name: "浙江省", Level: 6}, fault.CodeInvalidParameter},
		{"malformed code", tenancy.CreateRegionIn{Code: "33000", Name: "浙江省", Level: 1}, fault.CodeInvalidParameter},
		{"code length and level", tenancy.CreateRegionIn{Code: "310104015", ParentCode: "310104", Name: "x", Level: 3}, fault.CodeInvalidParameter},
		{"level 1 with parent", tenancy.CreateRegionIn{Code: "330000", ParentCode: "310000", Name: "浙江省", Level: 1}, fault.CodeInvalidParameter},
		{"missing parent", tenancy.CreateRegionIn{Code: "310104015", Name: "x", Level: 4}, fault.CodeMissingParameter},
		{"unknown parent", tenancy.CreateRegionIn{Code: "330100", ParentCode: "330000", Name: "杭州市", Level: 2}, fault.CodeInvalidParameter},
		{"parent not above", tenancy.CreateRegionIn{Code: "310199", ParentCode: "310104", Name: "x", Level: 3}, fault.CodeInvalidParameter},
		{"outside parent's code", tenancy.CreateRegionIn{Code: "310105001", ParentCode: "310104", Name: "x", Level: 4}, fault.CodeInvalidParameter},
		{"duplicate", tenancy.CreateRegionIn{Code: "310104014", ParentCode: "310104", Name: "x", Level: 4}, fault.CodeResourceAlreadyExists},
		{"name too long", tenancy.CreateRegionIn{Code: "330000", Name: strings.Repeat("省", 65), Level: 1}, fault.CodeInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateRegion(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}

	t.Run("writes are main-only", func(t *testing.T) {
		p := e.platform("徐汇子平台", "310104")
		sub := e.ctx(subAdmin(p.ID))
		_, err := e.svc.CreateRegion(sub, &tenancy.CreateRegionIn{Code: "310104015", ParentCode: "310104", Name: "x", Level: 4})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		_, err = e.svc.UpdateRegion(sub, &tenancy.UpdateRegionIn{Code: "310104", Name: "x"})
		wantCode(t, err, fault.CodeUnauthorizedOperation)
		wantCode(t, e.svc.DeleteRegion(sub, &tenancy.RegionCodeIn{Code: "310104014"}), fault.CodeUnauthorizedOperation)
		// Everyone reads.
		page := must[*tenancy.Page[tenancy.Region]](t)(e.svc.ListRegions(sub, &tenancy.ListRegionsIn{Keyword: "徐"}))
		if page.Total != 2 {
			t.Fatalf("keyword 徐: %d regions", page.Total)
		}
	})

	t.Run("query", func(t *testing.T) {
		for _, tc := range []struct {
			in   tenancy.ListRegionsIn
			want int64
		}{
			{tenancy.ListRegionsIn{Keyword: "3101"}, 17},
			{tenancy.ListRegionsIn{ParentCode: "310000"}, 16},
			{tenancy.ListRegionsIn{Level: 1}, 2},
			{tenancy.ListRegionsIn{Level: 4}, 1},
			{tenancy.ListRegionsIn{Keyword: "浦东"}, 1},
		} {
			if got := must[*tenancy.Page[tenancy.Region]](t)(e.svc.ListRegions(ctx, &tc.in)); got.Total != tc.want {
				t.Errorf("%+v: %d, want %d", tc.in, got.Total, tc.want)
			}
		}
		_, err := e.svc.ListRegions(ctx, &tenancy.ListRegionsIn{Level: 9})
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	t.Run("tree", func(t *testing.T) {
		tree := must[*tenancy.RegionTree](t)(e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{}))
		if len(tree.Roots) != 2 || tree.Roots[0].Code != "310000" || len(tree.Roots[0].Children) != 16 {
			t.Fatalf("roots %+v", tree.Roots)
		}
		var xuhui *tenancy.RegionNode
		for _, c := range tree.Roots[0].Children {
			if c.Code == "310104" {
				xuhui = c
			}
		}
		if xuhui == nil || len(xuhui.Children) != 1 || xuhui.Children[0].Code != "310104014" {
			t.Fatalf("徐汇区 %+v", xuhui)
		}
		sub := must[*tenancy.RegionTree](t)(e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{RootCode: "310104"}))
		if len(sub.Roots) != 1 || len(sub.Roots[0].Children) != 1 {
			t.Fatalf("subtree %+v", sub.Roots)
		}
		shallow := must[*tenancy.RegionTree](t)(e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{MaxLevel: 3}))
		for _, c := range shallow.Roots[0].Children {
			if len(c.Children) != 0 {
				t.Fatalf("maxLevel 3 answered %s's children", c.Code)
			}
		}
		must[*tenancy.Region](t)(e.svc.SetRegionStatus(ctx, "310104", tenancy.StatusDisabled))
		enabled := must[*tenancy.RegionTree](t)(e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{Status: tenancy.StatusEnabled}))
		if len(enabled.Roots[0].Children) != 15 {
			t.Fatalf("enabled tree has %d districts", len(enabled.Roots[0].Children))
		}
		must[*tenancy.Region](t)(e.svc.SetRegionStatus(ctx, "310104", tenancy.StatusEnabled))
		_, err := e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{RootCode: "999999"})
		wantCode(t, err, fault.CodeResourceNotFound)
		_, err = e.svc.RegionTree(ctx, &tenancy.RegionTreeIn{MaxLevel: 7})
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	t.Run("update", func(t *testing.T) {
		r := must[*tenancy.Region](t)(e.svc.UpdateRegion(ctx, &tenancy.UpdateRegionIn{Code: "310104014", Name: "徐家汇"}))
		if r.Name != "徐家汇" || r.Level != 4 {
			t.Fatalf("updated %+v", r)
		}
		_, err := e.svc.UpdateRegion(ctx, &tenancy.UpdateRegionIn{Code: "999999", Name: "x"})
		wantCode(t, err, fault.CodeResourceNotFound)
		_, err = e.svc.UpdateRegion(ctx, &tenancy.UpdateRegionIn{Code: "310104", Name: ""})
		wantCode(t, err, fault.CodeMissingParameter)
		_, err = e.svc.SetRegionStatus(ctx, "310104", "off")
		wantCode(t, err, fault.CodeInvalidParameter)
	})

	t.Run("delete", func(t *testing.T) {
		// Children, platforms, apps and departments keep a region.
		wantCode(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310000"}), fault.CodeResourceInUse)
		wantCode(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310104"}), fault.CodeResourceInUse)
		e.app(mainAdmin(), "", "黄浦应用", "310101")
		wantCode(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310101"}), fault.CodeResourceInUse)
		must[*tenancy.Department](t)(e.svc.CreateDepartment(ctx, &tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{
			Name: "长宁办", RegionCode: "310105"}}))
		wantCode(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310105"}), fault.CodeResourceInUse)

		ok(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310104014"}))
		ok(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310151"}))
		wantCode(t, e.svc.DeleteRegion(ctx, &tenancy.RegionCodeIn{Code: "310151"}), fault.CodeResourceNotFound)
	})
}

func TestIndustries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())

	parent := must[*tenancy.Industry](t)(e.svc.CreateIndustry(ctx, &tenancy.CreateIndustryIn{Code: "community",
		IndustryFields: tenancy.IndustryFields{Name: "社区服务", Sort: 5}}))
	child := must[*tenancy.Industry](t)(e.svc.CreateIndustry(ctx, &tenancy.CreateIndustryIn{Code: "community-elder",
		IndustryFields: tenancy.IndustryFields{Name: "社区养老", ParentCode: "community"}}))
	if parent.Status != tenancy.StatusEnabled || child.ParentCode != "community" {
		t.Fatalf("created %+v, %+v", parent, child)
	}

	for _, tc := range []struct {
		name string
		in   tenancy.CreateIndustryIn
		code string
	}{
		{"missing code", tenancy.CreateIndustryIn{IndustryFields: tenancy.IndustryFields{Name: "x"}}, fault.CodeMissingParameter},
		{"bad code", tenancy.CreateIndustryIn{Code: "医疗", IndustryFields: tenancy.IndustryFields{Name: "x"}}, fault.CodeInvalidParameter},
		{"missing name", tenancy.CreateIndustryIn{Code: "x"}, fault.CodeMissingParameter},
		{"bad status", tenancy.CreateIndustryIn{Code: "x", IndustryFields: tenancy.IndustryFields{Name: "x", Status: "on"}}, fault.CodeInvalidParameter},
		{"unknown parent", tenancy.CreateIndustryIn{Code: "x", IndustryFields: tenancy.IndustryFields{Name: "x", ParentCode: "nope"}}, fault.CodeInvalidParameter},
		{"duplicate", tenancy.CreateIndustryIn{Code: "health", IndustryFields: tenancy.IndustryFields{Name: "x"}}, fault.CodeResourceAlreadyExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateIndustry(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}

	// A parent may not be the industry itself or below it.
	for _, p := range []string{"community", "community-elder"} {
		_, err := e.svc.UpdateIndustry(ctx, &tenancy.UpdateIndustryIn{Code: "community", IndustryFields: tenancy.IndustryFields{Name: "社区服务", ParentCode: p}})
		wantCode(t, err, fault.CodeInvalidParameter)
	}
	u := must[*tenancy.Industry](t)(e.svc.UpdateIndustry(ctx, &tenancy.UpdateIndustryIn{Code: "community-elder",
		IndustryFields: tenancy.IndustryFields{Name: "社区养老服务", ParentCode: "eldercare", Sort: 3}}))
	if u.ParentCode != "eldercare" || u.Name != "社区养老服务" || u.Sort != 3 {
		t.Fatalf("updated %+v", u)
	}
	_, err := e.svc.UpdateIndustry(ctx, &tenancy.UpdateIndustryIn{Code: "nope", IndustryFields: tenancy.IndustryFields{Name: "x"}})
	wantCode(t, err, fault.CodeResourceNotFound)

	page := must[*tenancy.Page[tenancy.Industry]](t)(e.svc.ListIndustries(ctx, &tenancy.ListIndustriesIn{Keyword: "养老"}))
	if page.Total != 2 {
		t.Fatalf("keyword 养老: %d", page.Total)
	}
	page = must[*tenancy.Page[tenancy.Industry]](t)(e.svc.ListIndustries(ctx, &tenancy.ListIndustriesIn{ParentCode: "eldercare"}))
	if page.Total != 1 {
		t.Fatalf("children of eldercare: %d", page.Total)
	}

	wantCode(t, e.svc.DeleteIndustry(ctx, &tenancy.IndustryCodeIn{Code: "eldercare"}), fault.CodeResourceInUse)
	e.app(mainAdmin(), "", "挂号", "") // industry health
	wantCode(t, e.svc.DeleteIndustry(ctx, &tenancy.IndustryCodeIn{Code: "health"}), fault.CodeResourceInUse)
	ok(t, e.svc.DeleteIndustry(ctx, &tenancy.IndustryCodeIn{Code: "community-elder"}))
	wantCode(t, e.svc.DeleteIndustry(ctx, &tenancy.IndustryCodeIn{Code: "community-elder"}), fault.CodeResourceNotFound)

	p := e.platform("徐汇子平台", "310104")
	_, err = e.svc.CreateIndustry(e.ctx(subAdmin(p.ID)), &tenancy.CreateIndustryIn{Code: "y", IndustryFields: tenancy.IndustryFields{Name: "y"}})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	must[*tenancy.Industry](t)(e.svc.GetIndustry(e.ctx(subAdmin(p.ID)), &tenancy.IndustryCodeIn{Code: "health"}))
}

func TestDepartments(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.platform("徐汇子平台", "310104")
	b := e.platform("静安子平台", "310106")
	asA, asB := e.ctx(subAdmin(a.ID)), e.ctx(subAdmin(b.ID))

	office := must[*tenancy.Department](t)(e.svc.CreateDepartment(asA, &tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{
		Name: "办公室", RegionCode: "310104", Leader: "李主任", Phone: "021-64872222", Sort: 1}}))
	if office.PlatformID != a.ID || office.RegionName != "徐汇区" {
		t.Fatalf("created %+v", office)
	}
	team := must[*tenancy.Department](t)(e.svc.CreateDepartment(asA, &tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{
		Name: "信息科", ParentID: office.ID, RegionCode: "310104"}}))
	other := must[*tenancy.Department](t)(e.svc.CreateDepartment(asB, &tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{
		Name: "办公室"}}))

	for _, tc := range []struct {
		name string
		in   tenancy.CreateDepartmentIn
		code string
	}{
		{"missing name", tenancy.CreateDepartmentIn{}, fault.CodeMissingParameter},
		{"duplicate sibling", tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{Name: "办公室"}}, fault.CodeResourceAlreadyExists},
		{"parent in another platform", tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{Name: "x", ParentID: other.ID}}, fault.CodeInvalidParameter},
		{"unknown parent", tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{Name: "x", ParentID: 999999}}, fault.CodeInvalidParameter},
		{"unknown region", tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{Name: "x", RegionCode: "110000"}}, fault.CodeInvalidParameter},
		{"bad phone", tenancy.CreateDepartmentIn{DepartmentFields: tenancy.DepartmentFields{Name: "x", Phone: "call me"}}, fault.CodeInvalidParameter},
		{"another platform", tenancy.CreateDepartmentIn{PlatformID: b.ID, DepartmentFields: tenancy.DepartmentFields{Name: "x"}}, fault.CodeUnauthorizedOperation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CreateDepartment(asA, &tc.in)
			wantCode(t, err, tc.code)
		})
	}

	page := must[*tenancy.Page[tenancy.Department]](t)(e.svc.ListDepartments(asA, &tenancy.ListDepartmentsIn{}))
	if page.Total != 2 {
		t.Fatalf("sub admin sees %d departments", page.Total)
	}
	if got := must[*tenancy.Page[tenancy.Department]](t)(e.svc.ListDepartments(e.ctx(mainAdmin()), &tenancy.ListDepartmentsIn{Keyword: "办公室"})); got.Total != 2 {
		t.Fatalf("main admin finds %d offices", got.Total)
	}
	if got := must[*tenancy.Page[tenancy.Department]](t)(e.svc.ListDepartments(asA, &tenancy.ListDepartmentsIn{ParentID: office.ID})); got.Total != 1 {
		t.Fatalf("children: %d", got.Total)
	}
	_, err := e.svc.GetDepartment(asA, &tenancy.DepartmentIDIn{ID: other.ID})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	_, err = e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: other.ID, DepartmentFields: tenancy.DepartmentFields{Name: "x"}})
	wantCode(t, err, fault.CodeUnauthorizedOperation)
	wantCode(t, e.svc.DeleteDepartment(asA, &tenancy.DepartmentIDIn{ID: other.ID}), fault.CodeUnauthorizedOperation)

	// No cycles.
	_, err = e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: office.ID, DepartmentFields: tenancy.DepartmentFields{Name: "办公室", ParentID: team.ID}})
	wantCode(t, err, fault.CodeInvalidParameter)
	_, err = e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: office.ID, DepartmentFields: tenancy.DepartmentFields{Name: "办公室", ParentID: office.ID}})
	wantCode(t, err, fault.CodeInvalidParameter)
	u := must[*tenancy.Department](t)(e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: team.ID, DepartmentFields: tenancy.DepartmentFields{Name: "信息中心"}}))
	if u.ParentID != 0 || u.Name != "信息中心" || u.RegionCode != "" {
		t.Fatalf("updated %+v", u)
	}
	_, err = e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: team.ID, DepartmentFields: tenancy.DepartmentFields{Name: "办公室"}})
	wantCode(t, err, fault.CodeResourceAlreadyExists)

	// A region account sees only its region's departments.
	region := e.ctx(staff(a.ID, "310104", "department.read"))
	if got := must[*tenancy.Page[tenancy.Department]](t)(e.svc.ListDepartments(region, &tenancy.ListDepartmentsIn{})); got.Total != 1 {
		t.Fatalf("region account sees %d departments", got.Total)
	}

	must[*tenancy.Department](t)(e.svc.UpdateDepartment(asA, &tenancy.UpdateDepartmentIn{ID: team.ID, DepartmentFields: tenancy.DepartmentFields{Name: "信息中心", ParentID: office.ID}}))
	wantCode(t, e.svc.DeleteDepartment(asA, &tenancy.DepartmentIDIn{ID: office.ID}), fault.CodeResourceInUse)
	ok(t, e.svc.DeleteDepartment(asA, &tenancy.DepartmentIDIn{ID: team.ID}))
	ok(t, e.svc.DeleteDepartment(asA, &tenancy.DepartmentIDIn{ID: office.ID}))
	wantCode(t, e.svc.DeleteDepartment(asA, &tenancy.DepartmentIDIn{ID: office.ID}), fault.CodeResourceNotFound)
}

func TestDictionaries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())

	g := must[*tenancy.DictGroup](t)(e.svc.CreateDictGroup(ctx, &tenancy.CreateDictGroupIn{Code: "object_type",
		DictGroupFields: tenancy.DictGroupFields{Name: "物品类型"}}))
	g2 := must[*tenancy.DictGroup](t)(e.svc.CreateDictGroup(ctx, &tenancy.CreateDictGroupIn{Code: "gender",
		DictGroupFields: tenancy.DictGroupFields{Name: "性别"}}))
	toilet := must[*tenancy.DictItem](t)(e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "object_type",
		DictItemFields: tenancy.DictItemFields{Label: "公厕", Value: "toilet", Sort: 1}}))
	must[*tenancy.DictItem](t)(e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "object_type",
		DictItemFields: tenancy.DictItemFields{Label: "窨井", Value: "well", Sort: 2}}))
	male := must[*tenancy.DictItem](t)(e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "gender",
		DictItemFields: tenancy.DictItemFields{Label: "男", Value: "1"}}))
	if toilet.Status != tenancy.StatusEnabled {
		t.Fatalf("item %+v", toilet)
	}

	for _, tc := range []struct {
		name string
		err  func() error
		code string
	}{
		{"group code missing", func() error {
			_, err := e.svc.CreateDictGroup(ctx, &tenancy.CreateDictGroupIn{DictGroupFields: tenancy.DictGroupFields{Name: "x"}})
			return err
		}, fault.CodeMissingParameter},
		{"group code malformed", func() error {
			_, err := e.svc.CreateDictGroup(ctx, &tenancy.CreateDictGroupIn{Code: "1x", DictGroupFields: tenancy.DictGroupFields{Name: "x"}})
			return err
		}, fault.CodeInvalidParameter},
		{"group duplicate", func() error {
			_, err := e.svc.CreateDictGroup(ctx, &tenancy.CreateDictGroupIn{Code: "gender", DictGroupFields: tenancy.DictGroupFields{Name: "x"}})
			return err
		}, fault.CodeResourceAlreadyExists},
		{"item without group", func() error {
			_, err := e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{DictItemFields: tenancy.DictItemFields{Label: "x", Value: "x"}})
			return err
		}, fault.CodeMissingParameter},
		{"item in unknown group", func() error {
			_, err := e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "nope", DictItemFields: tenancy.DictItemFields{Label: "x", Value: "x"}})
			return err
		}, fault.CodeInvalidParameter},
		{"item duplicate value", func() error {
			_, err := e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "object_type", DictItemFields: tenancy.DictItemFields{Label: "厕所", Value: "toilet"}})
			return err
		}, fault.CodeResourceAlreadyExists},
		{"item missing label", func() error {
			_, err := e.svc.CreateDictItem(ctx, &tenancy.CreateDictItemIn{GroupCode: "gender", DictItemFields: tenancy.DictItemFields{Value: "2"}})
			return err
		}, fault.CodeMissingParameter},
		{"update unknown item", func() error {
			_, err := e.svc.UpdateDictItem(ctx, &tenancy.UpdateDictItemIn{ID: 999999, DictItemFields: tenancy.DictItemFields{Label: "x", Value: "x"}})
			return err
		}, fault.CodeResourceNotFound},
		{"update to a taken value", func() error {
			_, err := e.svc.UpdateDictItem(ctx, &tenancy.UpdateDictItemIn{ID: toilet.ID, DictItemFields: tenancy.DictItemFields{Label: "x", Value: "well"}})
			return err
		}, fault.CodeResourceAlreadyExists},
		{"empty batch", func() error {
			_, err := e.svc.DeleteDictItems(ctx, &tenancy.IDs{})
			return err
		}, fault.CodeMissingParameter},
		{"bad batch id", func() error {
			_, err := e.svc.DeleteDictGroups(ctx, &tenancy.IDs{IDs: []int64{0}})
			return err
		}, fault.CodeInvalidParameter},
		{"sub-platform writes", func() error {
			p := e.platform("徐汇子平台", "310104")
			_, err := e.svc.CreateDictGroup(e.ctx(subAdmin(p.ID)), &tenancy.CreateDictGroupIn{Code: "x", DictGroupFields: tenancy.DictGroupFields{Name: "x"}})
			return err
		}, fault.CodeUnauthorizedOperation},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err(), tc.code) })
	}

	items := must[*tenancy.Page[tenancy.DictItem]](t)(e.svc.ListDictItems(ctx, &tenancy.ListDictItemsIn{GroupCode: "object_type"}))
	if items.Total != 2 || items.Items[0].Value != "toilet" {
		t.Fatalf("items %+v", items)
	}
	if got := must[*tenancy.Page[tenancy.DictItem]](t)(e.svc.ListDictItems(ctx, &tenancy.ListDictItemsIn{Keyword: "厕"})); got.Total != 1 {
		t.Fatalf("keyword 厕: %d", got.Total)
	}
	if got := must[*tenancy.Page[tenancy.DictGroup]](t)(e.svc.ListDictGroups(ctx, &tenancy.ListDictGroupsIn{Keyword: "性"})); got.Total != 1 {
		t.Fatalf("group keyword 性: %d", got.Total)
	}
	ug := must[*tenancy.DictGroup](t)(e.svc.UpdateDictGroup(ctx, &tenancy.UpdateDictGroupIn{ID: g.ID, DictGroupFields: tenancy.DictGroupFields{Name: "一物一码类型", Description: "对象码的物品类型"}}))
	if ug.Code != "object_type" || ug.Name != "一物一码类型" {
		t.Fatalf("updated group %+v", ug)
	}
	ui := must[*tenancy.DictItem](t)(e.svc.UpdateDictItem(ctx, &tenancy.UpdateDictItemIn{ID: toilet.ID, DictItemFields: tenancy.DictItemFields{Label: "公共厕所", Value: "toilet", Status: tenancy.StatusDisabled}}))
	if ui.Label != "公共厕所" || ui.Status != tenancy.StatusDisabled {
		t.Fatalf("updated item %+v", ui)
	}

	// Deleting a group deletes its items; batches ignore unknown ids.
	ok(t, e.svc.DeleteDictGroup(ctx, &tenancy.DictGroupIDIn{ID: g.ID}))
	if n := e.count("SELECT count(*) FROM dict_items WHERE group_code = 'object_type'"); n != 0 {
		t.Fatalf("%d items of a deleted group left", n)
	}
	wantCode(t, e.svc.DeleteDictGroup(ctx, &tenancy.DictGroupIDIn{ID: g.ID}), fault.CodeResourceNotFound)
	d := must[*tenancy.Deleted](t)(e.svc.DeleteDictItems(ctx, &tenancy.IDs{IDs: []int64{male.ID, 999999}}))
	if d.Deleted != 1 {
		t.Fatalf("deleted %d items", d.Deleted)
	}
	d = must[*tenancy.Deleted](t)(e.svc.DeleteDictGroups(ctx, &tenancy.IDs{IDs: []int64{g2.ID, g.ID}}))
	if d.Deleted != 1 || e.count("SELECT count(*) FROM dict_groups") != 0 {
		t.Fatalf("deleted %d groups", d.Deleted)
	}
	_, err := e.svc.GetDictItem(ctx, &tenancy.DictItemIDIn{ID: male.ID})
	wantCode(t, err, fault.CodeResourceNotFound)
}
