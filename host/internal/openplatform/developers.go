package openplatform

// This file holds the developer portal (开发者门户): developers' accounts,
// sessions and profiles, and their administration (list, freeze, restore).

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// Seal purposes of the personal data the portal keeps.
const (
	purposeMobile  = "open-developer-mobile"
	purposeEmail   = "open-developer-email"
	purposeName    = "open-qualification-name"
	purposeCert    = "open-qualification-cert"
	purposeContact = "open-qualification-contact"
)

// Developer statuses.
const (
	StatusActive = "active"
	StatusFrozen = "frozen"
)

// AppMaker creates apps: tenancy.Service. The portal calls it as the
// system actor, on the main platform; DeleteApp undoes a creation the
// portal could not record.
type AppMaker interface {
	CreateApp(ctx context.Context, in *tenancy.CreateAppIn) (*tenancy.CreatedApp, error)
	DeleteApp(ctx context.Context, in *tenancy.AppIDIn) error
}

// LoginEvent is one developer login attempt, for the audit trail.
type LoginEvent struct {
	Account     string
	DeveloperID string // "" when no such developer
	IP          string
	UserAgent   string
	Success     bool
	Reason      string // the fault code of a failure
}

// PortalConfig wires the portal. Pool, Sealer, Grants and Apps are
// required.
type PortalConfig struct {
	Pool   *pgxpool.Pool
	Sealer *codec.Sealer // seals mobiles, emails and qualifications
	Grants *Grants       // the grants approved applications join
	Apps   AppMaker
	// Identity keeps accounts and passwords; nil: LocalAccounts on Pool.
	Identity Identity
	// Notifier delivers email and SMS; nil: RecordOnly.
	Notifier       Notifier
	MainPlatformID string        // default tenancy.MainPlatformID
	SessionIdle    time.Duration // default 30 min
	SessionMax     time.Duration // default 12 h
	// Logins is told about every login attempt; nil: nobody.
	Logins func(ctx context.Context, ev LoginEvent)
	Clock  func() time.Time
	Log    *slog.Logger
}

// Portal serves developers and the administrators who review them. It is
// safe for concurrent use.
type Portal struct {
	cfg PortalConfig
	log *slog.Logger
}

// ErrPortalConfig: NewPortal was given an incomplete configuration.
var ErrPortalConfig = errors.New("openplatform: incomplete portal configuration")

// NewPortal makes the portal.
func NewPortal(cfg PortalConfig) (*Portal, error) {
	if cfg.Pool == nil || cfg.Sealer == nil || cfg.Grants == nil || cfg.Apps == nil {
		return nil, ErrPortalConfig
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Identity == nil {
		cfg.Identity = NewLocalAccounts(LocalConfig{Pool: cfg.Pool, Clock: cfg.Clock})
	}
	if cfg.Notifier == nil {
		cfg.Notifier = RecordOnly{}
	}
	if cfg.MainPlatformID == "" {
		cfg.MainPlatformID = tenancy.MainPlatformID
	}
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.Logins == nil {
		cfg.Logins = func(context.Context, LoginEvent) {}
	}
	return &Portal{cfg: cfg, log: cfg.Log.With("component", "openplatform.portal")}, nil
}

var _ httpapi.DeveloperAuthenticator = (*Portal)(nil)

// Developer is a developer's account and profile; personal data masked.
type Developer struct {
	ID            string     `json:"id"`
	Account       string     `json:"account"`
	Provider      string     `json:"provider" doc:"identity provider: local"`
	Status        string     `json:"status" doc:"active | frozen"`
	FrozenReason  string     `json:"frozenReason,omitempty"`
	Certification string     `json:"certification" doc:"none | pending | approved | rejected: the latest qualification's review"`
	CertKind      string     `json:"certKind,omitempty" doc:"personal | enterprise, once approved"`
	Nickname      string     `json:"nickname"`
	AvatarURL     string     `json:"avatarUrl"`
	Bio           string     `json:"bio"`
	Skills        []string   `json:"skills" doc:"skill tags (技能标签)"`
	Mobile        string     `json:"mobile" doc:"masked"`
	Email         string     `json:"email" doc:"masked"`
	CreatedAt     time.Time  `json:"createdAt"`
	LastLoginAt   *time.Time `json:"lastLoginAt,omitempty"`
}

const developerCols = `id, account, provider, status, frozen_reason, certification, cert_kind, nickname, avatar_url, bio, skills,
	mobile_masked, email_masked, created_at, last_login_at`

func scanDeveloper(r pgx.Row) (*Developer, error) {
	var d Developer
	err := r.Scan(&d.ID, &d.Account, &d.Provider, &d.Status, &d.FrozenReason, &d.Certification, &d.CertKind, &d.Nickname,
		&d.AvatarURL, &d.Bio, &d.Skills, &d.Mobile, &d.Email, &d.CreatedAt, &d.LastLoginAt)
	if d.Skills == nil {
		d.Skills = []string{}
	}
	return &d, err
}

func (p *Portal) developer(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string) (*Developer, error) {
	d, err := scanDeveloper(q.QueryRow(ctx, `SELECT `+developerCols+` FROM open_developers WHERE id = $1`, id))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("developer %s not found", id)
	}
	return d, err
}

