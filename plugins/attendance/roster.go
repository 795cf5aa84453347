package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// The roster (考勤人员名单). Managers add staff by staff number, name and
// team; each addition issues a one-time bind code (绑定码) that the staff
// member enters, logged in, on their first scan. Binding ties the staff
// number to the pseudonym the host gives that citizen in this plugin; the
// plugin never learns who the citizen is otherwise. A bind code works
// once, within bindCodeHours; issuing a new one undoes the binding (a new
// phone, a wrong person bound).

// Staff statuses.
const (
	statusActive   = "在岗"
	statusDisabled = "停用"
)

// staffDoc is the document of the staff collection, id "s-" + staff
// number.
type staffDoc struct {
	StaffNo       string `json:"staffNo"`
	Name          string `json:"name"`
	Team          string `json:"team"`
	Status        string `json:"status"`
	Since         string `json:"since"`                // the date added: no absence is counted before it
	DisabledOn    string `json:"disabledOn,omitempty"` // the date disabled: none is counted from it
	Bound         bool   `json:"bound"`
	BoundAt       string `json:"boundAt,omitempty"`
	Pseudonym     string `json:"pseudonym,omitempty"`
	BindHash      string `json:"bindHash,omitempty"` // SHA-256 of the pending bind code, never the code
	BindExpiresAt string `json:"bindExpiresAt,omitempty"`
	UpdatedBy     string `json:"updatedBy"`
	UpdatedAt     string `json:"updatedAt"`
}

// bindingDoc is the document of the bindings collection, id from the
// pseudonym: it finds the staff member of a scan in one read, and being
// created only if absent, it keeps one citizen from binding two staff
// numbers.
type bindingDoc struct {
	StaffNo   string `json:"staffNo"`
	Pseudonym string `json:"pseudonym"`
	BoundAt   string `json:"boundAt"`
}

// staffRecord is a stored staff member.
type staffRecord struct {
	rec plugin.Record
	doc staffDoc
}

var (
	staffNoRe = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,31}$`)
	plainIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,60}$`)
)

func staffID(no string) string { return "s-" + no }

func bindingID(pseudonym string) string {
	if plainIDRe.MatchString(pseudonym) {
		return "b-" + pseudonym
	}
	sum := sha256.Sum256([]byte(pseudonym))
	return "b-h" + hex.EncodeToString(sum[:16])
}

// normStaffNo reads a staff number: letters, digits and '-', upper-cased.
func normStaffNo(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	switch {
	case s == "":
		return "", missing("请填写工号 staffNo")
	case !staffNoRe.MatchString(s):
		return "", invalid("工号须为 1–32 位字母、数字或 -")
	}
	return s, nil
}

// checkText bounds a name or team: 1–20 characters (0 when optional), no
// control characters.
func checkText(s, what string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "" && required:
		return "", missing("请填写" + what)
	case !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0:
		return "", invalid(what + "含有无效字符")
	case utf8.RuneCountInString(s) > 20:
		return "", invalid(what + "不能超过 20 个字")
	}
	return s, nil
}

// The bind code: 12 characters of an alphabet without look-alikes (no 0,
// O, 1, I, L), shown as XXXX-XXXX-XXXX: about 59 bits, so that neither
// guessing on the page nor working back from the stored hash within its
// validity pays off.
const (
	bindAlphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
	bindLen      = 12
)

// newBindCode draws a bind code, unbiased (rejection sampling).
func newBindCode(r io.Reader) (string, error) {
	out := make([]byte, 0, bindLen)
	buf := make([]byte, 32)
	limit := byte(256 - 256%len(bindAlphabet))
	for len(out) < bindLen {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		for _, b := range buf {
			if b < limit && len(out) < bindLen {
				out = append(out, bindAlphabet[int(b)%len(bindAlphabet)])
			}
		}
	}
	return string(out[:4]) + "-" + string(out[4:8]) + "-" + string(out[8:]), nil
}

