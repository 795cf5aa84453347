package tenancy

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/store"
)

// mainPlatformName is the main platform's name at first start; its
// administrators may rename it.
const mainPlatformName = "城市码主平台"

// mainRegionCode is the main platform's region at first start (上海市).
const mainRegionCode = "310000"

// builtinRegions is Shanghai and its districts (national administrative
// codes, GB/T 2260). The districts of a municipality are county-level
// (level 3) and hang directly below it.
var builtinRegions = []struct {
	code, parent, name string
	level              int
}{
	{"310000", "", "上海市", 1},
	{"310101", "310000", "黄浦区", 3},
	{"310104", "310000", "徐汇区", 3},
	{"310105", "310000", "长宁区", 3},
	{"310106", "310000", "静安区", 3},
	{"310107", "310000", "普陀区", 3},
	{"310109", "310000", "虹口区", 3},
	{"310110", "310000", "杨浦区", 3},
	{"310112", "310000", "闵行区", 3},
	{"310113", "310000", "宝山区", 3},
	{"310114", "310000", "嘉定区", 3},
	{"310115", "310000", "浦东新区", 3},
	{"310116", "310000", "金山区", 3},
	{"310117", "310000", "松江区", 3},
	{"310118", "310000", "青浦区", 3},
	{"310120", "310000", "奉贤区", 3},
	{"310151", "310000", "崇明区", 3},
}

// builtinIndustries are the industries of the city-code scenarios.
var builtinIndustries = []struct {
	code, name string
	sort       int
}{
	{"health", "医疗卫生", 10},
	{"transport", "交通出行", 20},
	{"government", "政务服务", 30},
	{"culture_tourism", "文化旅游", 40},
	{"sanitation", "环境卫生", 50},
	{"eldercare", "养老服务", 60},
	{"education", "教育服务", 70},
	{"urban_management", "城市管理", 80},
}

// Seed makes the tenancy data a fresh installation needs: the built-in
// region tree, the built-in industries and the main platform (MainPlatformID,
// 城市码主平台, region 310000). Each set is loaded once per database and
// recorded in tenancy_seeds, so an administrator's later edits and deletions
// stand; calling Seed again, or from several hosts at once, changes nothing.
func (s *Service) Seed(ctx context.Context) error {
	err := store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		// Hosts starting together seed one after the other.
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('tenancy.seed'))"); err != nil {
			return err
		}
		now := s.now()
		sets := []struct {
			name string
			load func() error
		}{
			{"regions.v1", func() error {
				for _, r := range builtinRegions {
					if _, err := tx.Exec(ctx, `
						INSERT INTO regions (code, parent_code, name, level, created_at, updated_at)
						VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (code) DO NOTHING`,
						r.code, nullIf(r.parent), r.name, r.level, now); err != nil {
						return err
					}
				}
				return nil
			}},
			{"industries.v1", func() error {
				for _, i := range builtinIndustries {
					if _, err := tx.Exec(ctx, `
						INSERT INTO industries (code, name, sort, created_at, updated_at)
						VALUES ($1, $2, $3, $4, $4) ON CONFLICT (code) DO NOTHING`,
						i.code, i.name, i.sort, now); err != nil {
						return err
					}
				}
				return nil
			}},
			{"main-platform.v1", func() error {
				// The region may have been removed from a custom tree loaded
				// before the platform existed; bring back just that one.
				if _, err := tx.Exec(ctx, `
					INSERT INTO regions (code, name, level, created_at, updated_at)
					VALUES ($1, '上海市', 1, $2, $2) ON CONFLICT (code) DO NOTHING`, mainRegionCode, now); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `
					INSERT INTO platforms (id, kind, name, region_code, created_at, updated_at)
					VALUES ($1, 'main', $2, $3, $4, $4) ON CONFLICT (id) DO NOTHING`,
					MainPlatformID, mainPlatformName, mainRegionCode, now)
				return err
			}},
		}
		for _, set := range sets {
			tag, err := tx.Exec(ctx, "INSERT INTO tenancy_seeds (name, loaded_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", set.name, now)
			if err != nil {
				return err
			}
			if tag.RowsAffected() == 0 {
				continue // loaded before
			}
			if err := set.load(); err != nil {
				return fmt.Errorf("%s: %w", set.name, err)
			}
			s.log.InfoContext(ctx, "tenancy seed loaded", "set", set.name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("tenancy: seed: %w", err)
	}
	return nil
}
