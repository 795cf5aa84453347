package pluginhost

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// Package is an installable plugin version: plugin.json, the artefact it
// names, and optionally the vendor's SM2 signature of the package digest.
type Package struct {
	Manifest  []byte
	Artefact  []byte
	Signature string // hex SM2 signature of Digest(); empty when unsigned
}

// Limits of a package.
const (
	maxManifest = 256 << 10
	maxArtefact = 64 << 20
)

// Digest is what a vendor signs: the plugin's name and version and the SM3
// of the manifest and of the artefact, so neither can be swapped.
func Digest(manifest, artefact []byte, name, version string) []byte {
	return []byte("citycode-plugin-package-v1\n" + name + "\n" + version + "\n" +
		codec.SM3Hex(manifest) + "\n" + codec.SM3Hex(artefact) + "\n")
}

// ReadDir reads a package from a directory holding plugin.json, the entry
// it names and, when signed, plugin.sig (hex).
func ReadDir(dir string) (*Package, error) {
	m, err := os.ReadFile(filepath.Join(dir, "plugin.json"))
	if err != nil {
		return nil, fault.Invalidf("no plugin.json in %s", dir)
	}
	man, err := plugin.ParseManifest(m)
	if err != nil {
		return nil, fault.Invalidf("%v", err)
	}
	a, err := os.ReadFile(filepath.Join(dir, man.Entry))
	if err != nil {
		return nil, fault.Invalidf("entry %s not found beside plugin.json: build the plugin first", man.Entry)
	}
	p := &Package{Manifest: m, Artefact: a}
	if sig, err := os.ReadFile(filepath.Join(dir, "plugin.sig")); err == nil {
		p.Signature = strings.TrimSpace(string(sig))
	}
	return p, nil
}

// Version is an installed plugin version.
type Version struct {
	Name        string           `json:"name"`
	Version     string           `json:"version"`
	SM3         string           `json:"sm3"`
	Signed      bool             `json:"signed"`
	Signer      string           `json:"signer,omitempty"`
	InstalledBy string           `json:"installedBy,omitempty"`
	InstalledAt time.Time        `json:"installedAt"`
	Active      bool             `json:"active"`
	Manifest    *plugin.Manifest `json:"manifest,omitempty"`
}

