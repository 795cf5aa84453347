// Package qr renders codes as QR images — PNG for screens and print shops,
// SVG for designers — and runs batch image jobs whose zip files any host
// node can serve.
//
// Rendering: a Renderer (NewRenderer) holds the CJK font used for captions
// and is safe for concurrent use; Render and WriteZip are the same without
// a font (ASCII captions only). Module sizes are whole pixels so printed
// modules are even; a logo forces error-correction level H.
//
// Jobs: Submit stores a job and its items in PostgreSQL; workers on any node
// (Start) claim queued jobs with FOR UPDATE SKIP LOCKED, render on every
// core, and store the zip in 1 MiB chunks, so the node answering a download
// need not be the one that rendered. A worker that stops heart-beating is
// presumed dead and its job re-queued; jobs expire after seven days.
package qr

import (
	"bytes"
	"encoding/base64"
	"image"
	"image/color"
	_ "image/jpeg" // logos may be JPEG; PNG is registered by draw.go's encoder import
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Style is how a code is drawn. The zero Style is a black-on-white PNG at
// level M, 8 pixels per module, with a 4-module quiet zone.
type Style struct {
	Format string `json:"format,omitempty"` // png (default) or svg
	Level  string `json:"level,omitempty"`  // error correction L, M (default), Q, H
	// ModulePx is the size of one module in whole pixels, 1..40 (default 8).
	// Print sizes are chosen by module, never by total pixels, so every
	// module is equally wide.
	ModulePx int `json:"modulePx,omitempty"`
	// QuietZone is the margin in modules, 1..16; 0 means the standard 4.
	QuietZone int `json:"quietZone,omitempty"`
	// Logo is a PNG or JPEG drawn at the centre, at most a fifth of the
	// symbol's width, on a background-coloured pad. It forces level H.
	Logo []byte `json:"logo,omitempty"`
	// Caption is drawn under (or above) the code, wrapped to the image width
	// and cut with "…" after four lines. Items of a batch may override it.
	Caption string `json:"caption,omitempty"`
	// CaptionFontSize is in pixels, 8..128; 0 scales it with the image.
	CaptionFontSize int    `json:"captionFontSize,omitempty"`
	CaptionPosition string `json:"captionPosition,omitempty"` // bottom (default) or top
	// Foreground and Background are #rrggbb; the foreground must be clearly
	// darker, as many scanners do not read inverted codes.
	Foreground string `json:"foreground,omitempty"` // default #000000
	Background string `json:"background,omitempty"` // default #ffffff
}

// Limits of a Style.
const (
	maxModulePx     = 40
	maxQuietZone    = 16
	maxLogoBytes    = 1 << 20
	maxLogoSide     = 4096
	maxCaptionRunes = 100
	minFontSize     = 8
	maxFontSize     = 128
	maxContentBytes = 2953 // the most a QR code holds (version 40, level L, bytes)
)

// plan is a validated Style with everything decoded once, so a batch pays
// for parsing colours and the logo one time.
type plan struct {
	Style
	level  qrcode.RecoveryLevel
	fg, bg color.NRGBA
	logo   image.Image // nil without a logo
	// logoMIME is the logo's media type, for embedding it in SVG.
	logoMIME string

	mu     sync.Mutex
	scaled map[int]image.Image // the logo scaled for a symbol width in pixels
}

// prepare validates s and fills its defaults. Every mistake is a
// fault.Invalid naming the field.
func prepare(s Style) (*plan, error) {
	p := &plan{Style: s}
	p.Format = strings.ToLower(s.Format)
	switch p.Format {
	case "":
		p.Format = "png"
	case "png", "svg":
	default:
		return nil, fault.Invalidf("format must be png or svg, not %q", s.Format)
	}
	p.Level = strings.ToUpper(s.Level)
	if p.Level == "" {
		p.Level = "M"
	}
	switch p.Level {
	case "L":
		p.level = qrcode.Low
	case "M":
		p.level = qrcode.Medium
	case "Q":
		p.level = qrcode.High
	case "H":
		p.level = qrcode.Highest
	default:
		return nil, fault.Invalidf("level must be L, M, Q or H, not %q", s.Level)
	}
	if p.ModulePx == 0 {
		p.ModulePx = 8
	}
	if p.ModulePx < 1 || p.ModulePx > maxModulePx {
		return nil, fault.Invalidf("modulePx must be 1 to %d pixels", maxModulePx)
	}
	if p.QuietZone == 0 {
		p.QuietZone = 4
	}
	if p.QuietZone < 1 || p.QuietZone > maxQuietZone {
		return nil, fault.Invalidf("quietZone must be 1 to %d modules", maxQuietZone)
	}
	var err error
	if p.fg, err = parseColor("foreground", s.Foreground, color.NRGBA{A: 255}); err != nil {
		return nil, err
	}
	if p.bg, err = parseColor("background", s.Background, color.NRGBA{255, 255, 255, 255}); err != nil {
		return nil, err
	}
	if luminance(p.bg)-luminance(p.fg) < 0.4 {
		return nil, fault.Invalidf("the foreground colour must be clearly darker than the background")
	}
	if err := checkCaption(s.Caption); err != nil {
		return nil, err
	}
	if p.CaptionFontSize != 0 && (p.CaptionFontSize < minFontSize || p.CaptionFontSize > maxFontSize) {
		return nil, fault.Invalidf("captionFontSize must be %d to %d pixels", minFontSize, maxFontSize)
	}
	switch p.CaptionPosition = strings.ToLower(s.CaptionPosition); p.CaptionPosition {
	case "":
		p.CaptionPosition = "bottom"
	case "top", "bottom":
	default:
		return nil, fault.Invalidf("captionPosition must be top or bottom, not %q", s.CaptionPosition)
	}
	if len(s.Logo) > 0 {
		if err := p.decodeLogo(); err != nil {
			return nil, err
		}
		p.Level, p.level = "H", qrcode.Highest
	}
	return p, nil
}

func (p *plan) decodeLogo() error {
	if len(p.Logo) > maxLogoBytes {
		return fault.Invalidf("logo is larger than %d bytes", maxLogoBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(p.Logo))
	if err != nil || (format != "png" && format != "jpeg") {
		return fault.Invalidf("logo must be a PNG or JPEG image")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxLogoSide || cfg.Height > maxLogoSide {
		return fault.Invalidf("logo must be at most %d×%d pixels", maxLogoSide, maxLogoSide)
	}
	img, _, err := image.Decode(bytes.NewReader(p.Logo))
	if err != nil {
		return fault.Invalidf("logo must be a PNG or JPEG image")
	}
	p.logo, p.logoMIME, p.scaled = img, "image/"+format, map[int]image.Image{}
	return nil
}

func checkCaption(c string) error {
	if !utf8.ValidString(c) || strings.IndexFunc(c, unicode.IsControl) >= 0 {
		return fault.Invalidf("caption must be text without control characters")
	}
	if utf8.RuneCountInString(c) > maxCaptionRunes {
		return fault.Invalidf("caption is longer than %d characters", maxCaptionRunes)
	}
	return nil
}

func parseColor(field, s string, def color.NRGBA) (color.NRGBA, error) {
	if s == "" {
		return def, nil
	}
	var c [3]byte
	if len(s) != 7 || s[0] != '#' {
		return def, fault.Invalidf("%s must be a colour #rrggbb", field)
	}
	for i := range c {
		v, ok := hexByte(s[1+2*i], s[2+2*i])
		if !ok {
			return def, fault.Invalidf("%s must be a colour #rrggbb", field)
		}
		c[i] = v
	}
	return color.NRGBA{c[0], c[1], c[2], 255}, nil
}

func hexByte(hi, lo byte) (byte, bool) {
	h, ok1 := hexDigit(hi)
	l, ok2 := hexDigit(lo)
	return h<<4 | l, ok1 && ok2
}

func hexDigit(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// luminance is the relative luminance (0 black … 1 white) of c, by the
// Rec. 709 weights on gamma-encoded values: close enough to decide whether
// a scanner's binarizer will see dark modules as dark.
func luminance(c color.NRGBA) float64 {
	return (0.2126*float64(c.R) + 0.7152*float64(c.G) + 0.0722*float64(c.B)) / 255
}

// logoDataURI is the logo as an SVG image reference.
func (p *plan) logoDataURI() string {
	return "data:" + p.logoMIME + ";base64," + base64.StdEncoding.EncodeToString(p.Logo)
}

// Renderer draws QR images. It is safe for concurrent use. The zero
// Renderer has no CJK font: PNG captions must then be ASCII.
type Renderer struct {
	font     *fontFace // nil: no CJK font installed
	fontPath string
	buffers  pngBuffers
}

// Render draws content as a QR image in style s without a CJK font:
// captions must be ASCII. Use a Renderer for Chinese captions.
func Render(content string, s Style) ([]byte, error) {
	return (&Renderer{}).Render(content, s)
}

// Render draws content as a QR image in style s. Content that does not fit
// a QR code and every style mistake are fault.Invalid errors.
func (r *Renderer) Render(content string, s Style) ([]byte, error) {
	_, data, err := r.renderStyle(content, s)
	return data, err
}

// renderStyle validates s and draws content in it.
func (r *Renderer) renderStyle(content string, s Style) (*plan, []byte, error) {
	p, err := prepare(s)
	if err != nil {
		return nil, nil, err
	}
	if err := r.checkCaption(p, p.Caption); err != nil {
		return nil, nil, err
	}
	data, err := r.render(p, content, p.Caption)
	return p, data, err
}

// render draws one image of a prepared style.
func (r *Renderer) render(p *plan, content, caption string) ([]byte, error) {
	if content == "" {
		return nil, fault.Missing("content")
	}
	if len(content) > maxContentBytes {
		return nil, fault.Invalidf("content of %d bytes does not fit a QR code", len(content))
	}
	q, err := qrcode.New(content, p.level)
	if err != nil {
		return nil, fault.Invalidf("content of %d bytes does not fit a QR code at level %s", len(content), p.Level)
	}
	q.DisableBorder = true
	bm := q.Bitmap()
	if p.Format == "svg" {
		return r.svg(bm, p, caption), nil
	}
	return r.png(bm, p, caption)
}
