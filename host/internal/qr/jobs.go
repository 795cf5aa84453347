package qr

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Job states. A job is queued until a worker claims it, running while a
// worker renders it (and heart-beats), then done or failed; seven days
// after creation it is expired and its zip deleted.
const (
	StatusQueued  = "queued"
	StatusRunning = "running"
	StatusDone    = "done"
	StatusFailed  = "failed"
	StatusExpired = "expired"
)

// Config configures Jobs.
type Config struct {
	Pool  *pgxpool.Pool  // required
	Authz *policy.Engine // required: the console routes check jobs' platforms
	Log   *slog.Logger
	Clock func() time.Time
	// Renderer draws the images; nil means NewRenderer("") (the first
	// installed CJK font).
	Renderer *Renderer
	// Workers is how many jobs this node renders at once (default 1); each
	// job already uses every core.
	Workers int
	// Poll is how often an idle worker looks for queued jobs submitted on
	// other nodes (default 1 s; a Submit on this node wakes it at once).
	Poll time.Duration
	// StaleAfter is how long a running job may go without a heartbeat
	// before it is presumed orphaned and re-queued (default 2 min). Workers
	// beat every ProgressEvery images, far more often.
	StaleAfter time.Duration
	// SweepEvery is how often stale jobs are re-queued and old ones expired
	// (default 30 s).
	SweepEvery time.Duration
	// Retention is how long a job and its zip are kept (default 7 days).
	Retention time.Duration
	// ProgressEvery is how many images a worker renders between progress
	// writes (default 100).
	ProgressEvery int
	// MaxItems bounds a job (default 100,000).
	MaxItems int
}

