package nativert

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
)

func TestLineLog(t *testing.T) {
	t.Parallel()
	sink := &logSink{}
	w := newLineLog(t.Context(), slog.New(slog.NewJSONHandler(sink, nil)).With("plugin", "p"), "stdout", slog.LevelInfo)
	for _, chunk := range []string{"first ", "line\nsecond line\r\nthird", " line\n", "tail"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	w.flush()
	_, _ = w.Write([]byte(strings.Repeat("x", maxLine+10)))
	var got []string
	for _, rec := range sink.records() {
		if rec["plugin"] != "p" || rec["stream"] != "stdout" {
			t.Errorf("record %v", rec)
		}
		got = append(got, rec["msg"].(string))
	}
	want := []string{"first line", "second line", "third line", "tail"}
	if len(got) != 5 || strings.Join(got[:4], "|") != strings.Join(want, "|") || len(got[4]) != maxLine+10 {
		t.Fatalf("lines %q", got)
	}
}

func TestHCLogger(t *testing.T) {
	t.Parallel()
	sink := &logSink{}
	base := slog.New(slog.NewJSONHandler(sink, &slog.HandlerOptions{Level: slog.LevelInfo})).With("plugin", "name")
	l := newHCLogger(t.Context(), base).Named("a").Named("b").With("k", "v")
	if l.GetLevel() != hclog.Info || l.IsDebug() || !l.IsWarn() {
		t.Fatalf("level %v", l.GetLevel())
	}
	l.Debug("hidden")
	l.Warn("shown", "plugin", "/path/to/exe")
	recs := sink.records()
	if len(recs) != 1 {
		t.Fatalf("records %v", recs)
	}
	rec := recs[0]
	if rec["msg"] != "shown" || rec["level"] != "WARN" || rec["logger"] != "a.b" || rec["k"] != "v" ||
		rec["plugin"] != "name" || rec["executable"] != "/path/to/exe" {
		t.Fatalf("record %v", rec)
	}
}
