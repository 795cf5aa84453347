package qr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock               { return &clock{t: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC)} }
func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

func ok(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type env struct {
	pool  *pgxpool.Pool
	eng   *policy.Engine
	clock *clock
	r     *qr.Renderer
}

func newEnv(t testing.TB) *env {
	t.Helper()
	eng, err := policy.New(testCtx(t), policy.Config{})
	ok(t, err)
	return &env{pool: storetest.New(t), eng: eng, clock: newClock(), r: cjkRenderer(t)}
}

// jobs returns a Jobs on e's database, stopped when the test ends.
func (e *env) jobs(t testing.TB, mod func(*qr.Config)) *qr.Jobs {
	t.Helper()
	cfg := qr.Config{Pool: e.pool, Authz: e.eng, Log: slog.New(slog.DiscardHandler), Clock: e.clock.Now, Renderer: e.r,
		Poll: 20 * time.Millisecond, SweepEvery: time.Hour}
	if mod != nil {
		mod(&cfg)
	}
	j, err := qr.NewJobs(cfg)
	ok(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := j.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return j
}

// codes returns n object-code-like items with unique unguessable URLs.
func codes(n int) []qr.Item {
	items := make([]qr.Item, n)
	for i := range items {
		num := fmt.Sprintf("310104-%06d", i+1)
		items[i] = qr.Item{Name: num, Content: "https://citycode.example.cn/c/" + rand.Text()[:24], Caption: "徐汇区公共厕所 " + num}
	}
	return items
}

func spec(platform string, items []qr.Item) qr.JobSpec {
	return qr.JobSpec{PlatformID: platform, CreatedBy: "admin-" + platform, Kind: "object", Style: qr.Style{ModulePx: 4}, Items: items}
}

// waitFor polls job id until it reaches status, failing after timeout.
func waitFor(t testing.TB, j *qr.Jobs, id, status string, timeout time.Duration) *qr.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		jb, err := j.Get(testCtx(t), id)
		ok(t, err)
		if jb.Status == status {
			return jb
		}
		if time.Now().After(deadline) || jb.Status == qr.StatusFailed && status != qr.StatusFailed {
			t.Fatalf("job %s is %s (%d/%d, %q), want %s", id, jb.Status, jb.Done, jb.Total, jb.Error, status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unzip checks that the zip holds exactly items, in order, each PNG
// decoding back to its item's content, decoding on every core.
func unzip(t testing.TB, data []byte, items []qr.Item) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	ok(t, err)
	if len(zr.File) != len(items) {
		t.Fatalf("zip holds %d files, want %d", len(zr.File), len(items))
	}
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan string, len(items))
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				f := zr.File[i]
				if want := items[i].Name + ".png"; f.Name != want {
					errs <- fmt.Sprintf("file %d is %q, want %q", i, f.Name, want)
					continue
				}
				if got := decodePNG(t, read(t, f)); got != items[i].Content {
					errs <- fmt.Sprintf("file %s decodes to %q, want %q", f.Name, got, items[i].Content)
				}
			}
		})
	}
	for i := range zr.File {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestBatchOfThousandDecodesBack is the product's acceptance test: 1,000
// captioned codes rendered by a job, progress reported on the way, the zip
// downloaded, and every image in it decoding back to exactly its content.
func TestBatchOfThousandDecodesBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, func(c *qr.Config) { c.ProgressEvery = 50 })
	items := codes(1000)
	id, err := j.Submit(ctx, spec("P0001", items))
	ok(t, err)
	jb, err := j.Get(ctx, id)
	ok(t, err)
	if jb.Status != qr.StatusQueued || jb.Total != 1000 || jb.Done != 0 || jb.Kind != "object" || jb.PlatformID != "P0001" {
		t.Fatalf("submitted job: %+v", jb)
	}
	if err := j.Download(ctx, id, io.Discard); fault.CodeOf(err) != fault.CodeFailedOperation {
		t.Fatalf("download before done: %v", err)
	}
	start := time.Now()
	j.Start(ctx)
	// Progress is visible while it runs.
	seen := map[int]bool{}
	for {
		jb, err = j.Get(ctx, id)
		ok(t, err)
		seen[jb.Percent] = true
		if jb.Status == qr.StatusDone || jb.Status == qr.StatusFailed || time.Since(start) > time.Minute {
			break
		}
		if jb.Done%50 != 0 || jb.Percent != jb.Done*100/jb.Total {
			t.Fatalf("progress %d/%d = %d%%", jb.Done, jb.Total, jb.Percent)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if jb.Status != qr.StatusDone || jb.Done != 1000 || jb.Percent != 100 || jb.FinishedAt == nil || jb.ZipBytes == 0 {
		t.Fatalf("finished job: %+v", jb)
	}
	if len(seen) < 3 {
		t.Errorf("progress went unseen: percents %v", seen)
	}
	t.Logf("1,000 images rendered and stored in %v, zip %d bytes", time.Since(start), jb.ZipBytes)
	var buf bytes.Buffer
	ok(t, j.Download(ctx, id, &buf))
	if int64(buf.Len()) != jb.ZipBytes {
		t.Fatalf("downloaded %d bytes, job says %d", buf.Len(), jb.ZipBytes)
	}
	unzip(t, buf.Bytes(), items)
	var leftover int
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_job_items WHERE job_id = $1`, id).Scan(&leftover))
	if leftover != 0 {
		t.Errorf("%d items kept after the zip was written", leftover)
	}
}

// TestChunkedZip stores a zip of several chunks and streams it back whole.
func TestChunkedZip(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, nil)
	items := codes(60)
	s := spec("P0001", items)
	s.Style = qr.Style{ModulePx: 30} // about 30 KB an image: 3 chunks
	id, err := j.Submit(ctx, s)
	ok(t, err)
	j.Start(ctx)
	jb := waitFor(t, j, id, qr.StatusDone, time.Minute)
	var chunks int
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_job_chunks WHERE job_id = $1`, id).Scan(&chunks))
	if chunks < 2 || jb.ZipBytes <= 1<<20 {
		t.Fatalf("%d chunks for %d bytes", chunks, jb.ZipBytes)
	}
	var buf bytes.Buffer
	ok(t, j.Download(ctx, id, &buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	ok(t, err)
	if len(zr.File) != len(items) {
		t.Fatalf("%d files", len(zr.File))
	}
	for i, f := range zr.File {
		data := read(t, f) // checks the CRC
		if i%20 == 19 && decodePNG(t, data) != items[i].Content {
			t.Errorf("file %d does not decode to its content", i)
		}
	}
}

// TestOrphanedJobIsRequeued simulates a node that died while rendering: the
// job is left running with an old heartbeat and part of a zip. Another
// node's sweeper re-queues it and a worker renders it again from scratch.
func TestOrphanedJobIsRequeued(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, func(c *qr.Config) { c.StaleAfter = time.Minute; c.SweepEvery = 20 * time.Millisecond })
	items := codes(40)
	id, err := j.Submit(ctx, spec("P0002", items))
	ok(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE qr_jobs SET status = 'running', lease = 1, done = 20, heartbeat_at = $2, started_at = $2 WHERE id = $1`,
		id, e.clock.Now().Add(-2*time.Minute))
	ok(t, err)
	_, err = e.pool.Exec(ctx, `INSERT INTO qr_job_chunks (job_id, lease, seq, data) VALUES ($1, 1, 0, 'PK half a zip')`, id)
	ok(t, err)
	// A heartbeat younger than StaleAfter is left alone.
	fresh, err := j.Submit(ctx, spec("P0002", codes(1)))
	ok(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE qr_jobs SET status = 'running', lease = 1, heartbeat_at = $2 WHERE id = $1`, fresh, e.clock.Now().Add(-30*time.Second))
	ok(t, err)

	j.Start(ctx)
	waitFor(t, j, id, qr.StatusDone, time.Minute)
	var lease, recoveries, staleChunks int
	ok(t, e.pool.QueryRow(ctx, `SELECT lease, recoveries FROM qr_jobs WHERE id = $1`, id).Scan(&lease, &recoveries))
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_job_chunks WHERE job_id = $1 AND lease <> 2`, id).Scan(&staleChunks))
	if lease != 2 || recoveries != 1 || staleChunks != 0 {
		t.Fatalf("lease %d, recoveries %d, %d chunks of the dead run", lease, recoveries, staleChunks)
	}
	var buf bytes.Buffer
	ok(t, j.Download(ctx, id, &buf))
	unzip(t, buf.Bytes(), items)
	if jb, _ := j.Get(ctx, fresh); jb.Status != qr.StatusRunning {
		t.Errorf("a job with a fresh heartbeat was taken: %s", jb.Status)
	}
}

// TestJobKillingWorkersFails fails a job after its workers died three times.
func TestJobKillingWorkersFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, nil)
	id, err := j.Submit(ctx, spec("P0001", codes(3)))
	ok(t, err)
	_, err = e.pool.Exec(ctx, `UPDATE qr_jobs SET status = 'running', lease = 3, recoveries = 2, heartbeat_at = $2 WHERE id = $1`,
		id, e.clock.Now().Add(-time.Hour))
	ok(t, err)
	ok(t, j.Sweep(ctx))
	jb, err := j.Get(ctx, id)
	ok(t, err)
	if jb.Status != qr.StatusFailed || !strings.Contains(jb.Error, "interrupted 3 times") || jb.FinishedAt == nil {
		t.Fatalf("job: %+v", jb)
	}
	if err := j.Download(ctx, id, io.Discard); fault.CodeOf(err) != fault.CodeFailedOperation {
		t.Errorf("download of a failed job: %v", err)
	}
}

// TestShutdownRequeuesAndNodesShare stops a node mid-job: the job goes
// back to the queue at once, and two other nodes share the remaining jobs,
// each rendered exactly once.
func TestShutdownRequeuesAndNodesShare(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	first := e.jobs(t, func(c *qr.Config) { c.ProgressEvery = 10 })
	big := codes(1500)
	for i := range big {
		big[i].Caption = ""
	}
	id, err := first.Submit(ctx, spec("P0001", big))
	ok(t, err)
	first.Start(ctx)
	deadline := time.Now().Add(time.Minute)
	for {
		jb, err := first.Get(ctx, id)
		ok(t, err)
		if jb.Status == qr.StatusRunning && jb.Done > 0 {
			break
		}
		if jb.Status == qr.StatusDone || time.Now().After(deadline) {
			t.Fatalf("job never seen running part-way: %+v", jb)
		}
		time.Sleep(2 * time.Millisecond)
	}
	ok(t, first.Close(ctx))
	jb, err := first.Get(ctx, id)
	ok(t, err)
	var chunks int
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_job_chunks WHERE job_id = $1`, id).Scan(&chunks))
	if jb.Status != qr.StatusQueued || chunks != 0 {
		t.Fatalf("after shutdown: %s with %d chunks", jb.Status, chunks)
	}

	ids := []string{id}
	for range 5 {
		id, err := first.Submit(ctx, spec("P0002", codes(30)))
		ok(t, err)
		ids = append(ids, id)
	}
	a := e.jobs(t, func(c *qr.Config) { c.Workers = 2 })
	b := e.jobs(t, func(c *qr.Config) { c.Workers = 2 })
	a.Start(ctx)
	b.Start(ctx)
	for _, id := range ids {
		waitFor(t, a, id, qr.StatusDone, time.Minute)
	}
	rows, err := e.pool.Query(ctx, `SELECT id, lease FROM qr_jobs`)
	ok(t, err)
	for rows.Next() {
		var jid string
		var lease int
		ok(t, rows.Scan(&jid, &lease))
		if want := map[bool]int{true: 2, false: 1}[jid == id]; lease != want {
			t.Errorf("job %s claimed %d times, want %d", jid, lease, want)
		}
	}
	ok(t, rows.Err())
	var buf bytes.Buffer
	ok(t, b.Download(ctx, id, &buf))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	ok(t, err)
	if len(zr.File) != len(big) || zr.File[len(big)-1].Name != big[len(big)-1].Name+".png" {
		t.Fatalf("zip of %d files", len(zr.File))
	}
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, nil)
	id, err := j.Submit(ctx, spec("P0001", codes(5)))
	ok(t, err)
	j.Start(ctx)
	jb := waitFor(t, j, id, qr.StatusDone, time.Minute)
	ok(t, j.Close(ctx))
	queued, err := j.Submit(ctx, spec("P0001", codes(5))) // never rendered: no worker runs
	ok(t, err)
	if want := jb.CreatedAt.Add(7 * 24 * time.Hour); !jb.ExpiresAt.Equal(want) {
		t.Errorf("expires %v, want %v", jb.ExpiresAt, want)
	}
	e.clock.Add(7*24*time.Hour - time.Second)
	ok(t, j.Sweep(ctx))
	if jb, _ := j.Get(ctx, id); jb.Status != qr.StatusDone {
		t.Fatalf("expired early: %s", jb.Status)
	}
	e.clock.Add(time.Second)
	ok(t, j.Sweep(ctx))
	jb, err = j.Get(ctx, id)
	ok(t, err)
	var chunks, items int
	ok(t, e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM qr_job_chunks), (SELECT count(*) FROM qr_job_items)`).Scan(&chunks, &items))
	if jb.Status != qr.StatusExpired || chunks != 0 || items != 0 {
		t.Fatalf("after 7 days: %s, %d chunks, %d items", jb.Status, chunks, items)
	}
	if jb, _ := j.Get(ctx, queued); jb.Status != qr.StatusExpired {
		t.Errorf("a job queued for 7 days is %s", jb.Status)
	}
	if err := j.Download(ctx, id, io.Discard); fault.CodeOf(err) != fault.CodeFailedOperation || !strings.Contains(err.Error(), "expired") {
		t.Errorf("download of an expired job: %v", err)
	}
}

func TestItemThatCannotBeDrawnFailsTheJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, nil)
	items := codes(10)
	items[6] = qr.Item{Name: "太长", Content: strings.Repeat("x", 2000)}
	s := spec("P0001", items)
	s.Style.Level = "H"
	id, err := j.Submit(ctx, s)
	ok(t, err)
	j.Start(ctx)
	jb := waitFor(t, j, id, qr.StatusFailed, time.Minute)
	if !strings.Contains(jb.Error, "item 7 (太长)") || !strings.Contains(jb.Error, "does not fit") {
		t.Errorf("error %q", jb.Error)
	}
	var chunks int
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_job_chunks WHERE job_id = $1`, id).Scan(&chunks))
	if chunks != 0 {
		t.Errorf("%d chunks left by a failed job", chunks)
	}
}

