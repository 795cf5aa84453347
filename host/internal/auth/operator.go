package auth

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Status values of operators and roles.
const (
	StatusEnabled  = "enabled"
	StatusDisabled = "disabled"
)

// mobilePurpose is the Sealer purpose (and blind-index purpose) of
// operators' mobile numbers.
const mobilePurpose = "operator-mobile"

// Operator is a console account as the console sees it. Mobile is masked.
type Operator struct {
	ID                 int64              `json:"id"`
	Account            string             `json:"account"`
	Name               string             `json:"name"`
	Mobile             string             `json:"mobile" doc:"masked, e.g. 138****5678"`
	Email              string             `json:"email"`
	Type               actor.OperatorType `json:"type" doc:"root | platform_admin | staff"`
	PlatformID         string             `json:"platformId"`
	RegionCode         string             `json:"regionCode" doc:"non-empty for region accounts"`
	DepartmentID       string             `json:"departmentId"`
	ParentID           int64              `json:"parentId,omitempty" doc:"the creating staff member, for sub-accounts"`
	ObjectTypes        []string           `json:"objectTypes"`
	RoleIDs            []int64            `json:"roleIds"`
	Status             string             `json:"status" doc:"enabled | disabled"`
	MustChangePassword bool               `json:"mustChangePassword"`
	FailedLogins       int                `json:"failedLogins"`
	LockedUntil        *time.Time         `json:"lockedUntil,omitempty"`
	LastLoginAt        *time.Time         `json:"lastLoginAt,omitempty"`
	LastLoginIP        string             `json:"lastLoginIp"`
	CreatedAt          time.Time          `json:"createdAt"`
	UpdatedAt          time.Time          `json:"updatedAt"`
}

// OperatorInput creates or updates an operator. On update, Account and
// PlatformID may be omitted and must not change; a Mobile equal to the
// masked current number keeps the number.
type OperatorInput struct {
	Account      string             `json:"account" validate:"max=64" doc:"3-64 of A-Z a-z 0-9 _ . @ -; required on creation"`
	Name         string             `json:"name" validate:"required,max=64"`
	Mobile       string             `json:"mobile" validate:"max=32" doc:"stored sealed; answered masked"`
	Email        string             `json:"email" validate:"omitempty,email,max=128"`
	Type         actor.OperatorType `json:"type" validate:"omitempty,oneof=root platform_admin staff" doc:"platform_admin | staff (default staff)"`
	PlatformID   string             `json:"platformId" validate:"max=32" doc:"default: the caller's platform"`
	RegionCode   string             `json:"regionCode" validate:"max=32" doc:"confines the account to this region prefix"`
	DepartmentID string             `json:"departmentId" validate:"max=64"`
	ObjectTypes  []string           `json:"objectTypes" validate:"max=100" doc:"object types a staff account is confined to; empty = any"`
	RoleIDs      []int64            `json:"roleIds" validate:"max=100" doc:"roles of the operator's platform"`
	Status       string             `json:"status" validate:"omitempty,oneof=enabled disabled" doc:"default enabled"`
}

// OperatorFilter selects operators for a list.
type OperatorFilter struct {
	Keyword    string `query:"keyword" validate:"max=64" doc:"part of the account or name"`
	Mobile     string `query:"mobile" validate:"max=32" doc:"exact mobile number"`
	Status     string `query:"status" validate:"omitempty,oneof=enabled disabled"`
	Type       string `query:"type" validate:"omitempty,oneof=root platform_admin staff"`
	PlatformID string `query:"platformId" validate:"max=32"`
	PageNo     int    `query:"pageNo" validate:"min=0"`
	PageSize   int    `query:"pageSize" validate:"min=0,max=500"`
}

// OperatorPage is one page of operators.
type OperatorPage struct {
	Total int64       `json:"total"`
	Items []*Operator `json:"items"`
}

// NewOperator is a created operator and its one-time password, shown once.
type NewOperator struct {
	Operator *Operator `json:"operator"`
	Password string    `json:"password" doc:"one-time password; must be changed at first login; shown only now"`
}

var (
	accountRE    = regexp.MustCompile(`^[A-Za-z0-9_.@-]{3,64}$`)
	regionRE     = regexp.MustCompile(`^[0-9A-Za-z]{1,32}$`)
	objectTypeRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
)

