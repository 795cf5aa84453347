package policy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/opencitycode/citycode/host/internal/codec"
)

const (
	testSuffix = "_test.rego"
	// testTimeout bounds one Rego test; a test that loops is an error, not a hang.
	testTimeout = 5 * time.Second
)

// Queries the host evaluates on every console request; a bundle lacking them
// is refused rather than leaving the console without authorization.
const (
	queryDecision = "data.authz.decision"
	queryGrant    = "data.authz.grant"
)

// bundle is one accepted, compiled policy set. It is immutable once built
// except for the cache of lazily prepared queries, and is shared by every
// concurrent evaluation until the next accepted bundle replaces it.
type bundle struct {
	version  string
	files    int
	compiler *ast.Compiler
	store    storage.Store
	decision rego.PreparedEvalQuery
	grant    rego.PreparedEvalQuery
	queries  sync.Map // query string → *lazyQuery
}

type lazyQuery struct {
	once sync.Once
	pq   rego.PreparedEvalQuery
	err  error
}

// readFS returns the *.rego files under fsys keyed by slash path. Names
// starting with "." (editor swap and lock files, temporary files of Replace)
// are skipped, so a half-written file is never read.
func readFS(fsys fs.FS) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			// A directory that is gone holds no policies: that bundle is
			// refused for being empty, like an empty directory.
			if p == "." && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files[p] = b
		return nil
	})
	return files, err
}

// digest is the bundle's version: SM3 over the sorted names and contents.
func digest(files map[string][]byte) string {
	var b []byte
	for _, name := range sortedKeys(files) {
		b = append(b, name...)
		b = append(b, 0)
		b = append(b, files[name]...)
		b = append(b, 0)
	}
	return codec.SM3Hex(b)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// parse parses every file as a Rego v1 module, keyed by its name; problems
// lists the files that do not parse.
func parse(files map[string][]byte) (modules map[string]*ast.Module, problems []string) {
	modules = make(map[string]*ast.Module, len(files))
	for _, name := range sortedKeys(files) {
		m, err := ast.ParseModuleWithOpts(name, string(files[name]), ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			problems = append(problems, errorLines(err)...)
			continue
		}
		modules[name] = m
	}
	return modules, problems
}

// errorLines splits OPA's multi-error values into one line per error, each
// carrying its file:row location.
func errorLines(err error) []string {
	if errs, ok := err.(ast.Errors); ok {
		out := make([]string, 0, len(errs))
		for _, e := range errs {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// runTests runs every test rule of modules (test files included) with OPA's
// tester; cov, when non-nil, collects coverage. An error means the modules
// do not compile together.
func runTests(ctx context.Context, modules map[string]*ast.Module, cov *cover.Cover) ([]*tester.Result, error) {
	r := tester.NewRunner().
		SetModules(modules).
		CapturePrintOutput(true).
		SetTimeout(testTimeout)
	if cov != nil {
		r.SetCoverageQueryTracer(cov)
	}
	ch, err := r.RunTests(ctx, nil)
	if err != nil {
		return nil, err
	}
	var results []*tester.Result
	for res := range ch {
		results = append(results, res)
	}
	slices.SortFunc(results, func(a, b *tester.Result) int {
		if c := strings.Compare(a.Location.File, b.Location.File); c != 0 {
			return c
		}
		return a.Location.Row - b.Location.Row
	})
	return results, nil
}

// build compiles files, runs their tests and prepares the host's queries.
// Any problem refuses the whole bundle with a *BundleError; a cancelled ctx
// is returned as such, not as a refusal.
func build(ctx context.Context, files map[string][]byte) (*bundle, error) {
	if len(files) == 0 {
		return nil, &BundleError{Problems: []string{"no .rego files"}}
	}
	modules, problems := parse(files)
	if len(problems) > 0 {
		return nil, &BundleError{Problems: problems}
	}

	// Serve only the policy modules: tests are run, not deployed.
	serving := make(map[string]*ast.Module, len(modules))
	for name, m := range modules {
		if !strings.HasSuffix(name, testSuffix) {
			serving[name] = m
		}
	}
	compiler := ast.NewCompiler()
	if compiler.Compile(serving); compiler.Failed() {
		return nil, &BundleError{Problems: errorLines(compiler.Errors)}
	}
	for _, q := range []string{queryDecision, queryGrant} {
		if len(compiler.GetRulesExact(ast.MustParseRef(q))) == 0 {
			problems = append(problems, "missing rule "+q)
		}
	}
	if len(problems) > 0 {
		return nil, &BundleError{Problems: problems}
	}

	results, err := runTests(ctx, modules, nil)
	if err != nil {
		return nil, &BundleError{Problems: errorLines(err)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, r := range results {
		switch {
		case r.Error != nil:
			problems = append(problems, fmt.Sprintf("%s:%d: %s.%s: error: %v", r.Location.File, r.Location.Row, r.Package, r.Name, r.Error))
		case r.Fail:
			problems = append(problems, fmt.Sprintf("%s:%d: %s.%s: failed", r.Location.File, r.Location.Row, r.Package, r.Name))
		}
	}
	if len(problems) > 0 {
		return nil, &BundleError{Problems: problems}
	}

	b := &bundle{version: digest(files), files: len(files), compiler: compiler, store: inmem.New()}
	if b.decision, err = b.prepare(ctx, queryDecision); err != nil {
		return nil, err
	}
	if b.grant, err = b.prepare(ctx, queryGrant); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bundle) prepare(ctx context.Context, query string) (rego.PreparedEvalQuery, error) {
	pq, err := rego.New(
		rego.Query(query),
		rego.Compiler(b.compiler),
		rego.Store(b.store),
	).PrepareForEval(ctx)
	if err != nil {
		return rego.PreparedEvalQuery{}, fmt.Errorf("policy: prepare %s: %w", query, err)
	}
	return pq, nil
}

// prepared returns query prepared once for this bundle. Only paths of the
// bundle's packages and rules are accepted, which bounds the cache and keeps
// callers from compiling ad-hoc Rego into the host.
func (b *bundle) prepared(ctx context.Context, query string) (rego.PreparedEvalQuery, error) {
	v, ok := b.queries.Load(query)
	if !ok {
		ref, err := ast.ParseRef(query)
		if err != nil || !ref.HasPrefix(ast.DefaultRootRef) || !ref.IsGround() ||
			len(b.compiler.GetRulesWithPrefix(ref)) == 0 {
			return rego.PreparedEvalQuery{}, fmt.Errorf("%w: %q", ErrUnknownQuery, query)
		}
		v, _ = b.queries.LoadOrStore(query, &lazyQuery{})
	}
	lq := v.(*lazyQuery)
	// Preparing is CPU work on an immutable bundle; a caller's cancellation
	// must not leave a cached failure behind for everyone else.
	lq.once.Do(func() { lq.pq, lq.err = b.prepare(context.WithoutCancel(ctx), query) })
	return lq.pq, lq.err
}

// validName reports whether name may be a file of an uploaded bundle: a
// clean relative slash path to a .rego file, no hidden parts.
func validName(name string) bool {
	if !fs.ValidPath(name) || name == "." || path.Clean(name) != name || !strings.HasSuffix(name, ".rego") {
		return false
	}
	for part := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(part, ".") {
			return false
		}
	}
	return true
}
