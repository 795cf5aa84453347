package main

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/sdk/plugintest"
)

// TestLandingInTheHost runs the plugin as WASM inside a real host: the
// visit counter and the message board persist through the host's records.
func TestLandingInTheHost(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{Config: `{"greeting":"你好，公厕"}`})
	code := h.Code(0)
	status, page := h.Get(t, code, "/")
	if status != 200 || !strings.Contains(page, "你好，公厕") || !strings.Contains(page, "第 1 次访问") {
		t.Fatalf("landing: %d %s", status, page)
	}
	if _, page = h.Get(t, code, "/"); !strings.Contains(page, "第 2 次访问") {
		t.Fatalf("second visit: %s", page)
	}
	form := url.Values{"text": {"洗手液没有了"}}.Encode()
	if status, _, hdr := h.Post(t, code, "/message", "application/x-www-form-urlencoded", strings.NewReader(form)); status != http.StatusSeeOther || !strings.HasSuffix(hdr.Get("Location"), "/c/"+code) {
		t.Fatalf("message: %d %v", status, hdr)
	}
	if _, page = h.Get(t, code, "/"); !strings.Contains(page, "洗手液没有了") {
		t.Fatalf("message not shown: %s", page)
	}
	// The operator's view: the record listed, and the export.
	if out := h.CLI(t, "plugin", "records", "hello", "messages"); !strings.Contains(out, "洗手液没有了") || !strings.Contains(out, code) {
		t.Fatalf("records: %s", out)
	}
	file := filepath.Join(t.TempDir(), "messages.xlsx")
	h.CLI(t, "plugin", "records", "hello", "messages", "--export", file)
	wb, err := excelize.OpenFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if rows, _ := wb.GetRows("留言"); len(rows) != 2 || rows[1][4] != "洗手液没有了" {
		t.Fatalf("export: %v", rows)
	}
	// Another code has its own counter and board.
	if _, page = h.Get(t, h.Code(1), "/"); !strings.Contains(page, "第 1 次访问") || strings.Contains(page, "洗手液") {
		t.Fatalf("other code: %s", page)
	}
	if status, page, _ := h.Post(t, code, "/message", "application/x-www-form-urlencoded", strings.NewReader("text=")); status != 400 || !strings.Contains(page, "留言须为") {
		t.Fatalf("empty message: %d %s", status, page)
	}
}

// TestLoggedInVisitor: a citizen logged in through the app sees the same
// page (the harness's login is what staff-only plugins test with).
func TestLoggedInVisitor(t *testing.T) {
	h := plugintest.Start(t, plugintest.Options{})
	v := h.Login(t, plugintest.Person{Name: "李四", CertNo: "11010519491231002X", Mobile: "13900139000"})
	v.Authorize(t)
	if status, page := v.Get(t, h.Code(1), "/"); status != 200 || !strings.Contains(page, "第 1 次访问") {
		t.Fatalf("logged-in visit: %d %s", status, page)
	}
}
