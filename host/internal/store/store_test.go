package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func TestMigrateFromEmptyAndStatus(t *testing.T) {
	pool := storetest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The template is already migrated: a second run must find nothing to do
	// and every known migration must be reported as applied.
	n, err := store.Migrate(ctx, pool, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("re-migrate applied %d migrations, want 0", n)
	}
	st, err := store.Status(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) == 0 {
		t.Fatal("no migrations known")
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d (%s) not applied", s.Version, s.Source)
		}
	}
}

func TestTxRollsBackOnError(t *testing.T) {
	pool := storetest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE t (id int primary key)"); err != nil {
		t.Fatal(err)
	}
	err := store.Tx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO t VALUES (1)") // duplicate
		return err
	})
	if !store.IsUniqueViolation(err, "") {
		t.Fatalf("want unique violation, got %v", err)
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("rows after rollback = %d, want 0", n)
	}
}