// normBindCode reads a typed bind code: case, spaces and dashes ignored.
func normBindCode(s string) (string, bool) {
	s = strings.ToUpper(strings.NewReplacer("-", "", " ", "", "　", "").Replace(s))
	if len(s) != bindLen {
		return "", false
	}
	for _, r := range s {
		if !strings.ContainsRune(bindAlphabet, r) {
			return "", false
		}
	}
	return s, true
}

// bindHash binds the code to its staff number.
func bindHash(staffNo, code string) string {
	norm, _ := normBindCode(code)
	sum := sha256.Sum256([]byte("attendance-bind\x00" + staffNo + "\x00" + norm))
	return hex.EncodeToString(sum[:])
}

// issueBindCode sets a new bind code on a staff document and unbinds it.
func (c *call) issueBindCode(d *staffDoc) (code string, err error) {
	if code, err = newBindCode(c.rand); err != nil {
		return "", err
	}
	d.BindHash, d.BindExpiresAt = bindHash(d.StaffNo, code), stamp(c.now.Add(time.Duration(c.cfg.BindCodeHours)*time.Hour))
	d.Bound, d.BoundAt, d.Pseudonym = false, "", ""
	return code, nil
}

// getStaff reads a staff member by number; nil when there is none.
func (c *call) getStaff(ctx context.Context, no string) (*staffRecord, error) {
	rec, err := c.host.GetRecord(ctx, "staff", staffID(no))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &staffRecord{rec: *rec}
	_ = json.Unmarshal(rec.Doc, &s.doc)
	return s, nil
}

// staffOf finds the staff member a citizen is bound as; nil when none.
// The staff record must name the citizen too: a binding left behind by a
// reissued code counts for nothing.
func (c *call) staffOf(ctx context.Context, pseudonym string) (*staffRecord, error) {
	if pseudonym == "" {
		return nil, nil
	}
	rec, err := c.host.GetRecord(ctx, "bindings", bindingID(pseudonym))
	if plugin.IsCode(err, plugin.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var b bindingDoc
	_ = json.Unmarshal(rec.Doc, &b)
	s, err := c.getStaff(ctx, b.StaffNo)
	if err != nil || s == nil || !s.doc.Bound || s.doc.Pseudonym != pseudonym {
		return nil, err
	}
	return s, nil
}

// bind ties the logged-in citizen to a staff number with its bind code.
// A wrong number or code is one refusal, so that the page does not tell
// which staff numbers exist.
func bind(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req, "staffNo", "code")
	if err != nil {
		return nil, err
	}
	no, err := normStaffNo(v.Get("staffNo"))
	if err != nil {
		return nil, err
	}
	code := v.Get("code")
	if strings.TrimSpace(code) == "" {
		return nil, missing("请填写绑定码")
	}
	pseudonym := c.req.Visitor.Pseudonym
	if me, err := c.staffOf(ctx, pseudonym); err != nil {
		return nil, err
	} else if me != nil {
		return nil, conflict("AlreadyBound", "您已绑定工号 "+me.doc.StaffNo+"，无需重复绑定")
	}
	wrong := denied("工号或绑定码不正确，请核对考勤管理员发放的绑定码")
	if _, ok := normBindCode(code); !ok {
		return nil, wrong
	}
	s, err := c.getStaff(ctx, no)
	if err != nil {
		return nil, err
	}
	if s == nil || s.doc.BindHash == "" || subtle.ConstantTimeCompare([]byte(bindHash(no, code)), []byte(s.doc.BindHash)) != 1 {
		return nil, wrong
	}
	if s.doc.Status != statusActive {
		return nil, denied("工号 " + no + " 已停用，不能绑定")
	}
	if exp, err := time.Parse(time.RFC3339, s.doc.BindExpiresAt); err != nil || !c.now.Before(exp) {
		return nil, denied("绑定码已过期，请联系考勤管理员重新发放")
	}
	b := bindingDoc{StaffNo: no, Pseudonym: pseudonym, BoundAt: stamp(c.now)}
	_, err = c.put(ctx, "bindings", bindingID(pseudonym), "", b, 0, true)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		// Left by a reissued code (staffOf found no one): replace it.
		old, gerr := c.host.GetRecord(ctx, "bindings", bindingID(pseudonym))
		if gerr != nil {
			return nil, gerr
		}
		_, err = c.put(ctx, "bindings", old.ID, "", b, old.Version, false)
	}
	if plugin.IsCode(err, "FailedOperation") {
		return nil, conflict("Busy", "绑定未完成，请稍后重试")
	}
	if err != nil {
		return nil, err
	}
	d := s.doc
	d.Bound, d.BoundAt, d.Pseudonym, d.BindHash, d.BindExpiresAt = true, stamp(c.now), pseudonym, "", ""
	if _, err := c.put(ctx, "staff", s.rec.ID, "", d, s.rec.Version, false); err != nil {
		if derr := c.host.DeleteRecord(ctx, "bindings", bindingID(pseudonym)); derr != nil {
			c.warn(ctx, "undo binding", derr)
		}
		if plugin.IsCode(err, "FailedOperation.VersionConflict") {
			return nil, conflict("Busy", "该工号的信息刚被修改，请重新扫码后再试")
		}
		return nil, err
	}
	if err := c.host.Audit(ctx, "staff.bind", "staff:"+no, map[string]string{"code": c.req.Code.Token}); err != nil {
		c.warn(ctx, "staff.bind audit", err)
	}
	return plugin.Redirect(c.req.BaseURL), nil
}

