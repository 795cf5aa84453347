package pluginhost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// maxExport bounds one export of plugin records.
const maxExport = 100000

// ExportIn names the records to export.
type ExportIn struct {
	Name       string `path:"name" validate:"required,max=40"`
	Collection string `path:"collection" validate:"required,max=40"`
	PlatformID string `query:"platformId" validate:"max=32"`
	CodeToken  string `query:"codeToken" validate:"max=64"`
	IDs        string `query:"ids" validate:"max=40000" doc:"comma-separated record ids (勾选导出, at most 500): only those"`
}

// maxExportIDs bounds the records an operator ticks for one export.
const maxExportIDs = 500

func exportRoute(s *Service) *httpapi.Route {
	return httpapi.Handle(http.MethodGet, "/console/plugins/:name/records/:collection/export", s.exportRoute).
		Doc("导出插件数据", "The collection's records on the platform (or the ticked ones, ids) as an xlsx workbook, oldest first, one column per declared field; fields marked personal are masked. At most 100,000 rows; the export is audited.").
		Tag("plugins").Console("plugin.read")
}

type recordsXLSX struct {
	name string
	data []byte
}

func (x *recordsXLSX) ContentType() string {
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}
func (x *recordsXLSX) Filename() string { return x.name }
func (x *recordsXLSX) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(x.data)
	return err
}

func (s *Service) exportRoute(ctx context.Context, in *ExportIn) (*recordsXLSX, error) {
	p, err := platformFor(ctx, in.PlatformID)
	if err != nil {
		return nil, err
	}
	m := s.manifestOf(ctx, in.Name)
	if m == nil {
		return nil, fault.NotFoundf("plugin %s is not installed", in.Name)
	}
	var col *plugin.Collection
	for i := range m.Collections {
		if m.Collections[i].Name == in.Collection {
			col = &m.Collections[i]
		}
	}
	if col == nil {
		return nil, fault.NotFoundf("plugin %s has no collection %s", in.Name, in.Collection)
	}
	var ids []string
	if in.IDs != "" {
		for _, id := range strings.Split(in.IDs, ",") {
			if id = strings.TrimSpace(id); !recordIDRe.MatchString(id) {
				return nil, fault.Invalidf("ids: %q is not a record id", truncateRunes(id, 70))
			}
			ids = append(ids, id)
		}
		if len(ids) > maxExportIDs {
			return nil, fault.Invalidf("ids: at most %d records", maxExportIDs)
		}
	}
	var buf strings.Builder
	n, err := s.exportRecords(ctx, in.Name, p, col, in.CodeToken, ids, &buf)
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"plugin": in.Name, "collection": in.Collection, "rows": n, "ticked": len(ids)})
	s.auditEntry(ctx, audit.Entry{Type: audit.TypeDataSecurity, Action: "plugin.records.export", Target: "plugin:" + in.Name,
		PlatformID: p, Result: audit.Success, Detail: detail})
	return &recordsXLSX{name: fmt.Sprintf("%s-%s-%s.xlsx", in.Name, in.Collection, s.cfg.Clock().Format("20060102-150405")),
		data: []byte(buf.String())}, nil
}

// exportRecords streams a collection into an xlsx workbook.
// With ids, only those records (of the platform and collection) are
// written.
func (s *Service) exportRecords(ctx context.Context, name, platformID string, col *plugin.Collection, codeToken string, ids []string, w io.Writer) (int, error) {
	var total int
	err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM plugin_records WHERE plugin = $1 AND platform_id = $2 AND collection = $3
		AND ($4 = '' OR code_token = $4) AND ($5::text[] IS NULL OR id = ANY($5))`, name, platformID, col.Name, codeToken, ids).Scan(&total)
	if err != nil {
		return 0, err
	}
	if total > maxExport {
		return 0, fault.Invalidf("%d records match; export at most %d (filter by codeToken)", total, maxExport)
	}
	title := col.Title
	if title == "" {
		title = col.Name
	}
	x := excelize.NewFile()
	defer x.Close()
	sheet := truncateRunes(title, 31)
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return 0, err
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return 0, err
	}
	header := []any{"编号", "码", "创建时间", "更新时间"}
	for _, f := range col.Fields {
		h := f.Title
		if h == "" {
			h = f.Name
		}
		header = append(header, h)
	}
	if err := sw.SetRow("A1", header); err != nil {
		return 0, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, code_token, doc, created_at, updated_at FROM plugin_records
		WHERE plugin = $1 AND platform_id = $2 AND collection = $3 AND ($4 = '' OR code_token = $4)
		AND ($5::text[] IS NULL OR id = ANY($5)) ORDER BY created_at, id`,
		name, platformID, col.Name, codeToken, ids)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id, token string
		var doc []byte
		var created, updated time.Time
		if err := rows.Scan(&id, &token, &doc, &created, &updated); err != nil {
			return 0, err
		}
		var d map[string]any
		_ = json.Unmarshal(doc, &d)
		cells := []any{id, token, created.In(cst).Format(time.DateTime), updated.In(cst).Format(time.DateTime)}
		for _, f := range col.Fields {
			v := cellValue(d[f.Name])
			if f.Personal {
				v = mask(v)
			}
			cells = append(cells, v)
		}
		n++
		cell, _ := excelize.CoordinatesToCellName(1, n+1)
		if err := sw.SetRow(cell, cells); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if err := sw.Flush(); err != nil {
		return 0, err
	}
	return n, x.Write(w)
}

var cst = time.FixedZone("CST", 8*3600)

func cellValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

// mask keeps the first character of personal data: 张**, 1***.
func mask(s string) string {
	n := utf8.RuneCountInString(s)
	if n == 0 {
		return ""
	}
	r, _ := utf8.DecodeRuneInString(s)
	return string(r) + strings.Repeat("*", min(n-1, 8))
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// ExportCollection writes a collection's records on a platform as xlsx (the
// command line's export; the console's goes through its route).
func (s *Service) ExportCollection(ctx context.Context, name, platformID, collection string, w io.Writer) (int, error) {
	m := s.manifestOf(ctx, name)
	if m == nil {
		return 0, fault.NotFoundf("plugin %s is not installed", name)
	}
	for i := range m.Collections {
		if m.Collections[i].Name == collection {
			return s.exportRecords(ctx, name, platformID, &m.Collections[i], "", nil, w)
		}
	}
	return 0, fault.NotFoundf("plugin %s has no collection %s", name, collection)
}

// Records pages a collection's records on a platform, newest first.
func (s *Service) Records(ctx context.Context, name, platformID string, q plugin.RecordQuery) (*plugin.RecordPage, error) {
	return queryRecords(ctx, s, name, platformID, q)
}