var (
	accountRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{3,31}$`)
	mobileRE  = regexp.MustCompile(`^1[3-9][0-9]{9}$`)
)

// RegisterIn registers a developer (开发者注册).
type RegisterIn struct {
	Account  string `json:"account" validate:"required,max=32" doc:"4 to 32 of a-z 0-9 _ . -, starting with a letter; case-insensitive"`
	Password string `json:"password" validate:"required,max=128" doc:"8 to 128 characters with letters and digits"`
	Nickname string `json:"nickname" validate:"max=32"`
	Mobile   string `json:"mobile" validate:"omitempty,max=11" doc:"mainland mobile number; stored sealed, shown masked"`
	Email    string `json:"email" validate:"omitempty,email,max=128" doc:"stored sealed, shown masked"`
}

func (p *Portal) registerRoute(ctx context.Context, in *RegisterIn) (*Developer, error) {
	account := strings.ToLower(strings.TrimSpace(in.Account))
	if !accountRE.MatchString(account) {
		return nil, fault.Invalidf("parameter %q must be 4 to 32 of a-z 0-9 _ . -, starting with a letter", "account")
	}
	if in.Mobile != "" && !mobileRE.MatchString(in.Mobile) {
		return nil, fault.Invalidf("parameter %q is not a mainland mobile number", "mobile")
	}
	mobile, err := p.sealed(in.Mobile, purposeMobile, persons.MaskMobile)
	if err != nil {
		return nil, err
	}
	email, err := p.sealed(in.Email, purposeEmail, maskEmail)
	if err != nil {
		return nil, err
	}
	var taken bool
	if err := p.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM open_developers WHERE account = $1)`, account).Scan(&taken); err != nil {
		return nil, err
	}
	if taken {
		return nil, errAccountTaken(account)
	}
	subject, err := p.cfg.Identity.Register(ctx, account, in.Password)
	if err != nil {
		return nil, err
	}
	now := p.cfg.Clock()
	nickname := strings.TrimSpace(in.Nickname)
	if nickname == "" {
		nickname = account
	}
	d, err := scanDeveloper(p.cfg.Pool.QueryRow(ctx, `INSERT INTO open_developers (id, account, provider, subject, platform_id, nickname,
			mobile_sealed, mobile_masked, email_sealed, email_masked, created_at, updated_at)
		VALUES ('DV' || lpad(nextval('open_developer_seq')::text, 8, '0'), $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
		RETURNING `+developerCols, account, p.cfg.Identity.Name(), subject, p.cfg.MainPlatformID, nickname,
		mobile[0], mobile[1], email[0], email[1], now))
	if store.IsUniqueViolation(err, "") {
		return nil, errAccountTaken(account)
	}
	return d, err
}

// sealed answers the sealed and masked forms of a personal value ("" and
// "" for none).
func (p *Portal) sealed(v, purpose string, mask func(string) string) ([2]string, error) {
	if v == "" {
		return [2]string{}, nil
	}
	s, err := p.cfg.Sealer.Seal([]byte(v), purpose)
	if err != nil {
		return [2]string{}, fmt.Errorf("openplatform: seal: %w", err)
	}
	return [2]string{s, mask(v)}, nil
}

// maskEmail keeps the first character of the local part and the domain:
// z***@example.cn.
func maskEmail(s string) string {
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" {
		return persons.MaskCertNo(s)
	}
	return local[:1] + "***@" + domain
}

// LoginIn logs a developer in.
type LoginIn struct {
	Account  string `json:"account" validate:"required,max=64"`
	Password string `json:"password" validate:"required,max=128"`
}