// The managers' side: admin routes the console reaches at
// /console/plugins/attendance/admin/{path}.

// staffView is a staff member in admin answers: never the pseudonym or
// the code's hash.
type staffView struct {
	StaffNo       string `json:"staffNo"`
	Name          string `json:"name"`
	Team          string `json:"team"`
	Status        string `json:"status"`
	Since         string `json:"since"`
	DisabledOn    string `json:"disabledOn,omitempty"`
	Bound         bool   `json:"bound"`
	BoundAt       string `json:"boundAt,omitempty"`
	BindExpiresAt string `json:"bindExpiresAt,omitempty"`
	UpdatedBy     string `json:"updatedBy"`
	UpdatedAt     string `json:"updatedAt"`
	Version       int64  `json:"version"`
	BindCode      string `json:"bindCode,omitempty"` // only in the answer that issued it
}

func viewOf(rec *plugin.Record, d staffDoc) staffView {
	return staffView{StaffNo: d.StaffNo, Name: d.Name, Team: d.Team, Status: d.Status, Since: d.Since, DisabledOn: d.DisabledOn,
		Bound: d.Bound, BoundAt: d.BoundAt, BindExpiresAt: d.BindExpiresAt, UpdatedBy: d.UpdatedBy, UpdatedAt: d.UpdatedAt,
		Version: rec.Version}
}

// decodeJSON decodes an admin body strictly: unknown fields are refused.
func decodeJSON(body []byte, v any, shape string) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return invalid("请求体须为 JSON：" + shape)
	}
	return nil
}

// roster answers the staff, in team and staff number order, of a team
// ("" every team).
func (c *call) roster(ctx context.Context, team string) ([]staffRecord, error) {
	q := plugin.RecordQuery{Collection: "staff"}
	if team != "" {
		q.Where = map[string]any{"team": team}
	}
	recs, err := c.all(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]staffRecord, 0, len(recs))
	for _, r := range recs {
		s := staffRecord{rec: r}
		_ = json.Unmarshal(r.Doc, &s.doc)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].doc, out[j].doc
		return a.Team < b.Team || a.Team == b.Team && a.StaffNo < b.StaffNo
	})
	return out, nil
}

