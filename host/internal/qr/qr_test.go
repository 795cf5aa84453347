package qr_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/qr"
)

// Decode reads a PNG QR image back, as a phone camera would.
func Decode(t testing.TB, data []byte) string {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrreader.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("QR image does not decode: %v", err)
	}
	return res.GetText()
}

func TestRenderDecodesBack(t *testing.T) {
	const content = "HTTPS://CITYCODE.EXAMPLE.CN/C/abcdefghijklmnopqrstuvwx"
	for _, lvl := range []string{"L", "M", "Q", "H"} {
		data, err := qr.Render(content, qr.Style{Level: lvl, ModulePx: 4})
		if err != nil {
			t.Fatal(err)
		}
		if got := Decode(t, data); got != content {
			t.Fatalf("level %s decodes to %q", lvl, got)
		}
	}
	svg, err := qr.Render(content, qr.Style{Format: "svg"})
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), `<path fill="#000" d="M`) {
		t.Fatalf("svg: %v %.120s", err, svg)
	}
	for _, bad := range []qr.Style{{Format: "gif"}, {Level: "X"}, {ModulePx: 99}, {QuietZone: -1}} {
		if _, err := qr.Render(content, bad); fault.CodeOf(err) != fault.CodeInvalidParameter {
			t.Errorf("style %+v: %v", bad, err)
		}
	}
	if _, err := qr.Render(strings.Repeat("x", 5000), qr.Style{}); fault.CodeOf(err) != fault.CodeInvalidParameter {
		t.Errorf("oversized content: %v", err)
	}
}

func TestZipHoldsEveryItemInOrder(t *testing.T) {
	var items []qr.Item
	for i := range 200 {
		items = append(items, qr.Item{Name: fmt.Sprintf("%09d", i), Content: fmt.Sprintf("https://c.example/c/%024d", i)})
	}
	var buf bytes.Buffer
	if err := qr.WriteZip(context.Background(), &buf, items, qr.Style{ModulePx: 3}); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil || len(zr.File) != len(items) {
		t.Fatalf("zip: %v, %d files", err, len(zr.File))
	}
	for i, f := range zr.File {
		rc, _ := f.Open()
		data, _ := io.ReadAll(rc)
		rc.Close()
		if f.Name != items[i].Name+".png" || Decode(t, data) != items[i].Content {
			t.Fatalf("file %d: %s", i, f.Name)
		}
	}
}

func BenchmarkRenderPNG(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := qr.Render("https://citycode.example.cn/c/abcdefghijklmnopqrstuvwx", qr.Style{ModulePx: 4}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