// Install verifies and stores a package version. The first version of a
// plugin becomes active at once; later ones are activated by Activate (the
// upgrade). Installing a version that exists with other bytes is refused.
func (s *Service) Install(ctx context.Context, p *Package, by string) (*Version, error) {
	if len(p.Manifest) == 0 || len(p.Manifest) > maxManifest {
		return nil, fault.Invalidf("manifest must be 1 byte to %d KB", maxManifest>>10)
	}
	if len(p.Artefact) == 0 || len(p.Artefact) > maxArtefact {
		return nil, fault.Invalidf("artefact must be 1 byte to %d MB", maxArtefact>>20)
	}
	m, err := plugin.ParseManifest(p.Manifest)
	if err != nil {
		return nil, fault.Invalidf("%v", err)
	}
	if err := checkArtefact(m, p.Artefact); err != nil {
		return nil, err
	}
	signer, err := s.checkSignature(ctx, p, m)
	if err != nil {
		return nil, err
	}
	if err := s.requireSignatures(ctx, signer); err != nil {
		return nil, err
	}
	sum := codec.SM3Hex(p.Artefact)
	if err := s.checkNewVersion(ctx, s.cfg.Pool, m, sum); err != nil {
		return nil, err
	}
	// Prove the version runs before it is recorded: a module that does not
	// compile or speaks another ABI is refused at install.
	r, err := s.cfg.Runtimes.Start(ctx, m, p.Artefact, sum)
	if err != nil {
		return nil, fault.Invalidf("plugin %s %s does not start: %v", m.Name, m.Version, err)
	}
	_ = r.Close(ctx)

	canon, _ := json.Marshal(m)
	v := &Version{Name: m.Name, Version: m.Version, SM3: sum, Signed: signer != "", Signer: signer, InstalledBy: by, Manifest: m}
	err = store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		if err := s.checkNewVersion(ctx, tx, m, sum); err != nil {
			return err
		}
		var runtime string
		err := tx.QueryRow(ctx, `SELECT runtime FROM plugins WHERE name = $1 FOR UPDATE`, m.Name).Scan(&runtime)
		first := store.NoRows(err)
		if err != nil && !first {
			return err
		}
		now := s.cfg.Clock()
		if first {
			if _, err := tx.Exec(ctx, `INSERT INTO plugins (name, title, vendor, runtime, active_version, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6)`, m.Name, m.Title, m.Vendor, m.Runtime, m.Version, now); err != nil {
				return err
			}
			v.Active = true
		}
		_, err = tx.Exec(ctx, `INSERT INTO plugin_versions (name, version, manifest, artefact, sm3, signature, signer, installed_by, installed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, m.Name, m.Version, canon, p.Artefact, sum, p.Signature, signer, by, now)
		v.InstalledAt = now
		return err
	})
	if err != nil {
		return nil, err
	}
	if v.Active {
		if err := s.sync(ctx); err != nil {
			return v, err
		}
	}
	return v, nil
}

// checkNewVersion refuses a version that is installed already.
func (s *Service) checkNewVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}, m *plugin.Manifest, sum string) error {
	var oldSum string
	err := q.QueryRow(ctx, `SELECT sm3 FROM plugin_versions WHERE name = $1 AND version = $2`, m.Name, m.Version).Scan(&oldSum)
	switch {
	case err == nil && oldSum == sum:
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "plugin %s %s is already installed", m.Name, m.Version)
	case err == nil:
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "plugin %s %s is installed with other contents: give the new build a new version", m.Name, m.Version)
	case !store.NoRows(err):
		return err
	}
	return nil
}

// checkArtefact refuses an artefact that is plainly not of the manifest's
// runtime (a wrong file named as entry).
func checkArtefact(m *plugin.Manifest, a []byte) error {
	switch m.Runtime {
	case plugin.WASM:
		if !bytes.HasPrefix(a, []byte("\x00asm")) {
			return fault.Invalidf("entry %s is not a WebAssembly module", m.Entry)
		}
	case plugin.Native:
		if !bytes.HasPrefix(a, []byte("\x7fELF")) {
			return fault.Invalidf("entry %s is not an ELF executable", m.Entry)
		}
	}
	return nil
}

// checkSignature verifies a signed package against the trusted vendor keys
// and answers the id of the key that verified it ("" when unsigned).
func (s *Service) checkSignature(ctx context.Context, p *Package, m *plugin.Manifest) (string, error) {
	if p.Signature == "" {
		return "", nil
	}
	sig, err := hex.DecodeString(p.Signature)
	if err != nil || len(sig) == 0 {
		return "", fault.Invalidf("the signature must be hex")
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, public_key FROM plugin_vendor_keys ORDER BY id`)
	if err != nil {
		return "", err
	}
	type key struct{ id, pub string }
	keys, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (key, error) {
		var k key
		return k, r.Scan(&k.id, &k.pub)
	})
	if err != nil {
		return "", err
	}
	digest := Digest(p.Manifest, p.Artefact, m.Name, m.Version)
	for _, k := range keys {
		pub, err := codec.ParseSM2PublicKey(k.pub)
		if err != nil {
			continue
		}
		if codec.SM2Verify(pub, digest, sig) {
			return k.id, nil
		}
	}
	return "", fault.E(fault.Invalid, fault.CodeSignatureFailure, "the package signature does not verify with any trusted vendor key")
}

