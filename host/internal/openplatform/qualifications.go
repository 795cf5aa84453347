package openplatform

// This file holds developers' qualifications (开发者资质): personal
// (identity and contact) or enterprise (name, unified social credit code,
// business licence), their review by administrators, and the licence
// files.

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Qualification kinds and review statuses.
const (
	KindPersonal   = "personal"
	KindEnterprise = "enterprise"

	ReviewPending  = "pending"
	ReviewApproved = "approved"
	ReviewRejected = "rejected"
)

// MaxLicenceBytes caps a business licence file.
const MaxLicenceBytes = 5 << 20

// licenceTypes are the content types a licence may have, as sniffed.
var licenceTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}

// UploadIn uploads a file (a business licence) as base64.
type UploadIn struct {
	Filename string `json:"filename" validate:"required,max=128"`
	Content  string `json:"content" validate:"required" doc:"base64 of the file: PNG, JPEG or PDF, at most 5 MiB"`
}

// File is an uploaded file.
type File struct {
	ID          int64     `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"contentType" doc:"sniffed from the content"`
	Size        int       `json:"size"`
	CreatedAt   time.Time `json:"createdAt"`
}

func (p *Portal) uploadRoute(ctx context.Context, in *UploadIn) (*File, error) {
	if base64.StdEncoding.DecodedLen(len(in.Content)) > MaxLicenceBytes+3 {
		return nil, fault.E(fault.Invalid, fault.CodeRequestTooLarge, "the file exceeds %d bytes", MaxLicenceBytes)
	}
	b, err := base64.StdEncoding.DecodeString(in.Content)
	if err != nil {
		return nil, fault.Invalidf("parameter %q is not base64", "content")
	}
	if len(b) == 0 {
		return nil, fault.Invalidf("parameter %q is empty", "content")
	}
	if len(b) > MaxLicenceBytes {
		return nil, fault.E(fault.Invalid, fault.CodeRequestTooLarge, "the file exceeds %d bytes", MaxLicenceBytes)
	}
	// The client's type and file name extension are not trusted: the
	// bytes say what the file is.
	ct := http.DetectContentType(b)
	if _, ok := licenceTypes[ct]; !ok {
		return nil, fault.Invalidf("parameter %q must be a PNG or JPEG image or a PDF, not %s", "content", ct)
	}
	name := path.Base(strings.ReplaceAll(in.Filename, `\`, "/"))
	if !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\r\n\"") || name == "." || name == "/" {
		return nil, fault.Invalidf("parameter %q is not a file name", "filename")
	}
	f := &File{Filename: name, ContentType: ct, Size: len(b), CreatedAt: p.cfg.Clock()}
	err = p.cfg.Pool.QueryRow(ctx, `INSERT INTO open_files (developer_id, filename, content_type, size, content, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, developerOf(ctx), f.Filename, f.ContentType, f.Size, b, f.CreatedAt).Scan(&f.ID)
	return f, err
}

// QualificationIn submits a qualification (资质提交). Personal: realName,
// certNo (an 18-character resident ID number) and contact. Enterprise:
// enterpriseName, creditCode (GB 32100-2015, check character verified),
// licenceFileId (an uploaded file of the developer) and contact.
type QualificationIn struct {
	Kind           string `json:"kind" validate:"required,oneof=personal enterprise"`
	RealName       string `json:"realName" validate:"max=32" doc:"personal: the developer's real name"`
	CertNo         string `json:"certNo" validate:"max=18" doc:"personal: resident ID number"`
	EnterpriseName string `json:"enterpriseName" validate:"max=128" doc:"enterprise"`
	CreditCode     string `json:"creditCode" validate:"max=18" doc:"enterprise: unified social credit code (统一社会信用代码)"`
	LicenceFileID  int64  `json:"licenceFileId" doc:"enterprise: the business licence uploaded through /open/v1/files"`
	Contact        string `json:"contact" validate:"required,max=128" doc:"mobile or email of the contact"`
}

// Qualification is a submitted qualification; personal data masked.
type Qualification struct {
	ID             int64      `json:"id"`
	DeveloperID    string     `json:"developerId"`
	Account        string     `json:"account,omitempty"`
	Kind           string     `json:"kind"`
	Status         string     `json:"status" doc:"pending | approved | rejected"`
	RealName       string     `json:"realName,omitempty" doc:"masked"`
	CertNo         string     `json:"certNo,omitempty" doc:"masked"`
	Contact        string     `json:"contact" doc:"masked"`
	EnterpriseName string     `json:"enterpriseName,omitempty"`
	CreditCode     string     `json:"creditCode,omitempty"`
	Licence        *File      `json:"licence,omitempty"`
	Reason         string     `json:"reason,omitempty" doc:"why it was rejected"`
	ReviewedBy     string     `json:"reviewedBy,omitempty"`
	ReviewedAt     *time.Time `json:"reviewedAt,omitempty"`
	SubmittedAt    time.Time  `json:"submittedAt"`
	// Progress (认证进度) is the steps so far, for the progress view.
	Progress []Step `json:"progress"`
}

// Step is one step of a review's progress.
type Step struct {
	Name string     `json:"name" doc:"submitted | reviewing | approved | rejected"`
	Done bool       `json:"done"`
	At   *time.Time `json:"at,omitempty"`
}

const qualificationCols = `q.id, q.developer_id, d.account, q.kind, q.status, q.name_masked, q.cert_masked, q.contact_masked,
	q.enterprise_name, q.credit_code, f.id, f.filename, f.content_type, f.size, f.created_at, q.reason, q.reviewed_by, q.reviewed_at, q.submitted_at`

const qualificationFrom = ` FROM open_qualifications q JOIN open_developers d ON d.id = q.developer_id LEFT JOIN open_files f ON f.id = q.licence_file_id `

func scanQualification(r pgx.Row) (*Qualification, error) {
	var q Qualification
	var fid *int64
	var fname, fct *string
	var fsize *int
	var fat *time.Time
	err := r.Scan(&q.ID, &q.DeveloperID, &q.Account, &q.Kind, &q.Status, &q.RealName, &q.CertNo, &q.Contact,
		&q.EnterpriseName, &q.CreditCode, &fid, &fname, &fct, &fsize, &fat, &q.Reason, &q.ReviewedBy, &q.ReviewedAt, &q.SubmittedAt)
	if err != nil {
		return nil, err
	}
	if fid != nil {
		q.Licence = &File{ID: *fid, Filename: *fname, ContentType: *fct, Size: *fsize, CreatedAt: *fat}
	}
	submitted := q.SubmittedAt
	q.Progress = []Step{{Name: "submitted", Done: true, At: &submitted}, {Name: "reviewing", Done: q.Status != ReviewPending, At: q.ReviewedAt}}
	if q.Status != ReviewPending {
		q.Progress = append(q.Progress, Step{Name: q.Status, Done: true, At: q.ReviewedAt})
	}
	return &q, nil
}

func maskContact(s string) string {
	if strings.Contains(s, "@") {
		return maskEmail(s)
	}
	return persons.MaskMobile(s)
}

func (p *Portal) submitQualificationRoute(ctx context.Context, in *QualificationIn) (*Qualification, error) {
	dev := developerOf(ctx)
	contact := strings.TrimSpace(in.Contact)
	if !mobileRE.MatchString(contact) && !emailRE.MatchString(contact) {
		return nil, fault.Invalidf("parameter %q must be a mainland mobile number or an email address", "contact")
	}
	var name, cert [2]string
	var licence *int64
	enterprise, code := strings.TrimSpace(in.EnterpriseName), strings.ToUpper(strings.TrimSpace(in.CreditCode))
	var err error
	switch in.Kind {
	case KindPersonal:
		realName, certNo := strings.TrimSpace(in.RealName), strings.ToUpper(strings.TrimSpace(in.CertNo))
		if realName == "" {
			return nil, fault.Missing("realName")
		}
		if certNo == "" {
			return nil, fault.Missing("certNo")
		}
		if !persons.ValidResidentID(certNo) {
			return nil, fault.Invalidf("parameter %q is not a valid resident ID number (check character)", "certNo")
		}
		if name, err = p.sealed(realName, purposeName, persons.MaskName); err != nil {
			return nil, err
		}
		if cert, err = p.sealed(certNo, purposeCert, persons.MaskCertNo); err != nil {
			return nil, err
		}
		enterprise, code = "", ""
	case KindEnterprise:
		if enterprise == "" {
			return nil, fault.Missing("enterpriseName")
		}
		if code == "" {
			return nil, fault.Missing("creditCode")
		}
		if !persons.ValidSocialCreditCode(code) {
			return nil, fault.Invalidf("parameter %q is not a valid unified social credit code (GB 32100-2015 check character)", "creditCode")
		}
		if in.LicenceFileID == 0 {
			return nil, fault.Missing("licenceFileId")
		}
		licence = &in.LicenceFileID
	}
	sealedContact, err := p.sealed(contact, purposeContact, maskContact)
	if err != nil {
		return nil, err
	}
	var ob outbox
	var out *Qualification
	err = store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		var cert2 string
		if err := tx.QueryRow(ctx, `SELECT certification FROM open_developers WHERE id = $1 FOR UPDATE`, dev).Scan(&cert2); err != nil {
			return err
		}
		if cert2 == ReviewApproved {
			return fault.Conflictf(fault.CodeFailedOperation, "the developer is already certified")
		}
		if licence != nil {
			var owned bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM open_files WHERE id = $1 AND developer_id = $2)`, *licence, dev).Scan(&owned); err != nil {
				return err
			}
			if !owned {
				// Another developer's file is as absent as none.
				return fault.Invalidf("parameter %q: no uploaded file %d", "licenceFileId", *licence)
			}
		}
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO open_qualifications (developer_id, platform_id, kind, name_sealed, name_masked, cert_sealed, cert_masked,
				contact_sealed, contact_masked, enterprise_name, credit_code, licence_file_id, submitted_at)
			SELECT id, platform_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 FROM open_developers WHERE id = $1 RETURNING id`,
			dev, in.Kind, name[0], name[1], cert[0], cert[1], sealedContact[0], sealedContact[1], enterprise, code, licence, p.cfg.Clock()).Scan(&id)
		if store.IsUniqueViolation(err, "open_qualifications_one_pending") {
			return fault.Conflictf(fault.CodeFailedOperation, "a qualification is already waiting for review")
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE open_developers SET certification = 'pending', updated_at = $2 WHERE id = $1`, dev, p.cfg.Clock()); err != nil {
			return err
		}
		if err := p.notify(ctx, tx, &ob, dev, "qualification.submitted", map[string]string{"kind": kindName(in.Kind)}); err != nil {
			return err
		}
		out, err = scanQualification(tx.QueryRow(ctx, `SELECT `+qualificationCols+qualificationFrom+`WHERE q.id = $1`, id))
		return err
	})
	if err != nil {
		return nil, err
	}
	p.deliver(ctx, &ob)
	return out, nil
}

func kindName(kind string) string {
	if kind == KindEnterprise {
		return "企业开发者"
	}
	return "个人开发者"
}

// QualificationList is a developer's qualifications, newest first.
type QualificationList struct {
	Items []Qualification `json:"items"`
}

func (p *Portal) myQualificationsRoute(ctx context.Context, _ *httpapi.Empty) (*QualificationList, error) {
	rows, err := p.cfg.Pool.Query(ctx, `SELECT `+qualificationCols+qualificationFrom+`WHERE q.developer_id = $1 ORDER BY q.id DESC LIMIT 100`, developerOf(ctx))
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Qualification, error) {
		q, err := scanQualification(r)
		if err != nil {
			return Qualification{}, err
		}
		return *q, nil
	})
	if err != nil {
		return nil, err
	}
	return &QualificationList{Items: append([]Qualification{}, items...)}, nil
}

// QualificationsIn filters qualifications for review (资质审核).
type QualificationsIn struct {
	Status      string `query:"status" validate:"omitempty,oneof=pending approved rejected"`
	Kind        string `query:"kind" validate:"omitempty,oneof=personal enterprise"`
	DeveloperID string `query:"developerId" validate:"max=16"`
	PageIn
}

// QualificationPage is a page of qualifications.
type QualificationPage struct {
	Total int64           `json:"total"`
	Items []Qualification `json:"items"`
}

func (p *Portal) qualificationsRoute(ctx context.Context, in *QualificationsIn) (*QualificationPage, error) {
	where, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "q.platform_id"}, 1)
	for _, f := range []struct{ col, v string }{{"q.status", in.Status}, {"q.kind", in.Kind}, {"q.developer_id", in.DeveloperID}} {
		if f.v != "" {
			args = append(args, f.v)
			where += fmt.Sprintf(" AND %s = $%d", f.col, len(args))
		}
	}
	out := &QualificationPage{Items: []Qualification{}}
	if err := p.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM open_qualifications q WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := p.cfg.Pool.Query(ctx, fmt.Sprintf(`SELECT %s %s WHERE %s ORDER BY q.submitted_at DESC, q.id DESC LIMIT %d OFFSET %d`,
		qualificationCols, qualificationFrom, where, limit, offset), args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Qualification, error) {
		q, err := scanQualification(r)
		if err != nil {
			return Qualification{}, err
		}
		return *q, nil
	})
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, items...)
	return out, nil
}

// QualificationIDIn names a qualification.
type QualificationIDIn struct {
	ID int64 `path:"id" validate:"required,min=1"`
}

// qualificationInScope reads a qualification the caller's scope holds.
func (p *Portal) qualificationInScope(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id int64, lock bool) (*Qualification, error) {
	sql := `SELECT ` + qualificationCols + `, q.platform_id` + qualificationFrom + `WHERE q.id = $1`
	if lock {
		sql += ` FOR UPDATE OF q`
	}
	var platformID string
	var out *Qualification
	row := q.QueryRow(ctx, sql, id)
	out, err := scanQualification(scanTail{row, &platformID})
	if store.NoRows(err) || err == nil && !policy.ScopeFrom(ctx).Contains(platformID, "", "") {
		return nil, fault.NotFoundf("qualification %d not found", id)
	}
	return out, err
}

// scanTail scans a row whose last column is read into tail.
type scanTail struct {
	r    pgx.Row
	tail *string
}

func (s scanTail) Scan(dest ...any) error { return s.r.Scan(append(dest, s.tail)...) }

func (p *Portal) qualificationRoute(ctx context.Context, in *QualificationIDIn) (*Qualification, error) {
	return p.qualificationInScope(ctx, p.cfg.Pool, in.ID, false)
}

// ReviewIn approves or rejects.
type ReviewIn struct {
	ID      int64  `path:"id" validate:"required,min=1"`
	Approve *bool  `json:"approve" validate:"required" doc:"true: approve; false: reject (reason required)"`
	Reason  string `json:"reason" validate:"max=200" doc:"required to reject; told to the developer"`
}

func (in *ReviewIn) check() error {
	if !*in.Approve && strings.TrimSpace(in.Reason) == "" {
		return fault.Missing("reason")
	}
	return nil
}

func (p *Portal) reviewQualificationRoute(ctx context.Context, in *ReviewIn) (*Qualification, error) {
	if err := in.check(); err != nil {
		return nil, err
	}
	var ob outbox
	var out *Qualification
	err := store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		q, err := p.qualificationInScope(ctx, tx, in.ID, true)
		if err != nil {
			return err
		}
		if q.Status != ReviewPending {
			return fault.Conflictf(fault.CodeFailedOperation, "qualification %d is already %s", in.ID, q.Status)
		}
		status, reason, now := ReviewRejected, strings.TrimSpace(in.Reason), p.cfg.Clock()
		if *in.Approve {
			status = ReviewApproved
		}
		if _, err := tx.Exec(ctx, `UPDATE open_qualifications SET status = $2, reason = $3, reviewed_by = $4, reviewed_at = $5 WHERE id = $1`,
			in.ID, status, reason, actor.AccountOf(ctx), now); err != nil {
			return err
		}
		// An approval certifies the developer; a rejection of a later
		// submission leaves an earlier approval standing (it cannot be
		// made: submitting needs an uncertified developer).
		if _, err := tx.Exec(ctx, `UPDATE open_developers SET certification = $2, cert_kind = CASE WHEN $2 = 'approved' THEN $3 ELSE cert_kind END,
			updated_at = $4 WHERE id = $1`, q.DeveloperID, status, q.Kind, now); err != nil {
			return err
		}
		if err := p.notify(ctx, tx, &ob, q.DeveloperID, "qualification."+status,
			map[string]string{"kind": kindName(q.Kind), "reason": reason}); err != nil {
			return err
		}
		out, err = p.qualificationInScope(ctx, tx, in.ID, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.deliver(ctx, &ob)
	return out, nil
}

// licence is a licence file being downloaded.
type licence struct {
	name, contentType string
	content           []byte
}

func (l *licence) ContentType() string { return l.contentType }
func (l *licence) Filename() string    { return l.name }
func (l *licence) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(l.content)
	return err
}

// licenceRoute downloads a qualification's business licence: for
// administrators of its scope only (the route is a console one, recorded
// in the data-security log).
func (p *Portal) licenceRoute(ctx context.Context, in *QualificationIDIn) (*licence, error) {
	q, err := p.qualificationInScope(ctx, p.cfg.Pool, in.ID, false)
	if err != nil {
		return nil, err
	}
	if q.Licence == nil {
		return nil, fault.NotFoundf("qualification %d has no licence file", in.ID)
	}
	l := &licence{}
	err = p.cfg.Pool.QueryRow(ctx, `SELECT filename, content_type, content FROM open_files WHERE id = $1`, q.Licence.ID).Scan(&l.name, &l.contentType, &l.content)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("qualification %d has no licence file", in.ID)
	}
	return l, err
}
