package plugin_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugin"
)

type capture struct{ calls [][]byte }

func (c *capture) Call(_ context.Context, call []byte) ([]byte, error) {
	c.calls = append(c.calls, append([]byte(nil), call...))
	return []byte(`{"result":{"id":"f1"}}`), nil
}

// TestInvokeEncoding: the call a plugin sends is the Call JSON, its
// arguments spliced in whole (a photo's bytes too), and none without.
func TestInvokeEncoding(t *testing.T) {
	c := &capture{}
	h := plugin.NewHost(c, "req-1")
	photo := []byte("\x89PNG\r\n\x1a\n\x00\x01 \"quoted\" \\ \u2028")
	if _, err := h.PutFile(context.Background(), "a.png", "image/png", photo); err != nil {
		t.Fatal(err)
	}
	if err := h.Invoke(context.Background(), plugin.EventsWrite, "ping", nil, nil); err != nil {
		t.Fatal(err)
	}
	var got plugin.Call
	if err := json.Unmarshal(c.calls[0], &got); err != nil {
		t.Fatalf("%v: %s", err, c.calls[0])
	}
	var f plugin.File
	if err := json.Unmarshal(got.Args, &f); err != nil || got.RequestID != "req-1" || got.Capability != plugin.FilesWrite ||
		got.Op == "" || !reflect.DeepEqual(f.Data, photo) || f.Name != "a.png" {
		t.Fatalf("files.put call: %+v %+v %v", got, f, err)
	}
	var bare map[string]any
	if err := json.Unmarshal(c.calls[1], &bare); err != nil || bare["args"] != nil || bare["op"] != "ping" {
		t.Fatalf("call without arguments: %s", c.calls[1])
	}
}
