// Package config loads the host's configuration from defaults, an optional
// YAML file, environment variables and command-line flags, in that order of
// precedence (flags win). Decoding is strict: an unknown key in the file is
// an error, so a typo never silently falls back to a default.
//
// Environment variables are CITYCODE_<SECTION>_<KEY> (e.g. CITYCODE_HTTP_ADDR),
// plus the conventional DATABASE_URL and REDIS_URL.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

// Config is the whole host configuration. Field comments are its documentation
// (see deploy/citycode.example.yaml).
type Config struct {
	HTTP     HTTP     `koanf:"http"`
	Database Database `koanf:"database"`
	Redis    Redis    `koanf:"redis"`
	Security Security `koanf:"security"`
	Policy   Policy   `koanf:"policy"`
	Auth     Auth     `koanf:"auth"`
	Plugins  Plugins  `koanf:"plugins"`
	Webhooks Webhooks `koanf:"webhooks"`
	Risk     Risk     `koanf:"risk"`
	Log      Log      `koanf:"log"`
}

// Risk configures risk control.
type Risk struct {
	// Enabled runs every verify through the risk policy (policies/risk)
	// over sliding windows per IP, user, organization and code. Off by
	// default: the default thresholds suit citizens' phones, not a
	// gateway verifying for a whole hospital from one address; set them in
	// the policy first.
	Enabled bool `koanf:"enabled"`
}

// Webhooks configures the pushes to apps.
type Webhooks struct {
	// AllowInsecure lets subscriptions use http:// and reach loopback and
	// private addresses: for development and tests only, since a
	// subscriber could otherwise make the platform call its own network.
	AllowInsecure bool `koanf:"allow_insecure"`
}

// Plugins configures the plugin host.
type Plugins struct {
	// Dir is a node-local directory for the WASM compilation cache and the
	// unpacked native plugin executables.
	Dir string `koanf:"dir"`
	// CacheDir is where compiled WASM modules are kept (default Dir/wazero).
	// Compiling a module costs seconds; nodes of one machine, or hosts
	// started one after another, can share it: entries are keyed by the
	// module's hash and the runtime's version.
	CacheDir string `koanf:"cache_dir"`
	// CallTimeout bounds one plugin call (a landing page, an action).
	CallTimeout time.Duration `koanf:"call_timeout"`
	// Reload is how often a node looks for plugin versions activated on
	// another node.
	Reload time.Duration `koanf:"reload"`
}

// HTTP configures the listener.
type HTTP struct {
	// Addr is the listen address, e.g. ":8080" or "127.0.0.1:8080".
	Addr string `koanf:"addr"`
	// PublicBaseURL is how citizens and apps reach the host (object-code URLs,
	// links in messages). Defaults to http://<addr>.
	PublicBaseURL string `koanf:"public_base_url"`
	// MaxBodyBytes caps request bodies; larger ones get 400 InvalidParameter.
	MaxBodyBytes int64 `koanf:"max_body_bytes"`
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `koanf:"trusted_proxies"`
	// ShutdownTimeout bounds the drain of in-flight requests at shutdown.
	ShutdownTimeout time.Duration `koanf:"shutdown_timeout"`
	// DebugAddr, when set, serves Go's pprof profiles on that address
	// (keep it on loopback or an operations network).
	DebugAddr string `koanf:"debug_addr"`
}

// Database configures PostgreSQL.
type Database struct {
	// URL is a PostgreSQL URL; env DATABASE_URL.
	URL string `koanf:"url"`
	// MaxConns is the pool size.
	MaxConns int32 `koanf:"max_conns"`
	// AutoMigrate applies pending migrations at start.
	AutoMigrate bool `koanf:"auto_migrate"`
}

// Redis configures the optional shared state of a cluster.
type Redis struct {
	// URL, e.g. redis://127.0.0.1:6379/0; env REDIS_URL. Empty: nonces and
	// counters live in memory (single node).
	URL string `koanf:"url"`
}

