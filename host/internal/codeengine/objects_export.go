package codeengine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/qr"
	"github.com/opencitycode/citycode/host/internal/store"
)

// MaxExportRows bounds one export: a full pre-issue batch fits.
const MaxExportRows = MaxBatch

// chinaTime is how exported times read: the platform's local time.
var chinaTime = time.FixedZone("CST", 8*3600)

// CodeFilter selects object codes in the console (list and export).
type CodeFilter struct {
	TypeID       string `query:"typeId"`
	BatchID      string `query:"batchId"`
	Status       string `query:"status" validate:"omitempty,oneof=empty pending_review rejected active cancelled"`
	RegionCode   string `query:"regionCode" doc:"the region and everything below it (310000: all of Shanghai)"`
	PlatformID   string `query:"platformId"`
	IndustryCode string `query:"industryCode"`
	Generation   string `query:"generation" validate:"omitempty,oneof=legacy current" doc:"legacy: codes old stickers stand for (旧码, read-only); current: the others"`
	TimeRange
}

// where builds the filter over object_codes c, within the caller's data
// scope (platform, region, object types).
func (in *CodeFilter) where(ctx context.Context) (*filter, error) {
	if err := storable("typeId", in.TypeID, "batchId", in.BatchID, "regionCode", in.RegionCode, "platformId", in.PlatformID,
		"industryCode", in.IndustryCode); err != nil {
		return nil, err
	}
	var f filter
	withScope(ctx, &f, policy.ScopeColumns{Platform: "c.platform_id", Region: "c.region_code", ObjectType: "c.type_id"})
	f.eq("c.type_id", strings.TrimSpace(in.TypeID))
	f.eq("c.batch_id", strings.TrimSpace(in.BatchID))
	f.eq("c.status", in.Status)
	f.eq("c.platform_id", strings.TrimSpace(in.PlatformID))
	f.eq("c.industry_code", strings.Trim(in.IndustryCode, " "))
	f.eq("c.generation", in.Generation)
	if p := regionPrefix(strings.TrimSpace(in.RegionCode)); p != "" {
		f.add("c.region_code LIKE " + f.arg(likeEscaper.Replace(p)+"%"))
	}
	if err := f.timeRange("c.created_at", in.TimeRange); err != nil {
		return nil, err
	}
	return &f, nil
}

// storedExport is an export's download record: its filter and, for a
// download taken again, the record it repeats.
type storedExport struct {
	Filter storedFilter `json:"filter"`
	Again  int64        `json:"again,omitempty"`
}

// storedFilter is a CodeFilter as recorded, absent values left out.
type storedFilter struct {
	TypeID       string     `json:"typeId,omitempty"`
	BatchID      string     `json:"batchId,omitempty"`
	Status       string     `json:"status,omitempty"`
	RegionCode   string     `json:"regionCode,omitempty"`
	PlatformID   string     `json:"platformId,omitempty"`
	IndustryCode string     `json:"industryCode,omitempty"`
	Generation   string     `json:"generation,omitempty"`
	CreatedFrom  *time.Time `json:"createdFrom,omitempty"`
	CreatedTo    *time.Time `json:"createdTo,omitempty"`
}

func storedFilterOf(in *CodeFilter) storedFilter {
	s := storedFilter{TypeID: in.TypeID, BatchID: in.BatchID, Status: in.Status, RegionCode: in.RegionCode, PlatformID: in.PlatformID,
		IndustryCode: in.IndustryCode, Generation: in.Generation}
	if !in.CreatedFrom.IsZero() {
		s.CreatedFrom = &in.CreatedFrom
	}
	if !in.CreatedTo.IsZero() {
		s.CreatedTo = &in.CreatedTo
	}
	return s
}

func (s storedFilter) codeFilter() *CodeFilter {
	in := &CodeFilter{TypeID: s.TypeID, BatchID: s.BatchID, Status: s.Status, RegionCode: s.RegionCode, PlatformID: s.PlatformID,
		IndustryCode: s.IndustryCode, Generation: s.Generation}
	if s.CreatedFrom != nil {
		in.CreatedFrom = *s.CreatedFrom
	}
	if s.CreatedTo != nil {
		in.CreatedTo = *s.CreatedTo
	}
	return in
}

// ListCodesIn filters and pages the console's object codes.
type ListCodesIn struct {
	CodeFilter
	PageIn
}

// CodeRow is an object code in the console.
type CodeRow struct {
	ObjectCode
	PlatformID  string     `json:"platformId"`
	CreatedAt   time.Time  `json:"createdAt"`
	ActivatedAt *time.Time `json:"activatedAt,omitempty"`
	ActivatedBy string     `json:"activatedBy,omitempty"`
	CancelledAt *time.Time `json:"cancelledAt,omitempty"`
}

