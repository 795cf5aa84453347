package persons

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// SubjectID is how usage events name the holder behind a handle: opaque
// without the database, never personal data.
func SubjectID(handle int64) string { return "h" + strconv.FormatInt(handle, 36) }

// ConsoleRoutes declares the console's user service (用户服务子系统):
// finding a code holder by certificate or mobile number (exact, through the
// blind indexes), and their generation and usage records.
func (s *Service) ConsoleRoutes(ev *events.Writer) []*httpapi.Route {
	c := &console{s: s, ev: ev}
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/persons", c.search).
			Doc("用户信息查询", "Finds code holders by certificate number or mobile number (exact match; personal data is stored sealed), within the caller's platforms. Answers are desensitized.").
			Tag("persons").Console("person.read"),
		httpapi.Handle(http.MethodGet, "/console/persons/:personId/records", c.records).
			Doc("用户生码/用码记录", "The holder's events (generate, show, verify, ...) through the caller's platforms' apps, newest first, by type and time range.").
			Tag("persons").Console("person.read"),
		httpapi.Handle(http.MethodGet, "/console/persons/:personId/summary", c.summary).
			Doc("用户用码统计", "Counts of the holder's successful events today, yesterday, in 7 and 30 days, by type, and by app.").
			Tag("persons").Console("person.read"),
	}
}

type console struct {
	s  *Service
	ev *events.Writer
}

// SearchIn finds holders.
type SearchIn struct {
	CertType string `query:"certType" validate:"max=32" doc:"default RESIDENT_ID"`
	CertNo   string `query:"certNo" validate:"max=32"`
	Mobile   string `query:"mobile" validate:"max=20"`
}

// Holder is a person as the console shows them.
type Holder struct {
	PersonID int64    `json:"personId"`
	Identity Identity `json:"identity" doc:"desensitized"`
	Apps     []string `json:"apps" doc:"apps (in your scope) the person holds codes of"`
}

// HolderList is a search answer.
type HolderList struct {
	Items []Holder `json:"items"`
}

func (c *console) search(ctx context.Context, in *SearchIn) (*HolderList, error) {
	var cond, arg string
	switch {
	case in.CertNo != "":
		t := ResidentID
		if in.CertType != "" {
			var ok bool
			if t, ok = ParseCertType(in.CertType); !ok {
				return nil, fault.Invalidf("unknown certType %q", in.CertType)
			}
		}
		cond, arg = "p.cert_index = $1", c.s.sealer.BlindIndex(string(t)+":"+upperNoSpace(in.CertNo), purposeCert)
	case in.Mobile != "":
		cond, arg = "p.mobile_index = $1", c.s.sealer.BlindIndex(in.Mobile, purposeMobileIx)
	default:
		return nil, fault.Missing("certNo")
	}
	scope, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "u.platform_id"}, 2)
	rows, err := c.s.pool.Query(ctx, `SELECT p.id, p.cert_type, p.name_masked, p.cert_no_masked, p.mobile_masked, array_agg(u.app_id ORDER BY u.app_id)
		FROM persons p JOIN person_app_users u ON u.person_id = p.id
		WHERE `+cond+` AND `+scope+` GROUP BY p.id`, append([]any{arg}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &HolderList{Items: []Holder{}}
	for rows.Next() {
		var h Holder
		var ct string
		if err := rows.Scan(&h.PersonID, &ct, &h.Identity.Name, &h.Identity.CertNo, &h.Identity.Mobile, &h.Apps); err != nil {
			return nil, err
		}
		h.Identity.CertType = CertType(ct)
		out.Items = append(out.Items, h)
	}
	return out, rows.Err()
}

// handles answers the holder's subject ids through apps in the caller's
// scope; a person with none there is not the caller's to see.
func (c *console) handles(ctx context.Context, personID int64) ([]string, error) {
	scope, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 2)
	rows, err := c.s.pool.Query(ctx, `SELECT id FROM person_app_users WHERE person_id = $1 AND `+scope, append([]any{personID}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h int64
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, SubjectID(h))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fault.NotFoundf("person %d not found", personID)
	}
	return out, nil
}

// RecordsIn selects a holder's records.
type RecordsIn struct {
	PersonID int64     `path:"personId" json:"-"`
	Types    []string  `query:"type" doc:"generate, show, verify, ... (comma-separated)"`
	From     time.Time `query:"from"`
	To       time.Time `query:"to"`
	PageNo   int       `query:"pageNo" validate:"omitempty,min=1"`
	PageSize int       `query:"pageSize" validate:"omitempty,min=1,max=500"`
}

// RecordPage is a page of records.
type RecordPage struct {
	Total int64          `json:"total"`
	Items []events.Event `json:"items"`
}

func (c *console) records(ctx context.Context, in *RecordsIn) (*RecordPage, error) {
	subjects, err := c.handles(ctx, in.PersonID)
	if err != nil {
		return nil, err
	}
	to := in.To
	if to.IsZero() {
		to = c.s.clock().Add(time.Minute)
	}
	from := in.From
	if from.IsZero() {
		from = to.AddDate(0, 0, -30)
	}
	if !from.Before(to) {
		return nil, fault.Invalidf("from must be before to")
	}
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	page := max(in.PageNo, 1)
	types := make([]events.Type, len(in.Types))
	for i, t := range in.Types {
		types[i] = events.Type(t)
	}
	p, err := c.ev.SubjectRecords(ctx, events.SubjectFilter{SubjectIDs: subjects, Types: types, From: from, To: to,
		Offset: (page - 1) * size, Limit: size})
	if err != nil {
		return nil, err
	}
	return &RecordPage{Total: p.Total, Items: p.Items}, nil
}

// PersonIn names a holder.
type PersonIn struct {
	PersonID int64 `path:"personId" json:"-"`
}

func (c *console) summary(ctx context.Context, in *PersonIn) (*events.Summary, error) {
	subjects, err := c.handles(ctx, in.PersonID)
	if err != nil {
		return nil, err
	}
	s, err := c.ev.SubjectSummary(ctx, subjects, c.s.clock())
	if err != nil {
		return nil, err
	}
	return &s, nil
}

func upperNoSpace(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == ' ' {
			continue
		}
		if ch >= 'a' && ch <= 'z' {
			ch -= 'a' - 'A'
		}
		out = append(out, ch)
	}
	return string(out)
}
