package plugintest

import (
	"os"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// Manifest reads and validates the plugin.json of the package under test
// (the current directory), failing the test when it does not hold.
func Manifest(t testing.TB) *plugin.Manifest {
	t.Helper()
	b, err := os.ReadFile("plugin.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := plugin.ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
