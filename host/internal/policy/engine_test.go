package policy_test

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/policies"
)

func newEngine(t testing.TB, cfg policy.Config) *policy.Engine {
	t.Helper()
	e, err := policy.New(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// defaultFiles returns the embedded bundle as a file map.
func defaultFiles(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(policies.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files[p], err = fs.ReadFile(policies.FS(), p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// stricter is the default bundle with app.export made a main-only action: a
// change that compiles, passes the bundle's tests and changes a decision.
func stricter(t testing.TB) map[string][]byte {
	files := defaultFiles(t)
	src := string(files["authz/authz.rego"])
	out := strings.Replace(src, `"policy.update",`, `"policy.update", "app.export",`, 1)
	if out == src {
		t.Fatal("authz.rego no longer lists policy.update")
	}
	files["authz/authz.rego"] = []byte(out)
	return files
}

func writeFiles(t testing.TB, dir string, files map[string][]byte) {
	t.Helper()
	// Each file is replaced atomically (a hidden temporary file renamed
	// over it) and stale ones removed afterwards, as a deployment does: an
	// engine polling the directory meanwhile never reads half a file or a
	// directory emptied for rewriting.
	for name, b := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(filepath.Dir(p), ".tmp-"+filepath.Base(p))
		if err := os.WriteFile(tmp, b, 0o640); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p); err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if _, keep := files[filepath.ToSlash(rel)]; !keep {
			return os.Remove(p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// exportAllowed asks whether a sub-platform admin may app.export: true under
// the default bundle, false under stricter.
func exportAllowed(t testing.TB, e *policy.Engine) bool {
	t.Helper()
	d, err := e.Authorize(t.Context(), policy.AuthzInput{Subject: subAdmin, Action: "app.export"})
	if err != nil {
		t.Fatal(err)
	}
	return d.Allow
}

func rejected(t *testing.T, err error, mentions ...string) {
	t.Helper()
	if !errors.Is(err, policy.ErrBundleRejected) {
		t.Fatalf("err = %v, want ErrBundleRejected", err)
	}
	var be *policy.BundleError
	if !errors.As(err, &be) || len(be.Problems) == 0 {
		t.Fatalf("err = %#v, want a *BundleError with problems", err)
	}
	for _, m := range mentions {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error does not mention %q: %v", m, err)
		}
	}
}

func TestReloadRefusesBadBundlesAndKeepsServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, defaultFiles(t))
	e := newEngine(t, policy.Config{Dir: dir, PollInterval: -1})
	v0 := e.Version()
	if !exportAllowed(t, e) || e.LastError() != nil {
		t.Fatal("default bundle not serving")
	}

	bad := map[string]func(map[string][]byte) []string{
		"syntax error": func(f map[string][]byte) []string {
			f["authz/authz.rego"] = append(f["authz/authz.rego"], "\nbroken if {\n"...)
			return []string{"authz/authz.rego"}
		},
		"compile error": func(f map[string][]byte) []string {
			f["risk/risk.rego"] = append(f["risk/risk.rego"], "\nx := undefined_function(1)\n"...)
			return []string{"risk/risk.rego", "undefined_function"}
		},
		"failing test": func(f map[string][]byte) []string {
			f["authz/extra_test.rego"] = []byte("package authz_test\n\nimport data.authz\n\ntest_root_denied if not authz.allow with input as {\"subject\": {\"type\": \"root\"}, \"action\": \"x\"}\n")
			return []string{"authz/extra_test.rego", "test_root_denied", "failed"}
		},
		"erroring test": func(f map[string][]byte) []string {
			f["risk/conflict_test.rego"] = []byte("package risk_test\n\nv := 1 if true\n\nv := 2 if true\n\ntest_conflict if v == 1\n")
			return []string{"risk/conflict_test.rego", "test_conflict", "error"}
		},
		"broken test file": func(f map[string][]byte) []string {
			f["plugins/plugins_test.rego"] = []byte("package plugins_test\n\ntest_x if {\n")
			return []string{"plugins/plugins_test.rego"}
		},
		"missing authz": func(f map[string][]byte) []string {
			delete(f, "authz/authz.rego")
			delete(f, "authz/authz_test.rego")
			return []string{"missing rule data.authz.decision", "missing rule data.authz.grant"}
		},
		"policy change failing its own tests": func(f map[string][]byte) []string {
			// Dropping the main-only list fails the bundle's own tests.
			src := string(f["authz/authz.rego"])
			weak := strings.Replace(src, "\taction in main_only_actions\n\tnot subject_unlimited", "\taction in set()\n\tnot subject_unlimited", 1)
			if weak == src {
				panic("authz.rego changed: update this mutation")
			}
			f["authz/authz.rego"] = []byte(weak)
			return []string{"test_sub_admin_denied_main_only"}
		},
		"empty": func(f map[string][]byte) []string {
			clear(f)
			return []string{"no .rego files"}
		},
	}
	for name, mutate := range bad {
		files := defaultFiles(t)
		mentions := mutate(files)
		writeFiles(t, dir, files)
		err := e.Reload(t.Context())
		t.Run(name, func(t *testing.T) {
			rejected(t, err, mentions...)
			if e.Version() != v0 || !exportAllowed(t, e) {
				t.Fatal("refused bundle replaced the serving one")
			}
			if !errors.Is(e.LastError(), policy.ErrBundleRejected) {
				t.Fatalf("LastError = %v", e.LastError())
			}
		})
	}

	writeFiles(t, dir, stricter(t))
	if err := e.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if e.Version() == v0 || exportAllowed(t, e) || e.LastError() != nil {
		t.Fatalf("good change not served: version %s, LastError %v", e.Version(), e.LastError())
	}
	d, err := e.Authorize(t.Context(), policy.AuthzInput{Subject: subAdmin, Action: "app.export"})
	if err != nil || d.Reason != "action requires the main platform" {
		t.Fatalf("%+v %v", d, err)
	}

	// Reloading what is serving is a no-op.
	v1 := e.Version()
	if err := e.Reload(t.Context()); err != nil || e.Version() != v1 {
		t.Fatalf("no-op reload: %v", err)
	}
}

func TestHotReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, defaultFiles(t))
	e := newEngine(t, policy.Config{Dir: dir, PollInterval: 5 * time.Millisecond})
	v0 := e.Version()

	files := defaultFiles(t)
	files["authz/authz.rego"] = append(files["authz/authz.rego"], "\nbroken if {\n"...)
	writeFiles(t, dir, files)
	eventually(t, func() bool { return e.LastError() != nil })
	rejected(t, e.LastError(), "authz/authz.rego")
	if e.Version() != v0 || !exportAllowed(t, e) {
		t.Fatal("refused bundle is serving")
	}

	writeFiles(t, dir, stricter(t))
	eventually(t, func() bool { return e.Version() != v0 })
	if exportAllowed(t, e) || e.LastError() != nil {
		t.Fatalf("hot-reloaded bundle not served (LastError %v)", e.LastError())
	}

	// After Close the directory is no longer watched.
	e.Close()
	e.Close()
	v1 := e.Version()
	writeFiles(t, dir, defaultFiles(t))
	time.Sleep(50 * time.Millisecond) // ten poll intervals: a watcher would have seen it
	if e.Version() != v1 {
		t.Fatal("reloaded after Close")
	}
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestReplace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFiles(t, dir, defaultFiles(t))
	if err := os.WriteFile(filepath.Join(dir, "authz", "stale.rego"), []byte("package stale\n\nx := 1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("not policy"), 0o640); err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, policy.Config{Dir: dir, PollInterval: -1})
	v0 := e.Version()

	t.Run("bad names", func(t *testing.T) {
		for _, name := range []string{"../evil.rego", "/etc/evil.rego", "authz/../../evil.rego", "authz/.hidden.rego",
			"authz//x.rego", "notes.txt", "", "."} {
			files := defaultFiles(t)
			files[name] = []byte("package evil\n")
			rejected(t, e.Replace(t.Context(), files), "invalid file name")
		}
	})
	t.Run("failing bundle leaves disk alone", func(t *testing.T) {
		before := readDir(t, dir)
		files := defaultFiles(t)
		files["authz/extra_test.rego"] = []byte("package authz_test\n\ntest_fails if false\n")
		rejected(t, e.Replace(t.Context(), files), "test_fails")
		if !maps.EqualFunc(before, readDir(t, dir), func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatal("refused upload changed the directory")
		}
		if e.Version() != v0 {
			t.Fatal("refused upload is serving")
		}
	})
	t.Run("accepted bundle is served and written", func(t *testing.T) {
		files := stricter(t)
		if err := e.Replace(t.Context(), files); err != nil {
			t.Fatal(err)
		}
		if exportAllowed(t, e) {
			t.Fatal("uploaded bundle not serving")
		}
		got := readDir(t, dir)
		delete(got, "README") // not a policy file: left alone
		if !maps.EqualFunc(files, got, func(a, b []byte) bool { return string(a) == string(b) }) {
			t.Fatalf("directory holds %d files, want exactly the %d uploaded", len(got), len(files))
		}
		// A restart (or a reload) reads back what was accepted.
		if err := e.Reload(t.Context()); err != nil || exportAllowed(t, e) {
			t.Fatalf("reload after upload: %v", err)
		}
		e2 := newEngine(t, policy.Config{Dir: dir, PollInterval: -1})
		if e2.Version() != e.Version() {
			t.Fatal("restart serves another bundle")
		}
	})
	t.Run("in memory without a directory", func(t *testing.T) {
		mem := newEngine(t, policy.Config{})
		if err := mem.Replace(t.Context(), stricter(t)); err != nil {
			t.Fatal(err)
		}
		if exportAllowed(t, mem) {
			t.Fatal("upload not serving")
		}
	})
}

func TestNew(t *testing.T) {
	t.Parallel()
	embedded := newEngine(t, policy.Config{})
	if len(embedded.Version()) != 64 {
		t.Fatalf("version %q is not an SM3 hex digest", embedded.Version())
	}
	t.Run("seeds an empty directory", func(t *testing.T) {
		t.Parallel()
		dir := filepath.Join(t.TempDir(), "policies")
		e := newEngine(t, policy.Config{Dir: dir, PollInterval: -1})
		if e.Version() != embedded.Version() {
			t.Fatal("seeded directory differs from the embedded bundle")
		}
		if len(readDir(t, dir)) != len(defaultFiles(t)) {
			t.Fatal("directory not seeded")
		}
	})
	t.Run("refuses a bad directory", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFiles(t, dir, map[string][]byte{"authz/authz.rego": []byte("package authz\n\ndecision := 1\n")})
		_, err := policy.New(t.Context(), policy.Config{Dir: dir})
		rejected(t, err, "missing rule data.authz.grant")
	})
	t.Run("cancelled", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := policy.New(ctx, policy.Config{}); err == nil {
			t.Fatal("New succeeded with a cancelled context")
		}
	})
}

// TestSwapUnderLoad evaluates continuously while bundles are swapped: every
// decision must come whole from one bundle or the other.
func TestSwapUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEngine(t, policy.Config{})
	versions := []map[string][]byte{stricter(t), defaultFiles(t)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				d, err := e.Authorize(t.Context(), policy.AuthzInput{Subject: subAdmin, Action: "app.export"})
				if err == nil && !d.Allow && d.Reason != "action requires the main platform" {
					err = errors.New("torn decision: " + d.Reason)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range 6 {
		if err := e.Replace(t.Context(), versions[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