const codeFrom = `object_codes c LEFT JOIN object_types t ON t.id = c.type_id`

const codeRowCols = codeCols + `, c.created_at, c.activated_at, coalesce(c.activated_by, ''), c.cancelled_at`

func (o *Objects) scanRow(row pgx.Row) (CodeRow, error) {
	var r CodeRow
	err := o.scanCode(row, &r.ObjectCode, &r.PlatformID, &r.CreatedAt, &r.ActivatedAt, &r.ActivatedBy, &r.CancelledAt)
	return r, err
}

// ListCodes answers the object codes in the caller's data scope, by type,
// batch, status, region, platform, industry code and creation time, newest
// first.
func (o *Objects) ListCodes(ctx context.Context, in *ListCodesIn) (*Page[CodeRow], error) {
	f, err := in.where(ctx)
	if err != nil {
		return nil, err
	}
	return list(ctx, o.rules.cfg.Pool, codeFrom, codeRowCols, "c.created_at DESC, c.number DESC", f, in.PageIn, o.scanRow)
}

// xlsxFile is a built workbook answered as a download; WriteTo closes it,
// removing its temporary files.
type xlsxFile struct {
	f    *excelize.File
	name string
}

func (x *xlsxFile) ContentType() string {
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}
func (x *xlsxFile) Filename() string { return x.name }
func (x *xlsxFile) WriteTo(_ context.Context, w io.Writer) error {
	defer x.f.Close()
	return x.f.Write(w)
}

// Export builds an xlsx of the object codes in the caller's data scope
// that match the filter — code values, status, type, industry code,
// region, owner unit, batch, times, and the attributes as stored (one
// column per attribute of the type when filtered by type, and all of them
// as JSON) — and records the download. Rows are streamed from the
// database into excelize's StreamWriter, which keeps at most 16 MB of
// sheet in memory and the rest in a temporary file; only the compressed
// workbook is held while it is sent. The database is done before the
// answer starts, so a failure is an error answer, never a truncated file.
func (o *Objects) Export(ctx context.Context, in *CodeFilter) (*xlsxFile, error) {
	x, _, err := o.export(ctx, in, 0)
	return x, err
}