// requireSignatures refuses an unsigned package when any platform requires
// signed plugins: a plugin installed once may be enabled anywhere.
func (s *Service) requireSignatures(ctx context.Context, signer string) error {
	if signer != "" {
		return nil
	}
	var required bool
	err := s.cfg.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM plugin_platform_settings WHERE require_signature)`).Scan(&required)
	if err != nil {
		return err
	}
	if required {
		return fault.E(fault.Invalid, fault.CodeSignatureFailure, "a platform requires signed plugins: sign the package with a trusted vendor key")
	}
	return nil
}

// AddVendorKey trusts an SM2 public key to sign plugin packages.
func (s *Service) AddVendorKey(ctx context.Context, id, vendor, publicKey string) error {
	if _, err := codec.ParseSM2PublicKey(publicKey); err != nil {
		return fault.Invalidf("publicKey is not an SM2 public key")
	}
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_vendor_keys (id, vendor, public_key) VALUES ($1, $2, $3)`, id, vendor, publicKey)
	if store.IsUniqueViolation(err, "") {
		return fault.Conflictf(fault.CodeResourceAlreadyExists, "vendor key %s exists", id)
	}
	return err
}

// SetRequireSignature sets whether a platform requires signed plugins.
func (s *Service) SetRequireSignature(ctx context.Context, platformID string, require bool) error {
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_platform_settings (platform_id, require_signature, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (platform_id) DO UPDATE SET require_signature = EXCLUDED.require_signature, updated_at = EXCLUDED.updated_at`,
		platformID, require, s.cfg.Clock())
	return err
}

// Activate makes an installed version the one every node runs: the
// upgrade (or a rollback). The new version is started and warmed on this
// node before the swap.
func (s *Service) Activate(ctx context.Context, name, version string) error {
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE plugins SET active_version = $2, generation = generation + 1, updated_at = $3
		WHERE name = $1 AND EXISTS (SELECT 1 FROM plugin_versions WHERE name = $1 AND version = $2)`, name, version, s.cfg.Clock())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFoundf("plugin %s has no version %s", name, version)
	}
	return s.sync(ctx)
}

// Remove uninstalls a plugin: every version, its enablement and landing
// bindings. Its records stay (they belong to the platforms).
func (s *Service) Remove(ctx context.Context, name string) error {
	tag, err := s.cfg.Pool.Exec(ctx, `DELETE FROM plugins WHERE name = $1`, name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFoundf("plugin %s is not installed", name)
	}
	return s.sync(ctx)
}

