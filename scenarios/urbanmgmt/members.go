package main

import (
	"context"
	"crypto/rand"
	"strings"
	"time"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Who is who. The host gives a plugin a pseudonym per person, stable for
// this plugin, and never the person's identifiers; nothing in a request
// says that a visitor owns a shop or works for the city. So an operator,
// who knows the person, issues a one-time binding code (绑定码) for a role
// through an admin route and hands it over in person; the person, logged in
// to the city's app, scans a code and enters it on the binding page. The
// plugin then records their pseudonym with the role: a merchant for the
// shop's code (it must be that shop's code they scan), an inspector or a
// supervisor for every code of the platform. Operators list bindings and
// revoke them through the admin routes.

// Roles.
const (
	roleMerchant   = "merchant"
	roleInspector  = "inspector"
	roleSupervisor = "supervisor"
)

var roleNames = map[string]string{roleMerchant: "商户", roleInspector: "城管队员", roleSupervisor: "督察队员"}

// Grant statuses.
const (
	grantUnused = "未使用"
	grantUsed   = "已使用"
)

// member is the document of the members collection: one binding of a
// person to a role (and, for a merchant, to the code it is recorded
// against).
type member struct {
	Role      string `json:"role"`
	Pseudonym string `json:"pseudonym"`
	Name      string `json:"name"`            // as the operator named them
	Badge     string `json:"badge,omitempty"` // 执法证号
	Unit      string `json:"unit,omitempty"`
	Shop      string `json:"shop,omitempty"` // a merchant's shop, when bound
	GrantedBy string `json:"grantedBy"`
	JoinedAt  string `json:"joinedAt"`
	Grant     string `json:"grant"` // the grant record used
}

// binding is a member record: its id and code with its document.
type binding struct {
	ID, Code string
	member
}

// Officer is how records name a member: 王小明（310104-021）.
func (m member) Officer() string {
	if m.Badge != "" {
		return m.Name + "（" + m.Badge + "）"
	}
	return m.Name
}

// grant is the document of the grants collection: a binding code, stored
// by the hash of the code only.
type grant struct {
	Role      string `json:"role"`
	Name      string `json:"name"`
	Badge     string `json:"badge,omitempty"`
	Unit      string `json:"unit,omitempty"`
	Shop      string `json:"shop,omitempty"`
	CreatedBy string `json:"createdBy"`
	ExpiresAt string `json:"expiresAt"`
	Status    string `json:"status"`
	UsedBy    string `json:"usedBy,omitempty"`
	UsedAt    string `json:"usedAt,omitempty"`
}

func memberID(role, pseudonym, token string) string { return hashed("mb-", role, pseudonym, token) }

// bindings answers the logged-in visitor's bindings.
func (c *call) bindings(ctx context.Context) ([]binding, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "members",
		Where: map[string]any{"pseudonym": c.req.Visitor.Pseudonym}, Limit: 100})
	if err != nil {
		return nil, err
	}
	var out []binding
	for _, rec := range page.Items {
		b := binding{ID: rec.ID, Code: rec.CodeToken}
		decode(rec, &b.member)
		out = append(out, b)
	}
	return out, nil
}

// role answers the visitor's binding to a role; a merchant's must be to
// the code token.
func (c *call) role(role, token string) *binding {
	for i := range c.roles {
		b := &c.roles[i]
		if b.Role == role && b.Pseudonym == c.req.Visitor.Pseudonym && (role != roleMerchant || b.Code == token) {
			return b
		}
	}
	return nil
}

// merchants answers the pseudonyms of a code's merchants.
func (c *call) merchants(ctx context.Context, token string) ([]string, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "members", CodeToken: token,
		Where: map[string]any{"role": roleMerchant}, Limit: 20})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rec := range page.Items {
		var m member
		decode(rec, &m)
		out = append(out, m.Pseudonym)
	}
	return out, nil
}

// push sends a message to each recipient once, and answers how many were
// queued. A failure is logged and does not fail the operation: what was
// recorded stays recorded.
func (c *call) push(ctx context.Context, template string, to []string, params map[string]string) int {
	seen := map[string]bool{}
	n := 0
	for _, r := range to {
		if r == "" || seen[r] {
			continue
		}
		seen[r] = true
		if _, err := c.host.Notify(ctx, plugin.Notification{Template: template, To: r, Params: params}); err != nil {
			c.warn(ctx, template+" notification", err)
			continue
		}
		n++
	}
	return n
}

// Binding codes: 12 characters of an alphabet without look-alikes (no 0/O,
// 1/I), shown in groups of four; about 60 bits, used once, expiring.
const grantAlphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

func newGrantCode() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = grantAlphabet[int(b[i])%len(grantAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

// normalizeGrant reads a binding code as typed: case, spaces and dashes
// do not matter.
func normalizeGrant(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "", "\u3000", "").Replace(s))
	if len(s) != 12 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(grantAlphabet, rune(s[i])) {
			return "", false
		}
	}
	return s, true
}

