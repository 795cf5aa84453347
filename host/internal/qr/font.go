package qr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// ErrFont is wrapped by NewRenderer when the configured font cannot be used.
var ErrFont = errors.New("qr: unusable font")

// defaultFontPaths are where Debian, Ubuntu, Fedora and Arch put the common
// free CJK fonts, most legible first.
func defaultFontPaths() []string {
	return []string{
		"/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
		"/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
		"/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
		"/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
		"/usr/share/fonts/wenquanyi/wqy-zenhei/wqy-zenhei.ttc",
		"/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
		"/usr/share/fonts/google-droid/DroidSansFallback.ttf",
		"/usr/share/fonts/truetype/arphic/uming.ttc",
	}
}

// NewRenderer returns a Renderer drawing captions with the font at fontPath
// (TrueType or OpenType, a collection's first font). With fontPath "" it
// uses the first common CJK font installed; when there is none it still
// works, but only ASCII captions can be drawn in PNG (see FontPath).
// An explicit fontPath that cannot be used is an error wrapping ErrFont.
func NewRenderer(fontPath string) (*Renderer, error) {
	if fontPath != "" {
		f, err := loadFont(fontPath)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrFont, fontPath, err)
		}
		return &Renderer{font: f, fontPath: fontPath}, nil
	}
	for _, p := range defaultFontPaths() {
		if f, err := loadFont(p); err == nil {
			return &Renderer{font: f, fontPath: p}, nil
		}
	}
	return &Renderer{}, nil
}

// FontPath is the caption font in use, "" when no CJK font was found.
func (r *Renderer) FontPath() string { return r.fontPath }

type fontFace struct{ f *opentype.Font }

func loadFont(path string) (*fontFace, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := parseFirstFont(data)
	if err != nil {
		// Some common fonts (WenQuanYi among them) have tables off the
		// four-byte boundaries the parser insists on: lay them out again.
		if fixed, ferr := realign(data); ferr == nil {
			f, err = opentype.Parse(fixed)
		}
		if err != nil {
			return nil, err
		}
	}
	var b sfnt.Buffer
	if i, err := f.GlyphIndex(&b, '中'); err != nil || i == 0 {
		return nil, errors.New("the font has no Chinese characters")
	}
	return &fontFace{f: f}, nil
}

func parseFirstFont(data []byte) (*opentype.Font, error) {
	c, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, err
	}
	return c.Font(0)
}

