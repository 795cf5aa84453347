package pluginhost

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Limits of plugin data.
const (
	maxDoc      = 64 << 10
	maxFile     = 5 << 20
	maxPageSize = 500
	tokenTTL    = 5 * time.Minute
)

var recordIDRe = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

// collection checks that the manifest declares the collection: records
// the console cannot list and export are refused.
func (c *call) collection(name string) error {
	for _, col := range c.l.manifest.Collections {
		if col.Name == name {
			return nil
		}
	}
	return invalid("collection %q is not declared in the manifest", name)
}

func (c *call) putRecord(ctx context.Context, raw json.RawMessage) (any, error) {
	var r plugin.Record
	if err := decodeArgs(raw, &r); err != nil {
		return nil, err
	}
	if err := c.collection(r.Collection); err != nil {
		return nil, err
	}
	if r.ID == "" {
		r.ID = newID("r")
	} else if !recordIDRe.MatchString(r.ID) {
		return nil, invalid("id must be 1–64 letters, digits or _ . : -")
	}
	var obj map[string]any
	if json.Unmarshal(r.Doc, &obj) != nil || obj == nil {
		return nil, invalid("doc must be a JSON object")
	}
	if len(r.Doc) > maxDoc || strings.Contains(string(r.Doc), `\u0000`) {
		return nil, invalid("doc must be at most %d KB and hold no NUL characters", maxDoc>>10)
	}
	if len(r.CodeToken) > 128 {
		return nil, invalid("codeToken is too long")
	}
	now := c.s.cfg.Clock()
	out := plugin.Record{Collection: r.Collection, ID: r.ID, CodeToken: r.CodeToken}
	var row pgx.Row
	switch {
	case r.IfAbsent && r.Version > 0:
		return nil, invalid("ifAbsent and version exclude each other")
	case r.IfAbsent:
		row = c.s.cfg.Pool.QueryRow(ctx, `INSERT INTO plugin_records (plugin, platform_id, collection, id, code_token, doc, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (plugin, platform_id, collection, id) DO NOTHING
			RETURNING doc, version, created_at, updated_at`,
			c.l.name, c.platformID, r.Collection, r.ID, r.CodeToken, []byte(r.Doc), now)
		if err := row.Scan(&out.Doc, &out.Version, &out.CreatedAt, &out.UpdatedAt); store.NoRows(err) {
			return nil, &plugin.Error{Code: "FailedOperation.RecordExists", Message: fmt.Sprintf("record %s exists", r.ID)}
		} else if err != nil {
			return nil, err
		}
		return out, nil
	}
	if r.Version > 0 {
		row = c.s.cfg.Pool.QueryRow(ctx, `UPDATE plugin_records SET doc = $5, code_token = $6, version = version + 1, updated_at = $7,
				txid = pg_current_xact_id()
			WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND id = $4 AND version = $8
			RETURNING doc, version, created_at, updated_at`,
			c.l.name, c.platformID, r.Collection, r.ID, []byte(r.Doc), r.CodeToken, now, r.Version)
	} else {
		row = c.s.cfg.Pool.QueryRow(ctx, `INSERT INTO plugin_records (plugin, platform_id, collection, id, code_token, doc, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $7)
			ON CONFLICT (plugin, platform_id, collection, id) DO UPDATE SET doc = EXCLUDED.doc, code_token = EXCLUDED.code_token,
				version = plugin_records.version + 1, updated_at = EXCLUDED.updated_at, txid = pg_current_xact_id()
			RETURNING doc, version, created_at, updated_at`,
			c.l.name, c.platformID, r.Collection, r.ID, r.CodeToken, []byte(r.Doc), now)
	}
	err := row.Scan(&out.Doc, &out.Version, &out.CreatedAt, &out.UpdatedAt)
	if store.NoRows(err) {
		return nil, &plugin.Error{Code: "FailedOperation.VersionConflict", Message: fmt.Sprintf("record %s changed since version %d", r.ID, r.Version)}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *call) getRecord(ctx context.Context, raw json.RawMessage) (any, error) {
	var k plugin.RecordKey
	if err := decodeArgs(raw, &k); err != nil {
		return nil, err
	}
	if err := c.collection(k.Collection); err != nil {
		return nil, err
	}
	out := plugin.Record{Collection: k.Collection, ID: k.ID}
	err := c.s.cfg.Pool.QueryRow(ctx, `SELECT code_token, doc, version, created_at, updated_at FROM plugin_records
		WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND id = $4`, c.l.name, c.platformID, k.Collection, k.ID).
		Scan(&out.CodeToken, &out.Doc, &out.Version, &out.CreatedAt, &out.UpdatedAt)
	if store.NoRows(err) {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: fmt.Sprintf("no record %s in %s", k.ID, k.Collection)}
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (c *call) deleteRecord(ctx context.Context, raw json.RawMessage) (any, error) {
	var k plugin.RecordKey
	if err := decodeArgs(raw, &k); err != nil {
		return nil, err
	}
	if err := c.collection(k.Collection); err != nil {
		return nil, err
	}
	// The tombstone tells the apps that pull the collection (sync.go).
	tag, err := c.s.cfg.Pool.Exec(ctx, `WITH d AS (
			DELETE FROM plugin_records WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND id = $4
			RETURNING plugin, platform_id, collection, id, code_token)
		INSERT INTO plugin_record_tombstones (plugin, platform_id, collection, id, code_token, deleted_at)
		SELECT plugin, platform_id, collection, id, code_token, $5 FROM d`,
		c.l.name, c.platformID, k.Collection, k.ID, c.s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: fmt.Sprintf("no record %s in %s", k.ID, k.Collection)}
	}
	return nil, nil
}

func (c *call) queryRecords(ctx context.Context, raw json.RawMessage) (any, error) {
	var q plugin.RecordQuery
	if err := decodeArgs(raw, &q); err != nil {
		return nil, err
	}
	if err := c.collection(q.Collection); err != nil {
		return nil, err
	}
	return queryRecords(ctx, c.s, c.l.name, c.platformID, q)
}

// queryRecords lists one plugin's records on one platform; the console
// uses it too.
func queryRecords(ctx context.Context, s *Service, name, platformID string, q plugin.RecordQuery) (*plugin.RecordPage, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Limit > maxPageSize || q.Offset < 0 || q.Offset > 100000 {
		return nil, invalid("limit must be at most %d and offset between 0 and 100000", maxPageSize)
	}
	conds := []string{"plugin = $1", "platform_id = $2", "collection = $3"}
	args := []any{name, platformID, q.Collection}
	add := func(cond string, v any) {
		args = append(args, v)
		conds = append(conds, fmt.Sprintf(cond, len(args)))
	}
	if q.CodeToken != "" {
		add("code_token = $%d", q.CodeToken)
	}
	if len(q.Where) > 0 {
		b, err := json.Marshal(q.Where)
		if err != nil {
			return nil, invalid("where: %v", err)
		}
		add("doc @> $%d", b)
	}
	if !q.From.IsZero() {
		add("created_at >= $%d", q.From)
	}
	if !q.To.IsZero() {
		add("created_at < $%d", q.To)
	}
	where := strings.Join(conds, " AND ")
	page := &plugin.RecordPage{Items: []plugin.Record{}}
	if err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM plugin_records WHERE `+where, args...).Scan(&page.Total); err != nil {
		return nil, err
	}
	order := "created_at, id"
	if q.Newest {
		order = "created_at DESC, id DESC"
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT collection, id, code_token, doc, version, created_at, updated_at FROM plugin_records
		WHERE `+where+` ORDER BY `+order+fmt.Sprintf(` OFFSET %d LIMIT %d`, q.Offset, q.Limit), args...)
	if err != nil {
		return nil, err
	}
	page.Items, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (plugin.Record, error) {
		var x plugin.Record
		return x, r.Scan(&x.Collection, &x.ID, &x.CodeToken, &x.Doc, &x.Version, &x.CreatedAt, &x.UpdatedAt)
	})
	return page, err
}