// listStaff answers the roster: team (a leader's own by default), status
// 在岗 or 停用, pageNo and pageSize.
func listStaff(ctx context.Context, c *call) (*plugin.Response, error) {
	team, err := c.teamScope()
	if err != nil {
		return nil, err
	}
	status := c.req.QueryValue("status")
	if status != "" && status != statusActive && status != statusDisabled {
		return nil, invalid("status 须为 在岗 或 停用")
	}
	no, size, err := pageArgs(c.req)
	if err != nil {
		return nil, err
	}
	all, err := c.roster(ctx, team)
	if err != nil {
		return nil, err
	}
	items := []staffView{}
	for _, s := range all {
		if status == "" || s.doc.Status == status {
			items = append(items, viewOf(&s.rec, s.doc))
		}
	}
	total := len(items)
	items = items[min((no-1)*size, total):min(no*size, total)]
	return plugin.JSON(200, map[string]any{"total": total, "pageNo": no, "pageSize": size, "team": team, "items": items})
}

// staffInput is the body of POST /staff and POST /staff/update.
type staffInput struct {
	StaffNo string  `json:"staffNo"`
	Name    *string `json:"name"`
	Team    *string `json:"team"`
	Status  *string `json:"status"`
	Version int64   `json:"version"`
}

// readStaff checks a roster change: a staff number always; a name for a
// new member; on an update at least one change and status 在岗 or 停用.
func readStaff(body []byte, create bool) (staffInput, error) {
	var in staffInput
	shape := `{"staffNo": 工号, "name": 姓名, "team": 班组}`
	if !create {
		shape = `{"staffNo": 工号, "name", "team", "status": 在岗 或 停用, "version"}`
	}
	if err := decodeJSON(body, &in, shape); err != nil {
		return in, err
	}
	var err error
	if in.StaffNo, err = normStaffNo(in.StaffNo); err != nil {
		return in, err
	}
	switch {
	case create && (in.Status != nil || in.Version != 0):
		return in, invalid("新增人员的状态为在岗，不能指定 status 或 version")
	case create && in.Name == nil:
		return in, missing("请填写姓名 name")
	case !create && in.Name == nil && in.Team == nil && in.Status == nil:
		return in, missing("请给出要修改的 name、team 或 status")
	case in.Status != nil && *in.Status != statusActive && *in.Status != statusDisabled:
		return in, invalid("status 须为 在岗 或 停用")
	case in.Version < 0:
		return in, invalid("version 不正确")
	}
	if in.Name != nil {
		s, err := checkText(*in.Name, "姓名", true)
		if err != nil {
			return in, err
		}
		in.Name = &s
	}
	if in.Team != nil {
		s, err := checkText(*in.Team, "班组", false)
		if err != nil {
			return in, err
		}
		in.Team = &s
	}
	return in, nil
}

// addStaff adds a staff member and answers their bind code, which is
// shown this once.
func addStaff(ctx context.Context, c *call) (*plugin.Response, error) {
	in, err := readStaff(c.req.Body, true)
	if err != nil {
		return nil, err
	}
	d := staffDoc{StaffNo: in.StaffNo, Name: *in.Name, Status: statusActive, Since: c.now.Format(time.DateOnly),
		UpdatedBy: c.req.Operator.Account, UpdatedAt: stamp(c.now)}
	if in.Team != nil {
		d.Team = *in.Team
	}
	code, err := c.issueBindCode(&d)
	if err != nil {
		return nil, err
	}
	rec, err := c.put(ctx, "staff", staffID(d.StaffNo), "", d, 0, true)
	if plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("StaffExists", "工号 "+d.StaffNo+" 已在名单中；修改请用 /staff/update")
	}
	if err != nil {
		return nil, err
	}
	c.audit(ctx, "staff.create", d.StaffNo, map[string]any{"team": d.Team})
	v := viewOf(rec, d)
	v.BindCode = code
	return plugin.JSON(http.StatusCreated, v)
}

