package qr

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/fixed"
)

// shades is the number of caption anti-aliasing levels between background
// and foreground; with the two plain colours the palette stays at 16
// entries, a 4-bit PNG.
const shades = 14

// palette is bg, fg, then the shades from bg towards fg.
func (p *plan) palette(withCaption bool) color.Palette {
	pal := color.Palette{p.bg, p.fg}
	if !withCaption {
		return pal
	}
	for k := 1; k <= shades; k++ {
		mix := func(a, b uint8) uint8 { return uint8((int(a)*(shades+1-k) + int(b)*k) / (shades + 1)) }
		pal = append(pal, color.NRGBA{mix(p.bg.R, p.fg.R), mix(p.bg.G, p.fg.G), mix(p.bg.B, p.fg.B), 255})
	}
	return pal
}

// shadeIndex maps caption coverage to a palette index.
func shadeIndex(a uint8) uint8 {
	switch k := (int(a)*(shades+1) + 127) / 255; k {
	case 0:
		return 0
	case shades + 1:
		return 1
	default:
		return uint8(1 + k)
	}
}

// pngBuffers reuses the encoder's compression state between images.
type pngBuffers struct{ p sync.Pool }

func (b *pngBuffers) Get() *png.EncoderBuffer {
	e, _ := b.p.Get().(*png.EncoderBuffer)
	return e
}
func (b *pngBuffers) Put(e *png.EncoderBuffer) { b.p.Put(e) }