func (o *Objects) export(ctx context.Context, in *CodeFilter, again int64) (*xlsxFile, int, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindOperator && a.Kind != actor.KindSystem {
		return nil, 0, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a console operator is required")
	}
	f, err := in.where(ctx)
	if err != nil {
		return nil, 0, err
	}
	pool := o.rules.cfg.Pool
	var total int64
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM object_codes c"+f.where(), f.args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("codeengine: export count: %w", err)
	}
	if total > MaxExportRows {
		return nil, 0, fault.Invalidf("%d codes match; at most %d per export: narrow the filters", total, MaxExportRows)
	}
	var fields []Field
	if id := strings.TrimSpace(in.TypeID); id != "" {
		t, err := o.GetType(ctx, &TypeIDIn{TypeID: id})
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return nil, 0, err
		}
		if t != nil {
			fields = t.RequiredFields
		}
	}
	book := excelize.NewFile()
	ok := false
	defer func() {
		if !ok {
			book.Close()
		}
	}()
	sheet := book.GetSheetName(0)
	sw, err := book.NewStreamWriter(sheet)
	if err != nil {
		return nil, 0, fmt.Errorf("codeengine: export: %w", err)
	}
	header := []any{"统一编号", "码值(URL)", "状态", "物品类型编号", "物品类型", "行业管理编码", "区划", "权属单位", "批次号", "码规则", "平台", "生成时间", "激活时间", "注销时间"}
	for _, fd := range fields {
		label := fd.Label
		if label == "" {
			label = fd.Name
		}
		header = append(header, label)
	}
	header = append(header, "全部属性(JSON)")
	if err := sw.SetRow("A1", header); err != nil {
		return nil, 0, fmt.Errorf("codeengine: export: %w", err)
	}
	rows, err := pool.Query(ctx, "SELECT "+codeRowCols+" FROM "+codeFrom+f.where()+" ORDER BY c.number", f.args...)
	if err != nil {
		return nil, 0, fmt.Errorf("codeengine: export: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		r, err := o.scanRow(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("codeengine: export: %w", err)
		}
		row := []any{r.Number, r.URL, r.Status, r.TypeID, r.TypeName, r.IndustryCode, r.RegionCode, r.OwnerUnit, r.BatchID, r.CodeDefID,
			r.PlatformID, cnTime(&r.CreatedAt), cnTime(r.ActivatedAt), cnTime(r.CancelledAt)}
		var attrs map[string]any
		if len(r.Attributes) > 0 {
			_ = json.Unmarshal(r.Attributes, &attrs)
		}
		for _, fd := range fields {
			row = append(row, cellValue(attrs[fd.Name]))
		}
		row = append(row, string(r.Attributes))
		n++
		if err := sw.SetRow("A"+strconv.Itoa(n+1), row); err != nil {
			return nil, 0, fmt.Errorf("codeengine: export row %d: %w", n, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("codeengine: export: %w", err)
	}
	if err := sw.Flush(); err != nil {
		return nil, 0, fmt.Errorf("codeengine: export: %w", err)
	}
	now := o.rules.now()
	name := "object-codes-" + now.In(chinaTime).Format("20060102-150405") + ".xlsx"
	region := regionPrefix(strings.TrimSpace(in.RegionCode))
	if region == "" {
		region = a.RegionCode
	}
	filters := storedExport{Filter: storedFilterOf(in), Again: again}
	if err := o.recordDownload(ctx, "export", region, strings.TrimSpace(in.TypeID), filters, n, name); err != nil {
		return nil, 0, err
	}
	ok = true
	return &xlsxFile{f: book, name: name}, n, nil
}

func cnTime(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.In(chinaTime).Format(time.DateTime)
}

// cellValue is an attribute as a spreadsheet cell: text, numbers and
// booleans as themselves, anything else as its JSON.
func cellValue(v any) any {
	switch v := v.(type) {
	case nil:
		return nil
	case string, float64, bool:
		return v
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// recordDownload writes a download record for the caller in ctx.
func (o *Objects) recordDownload(ctx context.Context, kind, region, typeID string, filters any, rows int, name string) error {
	a := actor.From(ctx)
	if a == nil {
		return fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "no authenticated caller")
	}
	who, account := "operator:"+strconv.FormatInt(a.OperatorID, 10), a.Account
	if a.Kind == actor.KindApp {
		who, account = "app:"+a.AppID, a.AppID
	}
	platform := a.PlatformID
	if platform == "" {
		platform = o.rules.cfg.MainPlatformID
	}
	var typ any
	if typeID != "" {
		typ = typeID
	}
	b, _ := json.Marshal(filters)
	_, err := o.rules.cfg.Pool.Exec(ctx, `INSERT INTO object_code_downloads (kind, platform_id, region_code, type_id, actor, account, filters, rows, file_name, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, kind, platform, region, typ, who, account, b, rows, name, o.rules.now())
	if err != nil {
		return fmt.Errorf("codeengine: download record: %w", err)
	}
	return nil
}

// DownloadRecord is one export or image download.
type DownloadRecord struct {
	ID         int64           `json:"id"`
	Kind       string          `json:"kind" doc:"export (xlsx of code information) | images (zip of QR images)"`
	PlatformID string          `json:"platformId" doc:"the downloader's platform"`
	RegionCode string          `json:"regionCode"`
	TypeID     string          `json:"typeId,omitempty"`
	Actor      string          `json:"actor" doc:"operator:<id> or app:<cityCodeAppId>"`
	Account    string          `json:"account"`
	Filters    json.RawMessage `json:"filters" doc:"what was taken: the export's filter, or the batch and range of images"`
	Rows       int             `json:"rows" doc:"codes in the file"`
	FileName   string          `json:"fileName"`
	CreatedAt  time.Time       `json:"createdAt"`
}

// ListDownloadsIn filters download records.
type ListDownloadsIn struct {
	Kind    string `query:"kind" validate:"omitempty,oneof=export images"`
	Account string `query:"account" doc:"part of the operator's account or the app id"`
	TypeID  string `query:"typeId"`
	TimeRange
	PageIn
}

const downloadCols = `d.id, d.kind, d.platform_id, d.region_code, coalesce(d.type_id, ''), d.actor, d.account, d.filters, d.rows, d.file_name, d.created_at`

func scanDownload(row pgx.Row) (DownloadRecord, error) {
	var d DownloadRecord
	err := row.Scan(&d.ID, &d.Kind, &d.PlatformID, &d.RegionCode, &d.TypeID, &d.Actor, &d.Account, &d.Filters, &d.Rows, &d.FileName, &d.CreatedAt)
	return d, err
}

// ListDownloads answers the download records in the caller's data scope,
// newest first.
func (o *Objects) ListDownloads(ctx context.Context, in *ListDownloadsIn) (*Page[DownloadRecord], error) {
	if err := storable("account", in.Account, "typeId", in.TypeID); err != nil {
		return nil, err
	}
	var f filter
	withScope(ctx, &f, policy.ScopeColumns{Platform: "d.platform_id", Region: "d.region_code", ObjectType: "d.type_id"})
	f.eq("d.kind", in.Kind)
	f.contains("d.account", in.Account)
	f.eq("d.type_id", strings.TrimSpace(in.TypeID))
	if err := f.timeRange("d.created_at", in.TimeRange); err != nil {
		return nil, err
	}
	return list(ctx, o.rules.cfg.Pool, "object_code_downloads d", downloadCols, "d.created_at DESC, d.id DESC", &f, in.PageIn, scanDownload)
}

// DownloadIDIn names a download record.
type DownloadIDIn struct {
	DownloadID int64 `path:"downloadId" json:"-"`
}

// imageFilters is what an image download took.
type imageFilters struct {
	BatchID  string `json:"batchId"`
	Offset   int    `json:"offset"`
	Limit    int    `json:"limit"`
	Format   string `json:"format,omitempty"`
	ModulePx int    `json:"moduleSize,omitempty"`
	Again    int64  `json:"again,omitempty"`
}

// Again takes a recorded download again (再次下载) with today's data: the
// same export filter (within the caller's scope now) or the same batch
// range of images. It is recorded as a new download.
func (o *Objects) Again(ctx context.Context, in *DownloadIDIn) (*File, error) {
	d, err := scanDownload(o.rules.cfg.Pool.QueryRow(ctx, "SELECT "+downloadCols+" FROM object_code_downloads d WHERE d.id = $1", in.DownloadID))
	if store.NoRows(err) {
		return nil, fault.NotFoundf("download %d does not exist", in.DownloadID)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: download: %w", err)
	}
	if !policy.ScopeFrom(ctx).Contains(d.PlatformID, d.RegionCode, d.TypeID) {
		return nil, fault.Deniedf("download %d is outside your data scope", d.ID)
	}
	switch d.Kind {
	case "export":
		var rec storedExport
		if err := json.Unmarshal(d.Filters, &rec); err != nil {
			return nil, fmt.Errorf("codeengine: download %d filters: %w", d.ID, err)
		}
		x, _, err := o.export(ctx, rec.Filter.codeFilter(), d.ID)
		if err != nil {
			return nil, err
		}
		return &File{x}, nil
	default:
		var f imageFilters
		if err := json.Unmarshal(d.Filters, &f); err != nil {
			return nil, fmt.Errorf("codeengine: download %d filters: %w", d.ID, err)
		}
		f.Again = d.ID
		z, err := o.consoleImages(ctx, f)
		if err != nil {
			return nil, err
		}
		return &File{z}, nil
	}
}

// File is a file answer of either kind.
type File struct{ httpapi.Download }

// ConsoleImagesIn asks the console for a batch's images.
type ConsoleImagesIn struct {
	BatchID string `path:"batchId" json:"-"`
	Offset  int    `query:"offset" validate:"min=0"`
	Limit   int    `query:"limit" validate:"min=0,max=10000" doc:"default 1000"`
	Format  string `query:"format" validate:"omitempty,oneof=png svg"`
	Size    int    `query:"moduleSize" validate:"min=0,max=40" doc:"pixels per module"`
}

// ConsoleImages is a zip of a batch's QR images for an operator whose data
// scope holds the batch (its platform, region and type); it is recorded.
func (o *Objects) ConsoleImages(ctx context.Context, in *ConsoleImagesIn) (*zipFile, error) {
	return o.consoleImages(ctx, imageFilters{BatchID: in.BatchID, Offset: in.Offset, Limit: in.Limit, Format: in.Format, ModulePx: in.Size})
}

func (o *Objects) consoleImages(ctx context.Context, f imageFilters) (*zipFile, error) {
	if err := storable("batchId", f.BatchID); err != nil {
		return nil, err
	}
	var platform, region, typeID string
	err := o.rules.cfg.Pool.QueryRow(ctx, `SELECT platform_id, region_code, coalesce(type_id, '') FROM object_batches WHERE id = $1`, f.BatchID).
		Scan(&platform, &region, &typeID)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("batch %s not found", f.BatchID)
	}
	if err != nil {
		return nil, fmt.Errorf("codeengine: batch: %w", err)
	}
	if !policy.ScopeFrom(ctx).Contains(platform, region, typeID) {
		return nil, fault.Deniedf("batch %s is outside your data scope", f.BatchID)
	}
	return o.images(ctx, platform, region, typeID, f)
}

// images renders a batch range as a zip and records the download.
func (o *Objects) images(ctx context.Context, platform, region, typeID string, f imageFilters) (*zipFile, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	codes, err := o.BatchCodes(ctx, platform, f.BatchID, f.Offset, f.Limit)
	if err != nil {
		return nil, err
	}
	items := make([]qr.Item, len(codes))
	for i, c := range codes {
		items[i] = qr.Item{Name: strconv.FormatInt(c.Number, 10), Content: c.URL}
	}
	name := f.BatchID + ".zip"
	if err := o.recordDownload(ctx, "images", region, typeID, f, len(items), name); err != nil {
		return nil, err
	}
	return &zipFile{items: items, style: qr.Style{Format: f.Format, ModulePx: f.ModulePx}, name: name}, nil
}
