package webhooks

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNoPushInside: unless insecure use is allowed, subscriptions must be
// https, and the platform connects to no loopback, private or link-local
// address, whatever name the URL gives (checked on the address dialled).
func TestNoPushInside(t *testing.T) {
	s := New(Config{})
	for _, u := range []string{"http://example.cn/hook", "ftp://example.cn/", "https://u:p@example.cn/", "https://example.cn/#x", "example.cn/hook",
		"https://example.cn/a b"} {
		if err := s.checkURL(u); err == nil {
			t.Errorf("%s accepted", u)
		}
	}
	if err := s.checkURL("https://hooks.example.cn/citycode?x=1"); err != nil {
		t.Errorf("https refused: %v", err)
	}
	for _, addr := range []string{"127.0.0.1:443", "[::1]:443", "10.1.2.3:443", "192.168.1.1:443", "172.16.0.9:443", "169.254.169.254:80",
		"0.0.0.0:443", "[fe80::1]:443", "[fd00::1]:443"} {
		if err := s.checkAddress("tcp", addr, nil); err == nil {
			t.Errorf("%s allowed", addr)
		}
	}
	if err := s.checkAddress("tcp", "203.0.113.7:443", nil); err != nil {
		t.Errorf("a public address refused: %v", err)
	}

	// The dial itself is refused: a receiver on loopback gets nothing.
	hit := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hit = true }))
	defer srv.Close()
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL, strings.NewReader("{}"))
	if _, err := s.client.Do(req); err == nil || hit || !strings.Contains(err.Error(), "not a public address") {
		t.Fatalf("push to loopback: %v (hit %v)", err, hit)
	}

	insecure := New(Config{AllowInsecure: true})
	if err := insecure.checkURL("http://127.0.0.1:8080/hook"); err != nil {
		t.Errorf("insecure use refused http: %v", err)
	}
}
