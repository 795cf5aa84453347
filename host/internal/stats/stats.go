// Package stats answers the console's usage statistics — 城市码管控
// (授权监控: platform, app and rule totals, trends, daily reports; 考核分析:
// top-5 rankings), scene statistics by region and code kind, and the
// operations workbench (运营管理工作台) — with xlsx exports.
//
// Every figure comes from the rollups package events maintains in the
// transaction that commits the events (usage_rollups, usage_subject_daily,
// usage_region_daily), never from the raw events, joined with the names of
// platforms, apps and rules. Counts are successful events unless a field
// says otherwise. Days are Beijing days (UTC+8), the days of the rollups.
//
// Every answer is limited to the caller's data scope (policy.ScopeFrom),
// in the database: a main-platform administrator sees every platform, a
// sub-platform administrator only its own, a region account the apps (and,
// for scene statistics, the codes) of its region. A filter naming a
// platform or app outside the scope is refused (403 UnauthorizedOperation)
// whatever the endpoint, so the answer never depends on what is outside;
// name filters simply match nothing there.
package stats

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Config wires the statistics.
type Config struct {
	Pool  *pgxpool.Pool
	Clock func() time.Time // default time.Now
	Log   *slog.Logger     // default: discard
	// Profile answers the calling operator's account, name and last login
	// for the workbench; nil shows the account only.
	Profile func(ctx context.Context) (Profile, error)
	// Alerts answers the latest interoperability alerts (互联互通告警) the
	// caller may see, newest first, at most limit; nil means there are
	// none. The workbench drops any outside the caller's scope.
	Alerts func(ctx context.Context, limit int) ([]Alert, error)
}

// Service answers the statistics. It is safe for concurrent use.
type Service struct {
	cfg Config
	log *slog.Logger
}

