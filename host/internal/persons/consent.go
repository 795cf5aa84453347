package persons

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// MaxAuthorization bounds how long one scene authorization lasts.
const MaxAuthorization = 366 * 24 * time.Hour

// Authorize records that the person behind (appID, userID) allows orgID (an
// accepting organisation, acceptOrgId) to see their identity in full when
// it decodes their codes, until now+validFor. Granting again renews it.
func (s *Service) Authorize(ctx context.Context, appID, userID, orgID string, validFor time.Duration) (time.Time, error) {
	if orgID == "" {
		return time.Time{}, fault.Missing("acceptOrgId")
	}
	if validFor <= 0 || validFor > MaxAuthorization {
		return time.Time{}, fault.Invalidf("an authorization lasts between 1 day and %d days", int(MaxAuthorization.Hours()/24))
	}
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return time.Time{}, err
	}
	now := s.clock()
	until := now.Add(validFor)
	_, err = s.pool.Exec(ctx, `
		INSERT INTO person_authorizations (person_id, org_id, app_id, granted_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (person_id, org_id) DO UPDATE
		SET app_id = EXCLUDED.app_id, granted_at = EXCLUDED.granted_at, expires_at = EXCLUDED.expires_at, revoked_at = NULL`,
		u.PersonID, orgID, appID, now, until)
	if err != nil {
		return time.Time{}, fmt.Errorf("persons: authorize: %w", err)
	}
	s.consents.Delete(consentKey{u.PersonID, orgID})
	return until, nil
}

// Revoke withdraws an authorization; revoking one that does not exist is
// not an error (the outcome is the same).
func (s *Service) Revoke(ctx context.Context, appID, userID, orgID string) error {
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `UPDATE person_authorizations SET revoked_at = $3 WHERE person_id = $1 AND org_id = $2 AND revoked_at IS NULL`,
		u.PersonID, orgID, s.clock())
	s.consents.Delete(consentKey{u.PersonID, orgID})
	return err
}

// Authorized reports whether the person currently allows orgID.
func (s *Service) Authorized(ctx context.Context, personID int64, orgID string) (bool, error) {
	key := consentKey{personID, orgID}
	if ok, hit := s.consents.Get(key); hit {
		return ok, nil
	}
	var ok bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM person_authorizations
		WHERE person_id = $1 AND org_id = $2 AND revoked_at IS NULL AND expires_at > $3)`, personID, orgID, s.clock()).Scan(&ok)
	if err == nil {
		s.consents.Put(key, ok)
	}
	return ok, err
}

// Disclosure asks policies/openapi whether the verifier at orgID sees the
// person in full. Any failure to decide means masked.
func (s *Service) Disclosure(ctx context.Context, personID int64, orgID, family, verifierApp string) (full bool, err error) {
	authorized := false
	if orgID != "" {
		if authorized, err = s.Authorized(ctx, personID, orgID); err != nil {
			return false, err
		}
	}
	// The decision depends only on these inputs and the bundle, so equal
	// questions within the cache TTL reuse the answer.
	key := disclosureKey{org: orgID, family: family, app: verifierApp, bundle: s.authz.Version(), authorized: authorized}
	if full, hit := s.disclosures.Get(key); hit {
		return full, nil
	}
	var out struct {
		Full bool `json:"full"`
	}
	in := map[string]any{"org_id": orgID, "authorized": authorized, "family": family, "verifier_app": verifierApp}
	if err := s.authz.Eval(ctx, "data.openapi.disclosure", in, &out); err != nil {
		return false, fmt.Errorf("persons: disclosure policy: %w", err)
	}
	s.disclosures.Put(key, out.Full)
	return out.Full, nil
}

// Bound is data an app bound to a person under a type.
type Bound struct {
	UserID    string          `json:"userId"`
	DataType  string          `json:"dataType"`
	DataName  string          `json:"dataName"`
	Data      json.RawMessage `json:"data"`
	UpdatedAt time.Time       `json:"updatedAt"`
}

// Bind stores data (a JSON value, at most 16 KiB) for the person under
// dataType, replacing what was bound before.
func (s *Service) Bind(ctx context.Context, appID, userID, dataType, dataName string, data json.RawMessage) error {
	if err := checkDataType(dataType); err != nil {
		return err
	}
	if len(data) == 0 || string(data) == "null" {
		return fault.Missing("bindData")
	}
	if len(data) > 16<<10 {
		return fault.Invalidf("bindData is larger than 16 KiB")
	}
	if !json.Valid(data) {
		return fault.Invalidf("bindData must be JSON")
	}
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return err
	}
	sealed, err := s.sealer.Seal(data, purposeBound)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `
		INSERT INTO person_bound_data (person_id, data_type, data_name, data_sealed, app_id, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (person_id, data_type) DO UPDATE
		SET data_name = EXCLUDED.data_name, data_sealed = EXCLUDED.data_sealed, app_id = EXCLUDED.app_id, updated_at = EXCLUDED.updated_at`,
		u.PersonID, dataType, dataName, sealed, appID, s.clock())
	if err != nil {
		return fmt.Errorf("persons: bind: %w", err)
	}
	return nil
}

// BoundData returns the person's data of the given types (all types when
// none are given), for one of the app's users.
func (s *Service) BoundData(ctx context.Context, appID, userID string, types ...string) ([]Bound, error) {
	for _, t := range types {
		if err := checkDataType(t); err != nil {
			return nil, err
		}
	}
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return nil, err
	}
	return s.boundOf(ctx, u.PersonID, userID, types)
}

// BoundOfPerson is BoundData by person id, for the code engine (health
// status on a health code).
func (s *Service) BoundOfPerson(ctx context.Context, personID int64, types ...string) ([]Bound, error) {
	return s.boundOf(ctx, personID, "", types)
}

func (s *Service) boundOf(ctx context.Context, personID int64, userID string, types []string) ([]Bound, error) {
	rows, err := s.pool.Query(ctx, `SELECT data_type, data_name, data_sealed, updated_at FROM person_bound_data
		WHERE person_id = $1 AND (cardinality($2::text[]) = 0 OR data_type = ANY($2)) ORDER BY data_type`, personID, types)
	if err != nil {
		return nil, fmt.Errorf("persons: bound data: %w", err)
	}
	defer rows.Close()
	var out []Bound
	for rows.Next() {
		b := Bound{UserID: userID}
		var sealed string
		if err := rows.Scan(&b.DataType, &b.DataName, &sealed, &b.UpdatedAt); err != nil {
			return nil, err
		}
		data, err := s.sealer.Open(sealed, purposeBound)
		if err != nil {
			return nil, fmt.Errorf("persons: open bound data: %w", err)
		}
		b.Data = data
		out = append(out, b)
	}
	return out, rows.Err()
}

// Unbind removes the person's data of dataType; ResourceNotFound when none.
func (s *Service) Unbind(ctx context.Context, appID, userID, dataType string) error {
	if err := checkDataType(dataType); err != nil {
		return err
	}
	u, err := s.User(ctx, appID, userID)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM person_bound_data WHERE person_id = $1 AND data_type = $2`, u.PersonID, dataType)
	if err != nil {
		return fmt.Errorf("persons: unbind: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFoundf("no data of type %q is bound to this user", dataType)
	}
	return nil
}

func checkDataType(t string) error {
	if t == "" {
		return fault.Missing("dataType")
	}
	if len(t) > 64 {
		return fault.Invalidf("dataType is longer than 64 characters")
	}
	return nil
}