func checkAccount(account string) error {
	if account == "" {
		return fault.Missing("account")
	}
	if !accountRE.MatchString(account) {
		return fault.Invalidf("parameter %q must be 3 to 64 of A-Z a-z 0-9 _ . @ -", "account")
	}
	return nil
}

func checkRegion(code string) error {
	if code != "" && !regionRE.MatchString(code) {
		return fault.Invalidf("parameter %q must be letters and digits", "regionCode")
	}
	return nil
}

// normalizeObjectTypes checks, de-duplicates and sorts object types.
func normalizeObjectTypes(ts []string) ([]string, error) {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		if !objectTypeRE.MatchString(t) {
			return nil, fault.Invalidf("parameter %q holds an invalid object type %q", "objectTypes", t)
		}
		out = append(out, t)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// normalizeMobile strips spaces and dashes and checks the number: an
// optional "+" and 7 to 15 digits (E.164 length).
func normalizeMobile(m string) (string, error) {
	m = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(m))
	digits := strings.TrimPrefix(m, "+")
	if len(digits) < 7 || len(digits) > 15 || strings.Trim(digits, "0123456789") != "" {
		return "", fault.Invalidf("parameter %q must be a phone number", "mobile")
	}
	return m, nil
}

// maskMobile keeps the first three and last four digits of a mobile number
// (138****5678), two and two of shorter ones.
func maskMobile(m string) string {
	head, tail := 3, 4
	if len(m) < 11 {
		head, tail = 2, 2
	}
	if len(m) <= head+tail {
		return strings.Repeat("*", len(m))
	}
	return m[:head] + strings.Repeat("*", len(m)-head-tail) + m[len(m)-tail:]
}

// caller returns the actor in ctx or an error when there is none.
func caller(ctx context.Context) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind == actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeSessionExpired, "log in first")
	}
	return a, nil
}

func operatorResource(o *Operator) *policy.Resource {
	return &policy.Resource{PlatformID: o.PlatformID, RegionCode: o.RegionCode}
}

// withoutDims drops scope dimensions a table has no column for, on purpose:
// operators and roles are not objects (no object type), and roles are
// platform-wide (no region). A scope that restricted only those dimensions
// becomes All; the zero scope stays empty.
func withoutDims(sc policy.Scope, region bool) policy.Scope {
	had := len(sc.PlatformIDs) > 0 || len(sc.RegionPrefixes) > 0 || len(sc.ObjectTypes) > 0
	sc.ObjectTypes = nil
	if region {
		sc.RegionPrefixes = nil
	}
	if had && len(sc.PlatformIDs) == 0 && len(sc.RegionPrefixes) == 0 {
		sc.All = true
	}
	return sc
}

// ListOperators lists the operators in the caller's data scope (from the
// context, as the HTTP layer put it there) matching f, newest first.
func (s *Service) ListOperators(ctx context.Context, f OperatorFilter) (*OperatorPage, error) {
	var w where
	clause, args := withoutDims(policy.ScopeFrom(ctx), false).SQL(policy.ScopeColumns{Platform: "o.platform_id", Region: "o.region_code"}, w.next())
	w.addRaw(clause, args)
	if f.Keyword != "" {
		w.add("(o.account ILIKE ? OR o.name ILIKE ?)", likeContains(f.Keyword))
	}
	if f.Mobile != "" {
		m, err := normalizeMobile(f.Mobile)
		if err != nil {
			return nil, err
		}
		w.add("o.mobile_index = ?", s.sealer.BlindIndex(m, mobilePurpose))
	}
	if f.Status != "" {
		w.add("o.status = ?", f.Status)
	}
	if f.Type != "" {
		w.add("o.type = ?", f.Type)
	}
	if f.PlatformID != "" {
		w.add("o.platform_id = ?", f.PlatformID)
	}
	limit, offset := page(f.PageNo, f.PageSize)
	items, total, err := s.listOperators(ctx, &w, limit, offset)
	if err != nil {
		return nil, err
	}
	return &OperatorPage{Total: total, Items: items}, nil
}

// GetOperator returns one operator; another platform's or region's is
// refused (403).
func (s *Service) GetOperator(ctx context.Context, id int64) (*Operator, error) {
	o, err := s.getOperator(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "operator.read", operatorResource(o)); err != nil {
		return nil, err
	}
	return o, nil
}

