package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/server"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// SIGTERM (here: cancelling Run's context) lets a request already in flight
// finish before the services are closed.
func TestShutdownDrainsInFlightRequests(t *testing.T) {
	_, url := storetest.NewWithURL(t)
	cfg := config.Default()
	cfg.Database.URL = url
	cfg.Security.MasterKeyFile = filepath.Join(t.TempDir(), "k")
	srv, err := server.New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), server.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, ln) }()

	// A request whose body is still arriving when shutdown begins.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"account":"admin","password":"wrong-password-1","captchaId":"nope","captchaCode":"00000"}`
	fmt.Fprintf(conn, "POST /console/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:10])
	time.Sleep(100 * time.Millisecond) // the server is now reading the body
	cancel()
	time.Sleep(200 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("Run returned with a request in flight: %v", err)
	default:
	}
	io.WriteString(conn, body[10:])
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request dropped: %v", err)
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 401 || !strings.Contains(string(raw), fault.CodeCaptchaFailure) {
		t.Fatalf("in-flight request: %d %s", resp.StatusCode, raw)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after the drain")
	}
}

// /openapi.json documents every mounted route and is a valid OpenAPI 3
// document; /healthz, /readyz and /metrics answer.
func TestOpenAPIAndProbes(t *testing.T) {
	h := newHost(t, hostOpts{})
	a := h.must("", "GET", "/openapi.json", nil)
	doc, err := openapi3.NewLoader().LoadFromData(a.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	for _, r := range h.srv.API().Routes() {
		p := openapiPath(r.Path)
		if item := doc.Paths.Find(p); item == nil || item.GetOperation(r.Method) == nil {
			t.Errorf("%s %s is not documented", r.Method, r.Path)
		}
	}
	if len(h.srv.API().Routes()) < 60 {
		t.Fatalf("only %d routes mounted", len(h.srv.API().Routes()))
	}
	for _, p := range []string{"/healthz", "/readyz"} {
		if a := h.call("", "GET", p, nil); a.Status != 200 {
			t.Errorf("%s: %d", p, a.Status)
		}
	}
	resp, err := http.Get(h.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), "citycode_http_request_duration_seconds") || !strings.Contains(string(raw), "go_goroutines") {
		t.Fatal("metrics lack the request histogram or the Go collector")
	}
}

func openapiPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") {
			parts[i] = "{" + s[1:] + "}"
		}
		if s == "*" && i == len(parts)-1 {
			parts[i] = "{path}"
		}
	}
	return strings.Join(parts, "/")
}