// Security configures keys and the signed API.
type Security struct {
	// MasterKey (hex or base64 of 16 bytes) seals stored secrets with SM4;
	// env CITYCODE_SECURITY_MASTER_KEY. If empty, MasterKeyFile is used.
	MasterKey string `koanf:"master_key"`
	// MasterKeyFile holds the master key; created with a random key when
	// missing and GenerateMasterKey is set (the development default).
	MasterKeyFile string `koanf:"master_key_file"`
	// GenerateMasterKey creates MasterKeyFile when it does not exist.
	GenerateMasterKey bool `koanf:"generate_master_key"`
	// SignatureWindow is the accepted clock skew of signed requests.
	SignatureWindow time.Duration `koanf:"signature_window"`
	// NonceTTL is how long a used nonce is remembered.
	NonceTTL time.Duration `koanf:"nonce_ttl"`
}

// Policy configures the OPA engine.
type Policy struct {
	// Dir overrides the embedded policies/ bundle with a directory that is
	// watched and hot-reloaded.
	Dir string `koanf:"dir"`
	// PollInterval is how often Dir is checked for changes.
	PollInterval time.Duration `koanf:"poll_interval"`
}

// Auth configures console sessions and login protection.
type Auth struct {
	SessionIdle time.Duration `koanf:"session_idle"`
	SessionMax  time.Duration `koanf:"session_max"`
	MaxFailures int           `koanf:"max_failures"`
	LockFor     time.Duration `koanf:"lock_for"`
}

// Log configures slog.
type Log struct {
	// Level: debug, info, warn, error.
	Level string `koanf:"level"`
	// Format: json or text.
	Format string `koanf:"format"`
}

// Default returns the built-in defaults.
func Default() Config {
	return Config{
		HTTP:     HTTP{Addr: ":8080", MaxBodyBytes: 1 << 20, ShutdownTimeout: 20 * time.Second},
		Database: Database{MaxConns: 32, AutoMigrate: true},
		Security: Security{
			MasterKeyFile:     ".data/master.key",
			GenerateMasterKey: true,
			SignatureWindow:   300 * time.Second,
			NonceTTL:          600 * time.Second,
		},
		Policy:  Policy{PollInterval: 2 * time.Second},
		Auth:    Auth{SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, MaxFailures: 5, LockFor: 15 * time.Minute},
		Plugins: Plugins{Dir: ".data/plugins", CallTimeout: 5 * time.Second, Reload: 2 * time.Second},
		Log:     Log{Level: "info", Format: "json"},
	}
}

// Flags declares the command-line flags that override configuration keys.
func Flags(fs *pflag.FlagSet) {
	fs.String("config", "", "optional YAML configuration file")
	fs.String("http.addr", "", "listen address")
	fs.String("database.url", "", "PostgreSQL URL")
	fs.String("redis.url", "", "Redis URL (shared nonces and counters)")
	fs.String("policy.dir", "", "policy directory to load and watch instead of the embedded bundle")
	fs.String("log.level", "", "log level")
}

// Load builds the configuration: defaults < file < environment < flags.
func Load(fs *pflag.FlagSet, environ []string) (Config, error) {
	k := koanf.New(".")
	if err := k.Load(confmap.Provider(defaultsMap(), "."), nil); err != nil {
		return Config{}, err
	}
	path, _ := fs.GetString("config")
	if path == "" {
		path = lookup(environ, "CITYCODE_CONFIG")
	}
	if path != "" {
		if err := k.Load(file.Provider(path), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config: %s: %w", path, err)
		}
	}
	envMap := map[string]any{}
	for _, kv := range environ {
		name, val, _ := strings.Cut(kv, "=")
		switch {
		case name == "DATABASE_URL":
			envMap["database.url"] = val
		case name == "REDIS_URL":
			envMap["redis.url"] = val
		case strings.HasPrefix(name, "CITYCODE_") && name != "CITYCODE_CONFIG":
			key := strings.ToLower(strings.TrimPrefix(name, "CITYCODE_"))
			section, rest, ok := strings.Cut(key, "_")
			if !ok {
				continue
			}
			if knownSection(section) {
				envMap[section+"."+rest] = val
			}
		}
	}
	if err := k.Load(confmap.Provider(envMap, "."), nil); err != nil {
		return Config{}, err
	}
	if err := k.Load(posflag.ProviderWithFlag(fs, ".", k, func(f *pflag.Flag) (string, any) {
		if f.Name == "config" || !f.Changed {
			return "", nil
		}
		return f.Name, posflag.FlagVal(fs, f)
	}), nil); err != nil {
		return Config{}, err
	}
	var c Config
	err := k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		Result:           &c,
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
		),
	}})
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

