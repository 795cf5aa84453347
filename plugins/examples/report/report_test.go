package main

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestReportInTheHost runs the plugin as a native process under a real
// host: a citizen reports a problem with a photo and follows it.
func TestReportInTheHost(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{Bind: "code"})
	code := h.Code(0)
	if status, page := h.Get(t, code, "/"); status != 200 || !strings.Contains(page, "问题上报") {
		t.Fatalf("form: %d %s", status, page)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	mw.WriteField("text", "路灯不亮")
	fw, _ := mw.CreateFormFile("photo", "lamp.png")
	fw.Write(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 32)...))
	mw.Close()
	status, page, _ := h.Post(t, code, "/submit", mw.FormDataContentType(), &body)
	if status != http.StatusCreated {
		t.Fatalf("submit: %d %s", status, page)
	}
	id := between(page, `<span id="report-id">`, "<")
	if _, page := h.Get(t, code, "/status?id="+id); !strings.Contains(page, "已受理") {
		t.Fatalf("status: %s", page)
	}
	// The operator handles it; the citizen sees the new status.
	if out := h.Admin(t, "POST", "/status", `{"id":"`+id+`","status":"已办结"}`); !strings.Contains(out, "已办结") {
		t.Fatalf("admin status: %s", out)
	}
	if _, page := h.Get(t, code, "/status?id="+id); !strings.Contains(page, "已办结") {
		t.Fatalf("status after handling: %s", page)
	}
	if status, _ := h.Get(t, code, "/status?id=nope"); status != 404 {
		t.Fatalf("unknown report: %d", status)
	}
	if status, page, _ := h.Post(t, code, "/submit", "text/plain", strings.NewReader("x")); status != 400 || !strings.Contains(page, "multipart") {
		t.Fatalf("bad form: %d %s", status, page)
	}
	// The second code is not bound: the standard page answers.
	if _, page := h.Get(t, h.Code(1), "/"); strings.Contains(page, "问题上报") {
		t.Fatalf("unbound code served by the plugin: %s", page)
	}
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i+len(from):]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}