// Session is a new portal session.
type Session struct {
	Token     string     `json:"token" doc:"send as Authorization: Bearer <token> to the /open/v1 routes; console routes refuse it"`
	ExpiresAt time.Time  `json:"expiresAt" doc:"absolute end of the session; 30 minutes idle end it earlier"`
	Developer *Developer `json:"developer"`
}

const sessionTokenBytes = 32

// loginRoute checks the password with the identity provider, then the
// developer's status: a frozen developer is only told so once the
// password holds.
func (p *Portal) loginRoute(ctx context.Context, in *LoginIn) (*Session, error) {
	account := strings.ToLower(strings.TrimSpace(in.Account))
	ip, ua := httpapi.ClientInfo(ctx)
	ev := LoginEvent{Account: account, IP: ip, UserAgent: ua}
	fail := func(err error) (*Session, error) {
		if fault.KindOf(err) != fault.Internal {
			ev.Reason = fault.CodeOf(err)
			p.cfg.Logins(ctx, ev)
		}
		return nil, err
	}
	subject, err := p.cfg.Identity.Verify(ctx, account, in.Password)
	if err != nil {
		return fail(err)
	}
	var id, status string
	err = p.cfg.Pool.QueryRow(ctx, `SELECT id, status FROM open_developers WHERE provider = $1 AND subject = $2`,
		p.cfg.Identity.Name(), subject).Scan(&id, &status)
	if store.NoRows(err) {
		// An identity without a portal registration (a unified identity
		// user who never registered here).
		return fail(errBadCredential)
	}
	if err != nil {
		return nil, err
	}
	ev.DeveloperID = id
	if status == StatusFrozen {
		return fail(errFrozen)
	}
	token, now := codec.RandomToken(sessionTokenBytes), p.cfg.Clock()
	expires := now.Add(p.cfg.SessionMax)
	var d *Developer
	err = store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO open_sessions (token_hash, developer_id, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $3, $4)`,
			tokenHash(token), id, now, expires); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE open_developers SET last_login_at = $2 WHERE id = $1`, id, now); err != nil {
			return err
		}
		d, err = p.developer(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	ev.Success = true
	p.cfg.Logins(ctx, ev)
	return &Session{Token: token, ExpiresAt: expires, Developer: d}, nil
}

var errFrozen = fault.E(fault.Denied, fault.CodeAccountDisabled, "the developer account is frozen (已冻结); contact the platform")

func tokenHash(token string) []byte {
	h := codec.SM3([]byte(token))
	return h[:]
}

// Authenticate resolves a portal session token to its developer; it
// implements httpapi.DeveloperAuthenticator. Sessions end after SessionMax,
// or SessionIdle without a request (activity is recorded at most once a
// minute); a frozen developer's sessions are refused.
func (p *Portal) Authenticate(ctx context.Context, token string) (*actor.Actor, error) {
	expired := fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "the developer session has expired; log in again")
	if len(token) != 43 || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
		return nil, expired
	}
	h := tokenHash(token)
	var id, account, platformID, status string
	var lastSeen, expiresAt time.Time
	err := p.cfg.Pool.QueryRow(ctx, `SELECT d.id, d.account, d.platform_id, d.status, s.last_seen, s.expires_at
		FROM open_sessions s JOIN open_developers d ON d.id = s.developer_id WHERE s.token_hash = $1`, h).
		Scan(&id, &account, &platformID, &status, &lastSeen, &expiresAt)
	if store.NoRows(err) {
		return nil, expired
	}
	if err != nil {
		return nil, err
	}
	now := p.cfg.Clock()
	if !now.Before(expiresAt) || !now.Before(lastSeen.Add(p.cfg.SessionIdle)) {
		if _, err := p.cfg.Pool.Exec(ctx, `DELETE FROM open_sessions WHERE token_hash = $1`, h); err != nil {
			return nil, err
		}
		return nil, expired
	}
	if status == StatusFrozen {
		return nil, errFrozen
	}
	if now.Sub(lastSeen) >= time.Minute {
		if _, err := p.cfg.Pool.Exec(ctx, `UPDATE open_sessions SET last_seen = $2 WHERE token_hash = $1`, h, now); err != nil {
			return nil, err
		}
	}
	return &actor.Actor{Kind: actor.KindDeveloper, DeveloperID: id, Account: account, PlatformID: platformID,
		MainPlatform: platformID == p.cfg.MainPlatformID, SessionID: fmt.Sprintf("%x", h[:8])}, nil
}

