package policy_test

import (
	"context"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

type row struct{ platform, region, objectType *string }

func strp(v string) *string { return &v }

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// scopeRows spread over platforms, regions (some holding LIKE's
// metacharacters) and object types, with NULLs and empty strings.
var scopeRows = []row{
	{strp("P1"), strp("310104001"), strp("toilet")},
	{strp("P1"), strp("310104002"), strp("well")},
	{strp("P1"), strp("310105"), strp("toilet")},
	{strp("P1"), strp(""), strp("toilet")},
	{strp("P1"), nil, nil},
	{strp("P1"), strp("310104"), strp("")},
	{strp("P2"), strp("310104"), strp("shop")},
	{strp("P2"), strp("3101049"), nil},
	{strp("P2"), strp("320000"), strp("toilet")},
	{strp("P3"), strp("31_0%9"), strp("well")},
	{strp("P3"), strp("3100x9"), strp("well")},
	{strp("P3"), strp("31a0b9"), strp("well")},
	{strp("P3"), strp(`31\09`), strp("well")},
	{strp("P3"), strp(`31\x9`), strp("well")},
	{nil, strp("310104"), strp("toilet")},
	{strp(""), strp("310104"), strp("toilet")},
}

func TestScopeSQL(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel) // parallel subtests outlive this function body
	if _, err := pool.Exec(ctx, `CREATE TABLE scoped (id serial PRIMARY KEY, platform_id text, region_code text, object_type text)`); err != nil {
		t.Fatal(err)
	}
	for _, r := range scopeRows {
		if _, err := pool.Exec(ctx, `INSERT INTO scoped (platform_id, region_code, object_type) VALUES ($1, $2, $3)`,
			r.platform, r.region, r.objectType); err != nil {
			t.Fatal(err)
		}
	}
	full := policy.ScopeColumns{Platform: "platform_id", Region: "region_code", ObjectType: "object_type"}

	tests := []struct {
		name  string
		scope policy.Scope
		cols  policy.ScopeColumns
		want  int
	}{
		{"all", policy.Scope{All: true}, full, len(scopeRows)},
		{"all on a table without scope columns", policy.Scope{All: true}, policy.ScopeColumns{}, len(scopeRows)},
		{"zero scope is nothing", policy.Scope{}, full, 0},
		{"one platform", policy.Scope{PlatformIDs: []string{"P1"}}, full, 6},
		{"two platforms", policy.Scope{PlatformIDs: []string{"P1", "P2"}}, full, 9},
		{"empty platform id matches nothing", policy.Scope{PlatformIDs: []string{""}}, full, 0},
		{"empty platform id among others", policy.Scope{PlatformIDs: []string{"", "P2"}}, full, 3},
		{"region prefix", policy.Scope{RegionPrefixes: []string{"310104"}}, full, 7},
		{"region prefixes", policy.Scope{RegionPrefixes: []string{"310105", "32"}}, full, 2},
		{"platform and region", policy.Scope{PlatformIDs: []string{"P1"}, RegionPrefixes: []string{"310104"}}, full, 3},
		{"underscore and percent are literal", policy.Scope{RegionPrefixes: []string{"31_0%"}}, full, 1},
		{"underscore is literal", policy.Scope{RegionPrefixes: []string{"31_"}}, full, 1},
		{"percent prefix is literal", policy.Scope{RegionPrefixes: []string{"%"}}, full, 0},
		{"backslash is literal", policy.Scope{RegionPrefixes: []string{`31\`}}, full, 2},
		{"backslash does not escape", policy.Scope{RegionPrefixes: []string{`31\0`}}, full, 1},
		{"empty prefix matches nothing", policy.Scope{RegionPrefixes: []string{""}}, full, 0},
		{"empty prefix among others", policy.Scope{RegionPrefixes: []string{"", "320"}}, full, 1},
		{"object types keep untyped rows", policy.Scope{ObjectTypes: []string{"toilet"}}, full, 9},
		{"everything", policy.Scope{PlatformIDs: []string{"P1", "P2"}, RegionPrefixes: []string{"310104"}, ObjectTypes: []string{"well", "shop"}}, full, 4},
		{"injection in values is data", policy.Scope{PlatformIDs: []string{"P1' OR '1'='1"}, RegionPrefixes: []string{"' OR TRUE --"}}, full, 0},
		{"platform scope, no platform column", policy.Scope{PlatformIDs: []string{"P1"}}, policy.ScopeColumns{Region: "region_code", ObjectType: "object_type"}, 0},
		{"region scope, no region column", policy.Scope{PlatformIDs: []string{"P1"}, RegionPrefixes: []string{"3101"}}, policy.ScopeColumns{Platform: "platform_id"}, 0},
		{"type scope, no type column", policy.Scope{ObjectTypes: []string{"well"}}, policy.ScopeColumns{Platform: "platform_id", Region: "region_code"}, 0},
		{"unrestricted dimension needs no column", policy.Scope{PlatformIDs: []string{"P2"}}, policy.ScopeColumns{Platform: "platform_id"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Parameters start after one of the caller's own.
			clause, args := tt.scope.SQL(tt.cols, 2)
			var got int
			err := pool.QueryRow(ctx, `SELECT count(*) FROM scoped WHERE id > $1 AND `+clause, append([]any{0}, args...)...).Scan(&got)
			if err != nil {
				t.Fatalf("%s %v: %v", clause, args, err)
			}
			if got != tt.want {
				t.Fatalf("%s %v: %d rows, want %d", clause, args, got, tt.want)
			}
			if tt.cols != full {
				return
			}
			var contained int
			for _, r := range scopeRows {
				if tt.scope.Contains(deref(r.platform), deref(r.region), deref(r.objectType)) {
					contained++
				}
			}
			if contained != got {
				t.Fatalf("Contains admits %d rows, SQL %d", contained, got)
			}
		})
	}
}

func TestScopeSQLShape(t *testing.T) {
	t.Parallel()
	cols := policy.ScopeColumns{Platform: "c.platform_id", Region: "c.region_code", ObjectType: "c.object_type"}
	clause, args := policy.Scope{PlatformIDs: []string{"P1"}, RegionPrefixes: []string{"31_0", "32"}, ObjectTypes: []string{"well"}}.SQL(cols, 3)
	want := `c.platform_id = $3 AND (c.region_code LIKE $4 OR c.region_code LIKE $5) AND (c.object_type IS NULL OR c.object_type = '' OR c.object_type = ANY($6))`
	if clause != want {
		t.Fatalf("clause\n got %s\nwant %s", clause, want)
	}
	if len(args) != 4 || args[0] != "P1" || args[1] != `31\_0%` || args[2] != "32%" {
		t.Fatalf("args %#v", args)
	}
}
