package qr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/skip2/go-qrcode"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/qr"
)

const url = "https://citycode.example.cn/c/abcdefghijklmnopqrstuvwx"

// decode reads a QR image back, as a phone camera would. An image taller
// than wide carries a caption: the code is the square above or below it.
func decode(t testing.TB, img image.Image) string {
	t.Helper()
	b := img.Bounds()
	crops := []image.Rectangle{b}
	if b.Dy() > b.Dx() {
		crops = []image.Rectangle{image.Rect(0, 0, b.Dx(), b.Dx()), image.Rect(0, b.Dy()-b.Dx(), b.Dx(), b.Dy())}
	}
	var err error
	for _, r := range crops {
		sub := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(sub, sub.Rect, img, r.Min, draw.Src)
		var bmp *gozxing.BinaryBitmap
		if bmp, err = gozxing.NewBinaryBitmapFromImage(sub); err != nil {
			t.Fatal(err)
		}
		var res *gozxing.Result
		res, err = qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
		if err == nil {
			return res.GetText()
		}
	}
	t.Fatalf("QR image does not decode: %v", err)
	return ""
}

func decodePNG(t testing.TB, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return decode(t, img)
}

// cjkRenderer is a Renderer with the installed CJK font. CI installs
// fonts-wqy-microhei; without a CJK font the test fails, unless
// CITYCODE_ALLOW_NO_CJK_FONT=1, which skips it.
func cjkRenderer(t testing.TB) *qr.Renderer {
	t.Helper()
	r, err := qr.NewRenderer("")
	if err != nil {
		t.Fatal(err)
	}
	if r.FontPath() == "" {
		if os.Getenv("CITYCODE_ALLOW_NO_CJK_FONT") == "1" {
			t.Skip("no CJK font installed")
		}
		t.Fatal("no CJK font installed: apt-get install fonts-wqy-microhei (or set CITYCODE_ALLOW_NO_CJK_FONT=1 to skip)")
	}
	return r
}

// testLogo is a w×h image of a red disc on a blue field.
func testLogo(t testing.TB, w, h int, format string) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{20, 60, 200, 255}
			if dx, dy := x-w/2, y-h/2; dx*dx+dy*dy < (min(w, h)/3)*(min(w, h)/3) {
				c = color.NRGBA{220, 30, 30, 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&buf, img, nil)
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestPNGDecodesBack(t *testing.T) {
	t.Parallel()
	r := cjkRenderer(t)
	cases := []struct {
		name  string
		style qr.Style
		want  image.Point // pixel size, when checked
	}{
		{"L", qr.Style{Level: "L", ModulePx: 4}, image.Point{}},
		{"M default", qr.Style{}, image.Point{}},
		{"Q", qr.Style{Level: "q", ModulePx: 3}, image.Point{}},
		{"H", qr.Style{Level: "H", ModulePx: 4}, image.Point{}},
		{"whole pixels per module", qr.Style{Level: "M", ModulePx: 5, QuietZone: 2}, image.Pt((33+4)*5, (33+4)*5)}, // version 4: 33 modules
		{"colours", qr.Style{Foreground: "#1A237E", Background: "#fff8e1"}, image.Point{}},
		{"png logo", qr.Style{Logo: testLogo(t, 200, 120, "png"), ModulePx: 4}, image.Point{}},
		{"jpeg logo at level L is raised to H", qr.Style{Level: "L", Logo: testLogo(t, 90, 160, "jpeg")}, image.Point{}},
		{"chinese caption", qr.Style{Caption: "徐汇区公共厕所 310104-000123", ModulePx: 4}, image.Point{}},
		{"caption on top, big font", qr.Style{Caption: "徐汇区公共厕所 310104-000123", CaptionPosition: "top", CaptionFontSize: 40}, image.Point{}},
		{"logo and caption", qr.Style{Caption: "码上城管", Logo: testLogo(t, 64, 64, "png"), Foreground: "#004d40"}, image.Point{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			data, err := r.Render(url, c.style)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if got := decode(t, img); got != url {
				t.Fatalf("decodes to %q", got)
			}
			b := img.Bounds()
			if c.want != (image.Point{}) && b.Size() != c.want {
				t.Errorf("size %v, want %v", b.Size(), c.want)
			}
			if c.style.Caption != "" && b.Dy() <= b.Dx() {
				t.Errorf("captioned image is %v: no caption band", b.Size())
			}
		})
	}
}

// TestLogoForcesLevelH compares the module grid with a logo to the level H
// symbol: same version, and the logo covers the centre.
func TestLogoForcesLevelH(t *testing.T) {
	t.Parallel()
	withLogo, err := qr.Render(url, qr.Style{Level: "L", ModulePx: 1, QuietZone: 1, Logo: testLogo(t, 50, 50, "png")})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := png.Decode(bytes.NewReader(withLogo))
	h, _ := qrcode.New(url, qrcode.Highest)
	if n := len(h.Bitmap()) - 8 + 2; img.Bounds().Dx() != n { // skip2's bitmap has a 4-module border
		t.Fatalf("width %d modules, want level H's %d", img.Bounds().Dx(), n)
	}
	c := img.Bounds().Dx() / 2
	if r, g, b, _ := img.At(c, c).RGBA(); r>>8 < 150 || g>>8 > 100 || b>>8 > 100 {
		t.Errorf("the centre is not the logo's red: %d %d %d", r>>8, g>>8, b>>8)
	}
}

var runRE = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)