func (p *Portal) logoutRoute(ctx context.Context, _ *httpapi.Empty) (*httpapi.Empty, error) {
	// The session's token is not in ctx, only its caller: every session
	// of the developer ends, as a logout on a shared machine should.
	_, err := p.cfg.Pool.Exec(ctx, `DELETE FROM open_sessions WHERE developer_id = $1`, developerOf(ctx))
	return &httpapi.Empty{}, err
}

func (p *Portal) meRoute(ctx context.Context, _ *httpapi.Empty) (*Developer, error) {
	return p.developer(ctx, p.cfg.Pool, developerOf(ctx))
}

// ProfileIn replaces the developer's profile (开发者基础信息). Mobile and
// email change only when given: their masked values cannot be sent back.
type ProfileIn struct {
	Nickname  string   `json:"nickname" validate:"required,max=32"`
	AvatarURL string   `json:"avatarUrl" validate:"omitempty,max=512,url" doc:"https URL of the avatar image"`
	Bio       string   `json:"bio" validate:"max=500"`
	Skills    []string `json:"skills" validate:"max=10,dive,required,max=20" doc:"up to 10 skill tags"`
	Mobile    *string  `json:"mobile,omitempty" doc:"absent: unchanged; empty: removed"`
	Email     *string  `json:"email,omitempty" validate:"omitempty,max=128" doc:"absent: unchanged; empty: removed"`
}

var emailRE = regexp.MustCompile(`^[^@\s]{1,64}@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)

func (p *Portal) profileRoute(ctx context.Context, in *ProfileIn) (*Developer, error) {
	if in.AvatarURL != "" && !strings.HasPrefix(in.AvatarURL, "https://") && !strings.HasPrefix(in.AvatarURL, "http://") {
		return nil, fault.Invalidf("parameter %q must be an http(s) URL", "avatarUrl")
	}
	skills := make([]string, 0, len(in.Skills))
	seen := map[string]bool{}
	for _, s := range in.Skills {
		s = strings.TrimSpace(s)
		if s != "" && !seen[s] {
			seen[s] = true
			skills = append(skills, s)
		}
	}
	sets := []string{"nickname = $2", "avatar_url = $3", "bio = $4", "skills = $5", "updated_at = $6"}
	args := []any{developerOf(ctx), strings.TrimSpace(in.Nickname), in.AvatarURL, in.Bio, skills, p.cfg.Clock()}
	if in.Mobile != nil {
		if *in.Mobile != "" && !mobileRE.MatchString(*in.Mobile) {
			return nil, fault.Invalidf("parameter %q is not a mainland mobile number", "mobile")
		}
		m, err := p.sealed(*in.Mobile, purposeMobile, persons.MaskMobile)
		if err != nil {
			return nil, err
		}
		args = append(args, m[0], m[1])
		sets = append(sets, fmt.Sprintf("mobile_sealed = $%d, mobile_masked = $%d", len(args)-1, len(args)))
	}
	if in.Email != nil {
		if *in.Email != "" && !emailRE.MatchString(*in.Email) {
			return nil, fault.Invalidf("parameter %q is not an email address", "email")
		}
		e, err := p.sealed(*in.Email, purposeEmail, maskEmail)
		if err != nil {
			return nil, err
		}
		args = append(args, e[0], e[1])
		sets = append(sets, fmt.Sprintf("email_sealed = $%d, email_masked = $%d", len(args)-1, len(args)))
	}
	d, err := scanDeveloper(p.cfg.Pool.QueryRow(ctx, `UPDATE open_developers SET `+strings.Join(sets, ", ")+` WHERE id = $1 RETURNING `+developerCols, args...))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("developer not found")
	}
	return d, err
}

// PageIn pages a list.
type PageIn struct {
	PageNo   int `query:"pageNo" validate:"omitempty,min=1,max=100000" doc:"1-based (default 1)"`
	PageSize int `query:"pageSize" validate:"omitempty,min=1,max=200" doc:"default 20, max 200"`
}

func (p PageIn) limits() (limit, offset int) {
	no, size := max(p.PageNo, 1), p.PageSize
	if size == 0 {
		size = 20
	}
	return size, (no - 1) * size
}

// DevelopersIn filters the developers (开发者账号管理).
type DevelopersIn struct {
	Keyword       string `query:"keyword" validate:"max=64" doc:"part of the account or nickname"`
	Status        string `query:"status" validate:"omitempty,oneof=active frozen"`
	Certification string `query:"certification" validate:"omitempty,oneof=none pending approved rejected"`
	PageIn
}

// DeveloperPage is a page of developers.
type DeveloperPage struct {
	Total int64       `json:"total"`
	Items []Developer `json:"items"`
}

func (p *Portal) developersRoute(ctx context.Context, in *DevelopersIn) (*DeveloperPage, error) {
	where, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 1)
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if kw := strings.TrimSpace(in.Keyword); kw != "" {
		add("(account LIKE lower($%[1]d) OR nickname ILIKE $%[1]d)", "%"+escapeLike(kw)+"%")
	}
	if in.Status != "" {
		add("status = $%d", in.Status)
	}
	if in.Certification != "" {
		add("certification = $%d", in.Certification)
	}
	out := &DeveloperPage{Items: []Developer{}}
	if err := p.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM open_developers WHERE `+where, args...).Scan(&out.Total); err != nil {
		return nil, err
	}
	limit, offset := in.limits()
	rows, err := p.cfg.Pool.Query(ctx, fmt.Sprintf(`SELECT %s FROM open_developers WHERE %s ORDER BY created_at DESC, id DESC LIMIT %d OFFSET %d`,
		developerCols, where, limit, offset), args...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Developer, error) {
		d, err := scanDeveloper(r)
		return *d, err
	})
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, items...)
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// DeveloperIDIn names a developer.
type DeveloperIDIn struct {
	ID string `path:"id" validate:"required,max=16"`
}