func TestBadSpecs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, func(c *qr.Config) { c.MaxItems = 10 })
	good := codes(2)
	cases := []struct {
		name string
		mod  func(*qr.JobSpec)
		code string
	}{
		{"no platform", func(s *qr.JobSpec) { s.PlatformID = "" }, fault.CodeMissingParameter},
		{"no creator", func(s *qr.JobSpec) { s.CreatedBy = "" }, fault.CodeMissingParameter},
		{"no items", func(s *qr.JobSpec) { s.Items = nil }, fault.CodeMissingParameter},
		{"too many items", func(s *qr.JobSpec) { s.Items = codes(11) }, fault.CodeInvalidParameter},
		{"kind with a path", func(s *qr.JobSpec) { s.Kind = "../x" }, fault.CodeInvalidParameter},
		{"kind empty", func(s *qr.JobSpec) { s.Kind = "" }, fault.CodeInvalidParameter},
		{"kind upper case", func(s *qr.JobSpec) { s.Kind = "Object" }, fault.CodeInvalidParameter},
		{"bad style", func(s *qr.JobSpec) { s.Style.Level = "X" }, fault.CodeInvalidParameter},
		{"bad logo", func(s *qr.JobSpec) { s.Style.Logo = []byte("not an image") }, fault.CodeInvalidParameter},
		{"empty content", func(s *qr.JobSpec) { s.Items = []qr.Item{{Name: "a"}} }, fault.CodeInvalidParameter},
		{"content with NUL", func(s *qr.JobSpec) { s.Items = []qr.Item{{Name: "a", Content: "a\x00b"}} }, fault.CodeInvalidParameter},
		{"content too long", func(s *qr.JobSpec) { s.Items = []qr.Item{{Name: "a", Content: strings.Repeat("9", 3000)}} }, fault.CodeInvalidParameter},
		{"caption unprintable", func(s *qr.JobSpec) { s.Items = []qr.Item{{Name: "a", Content: "x", Caption: "\U0001F6BD"}} }, fault.CodeInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := spec("P0001", good)
			c.mod(&s)
			if _, err := j.Submit(ctx, s); fault.CodeOf(err) != c.code {
				t.Errorf("%s: %v, want %s", c.name, err, c.code)
			}
		})
	}
	var n int
	ok(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM qr_jobs`).Scan(&n))
	if n != 0 {
		t.Errorf("%d refused jobs stored", n)
	}
	if _, err := j.Get(ctx, "qjnosuchjob"); fault.CodeOf(err) != fault.CodeResourceNotFound {
		t.Errorf("unknown job: %v", err)
	}
}

// tokens authenticates console sessions by a token naming the actor.
type tokens map[string]*actor.Actor

func (tk tokens) Authenticate(_ context.Context, token string) (*actor.Actor, error) {
	if a, ok := tk[token]; ok {
		c := *a
		return &c, nil
	}
	return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "no such session")
}

func admin(platform string) *actor.Actor {
	return &actor.Actor{Kind: actor.KindOperator, OperatorID: 2, Account: "admin-" + platform, OperatorType: actor.PlatformAdmin,
		PlatformID: platform, MainPlatform: platform == "P0000"}
}

// TestConsoleRoutes drives the routes through the HTTP layer: progress,
// the zip download, lists in scope, and 403 for another platform's job.
func TestConsoleRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := testCtx(t)
	j := e.jobs(t, nil)
	staff := &actor.Actor{Kind: actor.KindOperator, OperatorID: 3, Account: "viewer", OperatorType: actor.Staff, PlatformID: "P0001", Permissions: []string{"qrjob.read"}}
	nobody := &actor.Actor{Kind: actor.KindOperator, OperatorID: 4, Account: "nobody", OperatorType: actor.Staff, PlatformID: "P0001", Permissions: []string{"app.read"}}
	api, err := httpapi.New(httpapi.Config{
		Log:     slog.New(slog.DiscardHandler),
		Console: tokens{"main": admin("P0000"), "p1": admin("P0001"), "p2": admin("P0002"), "staff": staff, "nobody": nobody},
		Authz:   e.eng,
	})
	ok(t, err)
	api.Mount(j.Routes()...)
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(srv.Close)
	get := func(t *testing.T, token, path string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
		ok(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		ok(t, err)
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		ok(t, err)
		return res, body
	}
	type envelope struct {
		Response struct {
			Data  json.RawMessage
			Error *struct{ Code, Message string }
		}
	}
	data := func(t *testing.T, body []byte, v any) string {
		t.Helper()
		var env envelope
		ok(t, json.Unmarshal(body, &env))
		if env.Response.Error != nil {
			return env.Response.Error.Code
		}
		ok(t, json.Unmarshal(env.Response.Data, v))
		return ""
	}

	items := codes(12)
	mine, err := j.Submit(ctx, spec("P0001", items))
	ok(t, err)
	e.clock.Add(time.Second)
	theirs, err := j.Submit(ctx, spec("P0002", codes(3)))
	ok(t, err)

	var jb struct {
		JobID, Status        string
		Total, Done, Percent int
	}
	res, body := get(t, "p1", "/console/qr/jobs/"+mine)
	if code := data(t, body, &jb); code != "" || res.StatusCode != 200 || jb.JobID != mine || jb.Status != "queued" || jb.Total != 12 || jb.Percent != 0 {
		t.Fatalf("progress: %d %s %+v", res.StatusCode, code, jb)
	}
	res, body = get(t, "p1", "/console/qr/jobs/"+mine+"/download")
	if code := data(t, body, &jb); res.StatusCode != http.StatusConflict || code != fault.CodeFailedOperation {
		t.Fatalf("download before done: %d %s", res.StatusCode, code)
	}
	j.Start(ctx)
	waitFor(t, j, mine, qr.StatusDone, time.Minute)
	waitFor(t, j, theirs, qr.StatusDone, time.Minute)

	for _, c := range []struct {
		token, id string
		status    int
	}{
		{"p1", mine, 200}, {"staff", mine, 200}, {"main", mine, 200}, {"main", theirs, 200},
		{"p2", mine, 403}, {"p1", theirs, 403}, {"staff", theirs, 403}, {"nobody", mine, 403},
		{"p1", "qjmissing", 404},
	} {
		for _, suffix := range []string{"", "/download"} {
			res, body := get(t, c.token, "/console/qr/jobs/"+c.id+suffix)
			if res.StatusCode != c.status {
				t.Errorf("%s GET %s%s: %d %s", c.token, c.id, suffix, res.StatusCode, body)
			}
			if c.status == 403 && !bytes.Contains(body, []byte(fault.CodeUnauthorizedOperation)) {
				t.Errorf("%s GET %s%s: %s", c.token, c.id, suffix, body)
			}
		}
	}

	res, body = get(t, "staff", "/console/qr/jobs/"+mine+"/download")
	if res.Header.Get("Content-Type") != "application/zip" || !strings.Contains(res.Header.Get("Content-Disposition"), `filename="object-`+mine+`.zip"`) {
		t.Fatalf("download headers: %v", res.Header)
	}
	unzip(t, body, items)

	var page struct {
		Total int
		Items []struct{ JobID, PlatformID string }
	}
	for _, c := range []struct{ token, want string }{{"p1", mine}, {"p2", theirs}, {"staff", mine}, {"main", theirs + " " + mine}} {
		_, body := get(t, c.token, "/console/qr/jobs?pageSize=10")
		var ids []string
		code := data(t, body, &page)
		for _, it := range page.Items {
			ids = append(ids, it.JobID)
		}
		if got := strings.Join(ids, " "); code != "" || got != c.want || page.Total != len(ids) {
			t.Errorf("%s lists %q (total %d, %s), want %q", c.token, got, page.Total, code, c.want)
		}
	}
	_, body = get(t, "main", "/console/qr/jobs?status=done&kind=object&pageNo=2&pageSize=1")
	if code := data(t, body, &page); code != "" || page.Total != 2 || len(page.Items) != 1 {
		t.Errorf("second page: %s %+v", code, page)
	}
	res, _ = get(t, "main", "/console/qr/jobs?status=bogus")
	if res.StatusCode != 400 {
		t.Errorf("bad status filter: %d", res.StatusCode)
	}
}