// updateStaff changes a staff member's name, team or status against the
// version read (or the version given): of two managers saving at once,
// one is told to reload. Disabling keeps the binding, so that enabling
// again needs no new code.
func updateStaff(ctx context.Context, c *call) (*plugin.Response, error) {
	in, err := readStaff(c.req.Body, false)
	if err != nil {
		return nil, err
	}
	s, err := c.getStaff(ctx, in.StaffNo)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, notFound("名单中没有工号 " + in.StaffNo)
	}
	if in.Version != 0 && in.Version != s.rec.Version {
		return nil, conflict("Changed", "该人员信息已被修改，请刷新后重试")
	}
	d, changed := s.doc, map[string]any{}
	if in.Name != nil && *in.Name != d.Name {
		d.Name, changed["name"] = *in.Name, true // the audit trail keeps no names
	}
	if in.Team != nil && *in.Team != d.Team {
		changed["team"] = []string{d.Team, *in.Team}
		d.Team = *in.Team
	}
	if in.Status != nil && *in.Status != d.Status {
		changed["status"] = []string{d.Status, *in.Status}
		d.Status, d.DisabledOn = *in.Status, ""
		if d.Status == statusDisabled {
			d.DisabledOn = c.now.Format(time.DateOnly)
		}
	}
	if len(changed) == 0 {
		return plugin.JSON(200, viewOf(&s.rec, d))
	}
	d.UpdatedBy, d.UpdatedAt = c.req.Operator.Account, stamp(c.now)
	rec, err := c.put(ctx, "staff", s.rec.ID, "", d, s.rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("Changed", "该人员信息刚被修改，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	action := "staff.update"
	if st, ok := changed["status"]; ok {
		action = map[string]string{statusActive: "staff.enable", statusDisabled: "staff.disable"}[st.([]string)[1]]
	}
	c.audit(ctx, action, d.StaffNo, changed)
	return plugin.JSON(200, viewOf(rec, d))
}

// reissueBindCode issues a new bind code to a staff member in service
// and undoes their binding: the staff member binds again, maybe from
// another account.
func reissueBindCode(ctx context.Context, c *call) (*plugin.Response, error) {
	var in struct {
		StaffNo string `json:"staffNo"`
	}
	if err := decodeJSON(c.req.Body, &in, `{"staffNo": 工号}`); err != nil {
		return nil, err
	}
	no, err := normStaffNo(in.StaffNo)
	if err != nil {
		return nil, err
	}
	s, err := c.getStaff(ctx, no)
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, notFound("名单中没有工号 " + no)
	}
	if s.doc.Status != statusActive {
		return nil, conflict("StaffDisabled", "工号 "+no+" 已停用：请先恢复为在岗再发放绑定码")
	}
	d, was := s.doc, s.doc.Pseudonym
	code, err := c.issueBindCode(&d)
	if err != nil {
		return nil, err
	}
	d.UpdatedBy, d.UpdatedAt = c.req.Operator.Account, stamp(c.now)
	rec, err := c.put(ctx, "staff", s.rec.ID, "", d, s.rec.Version, false)
	if plugin.IsCode(err, "FailedOperation.VersionConflict") {
		return nil, conflict("Changed", "该人员信息刚被修改，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	if was != "" {
		// staffOf ignores a binding the staff record no longer names:
		// a failure here leaves only an inert record.
		if err := c.host.DeleteRecord(ctx, "bindings", bindingID(was)); err != nil && !plugin.IsCode(err, plugin.ErrNotFound) {
			c.warn(ctx, "remove the old binding of "+no, err)
		}
	}
	c.audit(ctx, "staff.bindcode", no, map[string]any{"unbound": was != ""})
	v := viewOf(rec, d)
	v.BindCode = code
	return plugin.JSON(200, v)
}

// audit writes a roster change into the platform's audit trail; the
// change stands if it fails, and the log shows the gap.
func (c *call) audit(ctx context.Context, action, staffNo string, detail map[string]any) {
	detail["operator"] = c.req.Operator.Account
	if err := c.host.Audit(ctx, action, "staff:"+staffNo, detail); err != nil {
		c.host.Log(ctx, "error", action+" of "+staffNo+" not audited: "+err.Error())
	}
}