// requestedGrant is what an operator of platformID and type t with these
// roles, object types and region holds, as a grant request: platform
// administrators (and root) hold every permission ("*"); roles of other
// platforms grant nothing.
func (s *Service) requestedGrant(ctx context.Context, q querier, platformID string, t actor.OperatorType, roleIDs []int64, objectTypes []string, region string) (policy.Grant, error) {
	perms, err := rolePermissions(ctx, q, platformID, roleIDs)
	if err != nil {
		return policy.Grant{}, err
	}
	if t != actor.Staff {
		perms = append([]string{"*"}, perms...)
	}
	return policy.Grant{Permissions: perms, ObjectTypes: objectTypes, RegionCode: region}, nil
}

// checkGrant refuses (403, listing the violations) a grant that exceeds the
// caller's own permissions, object types or region.
func (s *Service) checkGrant(ctx context.Context, g policy.Grant, what string) error {
	d, err := s.authz.CheckGrant(ctx, policy.GrantInput{Parent: policy.SubjectFromActor(actor.From(ctx)), Requested: g})
	if err != nil {
		return fmt.Errorf("auth: check grant: %w", err)
	}
	if !d.Allow {
		return fault.Deniedf("%s exceeds what you hold: %s", what, strings.Join(d.Violations, "; "))
	}
	return nil
}

// mayManage checks that the caller may change operator o at all: only root
// touches root, and nobody manages an operator holding more than the caller
// (a staff member resetting an administrator's password would take it over).
func (s *Service) mayManage(ctx context.Context, q querier, a *actor.Actor, o *Operator) error {
	if o.Type == actor.Root {
		if a.OperatorType != actor.Root {
			return fault.Deniedf("only the initial administrator may change the initial administrator")
		}
		return nil
	}
	g, err := s.requestedGrant(ctx, q, o.PlatformID, o.Type, o.RoleIDs, o.ObjectTypes, o.RegionCode)
	if err != nil {
		return err
	}
	return s.checkGrant(ctx, g, fmt.Sprintf("operator %s", o.Account))
}

// checkRoles checks that every role exists and belongs to platformID.
func (s *Service) checkRoles(ctx context.Context, q querier, platformID string, ids []int64) error {
	platforms, err := s.rolePlatforms(ctx, q, ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		p, ok := platforms[id]
		if !ok {
			return fault.Invalidf("role %d does not exist", id)
		}
		if p != platformID {
			return fault.Invalidf("role %d belongs to another platform", id)
		}
	}
	return nil
}