// TestSVGStructure rebuilds the module grid from the SVG's path and checks
// it is exactly the symbol, then draws it and decodes it.
func TestSVGStructure(t *testing.T) {
	t.Parallel()
	levels := map[string]qrcode.RecoveryLevel{"L": qrcode.Low, "M": qrcode.Medium, "Q": qrcode.High, "H": qrcode.Highest}
	for name, lvl := range levels {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			const px, qz = 6, 3
			svg, err := qr.Render(url, qr.Style{Format: "svg", Level: name, ModulePx: px, QuietZone: qz})
			if err != nil {
				t.Fatal(err)
			}
			s := string(svg)
			if !strings.HasPrefix(s, "<svg ") || !strings.HasSuffix(s, "</svg>") || strings.Count(s, "<path") != 1 {
				t.Fatalf("not one-path SVG: %.200s", s)
			}
			q, _ := qrcode.New(url, lvl)
			q.DisableBorder = true
			want := q.Bitmap()
			n := len(want) + 2*qz
			if !strings.Contains(s, fmt.Sprintf(`viewBox="0 0 %d %d"`, n*px, n*px)) || !strings.Contains(s, fmt.Sprintf("scale(%d)", px)) {
				t.Fatalf("viewBox or scale wrong: %.300s", s)
			}
			got := make([][]bool, n)
			for i := range got {
				got[i] = make([]bool, n)
			}
			runs := runRE.FindAllStringSubmatch(s, -1)
			for _, m := range runs {
				x, y, w := atoi(t, m[1]), atoi(t, m[2]), atoi(t, m[3])
				if m[3] != m[4] {
					t.Fatalf("run %s does not close", m[0])
				}
				for i := range w {
					if got[y][x+i] {
						t.Fatalf("module %d,%d drawn twice", x+i, y)
					}
					got[y][x+i] = true
				}
			}
			dark, runsWant := 0, 0
			img := image.NewGray(image.Rect(0, 0, n*4, n*4))
			draw.Draw(img, img.Rect, image.White, image.Point{}, draw.Src)
			for y := range n {
				for x := range n {
					in := x >= qz && y >= qz && x < n-qz && y < n-qz && want[y-qz][x-qz]
					if got[y][x] != in {
						t.Fatalf("module %d,%d: svg %v, symbol %v", x, y, got[y][x], in)
					}
					if in {
						dark++
						if x == qz || !want[y-qz][x-qz-1] {
							runsWant++
						}
						draw.Draw(img, image.Rect(x*4, y*4, x*4+4, y*4+4), image.Black, image.Point{}, draw.Src)
					}
				}
			}
			if len(runs) != runsWant {
				t.Errorf("%d runs for %d dark modules, want %d merged runs", len(runs), dark, runsWant)
			}
			if got := decode(t, img); got != url {
				t.Fatalf("drawn SVG decodes to %q", got)
			}
		})
	}
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSVGLogoAndCaption(t *testing.T) {
	t.Parallel()
	logo := testLogo(t, 40, 40, "png")
	svg, err := qr.Render(url, qr.Style{Format: "svg", Logo: logo, Caption: `徐汇区 <公厕> & "310104"`, Foreground: "#102030"})
	if err != nil {
		t.Fatal(err)
	}
	s := string(svg)
	for _, want := range []string{`href="data:image/png;base64,`, `&lt;公厕&gt; &amp; &#34;310104&#34;</text>`, `fill="#102030"`, `text-anchor="middle"`} {
		if !strings.Contains(s, want) {
			t.Errorf("svg lacks %s: %.400s", want, s)
		}
	}
	// The SVG needs no font on the server: the viewer draws the text.
	if _, err := (&qr.Renderer{}).Render(url, qr.Style{Format: "svg", Caption: "徐汇区公共厕所"}); err != nil {
		t.Errorf("svg caption without a font: %v", err)
	}
}

