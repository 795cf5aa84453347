package wasmrt

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
)

// maxLine is the longest line logged as one record; longer output is cut
// into records of this size.
const maxLine = 16 << 10

// lineWriter logs a guest's output stream line by line. It also remembers
// the last line announcing a failure ("panic: ...", "fatal error: ...") so
// that the error of a crashed call can name it. The guest writes from the
// goroutine calling it, one call at a time, so it needs no lock.
type lineWriter struct {
	log     *slog.Logger
	level   slog.Level
	stream  string
	buf     []byte
	failure string // since the current call began
}

func newLineWriter(log *slog.Logger, level slog.Level, stream string) *lineWriter {
	return &lineWriter{log: log, level: level, stream: stream}
}

// Write implements io.Writer; it never fails.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	rest := w.buf
	for {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		w.line(rest[:i])
		rest = rest[i+1:]
	}
	for len(rest) >= maxLine {
		w.line(rest[:maxLine])
		rest = rest[maxLine:]
	}
	w.buf = append(w.buf[:0], rest...)
	return len(p), nil
}

// flush logs an unfinished last line.
func (w *lineWriter) flush() {
	if len(w.buf) > 0 {
		w.line(w.buf)
		w.buf = w.buf[:0]
	}
}

func (w *lineWriter) line(b []byte) {
	s := strings.TrimRight(string(b), "\r")
	if strings.HasPrefix(s, "panic: ") || strings.HasPrefix(s, "fatal error: ") {
		w.failure = s
	}
	// io.Writer carries no context; the log record needs none.
	w.log.Log(context.Background(), w.level, s, "stream", w.stream)
}