// CreateOperator creates an operator with a one-time password. The caller
// may only create within its data scope and may not grant more than it
// holds; staff callers create sub-accounts (parentId = caller).
func (s *Service) CreateOperator(ctx context.Context, in OperatorInput) (*NewOperator, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkAccount(in.Account); err != nil {
		return nil, err
	}
	if in.Type == "" {
		in.Type = actor.Staff
	}
	if in.PlatformID == "" {
		in.PlatformID = a.PlatformID
	}
	if in.Status == "" {
		in.Status = StatusEnabled
	}
	if in.Type == actor.Root {
		return nil, fault.Deniedf("the initial administrator is created at first start, not through the console")
	}
	rec, err := s.operatorRecord(in)
	if err != nil {
		return nil, err
	}
	// The grant is checked first so that a refusal lists every violation;
	// roles of other platforms add nothing to it and are refused below.
	in.RoleIDs = uniqueIDs(in.RoleIDs)
	g, err := s.requestedGrant(ctx, s.pool, rec.PlatformID, rec.Type, in.RoleIDs, rec.ObjectTypes, rec.RegionCode)
	if err != nil {
		return nil, err
	}
	if err := s.checkGrant(ctx, g, "the new operator's grant"); err != nil {
		return nil, err
	}
	if _, err := s.authz.Require(ctx, "operator.create", &policy.Resource{PlatformID: rec.PlatformID, RegionCode: rec.RegionCode}); err != nil {
		return nil, err
	}
	if err := s.checkRoles(ctx, s.pool, rec.PlatformID, in.RoleIDs); err != nil {
		return nil, err
	}
	if a.Kind == actor.KindOperator && a.OperatorType == actor.Staff {
		rec.ParentID = a.OperatorID
	}
	password := oneTimePassword()
	rec.PasswordHash, rec.MustChange, rec.CreatedBy = s.pw.Hash(password), true, a.OperatorID
	var op *Operator
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		id, err := s.insertOperator(ctx, tx, rec)
		if err != nil {
			return err
		}
		if err := setOperatorRoles(ctx, tx, id, in.RoleIDs); err != nil {
			return err
		}
		op, err = s.getOperator(ctx, tx, id, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &NewOperator{Operator: op, Password: password}, nil
}

// operatorRecord validates and converts the mutable fields of in.
func (s *Service) operatorRecord(in OperatorInput) (*operatorRecord, error) {
	if strings.TrimSpace(in.Name) == "" {
		return nil, fault.Missing("name")
	}
	if err := checkRegion(in.RegionCode); err != nil {
		return nil, err
	}
	ots, err := normalizeObjectTypes(in.ObjectTypes)
	if err != nil {
		return nil, err
	}
	rec := &operatorRecord{
		Account: in.Account, Name: strings.TrimSpace(in.Name), Email: in.Email, Type: in.Type,
		PlatformID: in.PlatformID, RegionCode: in.RegionCode, DepartmentID: in.DepartmentID,
		ObjectTypes: ots, Status: in.Status,
	}
	if in.Mobile != "" {
		m, err := normalizeMobile(in.Mobile)
		if err != nil {
			return nil, err
		}
		if rec.MobileSealed, err = s.sealer.Seal([]byte(m), mobilePurpose); err != nil {
			return nil, fmt.Errorf("auth: seal mobile: %w", err)
		}
		rec.MobileIndex = s.sealer.BlindIndex(m, mobilePurpose)
	}
	return rec, nil
}

// UpdateOperator replaces an operator's mutable fields. The caller must be
// allowed to manage the operator as it is and to grant what it becomes.
func (s *Service) UpdateOperator(ctx context.Context, id int64, in OperatorInput) (*Operator, error) {
	a, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	var op *Operator
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := s.getOperator(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if _, err := s.authz.Require(ctx, "operator.update", operatorResource(cur)); err != nil {
			return err
		}
		if err := s.mayManage(ctx, tx, a, cur); err != nil {
			return err
		}
		if in.Account != "" && !strings.EqualFold(in.Account, cur.Account) {
			return fault.Invalidf("the account of an operator cannot be changed")
		}
		if in.PlatformID != "" && in.PlatformID != cur.PlatformID {
			return fault.Invalidf("the platform of an operator cannot be changed")
		}
		in.Account, in.PlatformID = cur.Account, cur.PlatformID
		if in.Type == "" {
			in.Type = cur.Type
		}
		if (in.Type == actor.Root) != (cur.Type == actor.Root) {
			return fault.Deniedf("the initial administrator's type cannot be given or taken away")
		}
		if in.Status == "" {
			in.Status = cur.Status
		}
		keepMobile := in.Mobile != "" && in.Mobile == cur.Mobile
		if keepMobile {
			in.Mobile = ""
		}
		rec, err := s.operatorRecord(in)
		if err != nil {
			return err
		}
		if in.Status != cur.Status {
			if err := s.checkStatusChange(ctx, a, cur, in.Status); err != nil {
				return err
			}
		}
		in.RoleIDs = uniqueIDs(in.RoleIDs)
		if rec.Type != actor.Root {
			g, err := s.requestedGrant(ctx, tx, cur.PlatformID, rec.Type, in.RoleIDs, rec.ObjectTypes, rec.RegionCode)
			if err != nil {
				return err
			}
			if err := s.checkGrant(ctx, g, "the operator's new grant"); err != nil {
				return err
			}
		}
		if rec.RegionCode != cur.RegionCode {
			if _, err := s.authz.Require(ctx, "operator.update", &policy.Resource{PlatformID: rec.PlatformID, RegionCode: rec.RegionCode}); err != nil {
				return err
			}
		}
		if err := s.checkRoles(ctx, tx, cur.PlatformID, in.RoleIDs); err != nil {
			return err
		}
		if err := s.updateOperator(ctx, tx, id, rec, keepMobile); err != nil {
			return err
		}
		if err := setOperatorRoles(ctx, tx, id, in.RoleIDs); err != nil {
			return err
		}
		if rec.Status == StatusDisabled {
			if err := revokeSessions(ctx, tx, id, ""); err != nil {
				return err
			}
		}
		op, err = s.getOperator(ctx, tx, id, false)
		return err
	})
	return op, err
}

