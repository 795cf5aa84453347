package policy

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/cover"
)

// Outcome is how one Rego test ended.
type Outcome string

const (
	TestPass  Outcome = "pass"
	TestFail  Outcome = "fail"
	TestError Outcome = "error" // evaluation error, e.g. a conflict or a timeout
	TestSkip  Outcome = "skip"  // a rule named todo_test_...
)

// TestResult is one Rego test rule's result.
type TestResult struct {
	File     string // slash path inside the bundle
	Row      int
	Package  string // "data.authz_test"
	Name     string // "test_root_allows_everything"
	Outcome  Outcome
	Err      string // the evaluation error, for TestError
	Output   string // what the test printed with print()
	Duration time.Duration
}

// Report is the result of RunTests.
type Report struct {
	Results                          []TestResult // ordered by file and row
	Passed, Failed, Errored, Skipped int
	// Coverage is the percentage of policy lines (files other than
	// *_test.rego) that the tests evaluated; Files has it per policy file.
	Coverage float64
	Files    map[string]float64
}

// OK reports whether no test failed or errored.
func (r Report) OK() bool { return r.Failed == 0 && r.Errored == 0 }

// String renders the report for a terminal: failures and errors with their
// location, then per-file coverage and a summary line.
func (r Report) String() string {
	var b strings.Builder
	for _, t := range r.Results {
		switch t.Outcome {
		case TestFail:
			fmt.Fprintf(&b, "FAIL  %s.%s (%s:%d)\n", t.Package, t.Name, t.File, t.Row)
		case TestError:
			fmt.Fprintf(&b, "ERROR %s.%s (%s:%d): %s\n", t.Package, t.Name, t.File, t.Row, t.Err)
		}
		if t.Outcome != TestPass && t.Output != "" {
			fmt.Fprintf(&b, "      %s\n", strings.ReplaceAll(strings.TrimSpace(t.Output), "\n", "\n      "))
		}
	}
	for _, name := range sortedKeys(r.Files) {
		fmt.Fprintf(&b, "cover %6.2f%%  %s\n", r.Files[name], name)
	}
	verdict := "PASS"
	if !r.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(&b, "%s: %d passed, %d failed, %d errors, %d skipped; coverage %.2f%%\n",
		verdict, r.Passed, r.Failed, r.Errored, r.Skipped, r.Coverage)
	return b.String()
}

// RunTests runs the Rego tests of the bundle in fsys (every *.rego file
// under it; policies.FS() for the default bundle) with coverage, as
// `citycode policy test` and `make policy-test` do without an opa binary.
// Failing tests are reported, not returned as an error; the error wraps
// ErrBundleRejected when the files do not parse or compile.
func RunTests(ctx context.Context, fsys fs.FS) (Report, error) {
	files, err := readFS(fsys)
	if err != nil {
		return Report{}, fmt.Errorf("policy: read bundle: %w", err)
	}
	if len(files) == 0 {
		return Report{}, &BundleError{Problems: []string{"no .rego files"}}
	}
	modules, problems := parse(files)
	if len(problems) > 0 {
		return Report{}, &BundleError{Problems: problems}
	}
	cov := cover.New()
	results, err := runTests(ctx, modules, cov)
	if err != nil {
		return Report{}, &BundleError{Problems: errorLines(err)}
	}
	if err := ctx.Err(); err != nil {
		return Report{}, err
	}

	rep := Report{Files: map[string]float64{}}
	for _, res := range results {
		t := TestResult{
			File:     res.Location.File,
			Row:      res.Location.Row,
			Package:  res.Package,
			Name:     res.Name,
			Output:   string(res.Output),
			Duration: res.Duration,
		}
		switch {
		case res.Skip:
			t.Outcome = TestSkip
			rep.Skipped++
		case res.Error != nil:
			t.Outcome, t.Err = TestError, res.Error.Error()
			rep.Errored++
		case res.Fail:
			t.Outcome = TestFail
			rep.Failed++
		default:
			t.Outcome = TestPass
			rep.Passed++
		}
		rep.Results = append(rep.Results, t)
	}

	var covered, notCovered int
	for name, fr := range cov.Report(modules).Files {
		if strings.HasSuffix(name, testSuffix) {
			continue
		}
		rep.Files[name] = fr.Coverage
		covered += fr.CoveredLines
		notCovered += fr.NotCoveredLines
	}
	if covered+notCovered > 0 {
		rep.Coverage = 100 * float64(covered) / float64(covered+notCovered)
	}
	return rep, nil
}