// png draws the modules into a paletted image (1 bit per pixel without a
// caption), adds the caption band and the logo, and encodes with the
// fastest compression: codes compress well anyway, and batch throughput
// matters more than a few hundred bytes.
func (r *Renderer) png(bm [][]bool, p *plan, caption string) ([]byte, error) {
	px, qz := p.ModulePx, p.QuietZone
	side := (len(bm) + 2*qz) * px
	var band *image.Alpha
	if caption != "" {
		var err error
		if band, err = r.captionMask(caption, side, p.fontSize(side)); err != nil {
			return nil, err
		}
	}
	bandH, top := 0, 0
	if band != nil {
		bandH = band.Rect.Dy()
		if p.CaptionPosition == "top" {
			top = bandH
		}
	}
	img := image.NewPaletted(image.Rect(0, 0, side, side+bandH), p.palette(band != nil))
	for y, row := range bm {
		y0 := top + (y+qz)*px
		for x, dark := range row {
			if !dark {
				continue
			}
			x0 := (x + qz) * px
			for dy := range px {
				line := img.Pix[img.PixOffset(x0, y0+dy):]
				for dx := range px {
					line[dx] = 1
				}
			}
		}
	}
	if band != nil {
		y0 := side
		if top > 0 {
			y0 = 0
		}
		for y := range bandH {
			src, dst := band.Pix[y*band.Stride:], img.Pix[img.PixOffset(0, y0+y):]
			for x := range side {
				if a := src[x]; a != 0 {
					dst[x] = shadeIndex(a)
				}
			}
		}
	}
	var out image.Image = img
	if p.logo != nil {
		out = p.withLogo(img, len(bm), top)
	}
	var buf bytes.Buffer
	buf.Grow(side * side / 16)
	enc := png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: &r.buffers}
	if err := enc.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("qr: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// logoBox is where the logo goes for a symbol of n modules: its pad
// rectangle and the logo inside it, relative to the symbol's top left. The
// pad takes at most a fifth of the symbol's width, which level H recovers
// from with room to spare.
func (p *plan) logoBox(n int) (pad, logo image.Rectangle) {
	px := p.ModulePx
	s := n * px
	box := s / 5
	inner := box - 2*px
	b := p.logo.Bounds()
	w, h := inner, inner
	if b.Dx() > b.Dy() {
		h = inner * b.Dy() / b.Dx()
	} else {
		w = inner * b.Dx() / b.Dy()
	}
	w, h = max(w, 1), max(h, 1)
	logo = image.Rect(0, 0, w, h).Add(image.Pt((s-w)/2, (s-h)/2))
	return logo.Inset(-px), logo
}

// withLogo returns img in full colour with the logo on its pad.
func (p *plan) withLogo(img *image.Paletted, n, top int) image.Image {
	out := image.NewNRGBA(img.Rect)
	var pal [256][4]uint8
	for i, c := range img.Palette {
		n := c.(color.NRGBA)
		pal[i] = [4]uint8{n.R, n.G, n.B, n.A}
	}
	for i, idx := range img.Pix { // both images start at the origin with no padding
		copy(out.Pix[4*i:4*i+4], pal[idx][:])
	}
	off := image.Pt(p.QuietZone*p.ModulePx, top+p.QuietZone*p.ModulePx)
	pad, logo := p.logoBox(n)
	draw.Draw(out, pad.Add(off), image.NewUniform(p.bg), image.Point{}, draw.Src)
	draw.Draw(out, logo.Add(off), p.scaledLogo(logo.Size()), image.Point{}, draw.Over)
	return out
}

// scaledLogo is the logo at size, computed once per size: a batch draws
// symbols of one or two sizes.
func (p *plan) scaledLogo(size image.Point) image.Image {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := size.X<<16 | size.Y
	if img, ok := p.scaled[key]; ok {
		return img
	}
	img := image.NewNRGBA(image.Rectangle{Max: size})
	draw.CatmullRom.Scale(img, img.Rect, p.logo, p.logo.Bounds(), draw.Src, nil)
	p.scaled[key] = img
	return img
}

// captionFamilies are the fonts an SVG viewer is asked for, CJK first.
const captionFamilies = `'WenQuanYi Micro Hei','Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif`

// svg draws the symbol as one path in module units, each horizontal run of
// dark modules one rectangle, scaled to ModulePx; the caption is text and
// the logo an embedded image, so the file stays small and editable.
func (r *Renderer) svg(bm [][]bool, p *plan, caption string) []byte {
	px, qz := p.ModulePx, p.QuietZone
	side := (len(bm) + 2*qz) * px
	var lines []string
	size, lineH, pad, bandH, top := p.fontSize(side), 0, 0, 0, 0
	if caption != "" {
		advance := estimateAdvance(size)
		if r.font != nil {
			if f, err := newFace(r.font, size); err == nil {
				defer f.Close()
				advance = func(c rune) fixed.Int26_6 { a, _ := f.GlyphAdvance(c); return a }
			}
		}
		lines = wrap(caption, fixed.I(side*15/16), advance)
		lineH = size * 5 / 4
		pad = lineH / 4
		bandH = len(lines)*lineH + 2*pad
		if p.CaptionPosition == "top" {
			top = bandH
		}
	}
	h := side + bandH
	var b strings.Builder
	b.Grow(64 * len(bm) * 4)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges">`, side, h, side, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="%s"/>`, side, h, hexColor(p.bg))
	fmt.Fprintf(&b, `<path fill="%s" transform="translate(0 %d) scale(%d)" d="`, hexColor(p.fg), top, px)
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
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start+qz, y+qz, x-start, x-start)
		}
	}
	b.WriteString(`"/>`)
	if p.logo != nil {
		off := image.Pt(qz*px, top+qz*px)
		padR, logo := p.logoBox(len(bm))
		padR, logo = padR.Add(off), logo.Add(off)
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`, padR.Min.X, padR.Min.Y, padR.Dx(), padR.Dy(), hexColor(p.bg))
		uri := p.logoDataURI()
		fmt.Fprintf(&b, `<image x="%d" y="%d" width="%d" height="%d" href="%s" xlink:href="%s"/>`, logo.Min.X, logo.Min.Y, logo.Dx(), logo.Dy(), uri, uri)
	}
	y0 := side
	if top > 0 {
		y0 = 0
	}
	for i, l := range lines {
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="%d" font-family="%s" text-anchor="middle" fill="%s">`,
			side/2, y0+pad+i*lineH+size, size, captionFamilies, hexColor(p.fg))
		_ = xml.EscapeText(&b, []byte(l))
		b.WriteString(`</text>`)
	}
	b.WriteString(`</svg>`)
	return []byte(b.String())
}

func hexColor(c color.NRGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