func grantID(normalized string) string { return hashed("gr-", normalized) }

// grantIn is the body of POST /grants.
type grantIn struct {
	Role  string `json:"role"`
	Code  string `json:"code"`
	Name  string `json:"name"`
	Badge string `json:"badge"`
	Unit  string `json:"unit"`
	Hours int    `json:"hours"`
}

const grantHint = `{"role": "merchant|inspector|supervisor", "code": 商户的码（merchant 必填）, "name": 姓名, "badge": 执法证号, "unit": 单位, "hours": 有效小时数}`

// issueGrant makes a binding code for a role and answers it, once: only
// its hash is stored.
func issueGrant(ctx context.Context, c *call) (*plugin.Response, error) {
	var in grantIn
	if err := readJSON(c.req.Body, &in, grantHint); err != nil {
		return nil, err
	}
	if roleNames[in.Role] == "" {
		return nil, invalid("role 须为 merchant（商户）、inspector（城管队员）或 supervisor（督察队员）")
	}
	name, err := checkText(in.Name, "姓名 name", 32, true)
	if err != nil {
		return nil, err
	}
	g := grant{Role: in.Role, Name: name, CreatedBy: c.req.Operator.Account, Status: grantUnused}
	if g.Badge, err = checkText(in.Badge, "执法证号 badge", 32, false); err != nil {
		return nil, err
	}
	if g.Unit, err = checkText(in.Unit, "单位 unit", 64, false); err != nil {
		return nil, err
	}
	hours := in.Hours
	if hours == 0 {
		hours = c.cfg.GrantHours
	}
	if hours < 1 || hours > 720 {
		return nil, invalid("hours 须为 1–720")
	}
	var token string
	switch {
	case in.Role == roleMerchant && strings.TrimSpace(in.Code) == "":
		return nil, missing("商户绑定码须指定本店的码 code")
	case in.Role == roleMerchant:
		code, err := c.resolve(ctx, in.Code)
		if err != nil {
			return nil, err
		}
		token, g.Shop = code.Token, shopOf(code).Title
	case in.Code != "":
		return nil, invalid("城管队员与督察队员的绑定不限于某个码，请勿指定 code")
	}
	expires := c.now.Add(time.Duration(hours) * time.Hour)
	g.ExpiresAt = stamp(expires)
	text := newGrantCode()
	normalized, _ := normalizeGrant(text)
	rec, err := c.create(ctx, "grants", grantID(normalized), token, g)
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "grant.issue", "grant:"+rec.ID, map[string]any{"role": g.Role, "code": token, "name": g.Name, "badge": g.Badge,
		"expiresAt": g.ExpiresAt, "operator": c.req.Operator.Account})
	return plugin.JSON(201, map[string]any{"id": rec.ID, "grantCode": text, "role": g.Role, "name": g.Name, "code": token,
		"shop": g.Shop, "expiresAt": g.ExpiresAt,
		"message": "请将绑定码当面交给" + g.Name + "：登录城市码 App 后扫描" + map[bool]string{true: "本店的", false: "任一商户的"}[token != ""] +
			"码，在“身份绑定”页面输入；仅可使用一次，" + expires.Format("2006-01-02 15:04") + " 前有效。"})
}

