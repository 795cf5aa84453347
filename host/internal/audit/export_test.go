package audit

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

// readExport parses an export into rows of cells, header first.
type readExport func(t *testing.T, data []byte) [][]string

func readCSV(t *testing.T, data []byte) [][]string {
	t.Helper()
	body, ok := bytes.CutPrefix(data, []byte("\xEF\xBB\xBF"))
	if !ok {
		t.Fatalf("csv does not start with a UTF-8 BOM: % x", data[:min(3, len(data))])
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func readXLSX(t *testing.T, data []byte) [][]string {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	if sheets := x.GetSheetList(); !slices.Equal(sheets, []string{"审计日志"}) {
		t.Fatalf("sheets = %v", sheets)
	}
	rows, err := x.GetRows("审计日志")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestExports(t *testing.T) {
	t.Parallel()
	pool := storetest.New(t)
	ctx := testCtx(t)
	l, model := seedEntries(t, pool, 30, Config{})
	// An attacker-chosen account must reach the file as text, not a formula.
	hostile := entry("auth.login")
	hostile.Type, hostile.Result, hostile.Account = TypeLogin, Failure, `=HYPERLINK("http://evil","点我")`
	hostile.PlatformID = "P9"
	mustRecord(t, ctx, l, hostile)

	formats := []struct {
		name    string
		export  func(*Logger) func(Filter, *bytes.Buffer) error
		read    readExport
		defused string // how the hostile account appears
	}{
		{"csv", func(l *Logger) func(Filter, *bytes.Buffer) error {
			return func(f Filter, b *bytes.Buffer) error { return l.ExportCSV(ctx, f, b) }
		}, readCSV, "'" + hostile.Account},
		{"xlsx", func(l *Logger) func(Filter, *bytes.Buffer) error {
			return func(f Filter, b *bytes.Buffer) error { return l.ExportXLSX(ctx, f, b) }
		}, readXLSX, hostile.Account},
	}
	for _, format := range formats {
		t.Run(format.name, func(t *testing.T) {
			t.Parallel()
			export := format.export(l)

			t.Run("filtered rows", func(t *testing.T) {
				f := Filter{From: t0.Add(3 * time.Minute), To: t0.Add(20 * time.Minute), PlatformIDs: []string{"P1", "P2"},
					Offset: 5, Limit: 1} // paging is ignored by exports
				var b bytes.Buffer
				if err := export(f, &b); err != nil {
					t.Fatal(err)
				}
				rows := format.read(t, b.Bytes())
				if !slices.Equal(rows[0], exportHeader) {
					t.Fatalf("header = %q", rows[0])
				}
				want := expectSeqs(model, Filter{From: f.From, To: f.To, PlatformIDs: f.PlatformIDs})
				if len(rows)-1 != len(want) {
					t.Fatalf("%d rows, want %d", len(rows)-1, len(want))
				}
				for i, row := range rows[1:] {
					e := model[want[i]-1]
					wantRow := []string{fmt.Sprint(e.Seq), e.At.In(time.FixedZone("", 8*3600)).Format(exportTimeLayout),
						e.Type.label(), e.Account, e.PlatformID, e.SourceIP, e.Action, e.Target, "成功", e.RequestID}
					if !slices.Equal(row[:10], wantRow) {
						t.Fatalf("row %d = %q, want %q", i, row[:10], wantRow)
					}
					var detail map[string]any
					if err := json.Unmarshal([]byte(row[10]), &detail); err != nil {
						t.Fatalf("detail %q: %v", row[10], err)
					}
				}
			})

			t.Run("formula defused", func(t *testing.T) {
				var b bytes.Buffer
				if err := export(Filter{PlatformIDs: []string{"P9"}}, &b); err != nil {
					t.Fatal(err)
				}
				rows := format.read(t, b.Bytes())
				if len(rows) != 2 || rows[1][3] != format.defused || rows[1][2] != "登录日志" || rows[1][8] != "失败" {
					t.Fatalf("rows = %q", rows)
				}
			})

			t.Run("empty scope has only the header", func(t *testing.T) {
				var b bytes.Buffer
				if err := export(Filter{PlatformIDs: []string{}}, &b); err != nil {
					t.Fatal(err)
				}
				if rows := format.read(t, b.Bytes()); len(rows) != 1 || !slices.Equal(rows[0], exportHeader) {
					t.Fatalf("rows = %q", rows)
				}
			})

			t.Run("bad filter writes nothing", func(t *testing.T) {
				var b bytes.Buffer
				err := export(Filter{From: t0.Add(time.Hour), To: t0}, &b)
				if fault.KindOf(err) != fault.Invalid || b.Len() != 0 {
					t.Fatalf("export = %v with %d bytes written", err, b.Len())
				}
			})

			t.Run("too large writes nothing", func(t *testing.T) {
				small := newLogger(t, pool, Config{MaxExportRows: 30})
				var b bytes.Buffer
				err := format.export(small)(Filter{}, &b) // 31 entries
				if !errors.Is(err, ErrExportTooLarge) || fault.KindOf(err) != fault.Invalid || b.Len() != 0 {
					t.Fatalf("export = %v with %d bytes written", err, b.Len())
				}
				if fe, _ := fault.As(err); !strings.Contains(fe.Message, "31") {
					t.Errorf("message %q does not say how many matched", fe.Message)
				}
				if err := format.export(small)(Filter{Type: TypeLogin}, &b); err != nil {
					t.Fatalf("a narrower export: %v", err)
				}
			})
		})
	}
}