// inScope answers NotFound for a developer outside the caller's scope.
func (p *Portal) inScope(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, id string, lock bool) (status string, err error) {
	var platformID string
	sql := `SELECT platform_id, status FROM open_developers WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	err = q.QueryRow(ctx, sql, id).Scan(&platformID, &status)
	if store.NoRows(err) || err == nil && !policy.ScopeFrom(ctx).Contains(platformID, "", "") {
		return "", fault.NotFoundf("developer %s not found", id)
	}
	return status, err
}

// DeveloperDetail is a developer with its apps, for administrators.
type DeveloperDetail struct {
	Developer
	Apps []PortalApp `json:"apps"`
}

func (p *Portal) developerRoute(ctx context.Context, in *DeveloperIDIn) (*DeveloperDetail, error) {
	if _, err := p.inScope(ctx, p.cfg.Pool, in.ID, false); err != nil {
		return nil, err
	}
	d, err := p.developer(ctx, p.cfg.Pool, in.ID)
	if err != nil {
		return nil, err
	}
	apps, err := p.appsOf(ctx, in.ID, &AppsIn{})
	if err != nil {
		return nil, err
	}
	return &DeveloperDetail{Developer: *d, Apps: apps.Items}, nil
}

// FreezeIn freezes a developer.
type FreezeIn struct {
	ID     string `path:"id" validate:"required,max=16"`
	Reason string `json:"reason" validate:"required,max=200" doc:"told to the developer"`
}

// freezeRoute freezes a developer (冻结): its sessions end, it cannot log
// in, and its apps' signed calls are refused (UnauthorizedOperation) on
// every node within the grants' reload period.
func (p *Portal) freezeRoute(ctx context.Context, in *FreezeIn) (*Developer, error) {
	return p.setStatus(ctx, in.ID, StatusFrozen, strings.TrimSpace(in.Reason))
}

func (p *Portal) restoreRoute(ctx context.Context, in *DeveloperIDIn) (*Developer, error) {
	return p.setStatus(ctx, in.ID, StatusActive, "")
}

func (p *Portal) setStatus(ctx context.Context, id, status, reason string) (*Developer, error) {
	var ob outbox
	var d *Developer
	err := store.Tx(ctx, p.cfg.Pool, func(tx pgx.Tx) error {
		cur, err := p.inScope(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if cur == status {
			return fault.Conflictf(fault.CodeFailedOperation, "developer %s is already %s", id, status)
		}
		if _, err := tx.Exec(ctx, `UPDATE open_developers SET status = $2, frozen_reason = $3, updated_at = $4 WHERE id = $1`,
			id, status, reason, p.cfg.Clock()); err != nil {
			return err
		}
		template := "developer.restored"
		if status == StatusFrozen {
			template = "developer.frozen"
			if _, err := tx.Exec(ctx, `DELETE FROM open_sessions WHERE developer_id = $1`, id); err != nil {
				return err
			}
		}
		if err := p.notify(ctx, tx, &ob, id, template, map[string]string{"reason": reason}); err != nil {
			return err
		}
		d, err = p.developer(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.cfg.Grants.invalidate()
	p.deliver(ctx, &ob)
	return d, nil
}

func isNoRows(err error) bool { return store.NoRows(err) }