// resolve verifies a code an operator names (its token, its landing URL
// or its unified number) and answers it; a code that is not the
// platform's is not found.
func (c *call) resolve(ctx context.Context, code string) (*plugin.Code, error) {
	code = tokenOf(code)
	if code == "" || len(code) > 512 {
		return nil, invalid("code 须为码值或码的网址")
	}
	out, err := c.host.ResolveCode(ctx, code)
	if plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid) {
		return nil, notFound("没有找到码 " + code)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func joinForm(ctx context.Context, c *call) (*plugin.Response, error) {
	var mine []map[string]string
	for _, b := range c.roles {
		if b.Role == roleMerchant && b.Code != c.req.Code.Token {
			continue
		}
		mine = append(mine, map[string]string{"Role": roleNames[b.Role], "Name": b.Name, "Portal": portal(b.Role)})
	}
	return render(200, joinPage, c, map[string]any{"Mine": mine})
}

// portal is the page of a role.
func portal(role string) string {
	return map[string]string{roleMerchant: "/merchant", roleInspector: "/inspect", roleSupervisor: "/supervise"}[role]
}

// join redeems a binding code for the visitor. A code works once, before
// it expires; a merchant's only on its shop's code. Redeeming one's own
// code again is harmless.
func join(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("code"); err != nil {
		return nil, err
	}
	typed := f.get("code")
	if typed == "" {
		return nil, missing("请输入绑定码")
	}
	normalized, ok := normalizeGrant(typed)
	if !ok {
		return nil, invalid("绑定码格式不正确：12 位字母和数字，如 ABCD-EFGH-JKMN")
	}
	rec, err := c.host.GetRecord(ctx, "grants", grantID(normalized))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, denied("绑定码不正确")
	}
	if err != nil {
		return nil, err
	}
	var g grant
	decode(*rec, &g)
	me := c.req.Visitor.Pseudonym
	switch expires, perr := time.Parse(time.RFC3339, g.ExpiresAt); {
	case g.Status == grantUsed && g.UsedBy == me:
		return plugin.Redirect(c.link(portal(g.Role))), nil
	case g.Status == grantUsed:
		return nil, conflict("GrantUsed", "该绑定码已被使用，请重新申领")
	case perr != nil || !c.now.Before(expires):
		return nil, conflict("GrantExpired", "该绑定码已过期，请重新申领")
	case g.Role == roleMerchant && rec.CodeToken != c.req.Code.Token:
		return nil, denied("该绑定码属于另一家商户，请扫描本店的码后绑定")
	}
	before := g
	g.Status, g.UsedBy, g.UsedAt = grantUsed, me, stamp(c.now)
	used, err := c.put(ctx, "grants", rec.ID, rec.CodeToken, g, rec.Version)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("GrantUsed", "该绑定码刚被使用，请重新申领")
	}
	if err != nil {
		return nil, err
	}
	m := member{Role: g.Role, Pseudonym: me, Name: g.Name, Badge: g.Badge, Unit: g.Unit, Shop: g.Shop, GrantedBy: g.CreatedBy,
		JoinedAt: stamp(c.now), Grant: rec.ID}
	id := memberID(g.Role, me, rec.CodeToken)
	if _, err := c.put(ctx, "members", id, rec.CodeToken, m, 0); err != nil {
		// Give the code back: the person may try again.
		if _, rerr := c.put(ctx, "grants", rec.ID, rec.CodeToken, before, used.Version); rerr != nil {
			c.warn(ctx, "grant not released after a failed binding", rerr)
		}
		return nil, err
	}
	c.audit(ctx, "member.join", "member:"+id, map[string]any{"role": g.Role, "code": rec.CodeToken, "name": g.Name, "grant": rec.ID})
	return plugin.Redirect(c.link(portal(g.Role))), nil
}

// revokeMember ends a binding.
func revokeMember(ctx context.Context, c *call) (*plugin.Response, error) {
	var in struct {
		ID string `json:"id"`
	}
	if err := readJSON(c.req.Body, &in, `{"id": 绑定记录编号}`); err != nil {
		return nil, err
	}
	if in.ID == "" {
		return nil, missing("请提供绑定记录编号 id")
	}
	if !recordIDRe.MatchString(in.ID) {
		return nil, invalid("绑定记录编号格式不正确")
	}
	rec, err := c.host.GetRecord(ctx, "members", in.ID)
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, notFound("没有找到绑定记录 " + in.ID)
	}
	if err != nil {
		return nil, err
	}
	var m member
	decode(*rec, &m)
	if err := c.host.DeleteRecord(ctx, "members", rec.ID); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, err
	}
	c.audit(ctx, "member.revoke", "member:"+rec.ID, map[string]any{"role": m.Role, "code": rec.CodeToken, "name": m.Name,
		"operator": c.req.Operator.Account})
	return plugin.JSON(200, map[string]any{"id": rec.ID, "role": m.Role, "name": m.Name, "revoked": true})
}

// Following a shop: a logged-in citizen asks to be told of its notices and
// rectifications (码上晓 to the people who scan it).

// follower is the document of the follows collection.
type follower struct {
	Follower string `json:"follower"`
	Shop     string `json:"shop"`
	Since    string `json:"since"`
}

// maxFollowers bounds the citizens one push reaches: the plugin has a few
// seconds per call, and each message is a call to the host.
const maxFollowers = 100

func followID(token, pseudonym string) string { return hashed("fl-", token, pseudonym) }

func (c *call) following(ctx context.Context) (bool, error) {
	_, err := c.host.GetRecord(ctx, "follows", followID(c.req.Code.Token, c.req.Visitor.Pseudonym))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// followers answers the pseudonyms of the code's followers, the most
// recent first, at most maxFollowers.
func (c *call) followers(ctx context.Context, token string) ([]string, error) {
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "follows", CodeToken: token, Newest: true, Limit: maxFollowers})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rec := range page.Items {
		var f follower
		decode(rec, &f)
		out = append(out, f.Follower)
	}
	return out, nil
}

// follow starts (on=1) or stops (on=0) following the shop.
func follow(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("on"); err != nil {
		return nil, err
	}
	id := followID(c.req.Code.Token, c.req.Visitor.Pseudonym)
	switch f.get("on") {
	case "1":
		if _, err := c.put(ctx, "follows", id, c.req.Code.Token, follower{Follower: c.req.Visitor.Pseudonym, Shop: c.shop.Title,
			Since: stamp(c.now)}, 0); err != nil {
			return nil, err
		}
	case "0":
		if err := c.host.DeleteRecord(ctx, "follows", id); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, err
		}
	default:
		return nil, invalid("on 须为 1（关注）或 0（取消关注）")
	}
	return plugin.Redirect(c.link("/")), nil
}
