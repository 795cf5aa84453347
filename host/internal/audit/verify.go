package audit

import (
	"context"
	"fmt"
	"math"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// Reasons a chain is broken, as reported in VerifyResult.Reason.
const (
	ReasonHashMismatch = "hash mismatch"
	ReasonUnlinked     = "prev_hash does not link"
	ReasonGap          = "gap in sequence"
	ReasonHead         = "head does not match last entry"
)

// VerifyResult is the outcome of Verify.
type VerifyResult struct {
	OK bool `json:"ok"`
	// Checked counts the entries found intact (all of them when OK; those
	// before BrokenSeq otherwise).
	Checked int64 `json:"checked"`
	// BrokenSeq is the first seq at which the chain fails: the edited or
	// forged entry, the first missing one, or the first beyond the head.
	BrokenSeq int64  `json:"brokenSeq,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// Head is the head's hash. Recording it somewhere outside the database
	// (a ticket, a signed report) lets a later Verify prove that the whole
	// chain up to it was not rewritten.
	Head string `json:"head"`
}

// verifyPage is how many entries Verify holds at a time.
const verifyPage = 1000

// Verify walks the whole chain in seq order, recomputes every hash and checks
// every link, the density of seqs and the head. It reads one snapshot (a
// repeatable-read transaction), so entries committed meanwhile neither break
// nor extend what it checks, and its memory does not grow with the chain.
// The error is for failures to read; a broken chain is a result.
func (l *Logger) Verify(ctx context.Context) (VerifyResult, error) {
	var res VerifyResult
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return res, fmt.Errorf("audit: verify: begin: %w", err)
	}
	defer tx.Rollback(ctx)

	var headSeq int64
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1`).Scan(&headSeq, &res.Head); err != nil {
		return res, fmt.Errorf("audit: verify: read head: %w", err)
	}
	broken := func(seq int64, reason string) (VerifyResult, error) {
		res.BrokenSeq, res.Reason = seq, reason
		res.Checked = min(res.Checked, max(seq-1, 0))
		return res, nil
	}
	prev, last, after := genesis, int64(0), int64(math.MinInt64)
	for {
		rows, err := tx.Query(ctx, `SELECT seq, at, type, operator_id, account, platform_id, source_ip,
			action, target, result, detail::text, request_id, prev_hash, hash
			FROM audit_entries WHERE seq > $1 ORDER BY seq LIMIT $2`, after, verifyPage)
		if err != nil {
			return res, fmt.Errorf("audit: verify: read entries: %w", err)
		}
		n := 0
		for rows.Next() {
			n++
			var e Entry
			var at pgtype.Timestamptz
			var detail string
			if err := rows.Scan(&e.Seq, &at, &e.Type, &e.OperatorID, &e.Account, &e.PlatformID, &e.SourceIP,
				&e.Action, &e.Target, &e.Result, &detail, &e.RequestID, &e.PrevHash, &e.Hash); err != nil {
				rows.Close()
				return res, fmt.Errorf("audit: verify: read entry after seq %d: %w", after, err)
			}
			after = e.Seq
			reason := check(&e, at, detail, last+1, prev)
			if reason != "" {
				rows.Close()
				if reason == ReasonGap && e.Seq > last+1 {
					return broken(last+1, reason) // name the first missing entry
				}
				return broken(e.Seq, reason)
			}
			res.Checked++
			last, prev = e.Seq, e.Hash
		}
		if err := rows.Err(); err != nil {
			return res, fmt.Errorf("audit: verify: read entries: %w", err)
		}
		if n < verifyPage {
			break
		}
	}
	if last != headSeq || prev != res.Head {
		if last == headSeq {
			return broken(last, ReasonHead)
		}
		return broken(min(last, headSeq)+1, ReasonHead)
	}
	res.OK = true
	return res, nil
}

// check returns why e breaks the chain, or "" when it is intact.
func check(e *Entry, at pgtype.Timestamptz, detail string, wantSeq int64, prev string) string {
	if e.Seq != wantSeq {
		return ReasonGap
	}
	if e.PrevHash != prev {
		return ReasonUnlinked
	}
	// The hash covers at in whole milliseconds; a finer or infinite time can
	// only come from an edit.
	if !at.Valid || at.InfinityModifier != pgtype.Finite || at.Time.UnixMicro()%1000 != 0 {
		return ReasonHashMismatch
	}
	e.At = at.Time
	d, err := canonicalJSON([]byte(detail))
	if err != nil || chainHash(e.PrevHash, e, d) != e.Hash {
		return ReasonHashMismatch
	}
	return ""
}

// VerifyReport is the one-line human summary of res, e.g.
// "audit chain OK: 1234 entries" or
// "audit chain BROKEN at entry seq=57: hash mismatch".
func VerifyReport(res VerifyResult) string {
	if res.OK {
		return fmt.Sprintf("audit chain OK: %d entries", res.Checked)
	}
	return fmt.Sprintf("audit chain BROKEN at entry seq=%d: %s", res.BrokenSeq, res.Reason)
}