// Enable switches a plugin on or off for a platform.
func (s *Service) Enable(ctx context.Context, platformID, name string, on bool) error {
	if s.manifestOf(ctx, name) == nil {
		return fault.NotFoundf("plugin %s is not installed", name)
	}
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_platforms (platform_id, name, enabled, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform_id, name) DO UPDATE SET enabled = EXCLUDED.enabled, updated_at = EXCLUDED.updated_at`,
		platformID, name, on, s.cfg.Clock())
	return err
}

// Configure sets a platform's configuration of a plugin, validated against
// the manifest's config schema.
func (s *Service) Configure(ctx context.Context, platformID, name string, config json.RawMessage) error {
	m := s.manifestOf(ctx, name)
	if m == nil {
		return fault.NotFoundf("plugin %s is not installed", name)
	}
	if err := validateConfig(m, config); err != nil {
		return err
	}
	_, err := s.cfg.Pool.Exec(ctx, `INSERT INTO plugin_platforms (platform_id, name, config, updated_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (platform_id, name) DO UPDATE SET config = EXCLUDED.config, updated_at = EXCLUDED.updated_at`,
		platformID, name, []byte(config), s.cfg.Clock())
	return err
}

func validateConfig(m *plugin.Manifest, config json.RawMessage) error {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(config))
	if err != nil {
		return fault.Invalidf("config must be JSON: %v", err)
	}
	if _, ok := doc.(map[string]any); !ok {
		return fault.Invalidf("config must be a JSON object")
	}
	if len(m.Config) == 0 {
		return nil
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(m.Config))
	if err != nil {
		return fault.Invalidf("the plugin's config schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("urn:citycode:plugin-config", schemaDoc); err != nil {
		return fault.Invalidf("the plugin's config schema is invalid: %v", err)
	}
	sch, err := c.Compile("urn:citycode:plugin-config")
	if err != nil {
		return fault.Invalidf("the plugin's config schema is invalid: %v", err)
	}
	if err := sch.Validate(doc); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			return fault.Invalidf("config does not match the plugin's schema: %s", strings.TrimSpace(firstLine(ve.Error())))
		}
		return fault.Invalidf("config does not match the plugin's schema: %v", err)
	}
	return nil
}

func firstLine(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 1 {
		return strings.Join(lines[1:], "; ")
	}
	return s
}

// manifestOf answers the active manifest of an installed plugin, nil when
// it is not installed.
func (s *Service) manifestOf(ctx context.Context, name string) *plugin.Manifest {
	if l := s.get(name); l != nil {
		return l.manifest
	}
	var raw []byte
	err := s.cfg.Pool.QueryRow(ctx, `SELECT v.manifest FROM plugins p JOIN plugin_versions v ON v.name = p.name AND v.version = p.active_version
		WHERE p.name = $1`, name).Scan(&raw)
	if err != nil {
		return nil
	}
	var m plugin.Manifest
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return &m
}

// sync brings the running set in line with the registry: it starts what
// was activated, swaps upgraded versions and stops removed plugins.
func (s *Service) sync(ctx context.Context) error {
	s.loadMu.Lock()
	defer s.loadMu.Unlock()
	select {
	case <-s.stop:
		return nil // closed: start nothing that Close would not stop
	default:
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT name, active_version, generation FROM plugins`)
	if err != nil {
		return err
	}
	type want struct {
		name, version string
		gen           int64
	}
	wants, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (want, error) {
		var w want
		return w, r.Scan(&w.name, &w.version, &w.gen)
	})
	if err != nil {
		return err
	}
	cur := *s.live.Load()
	next := make(map[string]*loaded, len(wants))
	var retired []*loaded
	var errs []error
	for _, w := range wants {
		l := cur[w.name]
		if l != nil && l.version == w.version {
			l.generation = w.gen
			next[w.name] = l
			continue
		}
		nl, err := s.load(ctx, w.name, w.version, w.gen)
		if err != nil {
			errs = append(errs, fmt.Errorf("plugin %s %s: %w", w.name, w.version, err))
			if l != nil {
				next[w.name] = l // keep serving the old version
			}
			continue
		}
		next[w.name] = nl
		if l != nil {
			retired = append(retired, l)
		}
	}
	for name, l := range cur {
		if _, ok := next[name]; !ok {
			retired = append(retired, l)
		}
	}
	s.live.Store(&next)
	for _, l := range retired {
		// Drain in the background: calls in flight finish on the old
		// version while new ones already reach the new.
		go func() {
			dctx, cancel := context.WithTimeout(context.Background(), 2*s.cfg.CallTimeout)
			defer cancel()
			if err := l.run.Close(dctx); err != nil {
				s.log.Warn("plugin version not drained cleanly", "plugin", l.name, "version", l.version, "err", err)
			}
		}()
		s.log.Info("plugin version retired", "plugin", l.name, "version", l.version)
	}
	for _, err := range errs {
		s.log.Error("plugin not loaded", "err", err)
	}
	return errors.Join(errs...)
}

func (s *Service) load(ctx context.Context, name, version string, gen int64) (*loaded, error) {
	var raw, artefact []byte
	var sum string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT manifest, artefact, sm3 FROM plugin_versions WHERE name = $1 AND version = $2`,
		name, version).Scan(&raw, &artefact, &sum)
	if err != nil {
		return nil, err
	}
	if codec.SM3Hex(artefact) != sum {
		return nil, fmt.Errorf("stored artefact does not match its SM3 checksum")
	}
	var m plugin.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	r, err := s.cfg.Runtimes.Start(ctx, &m, artefact, sum)
	if err != nil {
		return nil, err
	}
	s.log.Info("plugin version started", "plugin", name, "version", version, "runtime", m.Runtime)
	return &loaded{name: name, version: version, generation: gen, manifest: &m, run: r}, nil
}
