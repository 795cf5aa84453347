package qr

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Item is one image of a batch.
type Item struct {
	// Name is the file name in the zip, without extension. It is sanitized
	// (no directories, no characters Windows refuses, at most 80
	// characters) and made unique within the batch; empty names become the
	// item's position.
	Name    string `json:"name"`
	Content string `json:"content"`
	// Caption, when set, replaces the style's caption for this image.
	Caption string `json:"caption,omitempty"`
}

// WriteZip is Renderer.WriteZip without a CJK font.
func WriteZip(ctx context.Context, w io.Writer, items []Item, s Style) error {
	return (&Renderer{}).WriteZip(ctx, w, items, s)
}

// WriteZip renders items on every core and writes them, in order, as one
// zip to w. The style and every caption are checked before anything is
// written; a content that does not fit a QR code stops the zip there.
func (r *Renderer) WriteZip(ctx context.Context, w io.Writer, items []Item, s Style) error {
	p, err := prepare(s)
	if err != nil {
		return err
	}
	if err := r.checkItems(p, items); err != nil {
		return err
	}
	return r.writeZip(ctx, w, items, p, nil)
}

// checkItems checks what can be checked of items before rendering.
func (r *Renderer) checkItems(p *plan, items []Item) error {
	if err := r.checkCaption(p, p.Caption); err != nil {
		return err
	}
	for i, it := range items {
		if it.Caption == "" {
			continue
		}
		if err := r.checkCaption(p, it.Caption); err != nil {
			fe, _ := fault.As(err)
			return fault.Invalidf("item %d: %s", i+1, fe.Message)
		}
	}
	return nil
}

// writeZip renders with GOMAXPROCS goroutines at most a few images ahead of
// the writer, so memory stays flat whatever the batch size, and calls
// progress (when not nil) after each file with the count written so far.
func (r *Renderer) writeZip(ctx context.Context, w io.Writer, items []Item, p *plan, progress func(done int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	type result struct {
		data []byte
		err  error
	}
	workers := runtime.GOMAXPROCS(0)
	window := 4 * workers
	ring := make([]chan result, window) // item i's result is in ring[i%window]
	for i := range ring {
		ring[i] = make(chan result, 1)
	}
	slots := make(chan struct{}, window)
	next := make(chan int)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range workers {
		wg.Go(func() {
			for i := range next {
				caption := items[i].Caption
				if caption == "" {
					caption = p.Caption
				}
				data, err := r.render(p, items[i].Content, caption)
				ring[i%window] <- result{data, err}
			}
		})
	}
	wg.Go(func() {
		defer close(next)
		for i := range items {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	})
	zw := zip.NewWriter(w)
	method := zip.Store // PNG is compressed already
	if p.Format == "svg" {
		method = zip.Deflate
	}
	names := uniqueNames(items)
	for i := range items {
		var res result
		select {
		case res = <-ring[i%window]:
		case <-ctx.Done():
			return ctx.Err()
		}
		<-slots
		if res.err != nil {
			return &itemError{index: i, name: names[i], err: res.err}
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: names[i] + "." + p.Format, Method: method})
		if err != nil {
			return fmt.Errorf("qr: zip: %w", err)
		}
		if _, err := f.Write(res.data); err != nil {
			return fmt.Errorf("qr: zip: %w", err)
		}
		if progress != nil {
			if err := progress(i + 1); err != nil {
				return err
			}
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("qr: zip: %w", err)
	}
	return nil
}

// itemError is a batch item that could not be drawn.
type itemError struct {
	index int
	name  string
	err   error
}

func (e *itemError) Error() string {
	return fmt.Sprintf("qr: item %d (%s): %v", e.index+1, e.name, e.err)
}
func (e *itemError) Unwrap() error { return e.err }

// uniqueNames sanitizes the items' names and numbers repeats: the second
// "公厕" becomes "公厕-2".
func uniqueNames(items []Item) []string {
	out := make([]string, len(items))
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		base := sanitizeName(it.Name, i)
		name := base
		for n := 2; seen[strings.ToLower(name)]; n++ {
			name = base + "-" + strconv.Itoa(n)
		}
		seen[strings.ToLower(name)] = true
		out[i] = name
	}
	return out
}

const maxNameRunes = 80

// sanitizeName makes name safe as a file name on every system an archive
// is opened on: no path separators or traversal, no characters Windows
// refuses, no control characters, no leading or trailing dots and spaces,
// no device names. An empty result becomes the 1-based position.
func sanitizeName(name string, i int) string {
	if !utf8.ValidString(name) {
		name = strings.ToValidUTF8(name, "_")
	}
	var b strings.Builder
	n := 0
	for _, c := range name {
		if n == maxNameRunes {
			break
		}
		if unicode.IsControl(c) || strings.ContainsRune(`/\:*?"<>|`, c) {
			c = '_'
		}
		b.WriteRune(c)
		n++
	}
	s := strings.Trim(b.String(), " .")
	if s == "" || strings.Trim(s, "_") == "" {
		return fmt.Sprintf("%06d", i+1)
	}
	stem, _, _ := strings.Cut(strings.ToUpper(s), ".")
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		s = "_" + s
	}
	return s
}
