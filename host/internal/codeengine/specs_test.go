package codeengine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/fault"
)

func TestSpecs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := e.ctx(mainAdmin())
	fields := []codeengine.Field{
		{Name: "certNo", Label: "证件号码", Length: 18, Required: true},
		{Name: "certType", Label: "证件类型", Length: 2, Type: "enum", Options: []string{"01", "02"}},
	}
	a := must(e.rules.CreateSpec(ctx, &codeengine.SpecIn{Name: " 城市码通用规范 ", Description: "全市统一", Fields: fields}))(t)
	if a.ID != "S0001" || a.Name != "城市码通用规范" || a.Status != "enabled" || len(a.Fields) != 2 || a.Fields[0].Type != "string" {
		t.Fatalf("created %+v", a)
	}
	e.clock.Advance(time.Hour)
	b := must(e.rules.CreateSpec(ctx, &codeengine.SpecIn{Name: "企业码规范", Fields: fields[:1]}))(t)

	// A rule takes the spec's fields, or its own edit of them.
	in := identityRule("")
	in.SpecID = a.ID
	copied := e.rule(in)
	in.SpecFields = []codeengine.Field{{Name: "certNo", Label: "身份证号", Length: 18}}
	edited := e.rule(in)
	if len(copied.SpecFields) != 2 || len(edited.SpecFields) != 1 || edited.SpecFields[0].Label != "身份证号" || copied.SpecID != a.ID {
		t.Fatalf("spec fields: %+v / %+v", copied.SpecFields, edited.SpecFields)
	}

	// Disabled specs cannot be chosen; enabled again, they can.
	if got := must(e.rules.DisableSpec(ctx, &codeengine.SpecIDIn{SpecID: a.ID}))(t); got.Status != "disabled" {
		t.Fatalf("disabled: %+v", got)
	}
	_, err := e.rules.CreateRule(ctx, in)
	wantCode(t, err, fault.CodeFailedOperation)
	must(e.rules.EnableSpec(ctx, &codeengine.SpecIDIn{SpecID: a.ID}))(t)
	e.rule(in)

	// Editing a spec leaves rules as they were; deleting it too, except
	// that they no longer name it.
	upd := must(e.rules.UpdateSpec(ctx, &codeengine.UpdateSpecIn{SpecID: a.ID, SpecIn: codeengine.SpecIn{Name: "通用规范 v2",
		Fields: []codeengine.Field{{Name: "uscc", Length: 18}}}}))(t)
	if upd.Name != "通用规范 v2" || len(upd.Fields) != 1 || upd.Description != "" || !upd.UpdatedAt.After(upd.CreatedAt) {
		t.Fatalf("updated %+v", upd)
	}
	must(e.rules.DeleteSpec(ctx, &codeengine.SpecIDIn{SpecID: a.ID}))(t)
	got := must(e.rules.GetRule(ctx, &codeengine.RuleIDIn{RuleID: copied.ID}))(t)
	if got.SpecID != "" || got.SpecName != "城市码通用规范" || len(got.SpecFields) != 2 || got.SpecFields[0].Name != "certNo" || len(got.Versions) != 1 {
		t.Fatalf("rule after its spec was deleted: %+v", got)
	}
	_, err = e.rules.GetSpec(ctx, &codeengine.SpecIDIn{SpecID: a.ID})
	wantCode(t, err, fault.CodeResourceNotFound)
	for name, err := range map[string]error{
		"delete":  second(e.rules.DeleteSpec(ctx, &codeengine.SpecIDIn{SpecID: a.ID})),
		"update":  second(e.rules.UpdateSpec(ctx, &codeengine.UpdateSpecIn{SpecID: a.ID, SpecIn: codeengine.SpecIn{Name: "x", Fields: fields}})),
		"enable":  second(e.rules.EnableSpec(ctx, &codeengine.SpecIDIn{SpecID: "S9999"})),
		"disable": second(e.rules.DisableSpec(ctx, &codeengine.SpecIDIn{SpecID: ""})),
	} {
		if fault.CodeOf(err) != fault.CodeResourceNotFound {
			t.Errorf("%s an unknown spec: %v", name, err)
		}
	}

	// Lists: fuzzy name, status, creation time, paging.
	must(e.rules.DisableSpec(ctx, &codeengine.SpecIDIn{SpecID: b.ID}))(t)
	c := must(e.rules.CreateSpec(ctx, &codeengine.SpecIn{Name: "物品码规范", Fields: fields}))(t)
	start := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   codeengine.ListSpecsIn
		want []string
	}{
		{"all", codeengine.ListSpecsIn{}, []string{c.ID, b.ID}},
		{"fuzzy name", codeengine.ListSpecsIn{Name: "企业"}, []string{b.ID}},
		{"name matches no LIKE pattern", codeengine.ListSpecsIn{Name: "_"}, nil},
		{"disabled", codeengine.ListSpecsIn{Status: "disabled"}, []string{b.ID}},
		{"enabled", codeengine.ListSpecsIn{Status: "enabled"}, []string{c.ID}},
		{"created to", codeengine.ListSpecsIn{TimeRange: codeengine.TimeRange{CreatedTo: start.Add(time.Hour)}}, []string{c.ID, b.ID}},
		{"created from", codeengine.ListSpecsIn{TimeRange: codeengine.TimeRange{CreatedFrom: start.Add(2 * time.Hour)}}, nil},
		{"page size 1", codeengine.ListSpecsIn{PageIn: codeengine.PageIn{PageSize: 1}}, []string{c.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			p := must(e.rules.ListSpecs(ctx, &in))(t)
			var ids []string
			for _, s := range p.Items {
				ids = append(ids, s.ID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", ids, tc.want)
			}
			if in.PageSize == 0 && p.Total != int64(len(tc.want)) {
				t.Fatalf("total %d", p.Total)
			}
		})
	}

	// Bad specs.
	for _, tc := range []struct {
		name string
		in   codeengine.SpecIn
		code string
	}{
		{"no name", codeengine.SpecIn{Name: "  ", Fields: fields}, fault.CodeMissingParameter},
		{"no fields", codeengine.SpecIn{Name: "x"}, fault.CodeMissingParameter},
		{"field without length", codeengine.SpecIn{Name: "x", Fields: []codeengine.Field{{Name: "a"}}}, fault.CodeInvalidParameter},
		{"field without name", codeengine.SpecIn{Name: "x", Fields: []codeengine.Field{{Length: 3}}}, fault.CodeInvalidParameter},
		{"same field twice", codeengine.SpecIn{Name: "x", Fields: []codeengine.Field{{Name: "a", Length: 1}, {Name: "a", Length: 2}}}, fault.CodeInvalidParameter},
		{"name too long", codeengine.SpecIn{Name: strings.Repeat("码", 65), Fields: fields}, fault.CodeInvalidParameter},
		{"description too long", codeengine.SpecIn{Name: "x", Description: strings.Repeat("d", 501), Fields: fields}, fault.CodeInvalidParameter},
		{"length too large", codeengine.SpecIn{Name: "x", Fields: []codeengine.Field{{Name: "a", Length: 5000}}}, fault.CodeInvalidParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			_, err := e.rules.CreateSpec(ctx, &in)
			wantCode(t, err, tc.code)
		})
	}
}
