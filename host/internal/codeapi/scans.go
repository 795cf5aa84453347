package codeapi

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// MaxScanUpload bounds one upload of offline scan records.
const MaxScanUpload = 1000

// ScanRoutes declares the upload of scans that offline verifiers made.
func (s *Service) ScanRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/api/uploadScanRecords", s.uploadScans).
			Doc("上传离线扫码记录", "An offline verifier (turnstile, hospital scanner) reports the codes it verified without network, up to 1,000 per call. Each record is checked to be a genuine code; a scan already uploaded (same code, org, terminal and time) is counted as a duplicate and stored once, so retrying an upload is safe.").
			Tag("personal-code").App().AcceptUnknownFields(),
	}
}

// ScanUploadIn is a batch of offline scans.
type ScanUploadIn struct {
	AcceptOrgID string       `json:"acceptOrgId" validate:"required,max=64"`
	TerminalNo  string       `json:"terminalNo" validate:"max=64"`
	Records     []ScanRecord `json:"records" validate:"required,min=1,max=1000,dive"`
}

// ScanRecord is one offline scan.
type ScanRecord struct {
	CodeContent string `json:"codeContent" validate:"required,max=2048"`
	ScanTime    string `json:"scanTime" validate:"required,max=20" doc:"unix milliseconds or yyyyMMddHHmmss (UTC+8)"`
	Result      string `json:"result" validate:"omitempty,oneof=pass reject expired" doc:"what the verifier decided; default pass"`
}

// ScanUploadOut counts what the upload did.
type ScanUploadOut struct {
	Accepted   int   `json:"accepted"`
	Duplicates int   `json:"duplicates"`
	Rejected   int   `json:"rejected" doc:"records that are not genuine codes or have a bad time"`
	RejectedAt []int `json:"rejectedAt,omitempty" doc:"indexes of the rejected records"`
}

var cst = time.FixedZone("CST", 8*3600)

func parseScanTime(s string) (time.Time, bool) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && len(s) == 13 {
		return time.UnixMilli(ms), true
	}
	t, err := time.ParseInLocation("20060102150405", s, cst)
	return t, err == nil
}

func (s *Service) uploadScans(ctx context.Context, in *ScanUploadIn) (*ScanUploadOut, error) {
	a, err := caller(ctx, "")
	if err != nil {
		return nil, err
	}
	out := &ScanUploadOut{}
	now := s.clock()
	var evs []Event
	type key struct {
		code string
		at   time.Time
	}
	var inserted []key
	for i, r := range in.Records {
		at, ok := parseScanTime(r.ScanTime)
		c, verr := s.codes.Verify(ctx, r.CodeContent)
		if !ok || at.After(now.Add(5*time.Minute)) || verr != nil {
			if verr != nil && fault.KindOf(verr) == fault.Internal && !isTampered(verr) {
				return nil, verr
			}
			out.Rejected++
			out.RejectedAt = append(out.RejectedAt, i)
			continue
		}
		result := r.Result
		if result == "" {
			result = "pass"
		}
		tag, err := s.pool.Exec(ctx, `INSERT INTO scan_records (code_id, org_id, terminal_no, scanned_at, app_id, platform_id, rule_id, result, uploaded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING`,
			codeID(r.CodeContent), in.AcceptOrgID, in.TerminalNo, at, a.AppID, c.PlatformID, c.RuleID, result, now)
		if err != nil {
			return nil, err
		}
		if tag.RowsAffected() == 0 {
			out.Duplicates++
			continue
		}
		out.Accepted++
		inserted = append(inserted, key{codeID(r.CodeContent), at})
		evs = append(evs, Event{At: at, Type: "scan_upload", Result: "success", PlatformID: c.PlatformID, AppID: a.AppID,
			RuleID: c.RuleID, RuleVersion: c.RuleVersion, Kind: c.Kind, CodeID: codeID(r.CodeContent), OrgID: in.AcceptOrgID})
	}
	if len(evs) > 0 {
		if err := s.events.Record(ctx, evs...); err != nil {
			// Take the records back so the retried upload counts them anew
			// and writes their events.
			for _, k := range inserted {
				_, _ = s.pool.Exec(ctx, `DELETE FROM scan_records WHERE code_id = $1 AND org_id = $2 AND terminal_no = $3 AND scanned_at = $4`,
					k.code, in.AcceptOrgID, in.TerminalNo, k.at)
			}
			return nil, fault.Wrap(err, fault.Unavailable, fault.CodeServiceUnavailable, "the usage records could not be written; upload again")
		}
	}
	return out, nil
}
