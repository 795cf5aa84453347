package codeengine

import (
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// FuzzReadSheet: no uploaded file makes the import reader panic; what it
// refuses is a client error (400), never an internal one, and what it
// accepts holds at most MaxEntries rows, numbered below the header.
func FuzzReadSheet(f *testing.F) {
	x := excelize.NewFile()
	_ = x.SetSheetRow("Sheet1", "A1", &[]any{"名称", "地址", "经度", "纬度"})
	_ = x.SetSheetRow("Sheet1", "A2", &[]any{"公厕", "人民大道200号", 121.47, 31.23})
	_ = x.SetSheetRow("Sheet1", "A4", &[]any{"井盖", "", "x", ""})
	buf, err := x.WriteToBuffer()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, rows, err := readSheet(b)
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("an uploaded file answered %v", err)
			}
			return
		}
		if len(rows) > MaxEntries {
			t.Fatalf("%d rows accepted", len(rows))
		}
		for _, r := range rows {
			if r.n < 2 {
				t.Fatalf("a data row numbered %d", r.n)
			}
		}
	})
}
