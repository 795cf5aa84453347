package audit

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// forge inserts a row at seq that links to the entry before it and carries
// a hash computed exactly as the writer would, i.e. an attacker who knows
// the algorithm. Only the rows after it (or the head) can give it away.
func forge(t *testing.T, pool *pgxpool.Pool, seq int64, validHash bool) {
	t.Helper()
	ctx := testCtx(t)
	var prev string
	if err := pool.QueryRow(ctx, `SELECT hash FROM audit_entries WHERE seq = $1`, seq-1).Scan(&prev); err != nil {
		t.Fatal(err)
	}
	e := entry("forged.grant")
	e.Seq, e.At, e.PrevHash, e.Detail = seq, time.UnixMilli(t0.UnixMilli()), prev, []byte(`{}`)
	e.Hash = chainHash(prev, &e, e.Detail)
	if !validHash {
		e.Hash = genesis
	}
	if _, err := pool.Exec(ctx, `INSERT INTO audit_entries (seq, at, type, operator_id, account, platform_id,
		source_ip, action, target, result, detail, request_id, prev_hash, hash)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)`,
		e.Seq, e.At, string(e.Type), e.OperatorID, e.Account, e.PlatformID, e.SourceIP, e.Action,
		e.Target, string(e.Result), string(e.Detail), e.RequestID, e.PrevHash, e.Hash); err != nil {
		t.Fatal(err)
	}
}

// shiftUp makes room at seq by moving every later row up by one (in two
// steps, as the primary key is checked row by row).
const shiftUp = `UPDATE audit_entries SET seq = -seq WHERE seq >= 6;
	UPDATE audit_entries SET seq = -seq + 1 WHERE seq < 0`

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	const n = 10
	tests := []struct {
		name    string
		sql     string
		forgeAt int64 // insert a forged row at this seq after sql
		valid   bool  // the forged row's own hash is correct
		seq     int64
		reason  string
	}{
		{"detail edited", `UPDATE audit_entries SET detail = '{"name":"张三","n":1}' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"detail key added", `UPDATE audit_entries SET detail = detail || '{"x":0}' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"number rescaled", `UPDATE audit_entries SET detail = '{"name":"张*","n":1.0000001}' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"action edited", `UPDATE audit_entries SET action = 'app.delete' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"at moved 1 ms", `UPDATE audit_entries SET at = at + interval '1 millisecond' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"at moved a day", `UPDATE audit_entries SET at = at - interval '1 day' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"at infinite", `UPDATE audit_entries SET at = 'infinity' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"type edited", `UPDATE audit_entries SET type = 'login' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"operator edited", `UPDATE audit_entries SET operator_id = '8' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"account edited", `UPDATE audit_entries SET account = 'mallory' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"platform edited", `UPDATE audit_entries SET platform_id = 'P9' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"source ip edited", `UPDATE audit_entries SET source_ip = '10.0.0.2' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"target edited", `UPDATE audit_entries SET target = 'app:A0002' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"result edited", `UPDATE audit_entries SET result = 'failure' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"request id edited", `UPDATE audit_entries SET request_id = 'req-2' WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"hash edited", `UPDATE audit_entries SET hash = upper(hash) WHERE seq = 5`, 0, false, 5, ReasonHashMismatch},
		{"prev_hash edited", `UPDATE audit_entries SET prev_hash = repeat('1', 64) WHERE seq = 5`, 0, false, 5, ReasonUnlinked},
		{"seq edited", `UPDATE audit_entries SET seq = 100 WHERE seq = 5`, 0, false, 5, ReasonGap},
		{"middle deleted", `DELETE FROM audit_entries WHERE seq = 5`, 0, false, 5, ReasonGap},
		{"first deleted", `DELETE FROM audit_entries WHERE seq = 1`, 0, false, 1, ReasonGap},
		{"last deleted", `DELETE FROM audit_entries WHERE seq = 10`, 0, false, 10, ReasonHead},
		{"row appended", ``, 11, true, 11, ReasonHead},
		{"row appended with a bad hash", ``, 11, false, 11, ReasonHashMismatch},
		{"row inserted in the middle", shiftUp, 6, false, 6, ReasonHashMismatch},
		{"row inserted in the middle with a valid hash", shiftUp, 6, true, 7, ReasonUnlinked},
		{"row before the first", ``, 0, false, 0, ReasonGap}, // forgeAt 0 handled below
		{"head hash edited", `UPDATE audit_head SET hash = repeat('0', 64)`, 0, false, 10, ReasonHead},
		{"head seq lowered", `UPDATE audit_head SET seq = 9`, 0, false, 10, ReasonHead},
		{"head seq raised", `UPDATE audit_head SET seq = 12`, 0, false, 11, ReasonHead},
		{"detail respelled only", `UPDATE audit_entries SET detail = (detail::text)::jsonb; UPDATE audit_entries SET detail = '{"n":1.0,"name":"张*"}' WHERE seq = 3`, 0, false, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pool := storetest.New(t)
			ctx := testCtx(t)
			l := newLogger(t, pool, Config{Clock: (&fakeClock{t: t0, step: time.Minute}).Now})
			for range n {
				mustRecord(t, ctx, l, entry("app.create"))
			}
			mustVerify(t, ctx, l, n)
			if tt.sql != "" {
				if _, err := pool.Exec(ctx, tt.sql); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case tt.forgeAt > 0:
				forge(t, pool, tt.forgeAt, tt.valid)
			case tt.name == "row before the first":
				if _, err := pool.Exec(ctx, `INSERT INTO audit_entries SELECT 0, at, type, operator_id, account,
					platform_id, source_ip, action, target, result, detail, request_id, prev_hash, hash
					FROM audit_entries WHERE seq = 1`); err != nil {
					t.Fatal(err)
				}
			}
			res, err := l.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if tt.reason == "" {
				if !res.OK {
					t.Fatalf("verify = %+v, want OK", res)
				}
				return
			}
			if res.OK || res.BrokenSeq != tt.seq || res.Reason != tt.reason {
				t.Fatalf("verify = %+v, want broken at %d: %s", res, tt.seq, tt.reason)
			}
			if want := max(0, min(tt.seq-1, n)); res.Checked != want {
				t.Errorf("checked = %d, want %d", res.Checked, want)
			}
		})
	}
}

func TestVerifyEmptyChain(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	res, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Checked != 0 || res.Head != genesis {
		t.Fatalf("verify = %+v", res)
	}
	if got := VerifyReport(res); got != "audit chain OK: 0 entries" {
		t.Fatalf("report = %q", got)
	}
}

// Cutting the tail and rewinding the head leaves a consistent, shorter
// chain; only a head recorded outside the database reveals it, which is
// why VerifyResult carries the head.
func TestAnchoredHeadRevealsRewind(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l := newLogger(t, pool, Config{})
	for range 10 {
		mustRecord(t, ctx, l, entry("app.create"))
	}
	anchor, err := l.Verify(ctx)
	if err != nil || !anchor.OK {
		t.Fatalf("verify = %+v, %v", anchor, err)
	}
	if _, err := pool.Exec(ctx, `DELETE FROM audit_entries WHERE seq = 10;
		UPDATE audit_head SET seq = 9, hash = (SELECT hash FROM audit_entries WHERE seq = 9)`); err != nil {
		t.Fatal(err)
	}
	res, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Checked >= anchor.Checked || res.Head == anchor.Head {
		t.Fatalf("rewound chain %+v is indistinguishable from anchor %+v", res, anchor)
	}
}
