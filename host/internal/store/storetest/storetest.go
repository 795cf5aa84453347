// Package storetest gives each test its own PostgreSQL database, migrated and
// dropped when the test ends.
//
// The server is the one named by CITYCODE_TEST_DATABASE_URL, else
// DATABASE_URL (make test sets it, starting a private cluster when none is
// reachable). The first call in a process builds (or reuses) a template
// database migrated to the current migration set; every test then gets a
// copy of the template, which takes a few milliseconds instead of migrating.
// Without a configured server the test is skipped only when
// CITYCODE_ALLOW_NO_DB=1; otherwise it fails, so CI can never pass vacuously.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/store"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL returns the URL of the test server, or "" when none is set.
func AdminURL() string {
	if u := os.Getenv("CITYCODE_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return os.Getenv("DATABASE_URL")
}

// New returns a pool on a fresh migrated database for t.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	pool, _ := NewWithURL(t)
	return pool
}

// NewWithURL is New that also returns the database's URL (for tests that
// start host processes against it).
func NewWithURL(t testing.TB) (*pgxpool.Pool, string) {
	t.Helper()
	admin := AdminURL()
	if admin == "" {
		if os.Getenv("CITYCODE_ALLOW_NO_DB") == "1" {
			t.Skip("no test database configured (DATABASE_URL)")
		}
		t.Fatal("storetest: no test database: set DATABASE_URL or run through `make test`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx, admin) })
	if templateErr != nil {
		t.Fatalf("storetest: template: %v", templateErr)
	}

	name := "cct_" + randomHex(8)
	if err := adminExec(ctx, admin, func(c *pgx.Conn) error {
		var err error
		for i := 0; i < 50; i++ {
			_, err = c.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
			if err == nil || !strings.Contains(err.Error(), "being accessed by other users") {
				return err
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	}); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	url := withDatabase(admin, name)
	pool, err := store.Open(ctx, url, 8)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		_ = adminExec(cctx, admin, func(c *pgx.Conn) error {
			_, err := c.Exec(cctx, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
			return err
		})
	})
	return pool, url
}

// NewEmpty returns the URL of a fresh database with no migrations applied,
// dropped after the test: for testing migrations themselves.
func NewEmpty(t testing.TB) string {
	t.Helper()
	admin := AdminURL()
	if admin == "" {
		t.Fatal("storetest: no test database: set DATABASE_URL or run through `make test`")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := "cct_empty_" + randomHex(8)
	if err := adminExec(ctx, admin, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+name)
		return err
	}); err != nil {
		t.Fatalf("storetest: create database: %v", err)
	}
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer ccancel()
		_ = adminExec(cctx, admin, func(c *pgx.Conn) error {
			_, err := c.Exec(cctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			return err
		})
	})
	return withDatabase(admin, name)
}

// ensureTemplate creates the template database for the current migration set
// once per server; concurrent test processes serialise on an advisory lock.
func ensureTemplate(ctx context.Context, admin string) (string, error) {
	name := "cct_tmpl_" + migrationsDigest()[:16]
	err := adminExec(ctx, admin, func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "SELECT pg_advisory_lock(7419001)"); err != nil {
			return err
		}
		defer c.Exec(context.Background(), "SELECT pg_advisory_unlock(7419001)")
		var exists bool
		if err := c.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname=$1)", name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return nil
		}
		building := name + "_build"
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+building+" WITH (FORCE)"); err != nil {
			return err
		}
		if _, err := c.Exec(ctx, "CREATE DATABASE "+building); err != nil {
			return err
		}
		pool, err := store.Open(ctx, withDatabase(admin, building), 2)
		if err != nil {
			return err
		}
		_, err = store.Migrate(ctx, pool, nil)
		pool.Close()
		if err != nil {
			return err
		}
		// Renaming only after a complete migration means a crashed build is
		// never mistaken for a usable template.
		_, err = c.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s", building, name))
		return err
	})
	return name, err
}

func adminExec(ctx context.Context, url string, fn func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	return fn(c)
}

func migrationsDigest() string {
	h := sha256.New()
	var names []string
	_ = fs.WalkDir(store.Migrations(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	sort.Strings(names)
	for _, n := range names {
		f, err := store.Migrations().Open(n)
		if err != nil {
			continue
		}
		io.WriteString(h, n)
		io.Copy(h, f)
		f.Close()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// withDatabase replaces the database of a postgres URL or keyword/value DSN.
func withDatabase(url, db string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return url
	}
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		// Rebuild only the path so every other parameter is kept.
		rest := url[strings.Index(url, "://")+3:]
		q := ""
		if i := strings.IndexByte(rest, '?'); i >= 0 {
			rest, q = rest[:i], rest[i:]
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i]
		}
		scheme := url[:strings.Index(url, "://")+3]
		return scheme + rest + "/" + db + q
	}
	_ = cfg
	return url + " dbname=" + db
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
