package stats

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// topN is how many a ranking shows (Top5 in the manual).
const topN = 5

// The boards of 考核分析: what is ranked and by which operations.
var boards = map[string]struct {
	apps  bool
	types []string
}{
	"platform-generate": {false, []string{"generate"}},       // 平台生码量
	"app-generate":      {true, []string{"generate"}},        // 应用生码量
	"platform-use":      {false, []string{"show", "verify"}}, // 平台用码量
	"app-use":           {true, []string{"show", "verify"}},  // 应用用码量
}

// TopIn selects a ranking (排行榜).
type TopIn struct {
	PeriodIn
	Board      string `query:"board" validate:"max=32" doc:"platform-generate (平台生码量), app-generate (应用生码量), platform-use (平台用码量: shows and verifications), app-use (应用用码量)"`
	PlatformID string `query:"platformId" validate:"max=16" doc:"app boards: only this platform's apps"`
}

// Top is a ranking: at most five, largest first, only those with use.
type Top struct {
	Board string    `json:"board"`
	From  string    `json:"from" doc:"first day"`
	To    string    `json:"to" doc:"last day, included"`
	Items []TopItem `json:"items"`
}

// TopItem is one place of a ranking.
type TopItem struct {
	Rank         int    `json:"rank" doc:"from 1"`
	ID           string `json:"id" doc:"the platform's or the app's id"`
	Name         string `json:"name"`
	PlatformID   string `json:"platformId" doc:"the app's platform (the platform itself on platform boards)"`
	PlatformName string `json:"platformName"`
	Value        int64  `json:"value"`
}

// Top answers the board in names over its period (default yesterday, the
// manual's first button), within the caller's scope.
func (s *Service) Top(ctx context.Context, in *TopIn) (*Top, error) {
	b, ok := boards[in.Board]
	if in.Board == "" {
		return nil, fault.Missing("board")
	}
	if !ok {
		return nil, fault.Invalidf("parameter \"board\" must be one of: platform-generate app-generate platform-use app-use")
	}
	sp, err := in.resolve(s.cfg.Clock(), Yesterday)
	if err != nil {
		return nil, err
	}
	if in.PlatformID != "" {
		if !b.apps {
			return nil, fault.Invalidf("parameter \"platformId\" goes with the app boards only")
		}
		if _, err := s.checkPlatform(ctx, in.PlatformID); err != nil {
			return nil, err
		}
	}
	items, err := s.top(ctx, sp, b.apps, b.types, in.PlatformID, false)
	if err != nil {
		return nil, err
	}
	return &Top{Board: in.Board, From: sp.first(), To: sp.last(), Items: items}, nil
}

// top ranks apps (or platforms; only sub-platforms when subOnly) in the
// caller's scope by their successful events of types over sp.
func (s *Service) top(ctx context.Context, sp span, apps bool, types []string, platformID string, subOnly bool) ([]TopItem, error) {
	var a sqlArgs
	where := rollupSpan(&a, policy.ScopeFrom(ctx), "day", sp) + " AND r.result = 'success' AND r.type = ANY(" + a.add(types) + ")"
	var q string
	if apps {
		if platformID != "" {
			where += " AND r.platform_id = " + a.add(platformID)
		}
		// The app's region is the scope's: the same join as usageFrom, inner.
		q = `SELECT r.app_id, a.name, p.id, p.name, sum(r.n)::bigint AS n
			FROM usage_rollups r JOIN apps a ON a.id = r.app_id JOIN platforms p ON p.id = a.platform_id
			WHERE ` + where + ` GROUP BY 1, 2, 3, 4`
	} else {
		if subOnly {
			where += " AND p.kind = 'sub'"
		}
		q = `SELECT p.id, p.name, p.id, p.name, sum(r.n)::bigint AS n
			FROM usage_rollups r LEFT JOIN apps a ON a.id = r.app_id JOIN platforms p ON p.id = r.platform_id
			WHERE ` + where + ` GROUP BY 1, 2`
	}
	rows, err := s.cfg.Pool.Query(ctx, q+fmt.Sprintf(" ORDER BY n DESC, 1 LIMIT %d", topN), a...)
	if err != nil {
		return nil, fmt.Errorf("stats: top: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (TopItem, error) {
		var it TopItem
		err := r.Scan(&it.ID, &it.Name, &it.PlatformID, &it.PlatformName, &it.Value)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("stats: top: %w", err)
	}
	for i := range items {
		items[i].Rank = i + 1
	}
	if items == nil {
		items = []TopItem{}
	}
	return items, nil
}