func knownSection(s string) bool {
	switch s {
	case "http", "database", "redis", "security", "policy", "auth", "plugins", "webhooks", "risk", "log":
		return true
	}
	return false
}

func lookup(environ []string, name string) string {
	for _, kv := range environ {
		if n, v, ok := strings.Cut(kv, "="); ok && n == name {
			return v
		}
	}
	return ""
}

// Validate checks values that decoding cannot.
func (c Config) Validate() error {
	var errs []error
	if c.HTTP.Addr == "" {
		errs = append(errs, errors.New("http.addr is required"))
	}
	if c.HTTP.MaxBodyBytes < 1024 {
		errs = append(errs, errors.New("http.max_body_bytes must be at least 1024"))
	}
	if c.Security.SignatureWindow <= 0 || c.Security.NonceTTL < c.Security.SignatureWindow {
		errs = append(errs, errors.New("security.nonce_ttl must be at least security.signature_window (> 0), or replays slip through"))
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		errs = append(errs, fmt.Errorf("log.format %q: want json or text", c.Log.Format))
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level))
	}
	if c.Auth.MaxFailures < 1 {
		errs = append(errs, errors.New("auth.max_failures must be at least 1"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	return nil
}

// defaultsMap flattens Default() into koanf keys.
func defaultsMap() map[string]any {
	d := Default()
	return map[string]any{
		"http.addr":                    d.HTTP.Addr,
		"http.public_base_url":         d.HTTP.PublicBaseURL,
		"http.max_body_bytes":          d.HTTP.MaxBodyBytes,
		"http.trusted_proxies":         d.HTTP.TrustedProxies,
		"http.shutdown_timeout":        d.HTTP.ShutdownTimeout.String(),
		"http.debug_addr":              d.HTTP.DebugAddr,
		"database.url":                 d.Database.URL,
		"database.max_conns":           d.Database.MaxConns,
		"database.auto_migrate":        d.Database.AutoMigrate,
		"redis.url":                    d.Redis.URL,
		"security.master_key":          d.Security.MasterKey,
		"security.master_key_file":     d.Security.MasterKeyFile,
		"security.generate_master_key": d.Security.GenerateMasterKey,
		"security.signature_window":    d.Security.SignatureWindow.String(),
		"security.nonce_ttl":           d.Security.NonceTTL.String(),
		"policy.dir":                   d.Policy.Dir,
		"policy.poll_interval":         d.Policy.PollInterval.String(),
		"auth.session_idle":            d.Auth.SessionIdle.String(),
		"auth.session_max":             d.Auth.SessionMax.String(),
		"auth.max_failures":            d.Auth.MaxFailures,
		"auth.lock_for":                d.Auth.LockFor.String(),
		"plugins.dir":                  d.Plugins.Dir,
		"plugins.cache_dir":            d.Plugins.CacheDir,
		"plugins.call_timeout":         d.Plugins.CallTimeout.String(),
		"plugins.reload":               d.Plugins.Reload.String(),
		"webhooks.allow_insecure":      d.Webhooks.AllowInsecure,
		"risk.enabled":                 d.Risk.Enabled,
		"log.level":                    d.Log.Level,
		"log.format":                   d.Log.Format,
	}
}

// MasterKeyText returns the configured master key text, creating the key file
// when allowed.
func (c Config) MasterKeyText(random func([]byte) error) (string, error) {
	if c.Security.MasterKey != "" {
		return c.Security.MasterKey, nil
	}
	if c.Security.MasterKeyFile == "" {
		return "", errors.New("config: no security.master_key and no security.master_key_file")
	}
	b, err := os.ReadFile(c.Security.MasterKeyFile)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) || !c.Security.GenerateMasterKey {
		return "", fmt.Errorf("config: master key file: %w", err)
	}
	key := make([]byte, 16)
	if err := random(key); err != nil {
		return "", err
	}
	text := fmt.Sprintf("%x", key)
	if err := os.MkdirAll(dirOf(c.Security.MasterKeyFile), 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(c.Security.MasterKeyFile, []byte(text+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("config: write master key: %w", err)
	}
	return text, nil
}

func dirOf(p string) string {
	if i := strings.LastIndexByte(p, '/'); i > 0 {
		return p[:i]
	}
	return "."
}
