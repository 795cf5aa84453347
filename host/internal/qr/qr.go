// Package qr renders codes as QR images — PNG for screens and print shops,
// SVG for designers — and streams batches of them as zip files for
// printing. Module sizes are whole pixels so printed modules are even.
package qr

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"runtime"
	"strings"
	"sync"

	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Style is how a code is drawn.
type Style struct {
	Format    string // png (default) or svg
	Level     string // L, M (default), Q, H
	ModulePx  int    // pixels per module, 1..40; default 8
	QuietZone int    // modules of margin; default 4
}

func (s Style) normalized() (Style, qrcode.RecoveryLevel, error) {
	if s.Format == "" {
		s.Format = "png"
	}
	if s.Format != "png" && s.Format != "svg" {
		return s, 0, fault.Invalidf("format must be png or svg")
	}
	if s.ModulePx == 0 {
		s.ModulePx = 8
	}
	if s.ModulePx < 1 || s.ModulePx > 40 {
		return s, 0, fault.Invalidf("module size must be 1 to 40 pixels")
	}
	if s.QuietZone == 0 {
		s.QuietZone = 4
	}
	if s.QuietZone < 0 || s.QuietZone > 16 {
		return s, 0, fault.Invalidf("quiet zone must be 0 to 16 modules")
	}
	levels := map[string]qrcode.RecoveryLevel{"L": qrcode.Low, "M": qrcode.Medium, "Q": qrcode.High, "H": qrcode.Highest, "": qrcode.Medium}
	lvl, ok := levels[strings.ToUpper(s.Level)]
	if !ok {
		return s, 0, fault.Invalidf("level must be L, M, Q or H")
	}
	return s, lvl, nil
}

// Render draws content as a QR image.
func Render(content string, s Style) ([]byte, error) {
	s, lvl, err := s.normalized()
	if err != nil {
		return nil, err
	}
	q, err := qrcode.New(content, lvl)
	if err != nil {
		return nil, fault.Invalidf("content does not fit a QR code: %v", err)
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	if s.Format == "svg" {
		return svg(bm, s), nil
	}
	return pngOf(bm, s)
}

func pngOf(bm [][]bool, s Style) ([]byte, error) {
	n := len(bm) + 2*s.QuietZone
	size := n * s.ModulePx
	img := image.NewPaletted(image.Rect(0, 0, size, size), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+s.QuietZone)*s.ModulePx, (y+s.QuietZone)*s.ModulePx
			for dy := 0; dy < s.ModulePx; dy++ {
				off := img.PixOffset(x0, y0+dy)
				for dx := 0; dx < s.ModulePx; dx++ {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// svg draws one path, each run of dark modules in a row one rectangle.
func svg(bm [][]bool, s Style) []byte {
	n := len(bm) + 2*s.QuietZone
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, n, n, n*s.ModulePx, n*s.ModulePx)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+s.QuietZone, y+s.QuietZone, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>`)
	return []byte(b.String())
}

// Item is one image of a batch.
type Item struct {
	Name    string // file name in the zip, without extension
	Content string
}

// WriteZip renders items on every core and writes them, in order, as one
// zip to w (stored, not deflated: PNGs are already compressed).
func WriteZip(ctx context.Context, w io.Writer, items []Item, s Style) error {
	s, _, err := s.normalized()
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	type result struct {
		data []byte
		err  error
	}
	workers := runtime.GOMAXPROCS(0)
	results := make([]chan result, len(items))
	for i := range results {
		results[i] = make(chan result, 1)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				data, err := Render(items[i].Content, s)
				results[i] <- result{data, err}
			}
		}()
	}
	go func() {
		defer close(next)
		for i := range items {
			select {
			case next <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer wg.Wait()
	for i, it := range items {
		var r result
		select {
		case r = <-results[i]:
		case <-ctx.Done():
			return ctx.Err()
		}
		if r.err != nil {
			return r.err
		}
		f, err := zw.CreateHeader(&zip.FileHeader{Name: it.Name + "." + s.Format, Method: zip.Store})
		if err != nil {
			return err
		}
		if _, err := f.Write(r.data); err != nil {
			return err
		}
	}
	return zw.Close()
}