// New makes the statistics service.
func New(cfg Config) (*Service, error) {
	if cfg.Pool == nil {
		return nil, errors.New("stats: Config.Pool is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Service{cfg: cfg, log: cfg.Log.With("component", "stats")}, nil
}

// Counts are successful events of the three operations the manual counts.
type Counts struct {
	Generate int64 `json:"generate" doc:"codes generated (生码量)"`
	Show     int64 `json:"show" doc:"codes shown (亮码量)"`
	Verify   int64 `json:"verify" doc:"codes verified (验码量)"`
}

// People counts distinct code holders behind Counts (人数). A holder is the
// subject of the events: a person as one app knows them (apps never share
// a person's id, so someone using two apps counts once in each), an
// enterprise or an object. Generations of object codes in batches name no
// holder and are not counted here.
type People struct {
	GeneratePeople int64 `json:"generatePeople" doc:"distinct holders with a code generated"`
	ShowPeople     int64 `json:"showPeople" doc:"distinct holders who showed a code"`
	VerifyPeople   int64 `json:"verifyPeople" doc:"distinct holders whose code was verified"`
}

// countPeople is the select list of People over per-subject rows s.
const countPeople = `count(DISTINCT s.subject_id) FILTER (WHERE s.type = 'generate'),
	count(DISTINCT s.subject_id) FILTER (WHERE s.type = 'show'),
	count(DISTINCT s.subject_id) FILTER (WHERE s.type = 'verify')`

// rollupScope and subjectScope are the caller's scope over rollup rows r
// and per-subject rows s, LEFT JOINed with their app a: the app's region stands for the row's,
// so a region account sees the usage of its region's apps. Rollups know no
// object type: a scope limited to object types sees none of them.
var (
	rollupScope  = policy.ScopeColumns{Platform: "r.platform_id", Region: "a.region_code"}
	subjectScope = policy.ScopeColumns{Platform: "s.platform_id", Region: "a.region_code"}
)

// sqlArgs numbers a statement's parameters as they are added.
type sqlArgs []any

// add appends v and answers its placeholder.
func (a *sqlArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// scope renders sc over cols with the following placeholders.
func (a *sqlArgs) scope(sc policy.Scope, cols policy.ScopeColumns) string {
	clause, more := sc.SQL(cols, len(*a)+1)
	*a = append(*a, more...)
	return clause
}

// contains is a LIKE pattern matching text containing s literally.
func contains(s string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s) + "%"
}

// platformRef is a platform a filter names.
type platformRef struct{ id, name string }

// checkPlatform answers the platform id names when the caller may see it.
// Outside the scope is 403 whether or not the platform exists, so a
// filter tells nothing about other platforms; a missing one is 404 only
// for callers who see every platform.
func (s *Service) checkPlatform(ctx context.Context, id string) (platformRef, error) {
	if err := checkText("platformId", id); err != nil {
		return platformRef{}, err
	}
	sc := policy.ScopeFrom(ctx)
	var name, region string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT name, region_code FROM platforms WHERE id = $1`, id).Scan(&name, &region)
	if err != nil && !store.NoRows(err) {
		return platformRef{}, err
	}
	if store.NoRows(err) && sc.All {
		return platformRef{}, fault.NotFoundf("platform %s not found", id)
	}
	if store.NoRows(err) || !sc.Contains(id, region, "") {
		return platformRef{}, fault.Deniedf("platform %s is outside your data scope", id)
	}
	return platformRef{id, name}, nil
}

// appRef is an app a filter names.
type appRef struct {
	id, name string
	platform platformRef
}

// checkApp is checkPlatform for an app.
func (s *Service) checkApp(ctx context.Context, id string) (appRef, error) {
	if err := checkText("appId", id); err != nil {
		return appRef{}, err
	}
	sc := policy.ScopeFrom(ctx)
	var a appRef
	var region string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT a.name, a.region_code, p.id, p.name FROM apps a JOIN platforms p ON p.id = a.platform_id
		WHERE a.id = $1`, id).Scan(&a.name, &region, &a.platform.id, &a.platform.name)
	if err != nil && !store.NoRows(err) {
		return appRef{}, err
	}
	if store.NoRows(err) && sc.All {
		return appRef{}, fault.NotFoundf("app %s not found", id)
	}
	if store.NoRows(err) || !sc.Contains(a.platform.id, region, "") {
		return appRef{}, fault.Deniedf("app %s is outside your data scope", id)
	}
	a.id = id
	return a, nil
}

// PageIn pages and sorts a list.
type PageIn struct {
	Sort     string `query:"sort" validate:"max=16" doc:"generate (default), show or verify"`
	Order    string `query:"order" validate:"max=8" doc:"desc (default) or asc"`
	PageNo   int    `query:"pageNo" doc:"from 1; exports ignore paging"`
	PageSize int    `query:"pageSize" doc:"1 to 500; default 20"`
}

// Paging bounds: pages answer screens, exports go further.
const (
	defaultPageSize = 20
	maxPageSize     = 500
	maxOffset       = 100_000
	maxExportRows   = 100_000
)

// order is a checked PageIn: the ORDER BY column and direction (constants,
// never input), the offset and the limit.
type order struct {
	column, dir   string
	offset, limit int
}

// sortColumns are the columns a list may be sorted by, in the lists'
// common select: g, s and v are the generate, show and verify sums.
var sortColumns = map[string]string{"generate": "g", "show": "s", "verify": "v"}

func (in PageIn) check() (order, error) {
	o := order{column: "g", dir: "DESC", limit: defaultPageSize}
	if in.Sort != "" {
		c, ok := sortColumns[in.Sort]
		if !ok {
			return order{}, fault.Invalidf("parameter \"sort\" must be one of: generate show verify")
		}
		o.column = c
	}
	switch in.Order {
	case "", "desc":
	case "asc":
		o.dir = "ASC"
	default:
		return order{}, fault.Invalidf("parameter \"order\" must be one of: asc desc")
	}
	if in.PageSize != 0 {
		if in.PageSize < 1 || in.PageSize > maxPageSize {
			return order{}, fault.Invalidf("parameter \"pageSize\" must be 1 to %d", maxPageSize)
		}
		o.limit = in.PageSize
	}
	if in.PageNo < 0 {
		return order{}, fault.Invalidf("parameter \"pageNo\" must be 1 or more")
	}
	o.offset = (max(in.PageNo, 1) - 1) * o.limit
	if o.offset > maxOffset {
		return order{}, fault.Invalidf("pages go as far as row %d; narrow the filter", maxOffset)
	}
	return o, nil
}

// sql is the ORDER BY, OFFSET and LIMIT clause, ties broken by key.
func (o order) sql(key string) string {
	return " ORDER BY " + o.column + " " + o.dir + ", " + key + " OFFSET " + strconv.Itoa(o.offset) + " LIMIT " + strconv.Itoa(o.limit)
}

// checkText refuses filter text PostgreSQL cannot take (invalid UTF-8,
// NUL), naming the parameter, so that it is the caller's 400 rather than
// a database error.
func checkText(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if v := pairs[i+1]; !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return fault.Invalidf("parameter %q must be valid text without NUL characters", pairs[i])
		}
	}
	return nil
}