var allowedTypes = map[string]bool{"image/jpeg": true, "image/png": true, "image/webp": true, "image/gif": true, "application/pdf": true,
	"video/mp4": true, "video/webm": true}

func (c *call) putFile(ctx context.Context, raw json.RawMessage) (any, error) {
	var f plugin.File
	if err := decodeArgs(raw, &f); err != nil {
		return nil, err
	}
	if f.ID != "" || f.URL != "" || f.SM3 != "" || f.Size != 0 {
		return nil, invalid("only name, contentType and data may be given")
	}
	if len(f.Data) == 0 || len(f.Data) > maxFile {
		return nil, invalid("data must be 1 byte to %d MB", maxFile>>20)
	}
	if !allowedTypes[f.ContentType] {
		return nil, invalid("contentType %q is not accepted (jpeg, png, webp, gif, pdf, mp4, webm)", f.ContentType)
	}
	if f.Name == "" || len(f.Name) > 128 || strings.ContainsAny(f.Name, "/\\\x00") {
		return nil, invalid("name must be a plain file name of at most 128 bytes")
	}
	// File ids are unguessable: the URL is a capability to read the file.
	var b [16]byte
	_, _ = rand.Read(b[:])
	f.ID = "f" + base64.RawURLEncoding.EncodeToString(b[:])
	f.Size, f.SM3 = int64(len(f.Data)), codec.SM3Hex(f.Data)
	_, err := c.s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_files (id, plugin, platform_id, name, content_type, size, sm3, data, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, f.ID, c.l.name, c.platformID, f.Name, f.ContentType, f.Size, f.SM3, f.Data, c.s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	f.Data, f.URL = nil, c.s.cfg.PublicBase+"/plugin-files/"+f.ID
	return f, nil
}

func (c *call) getFile(ctx context.Context, raw json.RawMessage) (any, error) {
	var a plugin.File
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	f, err := c.s.file(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	if f.plugin != c.l.name || f.platformID != c.platformID {
		c.auditDenied(ctx, "file of another plugin or platform", map[string]string{"file": f.ID, "owner": f.plugin, "platform": f.platformID})
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such file"}
	}
	return f.File, nil
}

type storedFile struct {
	plugin.File
	plugin, platformID string
}

func (s *Service) file(ctx context.Context, id string) (*storedFile, error) {
	var f storedFile
	f.ID = id
	err := s.cfg.Pool.QueryRow(ctx, `SELECT plugin, platform_id, name, content_type, size, sm3, data FROM plugin_files WHERE id = $1`, id).
		Scan(&f.plugin, &f.platformID, &f.Name, &f.ContentType, &f.Size, &f.SM3, &f.Data)
	if store.NoRows(err) {
		return nil, &plugin.Error{Code: plugin.ErrNotFound, Message: "no such file"}
	}
	if err != nil {
		return nil, err
	}
	f.URL = s.cfg.PublicBase + "/plugin-files/" + id
	return &f, nil
}

// mintToken stores a one-time access token for a landing visit.
func (s *Service) mintToken(ctx context.Context, name, platformID string, code *plugin.Code, v plugin.Visitor) (string, error) {
	var b [24]byte
	_, _ = rand.Read(b[:])
	tok := base64.RawURLEncoding.EncodeToString(b[:])
	cj, _ := json.Marshal(code)
	vj, _ := json.Marshal(v)
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO landing_tokens (token_hash, platform_id, plugin, code, visitor, expires_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		codec.SM3Hex([]byte(tok)), platformID, name, cj, vj, s.cfg.Clock().Add(tokenTTL))
	return tok, err
}

func (c *call) redeem(ctx context.Context, raw json.RawMessage) (any, error) {
	var a struct {
		Token string `json:"token"`
	}
	if err := decodeArgs(raw, &a); err != nil {
		return nil, err
	}
	return c.s.Redeem(ctx, c.l.name, c.platformID, a.Token)
}

// Redeem exchanges a landing access token, once, for the code and visitor it
// was minted for; only the plugin and platform it was minted for can.
func (s *Service) Redeem(ctx context.Context, name, platformID, token string) (*plugin.TokenInfo, error) {
	if token == "" || len(token) > 64 {
		return nil, invalid("token is required")
	}
	now := s.cfg.Clock()
	var cj, vj []byte
	err := s.cfg.Pool.QueryRow(ctx, `UPDATE landing_tokens SET used_at = $4
		WHERE token_hash = $1 AND plugin = $2 AND platform_id = $3 AND used_at IS NULL AND expires_at > $4
		RETURNING code, visitor`, codec.SM3Hex([]byte(token)), name, platformID, now).Scan(&cj, &vj)
	if store.NoRows(err) {
		return nil, &plugin.Error{Code: "FailedOperation.TokenInvalid", Message: "the access token is unknown, used or expired"}
	}
	if err != nil {
		return nil, err
	}
	var out plugin.TokenInfo
	_ = json.Unmarshal(cj, &out.Code)
	_ = json.Unmarshal(vj, &out.Visitor)
	return &out, nil
}