func TestCaptionWithoutCJKFont(t *testing.T) {
	t.Parallel()
	none := &qr.Renderer{}
	data, err := none.Render(url, qr.Style{Caption: "Toilet 310104-000123", CaptionFontSize: 26})
	if err != nil {
		t.Fatalf("ASCII caption with the built-in font: %v", err)
	}
	if got := decodePNG(t, data); got != url {
		t.Fatalf("decodes to %q", got)
	}
	_, err = none.Render(url, qr.Style{Caption: "徐汇区公共厕所"})
	if fe, ok := fault.As(err); !ok || fe.Code != fault.CodeInvalidParameter || !strings.Contains(fe.Message, "fonts-wqy-microhei") {
		t.Fatalf("chinese caption without a font: %v", err)
	}
	if _, err := qr.NewRenderer("/nonexistent/font.ttf"); err == nil {
		t.Fatal("a missing explicit font is accepted")
	}
	if _, err := qr.NewRenderer("render_test.go"); err == nil {
		t.Fatal("a file that is not a font is accepted")
	}
}

func TestBadStyles(t *testing.T) {
	t.Parallel()
	r := cjkRenderer(t)
	huge := make([]byte, 2<<20)
	cases := []struct {
		name  string
		style qr.Style
	}{
		{"format", qr.Style{Format: "gif"}},
		{"level", qr.Style{Level: "X"}},
		{"module too big", qr.Style{ModulePx: 41}},
		{"module negative", qr.Style{ModulePx: -1}},
		{"quiet zone negative", qr.Style{QuietZone: -1}},
		{"quiet zone too big", qr.Style{QuietZone: 17}},
		{"colour name", qr.Style{Foreground: "black"}},
		{"colour short", qr.Style{Background: "#fff"}},
		{"colour not hex", qr.Style{Foreground: "#00zz00"}},
		{"inverted", qr.Style{Foreground: "#ffffff", Background: "#000000"}},
		{"low contrast", qr.Style{Foreground: "#777777", Background: "#999999"}},
		{"logo not an image", qr.Style{Logo: []byte("<svg/>")}},
		{"logo too large", qr.Style{Logo: huge}},
		{"logo gif", qr.Style{Logo: []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")}},
		{"caption control", qr.Style{Caption: "a\nb"}},
		{"caption invalid utf-8", qr.Style{Caption: "\xff\xfe"}},
		{"caption too long", qr.Style{Caption: strings.Repeat("厕", 101)}},
		{"caption glyph missing", qr.Style{Caption: "\U0001F6BD"}},
		{"font too small", qr.Style{Caption: "x", CaptionFontSize: 7}},
		{"font too big", qr.Style{Caption: "x", CaptionFontSize: 129}},
		{"caption position", qr.Style{Caption: "x", CaptionPosition: "left"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if _, err := r.Render(url, c.style); fault.CodeOf(err) != fault.CodeInvalidParameter {
				t.Errorf("style %s: %v", c.name, err)
			}
		})
	}
	t.Run("content", func(t *testing.T) {
		t.Parallel()
		if _, err := r.Render(strings.Repeat("x", 5000), qr.Style{}); fault.CodeOf(err) != fault.CodeInvalidParameter {
			t.Errorf("oversized content: %v", err)
		}
		if _, err := r.Render(strings.Repeat("x", 2000), qr.Style{Level: "H"}); fault.CodeOf(err) != fault.CodeInvalidParameter {
			t.Errorf("content too big for level H: %v", err)
		}
		if _, err := r.Render("", qr.Style{}); fault.CodeOf(err) != fault.CodeMissingParameter {
			t.Errorf("empty content: %v", err)
		}
	})
}

func TestServeImage(t *testing.T) {
	t.Parallel()
	r := cjkRenderer(t)
	img, err := r.ServeImage(url, qr.Style{ModulePx: 4}, "../公厕:310104")
	if err != nil {
		t.Fatal(err)
	}
	if img.ContentType() != "image/png" || img.Filename() != "_公厕_310104.png" {
		t.Errorf("png: %s %q", img.ContentType(), img.Filename())
	}
	var buf bytes.Buffer
	if err := img.WriteTo(context.Background(), &buf); err != nil || decodePNG(t, buf.Bytes()) != url {
		t.Fatalf("written image: %v", err)
	}
	svg, err := r.ServeImage(url, qr.Style{Format: "SVG"}, "")
	if err != nil || svg.ContentType() != "image/svg+xml" || svg.Filename() != "" || !bytes.HasPrefix(svg.Bytes(), []byte("<svg")) {
		t.Fatalf("svg: %v", err)
	}
	if _, err := r.ServeImage(url, qr.Style{Level: "Z"}, "x"); fault.CodeOf(err) != fault.CodeInvalidParameter {
		t.Errorf("bad style: %v", err)
	}
}

func TestZipNamesAndOrder(t *testing.T) {
	t.Parallel()
	r := cjkRenderer(t)
	items := []qr.Item{
		{Name: "公厕", Content: "https://c.example/c/1"},
		{Name: "公厕", Content: "https://c.example/c/2"},
		{Name: "../../etc/passwd", Content: "https://c.example/c/3"},
		{Name: "", Content: "https://c.example/c/4"},
		{Name: "CON", Content: "https://c.example/c/5"},
		{Name: " a<b>:c?. ", Content: "https://c.example/c/6", Caption: "单独的说明"},
		{Name: strings.Repeat("长", 100), Content: "https://c.example/c/7"},
	}
	want := []string{"公厕.png", "公厕-2.png", "_.._etc_passwd.png", "000004.png", "_CON.png", "a_b__c_.png", strings.Repeat("长", 80) + ".png"}
	var buf bytes.Buffer
	if err := r.WriteZip(context.Background(), &buf, items, qr.Style{ModulePx: 3, Caption: "徐汇区"}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || len(zr.File) != len(items) {
		t.Fatalf("zip: %v, %d files", err, len(zr.File))
	}
	for i, f := range zr.File {
		if f.Name != want[i] {
			t.Errorf("file %d is %q, want %q", i, f.Name, want[i])
		}
		if decodePNG(t, read(t, f)) != items[i].Content {
			t.Errorf("file %d does not decode to its content", i)
		}
	}
	// A bad caption is refused before anything is written.
	buf.Reset()
	err = (&qr.Renderer{}).WriteZip(context.Background(), &buf, []qr.Item{{Name: "a", Content: "x"}, {Name: "b", Content: "y", Caption: "中文"}}, qr.Style{})
	if fault.CodeOf(err) != fault.CodeInvalidParameter || buf.Len() != 0 || !strings.Contains(err.Error(), "item 2") {
		t.Errorf("bad caption: %v, %d bytes written", err, buf.Len())
	}
	// Content that cannot be a QR code stops the zip naming the item.
	err = qr.WriteZip(context.Background(), io.Discard, []qr.Item{{Name: "a", Content: "x"}, {Name: "big", Content: strings.Repeat("x", 2900)}}, qr.Style{Level: "H"})
	if fault.CodeOf(err) != fault.CodeInvalidParameter || !strings.Contains(err.Error(), "item 2 (big)") {
		t.Errorf("oversized item: %v", err)
	}
	// A cancelled context stops rendering.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := qr.WriteZip(ctx, io.Discard, items, qr.Style{}); err == nil {
		t.Error("cancelled zip succeeded")
	}
}

func read(t testing.TB, f *zip.File) []byte {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
