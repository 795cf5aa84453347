package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/opencitycode/citycode/policies"
)

// DefaultPollInterval is how often Config.Dir is checked for changes when
// Config.PollInterval is zero.
const DefaultPollInterval = 2 * time.Second

// Config configures an Engine.
type Config struct {
	// Dir is a directory of *.rego files served instead of the embedded
	// default bundle, hot-reloaded when it changes; accepted uploads
	// (Replace) are written there. A directory that does not exist or holds
	// no .rego file is created and seeded with the default bundle, so
	// operators start from a working policy. "" serves the embedded bundle.
	Dir string
	// Log receives accepted and refused reloads; nil discards them.
	Log *slog.Logger
	// PollInterval is how often Dir is checked for changes: 0 means
	// DefaultPollInterval, negative turns hot reload off.
	PollInterval time.Duration
}

// Engine evaluates the policy bundle. Its methods are safe for concurrent
// use: an evaluation sees one whole bundle, the one current when it began,
// while reloads build the next bundle aside and swap it in atomically.
// Close stops hot reload; evaluations keep working after Close.
type Engine struct {
	dir string
	log *slog.Logger

	cur     atomic.Pointer[bundle]
	lastErr atomic.Pointer[error]

	mu   sync.Mutex // serializes loads, so a poll never races an upload
	seen string     // stat digest of dir at the last load attempt; guarded by mu

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// New loads and tests the bundle (Config.Dir or the embedded one) and starts
// hot reload when a directory is configured. It fails, wrapping
// ErrBundleRejected, when that first bundle is refused: the host must not
// serve without policies. ctx bounds the first load only; hot reload runs
// until Close.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	e := &Engine{dir: cfg.Dir, log: cfg.Log}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.dir != "" {
		if err := seed(e.dir, e.log); err != nil {
			return nil, err
		}
	}
	if err := e.Reload(ctx); err != nil {
		return nil, err
	}
	interval := cfg.PollInterval
	if interval == 0 {
		interval = DefaultPollInterval
	}
	if e.dir != "" && interval > 0 {
		pollCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		e.stop, e.done = stop, make(chan struct{})
		go e.poll(pollCtx, interval)
	}
	return e, nil
}

// seed writes the embedded bundle into dir when dir holds no .rego file.
func seed(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	have, err := readFS(os.DirFS(dir))
	if err != nil {
		return fmt.Errorf("policy: read %s: %w", dir, err)
	}
	if len(have) > 0 {
		return nil
	}
	files, err := readFS(policies.FS())
	if err != nil {
		return fmt.Errorf("policy: read embedded bundle: %w", err)
	}
	if err := writeDir(dir, files); err != nil {
		return err
	}
	log.Info("policy: seeded directory with the default bundle", "dir", dir, "files", len(files))
	return nil
}

// Close stops hot reload and waits for a reload in progress to finish.
func (e *Engine) Close() {
	e.closeOnce.Do(func() {
		if e.stop != nil {
			e.stop()
			<-e.done
		}
	})
}

// Version is the SM3 digest (hex) of the serving bundle's file names and
// contents; equal bundles have equal versions.
func (e *Engine) Version() string { return e.cur.Load().version }