// Jobs renders batches of QR images in the background. Submit, Get, List
// and Download may be called from any node; Start runs workers that
// cooperate with those of other nodes through the database.
type Jobs struct {
	cfg    Config
	r      *Renderer
	wake   chan struct{}
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewJobs returns the job service; call Start to render on this node.
func NewJobs(cfg Config) (*Jobs, error) {
	if cfg.Pool == nil || cfg.Authz == nil {
		return nil, errors.New("qr: Pool and Authz are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Renderer == nil {
		r, err := NewRenderer("")
		if err != nil {
			return nil, err
		}
		cfg.Renderer = r
	}
	defaults := []struct {
		d *time.Duration
		v time.Duration
	}{{&cfg.Poll, time.Second}, {&cfg.StaleAfter, 2 * time.Minute}, {&cfg.SweepEvery, 30 * time.Second}, {&cfg.Retention, 7 * 24 * time.Hour}}
	for _, d := range defaults {
		if *d.d <= 0 {
			*d.d = d.v
		}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
	}
	if cfg.ProgressEvery <= 0 {
		cfg.ProgressEvery = 100
	}
	if cfg.MaxItems <= 0 {
		cfg.MaxItems = 100_000
	}
	return &Jobs{cfg: cfg, r: cfg.Renderer, wake: make(chan struct{}, 1)}, nil
}

func (j *Jobs) now() time.Time { return j.cfg.Clock().UTC().Truncate(time.Microsecond) }

// JobSpec is what to render.
type JobSpec struct {
	PlatformID string // whose job it is: the console shows it in that platform's scope
	CreatedBy  string // operator account or "app:" and the app id, for the list
	// Kind says what the images are ("object", "enterprise", ...): lowercase
	// letters, digits, "-" and "_"; the zip is named "<kind>-<jobId>.zip".
	Kind  string
	Style Style
	Items []Item
}

// Job is a job's state. Percent is Done/Total rounded down.
type Job struct {
	ID         string     `json:"jobId"`
	PlatformID string     `json:"platformId"`
	CreatedBy  string     `json:"createdBy"`
	Kind       string     `json:"kind"`
	Status     string     `json:"status" doc:"queued, running, done, failed or expired"`
	Total      int        `json:"total"`
	Done       int        `json:"done"`
	Percent    int        `json:"percent"`
	Error      string     `json:"error,omitempty" doc:"why a failed job failed"`
	Format     string     `json:"format" doc:"png or svg"`
	ZipBytes   int64      `json:"zipBytes"`
	CreatedAt  time.Time  `json:"createdAt"`
	StartedAt  *time.Time `json:"startedAt,omitempty"`
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	ExpiresAt  time.Time  `json:"expiresAt"`

	lease, chunks int
}

var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// Submit validates spec and queues it, returning the job id. Style and
// caption mistakes and contents that cannot be a QR code are fault.Invalid
// errors naming the item; nothing is stored then. Submit does not authorize:
// callers check the caller may act for spec.PlatformID.
func (j *Jobs) Submit(ctx context.Context, spec JobSpec) (string, error) {
	p, err := j.check(spec)
	if err != nil {
		return "", err
	}
	var id string
	err = store.Tx(ctx, j.cfg.Pool, func(tx pgx.Tx) error {
		id, err = j.insert(ctx, tx, spec, p)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("qr: submit job: %w", err)
	}
	j.Wake()
	return id, nil
}

// SubmitTx is Submit within the caller's transaction, for a job that must
// commit (or roll back) with what it draws: the job is queued when tx
// commits. Call Wake after the commit, or this node's idle workers find
// the job at their next poll (Config.Poll) instead of at once.
func (j *Jobs) SubmitTx(ctx context.Context, tx pgx.Tx, spec JobSpec) (string, error) {
	p, err := j.check(spec)
	if err != nil {
		return "", err
	}
	id, err := j.insert(ctx, tx, spec, p)
	if err != nil {
		return "", fmt.Errorf("qr: submit job: %w", err)
	}
	return id, nil
}

// Wake tells this node's idle workers that a job was queued.
func (j *Jobs) Wake() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// CheckStyle reports, as Submit would, whether a job of n images in style
// s is accepted (the number of images, the style, the style's caption
// with this node's font), without storing anything: for callers that must
// refuse a request before they create what the job will draw.
func (j *Jobs) CheckStyle(s Style, n int) error {
	if err := j.checkCount(n); err != nil {
		return err
	}
	p, err := prepare(s)
	if err != nil {
		return err
	}
	return j.r.checkCaption(p, p.Caption)
}

func (j *Jobs) checkCount(n int) error {
	switch {
	case n == 0:
		return fault.Missing("items")
	case n > j.cfg.MaxItems:
		return fault.Invalidf("a job holds at most %d images, not %d", j.cfg.MaxItems, n)
	}
	return nil
}

// check validates spec as Submit documents.
func (j *Jobs) check(spec JobSpec) (*plan, error) {
	switch {
	case spec.PlatformID == "":
		return nil, fault.Missing("platformId")
	case spec.CreatedBy == "":
		return nil, fault.Missing("createdBy")
	case !kindPattern.MatchString(spec.Kind):
		return nil, fault.Invalidf("kind must be 1 to 32 lowercase letters, digits, - or _, starting with a letter")
	}
	if err := j.checkCount(len(spec.Items)); err != nil {
		return nil, err
	}
	p, err := prepare(spec.Style)
	if err != nil {
		return nil, err
	}
	if err := j.r.checkItems(p, spec.Items); err != nil {
		return nil, err
	}
	for i, it := range spec.Items {
		switch {
		case it.Content == "":
			return nil, fault.Invalidf("item %d: content is empty", i+1)
		case len(it.Content) > maxContentBytes:
			return nil, fault.Invalidf("item %d: content of %d bytes does not fit a QR code", i+1, len(it.Content))
		case !utf8.ValidString(it.Content) || strings.ContainsRune(it.Content, 0):
			return nil, fault.Invalidf("item %d: content must be text", i+1)
		}
	}
	return p, nil
}

// insert stores a checked job and its items in tx.
func (j *Jobs) insert(ctx context.Context, tx pgx.Tx, spec JobSpec, p *plan) (string, error) {
	style, err := json.Marshal(p.Style)
	if err != nil {
		return "", fmt.Errorf("style: %w", err)
	}
	id := "qj" + strings.ToLower(rand.Text())
	names := uniqueNames(spec.Items)
	now := j.now()
	if _, err := tx.Exec(ctx, `INSERT INTO qr_jobs (id, platform_id, created_by, kind, status, total, style, created_at, expires_at)
		VALUES ($1, $2, $3, $4, 'queued', $5, $6, $7, $8)`,
		id, spec.PlatformID, spec.CreatedBy, spec.Kind, len(spec.Items), style, now, now.Add(j.cfg.Retention)); err != nil {
		return "", err
	}
	i := 0
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"qr_job_items"}, []string{"job_id", "seq", "name", "content", "caption"},
		pgx.CopyFromFunc(func() ([]any, error) {
			if i == len(spec.Items) {
				return nil, nil
			}
			it := spec.Items[i]
			i++
			return []any{id, i - 1, names[i-1], it.Content, it.Caption}, nil
		}))
	if err != nil {
		return "", err
	}
	return id, nil
}

const jobColumns = `id, platform_id, created_by, kind, status, total, done, error, style->>'format', zip_bytes,
	created_at, started_at, finished_at, expires_at, lease, zip_chunks`

func scanJob(row pgx.Row) (*Job, error) {
	var jb Job
	err := row.Scan(&jb.ID, &jb.PlatformID, &jb.CreatedBy, &jb.Kind, &jb.Status, &jb.Total, &jb.Done, &jb.Error, &jb.Format,
		&jb.ZipBytes, &jb.CreatedAt, &jb.StartedAt, &jb.FinishedAt, &jb.ExpiresAt, &jb.lease, &jb.chunks)
	if err != nil {
		return nil, err
	}
	if jb.Total > 0 {
		jb.Percent = jb.Done * 100 / jb.Total
	}
	return &jb, nil
}

// Get returns job id with its progress, whoever's it is (the console
// route checks the platform), or fault.NotFound.
func (j *Jobs) Get(ctx context.Context, id string) (*Job, error) {
	if id == "" || len(id) > 64 || strings.IndexByte(id, 0) >= 0 {
		return nil, fault.NotFoundf("no image job %q", id)
	}
	jb, err := scanJob(j.cfg.Pool.QueryRow(ctx, `SELECT `+jobColumns+` FROM qr_jobs WHERE id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("no image job %q", id)
	}
	if err != nil {
		return nil, fmt.Errorf("qr: get job %s: %w", id, err)
	}
	return jb, nil
}

// ListQuery filters and pages List.
type ListQuery struct {
	Status   string `query:"status" validate:"omitempty,oneof=queued running done failed expired"`
	Kind     string `query:"kind" validate:"max=32"`
	PageNo   int    `query:"pageNo" validate:"omitempty,min=1"`
	PageSize int    `query:"pageSize" validate:"omitempty,min=1,max=500"`
}

// Page is one page of jobs, newest first, with the count of all matches.
type Page struct {
	Total int64  `json:"total"`
	Items []*Job `json:"items"`
}

// List returns the jobs in the caller's data scope (policy.ScopeFrom(ctx)),
// newest first.
func (j *Jobs) List(ctx context.Context, q ListQuery) (*Page, error) {
	where, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 1)
	if q.Status != "" {
		args = append(args, q.Status)
		where += " AND status = $" + strconv.Itoa(len(args))
	}
	if q.Kind != "" {
		args = append(args, q.Kind)
		where += " AND kind = $" + strconv.Itoa(len(args))
	}
	size := q.PageSize
	if size <= 0 || size > 500 {
		size = 20
	}
	page := &Page{Items: []*Job{}}
	if err := j.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM qr_jobs WHERE `+where, args...).Scan(&page.Total); err != nil {
		return nil, fmt.Errorf("qr: count jobs: %w", err)
	}
	args = append(args, size, (max(q.PageNo, 1)-1)*size)
	rows, err := j.cfg.Pool.Query(ctx, `SELECT `+jobColumns+` FROM qr_jobs WHERE `+where+
		fmt.Sprintf(` ORDER BY created_at DESC, id LIMIT $%d OFFSET $%d`, len(args)-1, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("qr: list jobs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		jb, err := scanJob(rows)
		if err != nil {
			return nil, fmt.Errorf("qr: list jobs: %w", err)
		}
		page.Items = append(page.Items, jb)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("qr: list jobs: %w", err)
	}
	return page, nil
}

// Download writes the zip of done job id to w, one chunk query at a time,
// so a slow client holds no connection between chunks. A job not done is a
// FailedOperation conflict telling its state.
func (j *Jobs) Download(ctx context.Context, id string, w io.Writer) error {
	jb, err := j.Get(ctx, id)
	if err != nil {
		return err
	}
	if err := downloadable(jb); err != nil {
		return err
	}
	return j.writeZipTo(ctx, jb, w)
}

func downloadable(jb *Job) error {
	switch jb.Status {
	case StatusDone:
		return nil
	case StatusQueued, StatusRunning:
		return fault.Conflictf(fault.CodeFailedOperation, "the images are not ready yet (%d of %d drawn)", jb.Done, jb.Total)
	case StatusExpired:
		return fault.Conflictf(fault.CodeFailedOperation, "the job expired and its images were deleted; submit it again")
	default:
		return fault.Conflictf(fault.CodeFailedOperation, "the job failed: %s", jb.Error)
	}
}

func (j *Jobs) writeZipTo(ctx context.Context, jb *Job, w io.Writer) error {
	for seq := range jb.chunks {
		var data []byte
		err := j.cfg.Pool.QueryRow(ctx, `SELECT data FROM qr_job_chunks WHERE job_id = $1 AND lease = $2 AND seq = $3`,
			jb.ID, jb.lease, seq).Scan(&data)
		if err != nil {
			return fmt.Errorf("qr: job %s chunk %d: %w", jb.ID, seq, err)
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	return nil
}
