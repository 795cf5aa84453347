package main

import (
	"context"
	"slices"
	"strings"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Who may see what. The host authenticates a console operator and checks
// plugin.read (reads) or plugin.update (changes) on the platform; what it
// hands the plugin is only the operator's account and platform
// (plugin.Operator). The plugin's roles therefore come from the
// platform's configuration of the plugin, by account:
//
//   - staff (机构工作人员) are bound to an owner unit (权属单位): they see
//     and maintain the caregivers, and see the evaluations, of the
//     institutions whose codes have that owner unit;
//   - authorities (民政部门, the 业务主管单位) are bound to a region: they
//     see the caregivers and evaluations of the institutions whose codes
//     lie in it, and change nothing.
//
// An institution is thus approximated by its code's owner unit: an
// operating organisation running several institutions sees them all, and
// two institutions sharing an owner unit cannot be kept apart.

// roleKind is what an operator is to this plugin.
type roleKind int

const (
	unregistered  roleKind = iota // no entry in staff or authorities
	staffRole                     // 机构工作人员
	authorityRole                 // 民政部门
)

func (k roleKind) String() string {
	switch k {
	case staffRole:
		return "staff"
	case authorityRole:
		return "authority"
	}
	return "none"
}

// role is an operator's role and scope.
type role struct {
	kind      roleKind
	account   string
	ownerUnit string // staff
	region    string // authority: the region code as configured
	prefix    string // authority: its significant prefix
	name      string // authority: the bureau's name, if configured
}

// roleOf finds an account's role. An account listed twice, or as both
// staff and authority, has none until the configuration is corrected: a
// guess could widen what it sees.
func (c config) roleOf(account string) (role, error) {
	var found []role
	for _, s := range c.Staff {
		if s.Account == account {
			found = append(found, role{kind: staffRole, account: account, ownerUnit: s.OwnerUnit})
		}
	}
	for _, a := range c.Authorities {
		if a.Account == account {
			found = append(found, role{kind: authorityRole, account: account, region: a.RegionCode, prefix: regionPrefix(a.RegionCode), name: a.Name})
		}
	}
	switch {
	case account == "" || len(found) == 0:
		return role{kind: unregistered, account: account}, nil
	case len(found) > 1:
		return role{}, denied("账号 " + account + " 在码上养老的配置中登记了不止一次，请联系平台管理员更正后再使用")
	}
	return found[0], nil
}

// regionPrefix is the significant prefix of a national administrative
// code, as the host's policies read it: 310000 covers every code starting
// 31, 310100 every code starting 3101, 310104 itself and its streets.
func regionPrefix(code string) string {
	levelEnd := [13]int{2, 2, 2, 4, 4, 6, 6, 9, 9, 9, 12, 12, 12}
	switch len(code) {
	case 2, 4, 6, 9, 12:
		return code[:levelEnd[len(strings.TrimRight(code, "0"))]]
	}
	return code
}

// regionsOf are the prefixes an authority over a region containing code
// may hold: 310104 → 31, 3101, 310104. Stored with an evaluation, they
// let a list filter by containment (an authority's prefix is one of
// them) instead of by a string prefix the records query cannot express.
func regionsOf(code string) []string {
	out := []string{}
	for _, n := range []int{2, 4, 6, 9, 12} {
		if len(code) < n {
			break
		}
		if p := code[:n]; !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if len(out) == 0 && code != "" {
		out = append(out, code)
	}
	return out
}

// covers reports whether the role may see an institution, and why not.
func (r role) covers(in institution) error {
	switch r.kind {
	case staffRole:
		if in.OwnerUnit == "" || in.OwnerUnit != r.ownerUnit {
			return denied("账号 " + r.account + " 是「" + r.ownerUnit + "」的工作人员，无权查看或维护其他养老机构的护理员与评价")
		}
		return nil
	case authorityRole:
		if in.Region == "" || !strings.HasPrefix(in.Region, r.prefix) {
			return denied("该机构不在您管辖的区划（" + r.region + "）内")
		}
		return nil
	}
	return denied("账号 " + r.account + " 未在码上养老中登记为养老机构工作人员或民政部门人员")
}

// institutionFor resolves an institution's code for an admin call and
// checks that the operator's role covers it. The code's owner unit and
// region are read from the host now, not from the caller.
func (c *call) institutionFor(ctx context.Context, code string) (institution, error) {
	obj, err := c.host.Object(ctx, code)
	if plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) {
		return institution{}, notFound("没有找到机构的码 " + code)
	}
	if err != nil {
		return institution{}, err
	}
	in := institutionOf(obj, c.cfg)
	if err := c.role.covers(in); err != nil {
		return institution{}, err
	}
	return in, nil
}

// whoami answers the operator's role and scope, registered or not: the
// console shows the staff and the authority their own menus.
func whoami(ctx context.Context, c *call) (*plugin.Response, error) {
	out := map[string]any{"account": c.req.Operator.Account, "role": c.role.kind.String()}
	switch c.role.kind {
	case staffRole:
		out["ownerUnit"] = c.role.ownerUnit
	case authorityRole:
		out["regionCode"] = c.role.region
		if c.role.name != "" {
			out["name"] = c.role.name
		}
	default:
		out["hint"] = "请平台管理员在码上养老的配置中将该账号登记为养老机构工作人员（staff）或民政部门人员（authorities）"
	}
	return plugin.JSON(200, out)
}