// realign copies the first font of a font file or collection into a
// standalone font whose tables start on four-byte boundaries. Tables refer
// to each other by tag, never by file offset, so moving them is safe.
func realign(data []byte) ([]byte, error) {
	bad := errors.New("malformed font file")
	u32 := func(o int) (uint32, bool) {
		if o < 0 || o+4 > len(data) {
			return 0, false
		}
		return binary.BigEndian.Uint32(data[o:]), true
	}
	base := 0
	if string(data[:min(4, len(data))]) == "ttcf" {
		o, ok := u32(12)
		if !ok {
			return nil, bad
		}
		base = int(o)
	}
	if base+12 > len(data) {
		return nil, bad
	}
	n := int(binary.BigEndian.Uint16(data[base+4:]))
	dir := base + 12
	if n == 0 || dir+16*n > len(data) {
		return nil, bad
	}
	out := make([]byte, 12+16*n, len(data))
	copy(out, data[base:base+12])
	for i := range n {
		rec := data[dir+16*i : dir+16*i+16]
		off, size := binary.BigEndian.Uint32(rec[8:]), binary.BigEndian.Uint32(rec[12:])
		if uint64(off)+uint64(size) > uint64(len(data)) {
			return nil, bad
		}
		r := out[12+16*i:]
		copy(r, rec[:8])
		binary.BigEndian.PutUint32(r[8:], uint32(len(out)))
		binary.BigEndian.PutUint32(r[12:], size)
		out = append(out, data[off:off+size]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}

// checkCaption refuses a caption the renderer cannot draw in p's format.
// SVG text is drawn by the viewer's fonts, so only PNG needs ours.
func (r *Renderer) checkCaption(p *plan, caption string) error {
	if err := checkCaption(caption); err != nil {
		return err
	}
	if caption == "" || p.Format != "png" {
		return nil
	}
	if r.font == nil {
		if isASCII(caption) {
			return nil
		}
		return fault.Invalidf("no CJK font installed; install fonts-wqy-microhei")
	}
	var b sfnt.Buffer
	for _, c := range caption {
		if unicode.IsSpace(c) {
			continue
		}
		if i, err := r.font.f.GlyphIndex(&b, c); err != nil || i == 0 {
			return fault.Invalidf("the caption font has no glyph for %q", c)
		}
	}
	return nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fontSize is the caption size in pixels for an image side pixels wide.
func (p *plan) fontSize(side int) int {
	if p.CaptionFontSize != 0 {
		return p.CaptionFontSize
	}
	return min(max(side/16, 12), 48)
}

const maxCaptionLines = 4

// newFace is the font at size pixels. A face is not safe for concurrent
// use, and cheap: each image gets its own.
func newFace(f *fontFace, size int) (font.Face, error) {
	face, err := opentype.NewFace(f.f, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, fmt.Errorf("qr: caption face: %w", err)
	}
	return face, nil
}

// captionMask draws caption centred on lines of at most width pixels into
// an alpha mask width pixels wide, with half a line of padding. The face is
// the renderer's CJK font, or, without one, the built-in 7×13 bitmap font
// scaled by whole pixels (ASCII only, checked by checkCaption).
func (r *Renderer) captionMask(caption string, width, size int) (*image.Alpha, error) {
	var face font.Face = basicfont.Face7x13
	scale := 1
	if r.font != nil {
		f, err := newFace(r.font, size)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		face = f
	} else {
		scale = max(1, (size+6)/13)
	}
	w := width / scale
	lines := wrap(caption, fixed.I(w*15/16), func(c rune) fixed.Int26_6 {
		a, _ := face.GlyphAdvance(c)
		return a
	})
	m := face.Metrics()
	lineH := m.Height.Ceil()
	pad := lineH / 4
	mask := image.NewAlpha(image.Rect(0, 0, w, len(lines)*lineH+2*pad))
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face}
	for i, l := range lines {
		adv := d.MeasureString(l)
		d.Dot = fixed.Point26_6{X: (fixed.I(w) - adv) / 2, Y: fixed.I(pad+i*lineH) + m.Ascent}
		d.DrawString(l)
	}
	if scale == 1 {
		return mask, nil
	}
	big := image.NewAlpha(image.Rect(0, 0, width, mask.Rect.Dy()*scale))
	for y := range big.Rect.Dy() {
		src := mask.Pix[(y/scale)*mask.Stride:]
		row := big.Pix[y*big.Stride:]
		for x := range min(width, w*scale) {
			row[x] = src[x/scale]
		}
	}
	return big, nil
}

// wrap breaks s into lines no wider than limit, keeping Latin words and
// numbers whole where they fit, and ends the text with "…" after maxCaptionLines lines.
func wrap(s string, limit fixed.Int26_6, advance func(rune) fixed.Int26_6) []string {
	var lines []string
	var line []rune
	var width fixed.Int26_6
	for _, c := range s {
		a := advance(c)
		if len(line) > 0 && width+a > limit {
			cut := len(line)
			if !wide(c) && !unicode.IsSpace(c) {
				cut = wordStart(line)
			}
			lines = append(lines, strings.TrimSpace(string(line[:cut])))
			line = append([]rune(nil), line[cut:]...)
			width = 0
			for _, r := range line {
				width += advance(r)
			}
		}
		if len(line) == 0 && unicode.IsSpace(c) {
			continue
		}
		line = append(line, c)
		width += a
	}
	if l := strings.TrimSpace(string(line)); l != "" {
		lines = append(lines, l)
	}
	if len(lines) <= maxCaptionLines {
		return lines
	}
	last := []rune(lines[maxCaptionLines-1])
	ell := advance('…')
	for len(last) > 0 {
		var w fixed.Int26_6
		for _, r := range last {
			w += advance(r)
		}
		if w+ell <= limit {
			break
		}
		last = last[:len(last)-1]
	}
	lines[maxCaptionLines-1] = strings.TrimSpace(string(last)) + "…"
	return lines[:maxCaptionLines]
}

// wordStart is where the run of Latin letters and digits ending line
// starts: such a word moves to the next line whole, unless it fills the
// line; Chinese breaks between any two characters.
func wordStart(line []rune) int {
	i := len(line)
	for i > 0 && !wide(line[i-1]) && !unicode.IsSpace(line[i-1]) {
		i--
	}
	if i == 0 {
		return len(line)
	}
	return i
}

// estimateAdvance is the width of c in an unknown sans-serif font of size
// pixels: a full em for East Asian wide characters, about half for others.
// SVG captions are laid out with it when no font is installed.
func estimateAdvance(size int) func(rune) fixed.Int26_6 {
	return func(c rune) fixed.Int26_6 {
		if wide(c) {
			return fixed.I(size)
		}
		return fixed.I(size) * 6 / 10
	}
}

func wide(c rune) bool {
	return unicode.In(c, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul) ||
		(c >= 0x3000 && c <= 0x303f) || (c >= 0xff00 && c <= 0xffef)
}
