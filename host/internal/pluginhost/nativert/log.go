package nativert

import (
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"sync"

	"github.com/hashicorp/go-hclog"
)

const (
	slogTrace = slog.LevelDebug - 4
	slogInfo  = slog.LevelInfo
	slogWarn  = slog.LevelWarn
)

// maxLine bounds a buffered output line: a plugin printing without
// newlines must not grow the host's memory.
const maxLine = 64 << 10

// lineLog turns a byte stream (a plugin's stdout or stderr, in chunks that
// need not end lines) into one log record per line.
type lineLog struct {
	ctx   context.Context
	log   *slog.Logger
	level slog.Level

	mu  sync.Mutex
	buf []byte
}

func newLineLog(ctx context.Context, l *slog.Logger, stream string, level slog.Level) *lineLog {
	return &lineLog{ctx: ctx, log: l.With("stream", stream), level: level}
}

// Write implements io.Writer; it never fails.
func (w *lineLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.emit(w.buf[:i])
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) >= maxLine {
		w.emit(w.buf)
		w.buf = nil
	}
	if len(w.buf) == 0 {
		w.buf = nil // let a big chunk's array go
	}
	return len(p), nil
}

// flush logs a last line that had no newline.
func (w *lineLog) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit(w.buf)
		w.buf = nil
	}
}

func (w *lineLog) emit(line []byte) {
	w.log.Log(w.ctx, w.level, string(bytes.TrimRight(line, "\r")))
}

// hcLogger adapts slog to hclog, the logger go-plugin speaks: its own
// messages and the plugin's log lines it relays keep their levels.
type hcLogger struct {
	ctx     context.Context
	log     *slog.Logger
	name    string
	implied []any
}

var _ hclog.Logger = (*hcLogger)(nil)

func newHCLogger(ctx context.Context, l *slog.Logger) hclog.Logger {
	return &hcLogger{ctx: ctx, log: l}
}

// slogLevel maps hclog's levels to slog's.
func slogLevel(l hclog.Level) slog.Level {
	switch l {
	case hclog.Trace:
		return slogTrace
	case hclog.Debug:
		return slog.LevelDebug
	case hclog.Warn:
		return slog.LevelWarn
	case hclog.Error:
		return slog.LevelError
	}
	return slog.LevelInfo
}

func (h *hcLogger) Log(level hclog.Level, msg string, args ...any) {
	l := slogLevel(level)
	if !h.log.Enabled(h.ctx, l) {
		return
	}
	attrs := make([]any, 0, 2+len(h.implied)+len(args))
	if h.name != "" {
		attrs = append(attrs, "logger", h.name)
	}
	attrs = append(attrs, h.implied...)
	h.log.Log(h.ctx, l, msg, append(attrs, rekey(args)...)...)
}

// rekey renames go-plugin's "plugin" argument (the executable's path) so
// that it does not shadow our plugin=<name>.
func rekey(args []any) []any {
	for i := 0; i+1 < len(args); i += 2 {
		if args[i] == "plugin" {
			args = append([]any(nil), args...)
			args[i] = "executable"
		}
	}
	return args
}

func (h *hcLogger) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hcLogger) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hcLogger) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hcLogger) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hcLogger) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hcLogger) enabled(l hclog.Level) bool { return h.log.Enabled(h.ctx, slogLevel(l)) }

func (h *hcLogger) IsTrace() bool { return h.enabled(hclog.Trace) }
func (h *hcLogger) IsDebug() bool { return h.enabled(hclog.Debug) }
func (h *hcLogger) IsInfo() bool  { return h.enabled(hclog.Info) }
func (h *hcLogger) IsWarn() bool  { return h.enabled(hclog.Warn) }
func (h *hcLogger) IsError() bool { return h.enabled(hclog.Error) }

func (h *hcLogger) ImpliedArgs() []any { return h.implied }

func (h *hcLogger) With(args ...any) hclog.Logger {
	c := *h
	c.implied = append(append([]any(nil), h.implied...), rekey(args)...)
	return &c
}

func (h *hcLogger) Name() string { return h.name }

func (h *hcLogger) Named(name string) hclog.Logger {
	if h.name != "" {
		name = h.name + "." + name
	}
	return h.ResetNamed(name)
}

func (h *hcLogger) ResetNamed(name string) hclog.Logger {
	c := *h
	c.name = name
	return &c
}

// SetLevel does nothing: the slog handler decides.
func (h *hcLogger) SetLevel(hclog.Level) {}

// GetLevel is the lowest level the slog handler takes.
func (h *hcLogger) GetLevel() hclog.Level {
	for _, l := range []hclog.Level{hclog.Trace, hclog.Debug, hclog.Info, hclog.Warn, hclog.Error} {
		if h.enabled(l) {
			return l
		}
	}
	return hclog.Off
}

func (h *hcLogger) StandardLogger(opts *hclog.StandardLoggerOptions) *log.Logger {
	return log.New(h.StandardWriter(opts), "", 0)
}

func (h *hcLogger) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return newLineLog(h.ctx, h.log, "log", slog.LevelInfo)
}
