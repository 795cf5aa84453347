package scenes

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/snapshot"
	"github.com/opencitycode/citycode/host/internal/store"
)

// gate answers decode's question from an in-memory snapshot of which
// organizations belong to which scenes, which scenes are stopped and which
// apps belong to disabled counterparts. Decodes at an organization of no
// scene (most of them) cost a map lookup; only at a scene's organization
// is the holder's switch looked up, by its primary key.
type gate struct {
	pool *pgxpool.Pool
	snap *snapshot.Value[*sceneMap]
}

type sceneMap struct {
	orgScenes    map[string][]sceneRef // acceptOrgId → its scenes
	disabledApps map[string]string     // cityCodeAppId → its disabled counterpart's name
}

type sceneRef struct {
	id      int64
	name    string
	stopped bool // disabled in an emergency, or its counterpart is
}

func newGate(pool *pgxpool.Pool, clock func() time.Time, refresh time.Duration, log *slog.Logger) *gate {
	g := &gate{pool: pool}
	g.snap = snapshot.New(snapshot.Config{Every: refresh, Clock: clock, Log: log, What: "the scenes' organizations"}, g.load)
	return g
}

func (g *gate) invalidate() { g.snap.Invalidate() }

// current answers the scenes' organizations, no older than the refresh
// interval (the last ones read while the database cannot be read).
func (g *gate) current(ctx context.Context) (*sceneMap, error) { return g.snap.Get(ctx) }

func (g *gate) load(ctx context.Context) (*sceneMap, error) {
	s := &sceneMap{orgScenes: map[string][]sceneRef{}, disabledApps: map[string]string{}}
	rows, err := g.pool.Query(ctx, `SELECT s.id, s.name, s.disabled OR coalesce(NOT c.enabled, false),
			ARRAY(SELECT DISTINCT o FROM unnest(s.org_ids || coalesce(c.org_ids, '{}')) o)
		FROM scenes s LEFT JOIN scene_counterparts c ON c.id = s.counterpart_id`)
	if err != nil {
		return nil, err
	}
	var ref sceneRef
	var orgs []string
	if _, err := pgx.ForEachRow(rows, []any{&ref.id, &ref.name, &ref.stopped, &orgs}, func() error {
		for _, o := range orgs {
			s.orgScenes[o] = append(s.orgScenes[o], ref)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	rows, err = g.pool.Query(ctx, `SELECT unnest(app_ids), name FROM scene_counterparts WHERE NOT enabled`)
	if err != nil {
		return nil, err
	}
	var app, name string
	if _, err := pgx.ForEachRow(rows, []any{&app, &name}, func() error {
		s.disabledApps[app] = name
		return nil
	}); err != nil {
		return nil, err
	}
	return s, nil
}

// Check is the decode hook (codeapi.Config.Scenes): it refuses a decode by
// an app of a disabled counterpart, at an organization whose scenes are all
// stopped, or of a holder who switched off a scene of the organization.
func (s *Service) Check(ctx context.Context, decoderAppID, holderAppID, userID, orgID string) error {
	snap, err := s.gate.current(ctx)
	if err != nil {
		return err
	}
	if name, ok := snap.disabledApps[decoderAppID]; ok {
		return fault.E(fault.Denied, fault.CodeCounterpartDisabled, "the scene counterpart %s that this app belongs to is disabled", name)
	}
	refs := snap.orgScenes[orgID]
	if len(refs) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(refs))
	live := false
	for _, r := range refs {
		ids = append(ids, r.id)
		live = live || !r.stopped
	}
	if !live {
		return fault.E(fault.Denied, fault.CodeSceneDisabled, "the scene %s of the accepting organization is stopped", refs[0].name)
	}
	var off int64
	err = s.cfg.Pool.QueryRow(ctx, `SELECT scene_id FROM scene_switches WHERE app_id = $1 AND user_id = $2 AND scene_id = ANY($3) LIMIT 1`,
		holderAppID, userID, ids).Scan(&off)
	if store.NoRows(err) {
		return nil
	}
	if err != nil {
		return err
	}
	name := ""
	for _, r := range refs {
		if r.id == off {
			name = r.name
		}
	}
	return fault.E(fault.Denied, fault.CodeSceneSwitchedOff, "the code's holder switched off the scene %s", name)
}
