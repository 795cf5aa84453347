package stats

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// ScenesIn selects the scene statistics (场景统计: 物码区划统计): activity
// of the codes that name a region — object codes, and whatever else
// carries one — per region, code kind and day.
type ScenesIn struct {
	PeriodIn
	PlatformID string   `query:"platformId" validate:"max=16"`
	RegionCode string   `query:"regionCode" validate:"max=12" doc:"a region and everything in it (310104: the district and its streets; 310100: the whole city)"`
	Kind       string   `query:"kind" validate:"max=16" doc:"object, enterprise, person or virtual"`
	By         []string `query:"by" doc:"region, kind and/or day (comma-separated); default region,kind"`
}

// SceneRow is the activity of one group.
type SceneRow struct {
	RegionCode string           `json:"regionCode,omitempty"`
	RegionName string           `json:"regionName,omitempty"`
	Kind       string           `json:"kind,omitempty"`
	Day        string           `json:"day,omitempty" doc:"YYYY-MM-DD"`
	Counts     map[string]int64 `json:"counts" doc:"successful events by type: landing (扫码访问: the landing page opened by a scan), verify, scan_upload, plugin_action (service use), activate, ..."`
	Total      int64            `json:"total"`
}

// Scenes is the scene statistics of a period, ordered by day, region and
// kind.
type Scenes struct {
	From  string           `json:"from" doc:"first day"`
	To    string           `json:"to" doc:"last day, included"`
	By    []string         `json:"by"`
	Sum   map[string]int64 `json:"sum" doc:"every group together, by type"`
	Items []SceneRow       `json:"items"`
}

// maxSceneRows bounds what one answer reads: narrow the filter beyond.
const maxSceneRows = 50_000

// sceneScope is the caller's scope over per-region rows g: the code's own
// region, so a region account sees its region's codes. The rollup knows
// no object type: a scope limited to object types sees none.
var sceneScope = policy.ScopeColumns{Platform: "g.platform_id", Region: "g.region_code"}

// Scenes answers the scene statistics in selects (default the last 7 days).
func (s *Service) Scenes(ctx context.Context, in *ScenesIn) (*Scenes, error) {
	sp, err := in.resolve(s.cfg.Clock(), Last7Days)
	if err != nil {
		return nil, err
	}
	by := in.By
	if len(by) == 0 {
		by = []string{"region", "kind"}
	}
	for i, b := range by {
		if !slices.Contains([]string{"region", "kind", "day"}, b) || slices.Contains(by[:i], b) {
			return nil, fault.Invalidf("parameter \"by\" takes region, kind and day, each once")
		}
	}
	// Groups are selected and ordered by day, region and kind (those asked
	// for), so the rows of a group, one per type, come together.
	var cols []string
	for _, b := range []string{"day", "region", "kind"} {
		if slices.Contains(by, b) {
			cols = append(cols, map[string]string{"day": "g.day", "region": "g.region_code, coalesce(rg.name, '')", "kind": "g.kind"}[b])
		}
	}
	if in.PlatformID != "" {
		if _, err := s.checkPlatform(ctx, in.PlatformID); err != nil {
			return nil, err
		}
	}
	switch in.Kind {
	case "", "person", "enterprise", "object", "virtual":
	default:
		return nil, fault.Invalidf("parameter \"kind\" must be one of: person enterprise object virtual")
	}
	var a sqlArgs
	where := `g.day >= ` + a.add(dateArg(sp.from)) + ` AND g.day < ` + a.add(dateArg(sp.to)) + ` AND g.result = 'success' AND ` +
		a.scope(policy.ScopeFrom(ctx), sceneScope)
	if in.PlatformID != "" {
		where += " AND g.platform_id = " + a.add(in.PlatformID)
	}
	if in.RegionCode != "" {
		if !validRegion(in.RegionCode) {
			return nil, fault.Invalidf("parameter \"regionCode\" must be an administrative code of 6, 9 or 12 digits")
		}
		where += " AND g.region_code LIKE " + a.add(regionPrefix(in.RegionCode)+"%")
	}
	if in.Kind != "" {
		where += " AND g.kind = " + a.add(in.Kind)
	}
	group := strings.Join(cols, ", ")
	q := `SELECT ` + group + `, g.type, sum(g.n)::bigint FROM usage_region_daily g LEFT JOIN regions rg ON rg.code = g.region_code
		WHERE ` + where + ` GROUP BY ` + group + `, g.type ORDER BY ` + group + `, g.type LIMIT ` + fmt.Sprint(maxSceneRows+1)
	rows, err := s.cfg.Pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("stats: scenes: %w", err)
	}
	defer rows.Close()
	out := &Scenes{From: sp.first(), To: sp.last(), By: by, Sum: map[string]int64{}, Items: []SceneRow{}}
	n := 0
	for rows.Next() {
		if n++; n > maxSceneRows {
			return nil, fault.Invalidf("more than %d rows; narrow the period, the region or the grouping", maxSceneRows)
		}
		var r SceneRow
		dest := []any{}
		var day time.Time
		if slices.Contains(by, "day") {
			dest = append(dest, &day)
		}
		if slices.Contains(by, "region") {
			dest = append(dest, &r.RegionCode, &r.RegionName)
		}
		if slices.Contains(by, "kind") {
			dest = append(dest, &r.Kind)
		}
		var typ string
		var count int64
		if err := rows.Scan(append(dest, &typ, &count)...); err != nil {
			return nil, fmt.Errorf("stats: scenes: %w", err)
		}
		if !day.IsZero() {
			r.Day = day.Format(dateLayout)
		}
		last := len(out.Items) - 1
		if last < 0 || out.Items[last].RegionCode != r.RegionCode || out.Items[last].Kind != r.Kind || out.Items[last].Day != r.Day {
			r.Counts = map[string]int64{}
			out.Items = append(out.Items, r)
			last++
		}
		out.Items[last].Counts[typ] += count
		out.Items[last].Total += count
		out.Sum[typ] += count
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats: scenes: %w", err)
	}
	return out, nil
}

func validRegion(code string) bool {
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(code) == 6 || len(code) == 9 || len(code) == 12
}

// regionPrefix is the significant prefix of an administrative code, as
// the policies read it: 310000 covers every code starting 31, 310100
// every code starting 3101, 310104 itself and its streets.
func regionPrefix(code string) string {
	levelEnd := [13]int{2, 2, 2, 4, 4, 6, 6, 9, 9, 9, 12, 12, 12}
	switch len(code) {
	case 2, 4, 6, 9, 12:
		return code[:levelEnd[len(strings.TrimRight(code, "0"))]]
	}
	return code
}