// LastError is the error of the last refused Reload (by hand or by hot
// reload), nil when the last one was accepted or found nothing new.
// Refused uploads are reported to their caller by Replace instead.
func (e *Engine) LastError() error {
	if p := e.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

// Reload reads the source (Config.Dir or the embedded bundle), and serves it
// if it compiles and all its tests pass. A refused bundle leaves the serving
// one in place and returns an error wrapping ErrBundleRejected. Reloading an
// unchanged source does nothing.
func (e *Engine) Reload(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reloadLocked(ctx)
}

func (e *Engine) reloadLocked(ctx context.Context) error {
	src := policies.FS()
	if e.dir != "" {
		// Stat before reading: a change racing the read shows up as a new
		// digest on the next poll instead of being lost.
		e.seen = statDigest(e.dir)
		src = os.DirFS(e.dir)
	}
	files, err := readFS(src)
	if err != nil {
		err = fmt.Errorf("policy: read bundle: %w", err)
		e.lastErr.Store(&err)
		e.log.Error("policy: bundle refused", "err", err)
		return err
	}
	b, err := e.accept(ctx, files)
	if err != nil {
		e.lastErr.Store(&err)
		e.log.Error("policy: bundle refused", "err", err)
		return err
	}
	e.lastErr.Store(nil)
	if b != nil {
		e.swap(b)
	}
	return nil
}

// accept builds files unless they are what is serving already (then it
// returns nil, nil).
func (e *Engine) accept(ctx context.Context, files map[string][]byte) (*bundle, error) {
	if cur := e.cur.Load(); cur != nil && cur.version == digest(files) {
		return nil, nil
	}
	return build(ctx, files)
}

func (e *Engine) swap(b *bundle) {
	e.cur.Store(b)
	e.log.Info("policy: bundle accepted", "version", b.version, "files", b.files)
}

// Replace serves files (slash paths → contents, as a console upload gives
// them) after the same checks as Reload, and with Config.Dir set writes them
// there, replacing the directory's .rego files, once accepted. A refused
// bundle changes nothing.
func (e *Engine) Replace(ctx context.Context, files map[string][]byte) error {
	own := make(map[string][]byte, len(files))
	var bad []string
	for name, content := range files {
		if !validName(name) {
			bad = append(bad, "invalid file name "+strconv.Quote(name))
			continue
		}
		own[name] = append([]byte(nil), content...)
	}
	if len(bad) > 0 {
		return &BundleError{Problems: bad}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	b, err := e.accept(ctx, own)
	if err != nil {
		return err
	}
	if e.dir != "" {
		if err := writeDir(e.dir, own); err != nil {
			return err
		}
		e.seen = statDigest(e.dir)
	}
	e.lastErr.Store(nil)
	if b != nil {
		e.swap(b)
	}
	return nil
}

func (e *Engine) poll(ctx context.Context, interval time.Duration) {
	defer close(e.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.mu.Lock()
			if statDigest(e.dir) != e.seen {
				_ = e.reloadLocked(ctx) // logged and kept in LastError
			}
			e.mu.Unlock()
		}
	}
}

// statDigest summarizes the names, sizes and modification times of dir's
// .rego files, cheaply enough to run every poll. An unreadable directory
// yields a digest of the error, so it too counts as a change.
func statDigest(dir string) string {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00", p, info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "error: " + err.Error()
	}
	return hex.EncodeToString(h.Sum(nil))
}

// writeDir makes dir hold exactly files' .rego files: every file is written
// to a hidden temporary name first and renamed into place only when all are
// written, then .rego files not in files are removed.
func writeDir(dir string, files map[string][]byte) error {
	tmps := make(map[string]string, len(files))
	defer func() {
		for _, tmp := range tmps {
			_ = os.Remove(tmp) // left only if a rename failed
		}
	}()
	for name, content := range files {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o750); err != nil {
			return fmt.Errorf("policy: write bundle: %w", err)
		}
		f, err := os.CreateTemp(filepath.Dir(target), ".upload-*")
		if err != nil {
			return fmt.Errorf("policy: write bundle: %w", err)
		}
		tmps[target] = f.Name()
		_, err = f.Write(content)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(f.Name(), 0o640)
		}
		if err != nil {
			return fmt.Errorf("policy: write %s: %w", name, err)
		}
	}
	for target, tmp := range tmps {
		if err := os.Rename(tmp, target); err != nil {
			return fmt.Errorf("policy: write bundle: %w", err)
		}
		delete(tmps, target)
	}
	have, err := readFS(os.DirFS(dir))
	if err != nil {
		return fmt.Errorf("policy: write bundle: %w", err)
	}
	for name := range have {
		if _, keep := files[name]; !keep {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
				return fmt.Errorf("policy: write bundle: %w", err)
			}
		}
	}
	return nil
}

// Eval evaluates query (the path of a package or rule of the serving bundle,
// e.g. "data.openapi.decision") against input and decodes the result into
// out as encoding/json would (out may be nil to only test definedness).
// Each query is prepared once per bundle. It returns ErrUnknownQuery for
// any other query and ErrUndefined when the result is undefined.
func (e *Engine) Eval(ctx context.Context, query string, input any, out any) error {
	b := e.cur.Load()
	pq, err := b.prepared(ctx, query)
	if err != nil {
		return err
	}
	v, err := first(ctx, pq, query, rego.EvalInput(input))
	if err != nil || out == nil {
		return err
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("policy: %s: %w", query, err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("policy: %s: %w", query, err)
	}
	return nil
}

// first evaluates pq and returns the value of its only expression.
func first(ctx context.Context, pq rego.PreparedEvalQuery, query string, opts ...rego.EvalOption) (any, error) {
	rs, err := pq.Eval(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", query, err)
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrUndefined, query)
	}
	return rs[0].Expressions[0].Value, nil
}