// checkStatusChange authorizes enabling or disabling o: the enable/disable
// permission, and never one's own account.
func (s *Service) checkStatusChange(ctx context.Context, a *actor.Actor, o *Operator, status string) error {
	action := "operator.enable"
	if status == StatusDisabled {
		action = "operator.disable"
		if a.Kind == actor.KindOperator && a.OperatorID == o.ID {
			return fault.Deniedf("you cannot disable your own account")
		}
	}
	_, err := s.authz.Require(ctx, action, operatorResource(o))
	return err
}

// SetOperatorStatus enables or disables an operator. Disabling ends its
// sessions at once.
func (s *Service) SetOperatorStatus(ctx context.Context, id int64, enabled bool) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	status := StatusDisabled
	if enabled {
		status = StatusEnabled
	}
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := s.getOperator(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if err := s.checkStatusChange(ctx, a, o, status); err != nil {
			return err
		}
		if err := s.mayManage(ctx, tx, a, o); err != nil {
			return err
		}
		if err := setOperatorStatus(ctx, tx, id, status, s.now()); err != nil {
			return err
		}
		if !enabled {
			return revokeSessions(ctx, tx, id, "")
		}
		return nil
	})
}

// DeleteOperators deletes operators, all or none. An operator cannot delete
// itself; one with sub-accounts is refused unless they go in the same call.
func (s *Service) DeleteOperators(ctx context.Context, ids []int64) error {
	a, err := caller(ctx)
	if err != nil {
		return err
	}
	ids = uniqueIDs(ids)
	if len(ids) == 0 {
		return fault.Missing("ids")
	}
	return store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		for _, id := range ids {
			o, err := s.getOperator(ctx, tx, id, true)
			if err != nil {
				return err
			}
			if _, err := s.authz.Require(ctx, "operator.delete", operatorResource(o)); err != nil {
				return err
			}
			if a.Kind == actor.KindOperator && a.OperatorID == o.ID {
				return fault.Deniedf("you cannot delete your own account")
			}
			if o.Type == actor.Root {
				return fault.Deniedf("the initial administrator cannot be deleted")
			}
			if err := s.mayManage(ctx, tx, a, o); err != nil {
				return err
			}
		}
		return deleteOperators(ctx, tx, ids)
	})
}

// ResetPassword gives an operator a new one-time password (returned, to be
// shown once), requires a change at the next login, clears any lockout and
// ends the operator's sessions.
func (s *Service) ResetPassword(ctx context.Context, id int64) (string, error) {
	a, err := caller(ctx)
	if err != nil {
		return "", err
	}
	password := oneTimePassword()
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		o, err := s.getOperator(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if _, err := s.authz.Require(ctx, "operator.reset_password", operatorResource(o)); err != nil {
			return err
		}
		if err := s.mayManage(ctx, tx, a, o); err != nil {
			return err
		}
		if err := setPassword(ctx, tx, id, s.pw.Hash(password), true, s.now()); err != nil {
			return err
		}
		return revokeSessions(ctx, tx, id, "")
	})
	if err != nil {
		return "", err
	}
	return password, nil
}

// CreatePlatformAdmin creates the administrator of a new platform inside the
// caller's transaction tx (tenancy's, creating the platform) and returns its
// one-time password. The caller has authorized platform creation. An
// existing account answers a *fault.Error with ResourceAlreadyExists without
// aborting tx.
func (s *Service) CreatePlatformAdmin(ctx context.Context, tx pgx.Tx, platformID, account, regionCode string) (string, error) {
	if platformID == "" {
		return "", fault.Missing("platformId")
	}
	if err := checkAccount(account); err != nil {
		return "", err
	}
	if err := checkRegion(regionCode); err != nil {
		return "", err
	}
	password := oneTimePassword()
	rec := &operatorRecord{
		Account: account, Name: account, Type: actor.PlatformAdmin, PlatformID: platformID,
		RegionCode: regionCode, Status: StatusEnabled, PasswordHash: s.pw.Hash(password), MustChange: true,
	}
	if a := actor.From(ctx); a != nil {
		rec.CreatedBy = a.OperatorID
	}
	if _, err := s.insertOperator(ctx, tx, rec); err != nil {
		return "", err
	}
	return password, nil
}

func uniqueIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// errAccountTaken is the answer to a duplicate account.
func errAccountTaken(account string) error {
	return fault.Conflictf(fault.CodeResourceAlreadyExists, "account %q already exists", account)
}
