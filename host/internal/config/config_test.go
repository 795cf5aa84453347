package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

func load(t *testing.T, args []string, environ []string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	Flags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return Load(fs, environ)
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "c.yaml")
	os.WriteFile(file, []byte("http:\n  addr: \":7000\"\n  max_body_bytes: 4096\nauth:\n  session_idle: 5m\nlog:\n  level: warn\n"), 0o600)

	c, err := load(t, []string{"--config", file, "--log.level", "debug"},
		[]string{"CITYCODE_HTTP_ADDR=:7100", "DATABASE_URL=postgres://x/y", "REDIS_URL=redis://r:1/0"})
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Addr != ":7100" {
		t.Errorf("env should override file: addr=%q", c.HTTP.Addr)
	}
	if c.HTTP.MaxBodyBytes != 4096 || c.Auth.SessionIdle != 5*time.Minute {
		t.Errorf("file values lost: %+v %+v", c.HTTP, c.Auth)
	}
	if c.Log.Level != "debug" {
		t.Errorf("flag should override file: level=%q", c.Log.Level)
	}
	if c.Database.URL != "postgres://x/y" || c.Redis.URL != "redis://r:1/0" {
		t.Errorf("DATABASE_URL/REDIS_URL aliases not applied: %q %q", c.Database.URL, c.Redis.URL)
	}
	if c.Security.NonceTTL != 600*time.Second {
		t.Errorf("default lost: nonce ttl %v", c.Security.NonceTTL)
	}
}

func TestStrictDecoding(t *testing.T) {
	dir := t.TempDir()
	cases := map[string]string{
		"unknown key":     "http:\n  adr: \":1\"\n",
		"unknown section": "htp:\n  addr: \":1\"\n",
		"bad duration":    "auth:\n  session_idle: soon\n",
		"bad format":      "log:\n  format: xml\n",
		"replay gap":      "security:\n  nonce_ttl: 10s\n",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(name, " ", "_")+".yaml")
			os.WriteFile(file, []byte(body), 0o600)
			if _, err := load(t, []string{"--config", file}, nil); err == nil {
				t.Fatalf("config %q accepted", body)
			}
		})
	}
}

func TestMasterKeyFileCreatedOnce(t *testing.T) {
	c := Default()
	c.Security.MasterKeyFile = filepath.Join(t.TempDir(), "k", "master.key")
	calls := 0
	rnd := func(b []byte) error {
		calls++
		for i := range b {
			b[i] = byte(i)
		}
		return nil
	}
	k1, err := c.MasterKeyText(rnd)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := c.MasterKeyText(rnd)
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 || calls != 1 || len(k1) != 32 {
		t.Fatalf("key not stable: %q %q calls=%d", k1, k2, calls)
	}
	st, _ := os.Stat(c.Security.MasterKeyFile)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	c.Security.GenerateMasterKey = false
	c.Security.MasterKeyFile += ".missing"
	if _, err := c.MasterKeyText(rnd); err == nil {
		t.Fatal("missing key file accepted without generation")
	}
}

// The documented example must load as it is: it is the configuration's
// documentation and must not drift from the code.
func TestExampleFileLoads(t *testing.T) {
	c, err := load(t, []string{"--config", "../../../deploy/citycode.example.yaml"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", c) != fmt.Sprintf("%+v", Default()) {
		t.Fatalf("the example's values differ from the defaults:\n%+v\n%+v", c, Default())
	}
	// Every key is documented in it.
	raw, err := os.ReadFile("../../../deploy/citycode.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]map[string]any
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for key := range defaultsMap() {
		section, name, _ := strings.Cut(key, ".")
		if _, ok := doc[section][name]; !ok && key != "plugins.cache_dir" { // cache_dir is shown commented out: its default is derived
			t.Errorf("the example does not document %s", key)
		}
	}
}

// The Kubernetes ConfigMap's configuration loads (unknown keys would be
// refused at start).
func TestKubernetesConfigLoads(t *testing.T) {
	raw, err := os.ReadFile("../../../deploy/k8s/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	if err := yaml.Unmarshal(raw, &cm); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "citycode.yaml")
	if err := os.WriteFile(file, []byte(cm.Data["citycode.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := load(t, []string{"--config", file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Security.GenerateMasterKey || !c.Risk.Enabled || c.HTTP.PublicBaseURL == "" || len(c.HTTP.TrustedProxies) == 0 {
		t.Fatalf("the ConfigMap's settings: %+v", c)
	}
}
