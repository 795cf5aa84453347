package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Review results.
const (
	reviewPending      = "pending"
	reviewApproved     = "approved"
	reviewRejected     = "rejected"
	reviewAutoApproved = "auto_approved"
)

// submission is what a code of a type requiring review was filled with.
type submission struct {
	token      string
	number     int64
	platformID string
	typeID     string
	region     string
	action     string // activate | entry | modify
	attrs      []byte
	ownerUnit  string
	by         string
	at         time.Time
}

// submit records a submission for review; one still pending for the code
// is withdrawn, replaced by this one, and the 72 hours start again: the
// reviewer has new content to look at. The caller holds the code's row
// lock.
func (o *Objects) submit(ctx context.Context, tx pgx.Tx, s submission) error {
	if _, err := tx.Exec(ctx, `UPDATE object_code_reviews SET result = 'withdrawn', reviewer = 'system', reviewed_at = $2,
		reason = 'replaced by a new submission' WHERE token = $1 AND result = 'pending'`, s.token, s.at); err != nil {
		return fmt.Errorf("codeengine: withdraw review: %w", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO object_code_reviews (token, number, platform_id, type_id, region_code, action, attributes,
		owner_unit, submitted_by, submitted_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		s.token, s.number, s.platformID, s.typeID, s.region, s.action, s.attrs, s.ownerUnit, s.by, s.at, s.at.Add(ReviewWindow))
	if err != nil {
		return fmt.Errorf("codeengine: submit for review: %w", err)
	}
	return nil
}

// CodeReview is one submission of an object code for review and what
// became of it.
type CodeReview struct {
	ID            int64           `json:"id"`
	Number        int64           `json:"number" doc:"the code's unified number"`
	PlatformID    string          `json:"platformId"`
	TypeID        string          `json:"typeId"`
	TypeName      string          `json:"typeName"`
	Management    string          `json:"management" doc:"city: reviewed by the main platform; local: by the code's platform and region"`
	RegionCode    string          `json:"regionCode"`
	Action        string          `json:"action" doc:"activate | entry | modify"`
	Attributes    json.RawMessage `json:"attributes" doc:"as submitted"`
	OwnerUnit     string          `json:"ownerUnit"`
	SubmittedBy   string          `json:"submittedBy" doc:"app:<cityCodeAppId>"`
	SubmittedAt   time.Time       `json:"submittedAt"`
	AutoApproveAt *time.Time      `json:"autoApproveAt,omitempty" doc:"when a pending submission is approved unless reviewed first (the type auto-approves after 72 hours)"`
	Result        string          `json:"result" doc:"pending | approved | rejected | auto_approved | withdrawn (cancelled or replaced)"`
	ReviewerID    int64           `json:"reviewerId,omitempty"`
	Reviewer      string          `json:"reviewer,omitempty" doc:"the operator's account; system for auto-approval and withdrawal"`
	ReviewedAt    *time.Time      `json:"reviewedAt,omitempty"`
	Reason        string          `json:"reason,omitempty"`
}

const reviewFrom = `object_code_reviews r JOIN object_types t ON t.id = r.type_id`

const reviewCols = `r.id, r.number, r.platform_id, r.type_id, t.name, t.management, r.region_code, r.action, r.attributes, r.owner_unit,
	r.submitted_by, r.submitted_at, CASE WHEN r.result = 'pending' AND t.review_auto_approve THEN r.due_at END, r.result,
	coalesce(r.reviewer_id, 0), r.reviewer, r.reviewed_at, r.reason`

func scanReview(row pgx.Row) (CodeReview, error) {
	var v CodeReview
	err := row.Scan(&v.ID, &v.Number, &v.PlatformID, &v.TypeID, &v.TypeName, &v.Management, &v.RegionCode, &v.Action, &v.Attributes,
		&v.OwnerUnit, &v.SubmittedBy, &v.SubmittedAt, &v.AutoApproveAt, &v.Result, &v.ReviewerID, &v.Reviewer, &v.ReviewedAt, &v.Reason)
	return v, err
}

// ListReviewsIn filters the review list.
type ListReviewsIn struct {
	Result        string    `query:"result" validate:"omitempty,oneof=pending approved rejected auto_approved withdrawn" doc:"default: every result"`
	TypeID        string    `query:"typeId"`
	Number        int64     `query:"number" doc:"a code's unified number"`
	PlatformID    string    `query:"platformId"`
	RegionCode    string    `query:"regionCode" doc:"the region and everything below it"`
	SubmittedFrom time.Time `query:"submittedFrom" doc:"submitted at or after (RFC 3339, YYYY-MM-DD or unix ms)"`
	SubmittedTo   time.Time `query:"submittedTo" doc:"submitted at or before"`
	PageIn
}

// withScope restricts f to the caller's data scope over the columns.
func withScope(ctx context.Context, f *filter, cols policy.ScopeColumns) {
	clause, args := policy.ScopeFrom(ctx).SQL(cols, len(f.args)+1)
	f.args = append(f.args, args...)
	if clause != "TRUE" {
		f.add(clause)
	}
}

// cityTypesOnlyForMain keeps the codes of city-wide types (市级统管) away
// from operators of sub-platforms: the city's competent department
// reviews those.
func cityTypesOnlyForMain(ctx context.Context, f *filter, col string) {
	if a := actor.From(ctx); a == nil || !a.MainPlatform {
		f.add(col + " <> 'city'")
	}
}

// ListReviews answers the submissions the caller may review: in its data
// scope (platform, region, object types) and, for operators of
// sub-platforms, of locally managed types only. Pending ones come oldest
// first (the queue); otherwise newest first.
func (o *Objects) ListReviews(ctx context.Context, in *ListReviewsIn) (*Page[CodeReview], error) {
	if err := storable("typeId", in.TypeID, "platformId", in.PlatformID, "regionCode", in.RegionCode); err != nil {
		return nil, err
	}
	var f filter
	withScope(ctx, &f, policy.ScopeColumns{Platform: "r.platform_id", Region: "r.region_code", ObjectType: "r.type_id"})
	cityTypesOnlyForMain(ctx, &f, "t.management")
	f.eq("r.result", in.Result)
	f.eq("r.type_id", strings.TrimSpace(in.TypeID))
	f.eq("r.platform_id", strings.TrimSpace(in.PlatformID))
	if in.Number != 0 {
		f.add("r.number = " + f.arg(in.Number))
	}
	if p := regionPrefix(strings.TrimSpace(in.RegionCode)); p != "" {
		f.add("r.region_code LIKE " + f.arg(likeEscaper.Replace(p)+"%"))
	}
	if err := f.timeRange("r.submitted_at", TimeRange{CreatedFrom: in.SubmittedFrom, CreatedTo: in.SubmittedTo}); err != nil {
		return nil, err
	}
	order := "r.submitted_at DESC, r.id DESC"
	if in.Result == reviewPending {
		order = "r.submitted_at, r.id"
	}
	return list(ctx, o.rules.cfg.Pool, reviewFrom, reviewCols, order, &f, in.PageIn, scanReview)
}

// ReviewIn is a reviewer's decision.
type ReviewIn struct {
	ReviewID int64  `path:"reviewId" json:"-"`
	Reason   string `json:"reason" validate:"max=256" doc:"required to reject: the submitter reads it"`
}

// Approve makes a pending code active.
func (o *Objects) Approve(ctx context.Context, in *ReviewIn) (*CodeReview, error) {
	if err := storable("reason", in.Reason); err != nil {
		return nil, err
	}
	return o.decide(ctx, in.ReviewID, true, strings.TrimSpace(in.Reason))
}

// Reject refuses a pending code with a reason: the code becomes rejected,
// keeps what was submitted, frees its industry code, and may be filled
// again (activate or modify) for another review.
func (o *Objects) Reject(ctx context.Context, in *ReviewIn) (*CodeReview, error) {
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return nil, fault.Missing("reason")
	}
	if err := storable("reason", reason); err != nil {
		return nil, err
	}
	return o.decide(ctx, in.ReviewID, false, reason)
}

// decide records a reviewer's decision on a pending submission. The
// reviewer must have objcode.review on the code (its platform, region and
// object type); codes of city-wide types are reviewed by the main
// platform's operators only (the city's competent department). A
// submission decided meanwhile — by another reviewer, the sweep, a
// cancellation or a new submission — is refused naming what happened.
func (o *Objects) decide(ctx context.Context, id int64, approve bool, reason string) (*CodeReview, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind == actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a console operator is required")
	}
	pool := o.rules.cfg.Pool
	var token, platform, region, typeID, management string
	err := pool.QueryRow(ctx, `SELECT r.token, r.platform_id, r.region_code, r.type_id, t.management FROM `+reviewFrom+` WHERE r.id = $1`, id).
		Scan(&token, &platform, &region, &typeID, &management)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("review %d does not exist", id)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: review: %w", err)
	}
	if _, err := o.rules.cfg.Authz.Require(ctx, "objcode.review", &policy.Resource{PlatformID: platform, RegionCode: region, ObjectType: typeID}); err != nil {
		return nil, err
	}
	if management == "city" && !a.MainPlatform {
		return nil, fault.Deniedf("object type %s is managed city-wide (市级统管): its competent department on the main platform reviews its codes", typeID)
	}
	result, status := reviewRejected, statusRejected
	if approve {
		result, status = reviewApproved, statusActive
	}
	var out CodeReview
	err = store.Tx(ctx, pool, func(tx pgx.Tx) error {
		var codeStatus string
		if err := tx.QueryRow(ctx, `SELECT status FROM object_codes WHERE token = $1 FOR UPDATE`, token).Scan(&codeStatus); err != nil {
			return err
		}
		v, err := scanReview(tx.QueryRow(ctx, `SELECT `+reviewCols+` FROM `+reviewFrom+` WHERE r.id = $1`, id))
		if err != nil {
			return err
		}
		if v.Result != reviewPending {
			by := v.Reviewer
			if by == "" {
				by = "system"
			}
			return fault.Conflictf(fault.CodeFailedOperation, "review %d of object code %d was already decided: %s by %s", id, v.Number, v.Result, by)
		}
		if codeStatus != statusPendingReview {
			return fault.Conflictf(fault.CodeFailedOperation, "object code %d is %s, not pending review", v.Number, codeStatus)
		}
		now := o.rules.now()
		if _, err := tx.Exec(ctx, `UPDATE object_codes SET status = $2 WHERE token = $1`, token, status); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE object_code_reviews SET result = $2, reviewer_id = $3, reviewer = $4, reviewed_at = $5, reason = $6 WHERE id = $1`,
			id, result, a.OperatorID, a.Account, now, reason); err != nil {
			return err
		}
		out, err = scanReview(tx.QueryRow(ctx, `SELECT `+reviewCols+` FROM `+reviewFrom+` WHERE r.id = $1`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// sweepChunk bounds the codes one sweep transaction approves.
const sweepChunk = 500

// SweepReviews approves every submission that waited ReviewWindow without
// a decision, when its object type auto-approves, and answers how many.
// Time is the service's clock. Several nodes may sweep at once: each locks
// the codes it approves with SKIP LOCKED, so a code is approved once, and
// never while a reviewer holds it.
func (o *Objects) SweepReviews(ctx context.Context) (int, error) {
	total := 0
	for {
		n, err := o.sweepOnce(ctx)
		total += n
		if err != nil || n < sweepChunk {
			return total, err
		}
	}
}

func (o *Objects) sweepOnce(ctx context.Context) (int, error) {
	now := o.rules.now()
	n := 0
	err := store.Tx(ctx, o.rules.cfg.Pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT r.id FROM object_codes c
			JOIN object_code_reviews r ON r.token = c.token AND r.result = 'pending'
			JOIN object_types t ON t.id = r.type_id
			WHERE c.status = 'pending_review' AND r.due_at <= $1 AND t.review_auto_approve
			ORDER BY r.due_at LIMIT $2 FOR UPDATE OF c SKIP LOCKED`, now, sweepChunk)
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil || len(ids) == 0 {
			return err
		}
		// Only submissions still pending under the locks are approved: a
		// row read before its code was locked may have been decided since.
		rows, err = tx.Query(ctx, `UPDATE object_code_reviews SET result = 'auto_approved', reviewer = 'system', reviewed_at = $2,
			reason = 'not reviewed within 72 hours' WHERE id = ANY($1) AND result = 'pending' RETURNING token`, ids, now)
		if err != nil {
			return err
		}
		tokens, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE object_codes SET status = 'active' WHERE token = ANY($1) AND status = 'pending_review'`, tokens)
		n = int(tag.RowsAffected())
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("codeengine: sweep reviews: %w", err)
	}
	return n, nil
}

// Start runs SweepReviews every interval (default a minute) until ctx ends
// or Close is called; starting a running sweep does nothing.
func (o *Objects) Start(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	o.sweepMu.Lock()
	defer o.sweepMu.Unlock()
	if o.stop != nil {
		return
	}
	ctx, o.stop = context.WithCancel(ctx)
	done := make(chan struct{})
	o.done = done
	log := o.rules.cfg.Log
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			n, err := o.SweepReviews(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error("object code review sweep failed", "err", err)
			} else if n > 0 {
				log.Info("object codes approved after 72 hours without review", "count", n)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the sweep and waits for it, at most until ctx ends.
func (o *Objects) Close(ctx context.Context) error {
	o.sweepMu.Lock()
	stop, done := o.stop, o.done
	o.stop, o.done = nil, nil
	o.sweepMu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// regionPrefix is the significant prefix of a national administrative
// code, as the policies read it: 310000 covers every code starting 31,
// 310100 every code starting 3101, 310104 itself and its streets.
func regionPrefix(code string) string {
	levelEnd := [13]int{2, 2, 2, 4, 4, 6, 6, 9, 9, 9, 12, 12, 12}
	switch len(code) {
	case 2, 4, 6, 9, 12:
		return code[:levelEnd[len(strings.TrimRight(code, "0"))]]
	}
	return code
}
