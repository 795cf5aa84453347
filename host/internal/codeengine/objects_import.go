package codeengine

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// MaxImportBody bounds the body of an xlsx entry (the workbook in base64).
const MaxImportBody = 20 << 20

// maxUnzipped bounds what an uploaded workbook may unpack to; bigger
// worksheets spill to temporary files past excelize's 16 MB.
const maxUnzipped = 256 << 20

// Headers of an object-entry sheet. The type's own attributes follow under
// their labels (their names where they have none); a trailing * marks a
// required column and is ignored when reading.
const (
	headType     = "物品类型"
	headName     = "名称"
	headIndustry = "部件编号"
	headRegion   = "区划"
	headOwner    = "权属单位"
	headCoords   = "经纬度"
)

// headAliases are other headers read as the fixed ones: those of the
// console's export, and common variants.
var headAliases = map[string]string{
	"物品类型编号": headType, "类型": headType,
	"行业管理编码": headIndustry, "行业编码": headIndustry,
	"区划代码": headRegion, "所属区划": headRegion, "所属区域": headRegion,
	"坐标": headCoords,
}

// The attributes the fixed columns fill, as the scenario plugins read them.
const (
	attrName = "name"
	attrLng  = "lng"
	attrLat  = "lat"
)

// Example values of a template's example row.
const (
	exampleRegion = "310104"
	exampleOwner  = "示例单位"
	exampleCoords = "121.4737,31.2304"
)

type columnKind int

const (
	colType columnKind = iota
	colRegion
	colOwner
	colCoords
	colAttr // one of the type's attributes (the name and industry code included)
)

// entryColumn is one column of a type's entry sheet.
type entryColumn struct {
	head     string // as the template heads it, without the * mark
	kind     columnKind
	required bool
	field    Field // colAttr: the attribute
	lng, lat Field // colCoords
}

// entryColumns lays out the entry sheet of a type: the type, name,
// industry code (when the type has one), region, owner unit, coordinates,
// then every other attribute of the type in its order.
func entryColumns(t *ObjectType) []entryColumn {
	fields := map[string]Field{}
	for _, f := range t.RequiredFields {
		fields[f.Name] = f
	}
	field := func(name string, typ string) Field {
		if f, ok := fields[name]; ok {
			return f
		}
		return Field{Name: name, Type: typ}
	}
	cols := []entryColumn{{head: headType, kind: colType, required: true}}
	name := field(attrName, TypeString)
	cols = append(cols, entryColumn{head: headName, kind: colAttr, required: name.Required, field: name})
	covered := map[string]bool{attrName: true, attrLng: true, attrLat: true}
	if ic := t.IndustryCodeField; ic != "" && !covered[ic] {
		f := field(ic, TypeString)
		cols = append(cols, entryColumn{head: headIndustry, kind: colAttr, required: f.Required, field: f})
		covered[ic] = true
	}
	lng, lat := field(attrLng, TypeNumber), field(attrLat, TypeNumber)
	cols = append(cols, entryColumn{head: headRegion, kind: colRegion}, entryColumn{head: headOwner, kind: colOwner},
		entryColumn{head: headCoords, kind: colCoords, required: lng.Required || lat.Required, lng: lng, lat: lat})
	taken := map[string]bool{}
	for _, c := range cols {
		taken[c.head] = true
	}
	for k := range headAliases {
		taken[k] = true
	}
	for _, f := range t.RequiredFields {
		if covered[f.Name] {
			continue
		}
		head := f.Label
		if head == "" || taken[head] {
			head = f.Name
		}
		if taken[head] {
			head = f.Label + "(" + f.Name + ")"
		}
		taken[head] = true
		cols = append(cols, entryColumn{head: head, kind: colAttr, required: f.Required, field: f})
	}
	return cols
}

// headKey is how a header cell is matched: trimmed, without the required
// mark, aliases read as the fixed headers.
func headKey(s string) string {
	s = strings.TrimSpace(strings.TrimRight(strings.TrimSpace(s), "*＊"))
	if a, ok := headAliases[s]; ok {
		return a
	}
	return s
}

// example is a column's value in the template's example row.
func (c *entryColumn) example(t *ObjectType) string {
	switch c.kind {
	case colType:
		return t.ID
	case colRegion:
		return exampleRegion
	case colOwner:
		return exampleOwner
	case colCoords:
		return exampleCoords
	}
	switch c.field.Type {
	case TypeNumber:
		return "1"
	case TypeDate:
		return "2025-01-01"
	case TypeBoolean:
		return "是"
	case TypeEnum:
		if len(c.field.Options) > 0 {
			return c.field.Options[0]
		}
	}
	s := "示例" + c.head
	if c.head == headIndustry {
		s = "示例-0001"
	}
	if n := c.field.Length; n > 0 && utf8.RuneCountInString(s) > n {
		s = string([]rune(s)[:n])
	}
	return s
}

// CellError is why a row of an xlsx entry was refused: a cell's mistake
// (with its column) or the entry's (an industry code already held, ...).
type CellError struct {
	RowError
	Column string `json:"column,omitempty" doc:"the column's header (its letter when it has none); empty for a mistake of the whole row"`
}

// ImportedCode is a code an xlsx entry created, with its row.
type ImportedCode struct {
	Row int `json:"row" doc:"spreadsheet row number (the header is row 1)"`
	ObjectCode
}

// EntryImportResult is what an xlsx entry did.
type EntryImportResult struct {
	BatchID  string         `json:"batchId,omitempty" doc:"the batch of the created codes, numbered consecutively; empty when no row was entered"`
	Imported int            `json:"imported" doc:"rows entered: one code each"`
	Failed   int            `json:"failed" doc:"rows refused"`
	Errors   []CellError    `json:"errors" doc:"by row; a row may have several"`
	Items    []ImportedCode `json:"items" doc:"the created codes in row order"`
}

// entryRow is a row read into an entry item.
type entryRow struct {
	row  int
	item entryItem
}

// ImportEntries enters the objects of an xlsx sheet (信息录入 by file): the
// first sheet, its first row the headers of entryColumns (the template's),
// one object per row. Each row is read into an item and checked cell by
// cell (required columns, attribute types, region and owner unit lengths),
// refused rows reported with their column; the good rows are then entered
// exactly as EnterBatch enters items — the same validation again, one
// batch numbered consecutively, the same events, review and activation —
// and its refusals (an industry code already held) reported by row. As
// with the enterprise import, each row stands alone: the good rows are
// entered even when others are refused. Blank rows, and the template's
// example row left as it was, are skipped. A file that is no xlsx
// workbook, has no 物品类型 column or holds more than MaxEntries rows is
// refused whole, and so is a bad codeDefId.
func (o *Objects) ImportEntries(ctx context.Context, appID, platformID, codeDefID string, xlsx []byte) (*EntryImportResult, error) {
	rule, err := o.rules.Resolve(ctx, appID, codeDefID)
	if err != nil {
		return nil, err
	}
	if rule.Kind != "object" {
		return nil, fault.Invalidf("codeDefId %s is a %s code rule, not an object one", codeDefID, rule.Family)
	}
	rows, errs, err := o.readEntries(ctx, xlsx)
	if err != nil {
		return nil, err
	}
	res := &EntryImportResult{Errors: []CellError{}, Items: []ImportedCode{}}
	failed := map[int]bool{}
	for _, e := range errs {
		failed[e.Row] = true
	}
	if len(rows) > 0 {
		in := &BatchEntryIn{CodeDefID: codeDefID, Items: make([]EntryItem, len(rows))}
		for i, r := range rows {
			in.Items[i] = r.item.EntryItem
		}
		out, refused, err := o.enter(ctx, appID, platformID, in)
		if err != nil {
			return nil, err
		}
		res.BatchID = out.BatchID
		next := 0
		for i, r := range rows {
			if fe, ok := refused[i]; ok {
				col := ""
				if fe.Code == fault.CodeFailedOperation && r.item.industryColumn {
					col = headIndustry
				}
				errs = append(errs, CellError{RowError: RowError{Row: r.row, Code: fe.Code, Message: fe.Message}, Column: col})
				failed[r.row] = true
				continue
			}
			res.Items = append(res.Items, ImportedCode{Row: r.row, ObjectCode: out.Items[next]})
			next++
		}
	}
	slices.SortStableFunc(errs, func(a, b CellError) int { return a.Row - b.Row })
	res.Errors = append(res.Errors, errs...)
	res.Imported, res.Failed = len(res.Items), len(failed)
	return res, nil
}

// sheetRow is one non-blank row of the sheet.
type sheetRow struct {
	n     int // spreadsheet row number
	cells []string
}

func (s *sheetRow) cell(j int) string {
	if j >= 0 && j < len(s.cells) {
		return strings.TrimSpace(s.cells[j])
	}
	return ""
}

// readEntries reads the workbook's rows into items, answering the rows
// read and the errors of those refused.
func (o *Objects) readEntries(ctx context.Context, xlsx []byte) ([]entryRow, []CellError, error) {
	head, rows, err := readSheet(xlsx)
	if err != nil {
		return nil, nil, err
	}
	index := map[string]int{}
	for j, h := range head {
		k := headKey(h)
		if k == "" {
			continue
		}
		if _, dup := index[k]; dup {
			return nil, nil, fault.Invalidf("parameter %q: the column %s appears twice", "file", k)
		}
		index[k] = j
	}
	typeCol, ok := index[headType]
	if !ok {
		return nil, nil, fault.Invalidf("parameter %q: the first row holds no %s column (download the template: GET /openapi/v1/object-codes/entries/template)", "file", headType)
	}
	keys := make([]string, 0, len(rows))
	for _, r := range rows {
		if k := r.cell(typeCol); k != "" && strings.IndexByte(k, 0) < 0 {
			keys = append(keys, k)
		}
	}
	types, err := o.typesNamed(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	var out []entryRow
	var errs []CellError
	for _, r := range rows {
		fail := func(col string, err error) {
			fe, _ := fault.As(err)
			errs = append(errs, CellError{RowError: RowError{Row: r.n, Code: fe.Code, Message: fe.Message}, Column: col})
		}
		key := r.cell(typeCol)
		if key == "" {
			fail(headType, fault.Missing(headType))
			continue
		}
		if err := storable(headType, key); err != nil {
			fail(headType, err)
			continue
		}
		t, err := types.find(key)
		if err != nil {
			fail(headType, err)
			continue
		}
		cols := entryColumns(t)
		if isExample(r, head, cols, t) {
			continue
		}
		item, bad := readRow(r, head, index, cols, t, fail)
		if !bad {
			out = append(out, entryRow{row: r.n, item: item})
		}
	}
	return out, errs, nil
}

// readRow reads a row of type t into an item, reporting each bad cell
// through fail; bad tells whether any was.
func readRow(r sheetRow, head []string, index map[string]int, cols []entryColumn, t *ObjectType,
	fail func(col string, err error)) (item entryItem, bad bool) {
	item = entryItem{EntryItem: EntryItem{TypeID: t.ID, Attributes: map[string]any{}}}
	failed := func(col string, err error) {
		fail(col, err)
		bad = true
	}
	used := map[int]bool{index[headType]: true}
	for i := range cols {
		c := &cols[i]
		j, ok := index[c.head]
		if !ok && c.kind == colAttr {
			j, ok = index[c.field.Name]
		}
		if !ok {
			j = -1
		}
		used[j] = true
		text := r.cell(j)
		if err := storable(c.head, text); err != nil {
			failed(c.head, err)
			continue
		}
		if text == "" {
			if c.required {
				failed(c.head, fault.Missing(c.head))
			}
			continue
		}
		switch c.kind {
		case colRegion:
			if utf8.RuneCountInString(text) > 32 {
				failed(c.head, fault.Invalidf("%s must be at most 32 characters", c.head))
			}
			item.RegionCode = text
		case colOwner:
			if utf8.RuneCountInString(text) > 128 {
				failed(c.head, fault.Invalidf("%s must be at most 128 characters", c.head))
			}
			item.OwnerUnit = text
		case colCoords:
			lng, lat, err := coordinates(text, c.lng, c.lat)
			if err != nil {
				failed(c.head, err)
				continue
			}
			item.Attributes[c.lng.Name], item.Attributes[c.lat.Name] = lng, lat
		case colAttr:
			v, err := cellAttribute(c.head, &c.field, text)
			if err != nil {
				failed(c.head, err)
				continue
			}
			item.Attributes[c.field.Name] = v
			if c.head == headIndustry {
				item.industryColumn = true
			}
		}
	}
	for j := range head {
		if used[j] || r.cell(j) == "" {
			continue
		}
		col := strings.TrimSpace(head[j])
		if col == "" {
			col, _ = excelize.ColumnNumberToName(j + 1)
		}
		failed(col, fault.Invalidf("column %s is not a column of object type %s (%s)", col, t.ID, t.Name))
	}
	return item, bad
}

// entryItem is an item read from a row, remembering whether the industry
// code came from the 部件编号 column (to name it when the code is held).
type entryItem struct {
	EntryItem
	industryColumn bool
}

// isExample tells the template's example row, left as it was.
func isExample(r sheetRow, head []string, cols []entryColumn, t *ObjectType) bool {
	want := map[string]string{}
	for i := range cols {
		want[cols[i].head] = cols[i].example(t)
	}
	for j := range max(len(head), len(r.cells)) {
		h := ""
		if j < len(head) {
			h = headKey(head[j])
		}
		if r.cell(j) != want[h] {
			return false
		}
	}
	return true
}

// cellAttribute is a cell's text as the value of attribute f (numbers and
// booleans typed, dates as YYYY-MM-DD), checked as entry checks it.
func cellAttribute(col string, f *Field, text string) (any, error) {
	var v any = text
	switch f.Type {
	case TypeNumber:
		n, err := strconv.ParseFloat(text, 64)
		if err != nil || math.IsNaN(n) || math.IsInf(n, 0) {
			return nil, fault.Invalidf("%s must be a number, not %q", col, text)
		}
		v = n
	case TypeBoolean:
		switch strings.ToLower(text) {
		case "是", "true", "1", "y", "yes":
			v = true
		case "否", "false", "0", "n", "no":
			v = false
		default:
			return nil, fault.Invalidf("%s must be 是 or 否, not %q", col, text)
		}
	case TypeDate:
		// A date typed into a cell Excel formats as a date is its serial
		// number (days since 1899-12-30).
		if n, err := strconv.ParseFloat(text, 64); err == nil && n >= 1 && n < 2958466 {
			d, err := excelize.ExcelDateToTime(n, false)
			if err == nil {
				if d.Hour() == 0 && d.Minute() == 0 && d.Second() == 0 {
					v = d.Format(time.DateOnly)
				} else {
					v = time.Date(d.Year(), d.Month(), d.Day(), d.Hour(), d.Minute(), d.Second(), 0, chinaTime).Format(time.RFC3339)
				}
			}
		}
	}
	if err := f.checkValue(v); err != nil {
		fe, _ := fault.As(err)
		return nil, fault.Invalidf("%s: %s", col, fe.Message)
	}
	return v, nil
}

// coordinates reads "lng,lat" (a comma, a full-width comma or spaces
// between) into the longitude and latitude attributes.
func coordinates(text string, lngF, latF Field) (lng, lat any, err error) {
	parts := strings.FieldsFunc(text, func(r rune) bool { return r == ',' || r == '，' || r == ' ' || r == '\t' })
	bad := fault.Invalidf("%s must be longitude,latitude (such as %s), not %q", headCoords, exampleCoords, text)
	if len(parts) != 2 {
		return nil, nil, bad
	}
	x, errX := strconv.ParseFloat(parts[0], 64)
	y, errY := strconv.ParseFloat(parts[1], 64)
	if errX != nil || errY != nil || !(x >= -180 && x <= 180) || !(y >= -90 && y <= 90) {
		return nil, nil, bad
	}
	if lng, err = cellAttribute(headCoords, &lngF, parts[0]); err != nil {
		return nil, nil, err
	}
	if lat, err = cellAttribute(headCoords, &latF, parts[1]); err != nil {
		return nil, nil, err
	}
	return lng, lat, nil
}

// readSheet answers the first sheet's header row and its non-blank rows
// below, refusing a file that is no xlsx workbook or holds more than
// MaxEntries rows.
func readSheet(xlsx []byte) (head []string, rows []sheetRow, err error) {
	f, err := excelize.OpenReader(bytes.NewReader(xlsx), excelize.Options{UnzipSizeLimit: maxUnzipped})
	if err != nil {
		return nil, nil, fault.Invalidf("parameter %q is not an xlsx workbook (or unpacks to more than %d MB)", "file", maxUnzipped>>20)
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return nil, nil, fault.Invalidf("parameter %q: the workbook has no sheet", "file")
	}
	it, err := f.Rows(sheets[0])
	if err != nil {
		return nil, nil, fault.Invalidf("parameter %q: the first sheet cannot be read", "file")
	}
	defer it.Close()
	for n := 1; it.Next(); n++ {
		// Raw values: numbers as typed, not as the cell's format shows them.
		cells, err := it.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, fault.Invalidf("parameter %q: row %d of the first sheet cannot be read", "file", n)
		}
		if n == 1 {
			head = cells
			continue
		}
		r := sheetRow{n: n, cells: cells}
		if slices.IndexFunc(cells, func(c string) bool { return strings.TrimSpace(c) != "" }) < 0 {
			continue
		}
		if len(rows) == MaxEntries {
			return nil, nil, fault.Invalidf("parameter %q: at most %d rows per file; split it", "file", MaxEntries)
		}
		rows = append(rows, r)
	}
	if it.Error() != nil {
		return nil, nil, fault.Invalidf("parameter %q: the first sheet cannot be read", "file")
	}
	if len(head) == 0 {
		return nil, nil, fault.Invalidf("parameter %q: the first row must hold the headers", "file")
	}
	return head, rows, nil
}

// namedTypes are the object types an entry's 物品类型 cells name.
type namedTypes struct {
	byID   map[string]*ObjectType
	byName map[string][]*ObjectType
}

// typesNamed loads the types whose id or name is among keys.
func (o *Objects) typesNamed(ctx context.Context, keys []string) (*namedTypes, error) {
	nt := &namedTypes{byID: map[string]*ObjectType{}, byName: map[string][]*ObjectType{}}
	if len(keys) == 0 {
		return nt, nil
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	rows, err := o.rules.cfg.Pool.Query(ctx, "SELECT "+typeCols+" FROM object_types WHERE id = ANY($1) OR name = ANY($1) ORDER BY length(id), id", keys)
	if err != nil {
		return nil, fmt.Errorf("codeengine: object types: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		t, err := scanType(rows)
		if err != nil {
			return nil, fmt.Errorf("codeengine: object types: %w", err)
		}
		nt.byID[t.ID] = &t
		nt.byName[t.Name] = append(nt.byName[t.Name], &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("codeengine: object types: %w", err)
	}
	return nt, nil
}

// find answers the type a cell names by id or, failing that, by its name.
func (nt *namedTypes) find(key string) (*ObjectType, error) {
	if t, ok := nt.byID[key]; ok {
		return t, nil
	}
	switch ts := nt.byName[key]; len(ts) {
	case 0:
		return nil, fault.Invalidf("object type %s does not exist", key)
	case 1:
		return ts[0], nil
	default:
		return nil, fault.Invalidf("%d object types are named %s: give the type's id (%s, ...)", len(ts), key, ts[0].ID)
	}
}

// importEntriesRoute is ImportEntries for a signed app.
func (o *Objects) importEntriesRoute(ctx context.Context, in *ImportIn) (*EntryImportResult, error) {
	a, err := app(ctx)
	if err != nil {
		return nil, err
	}
	data, err := base64.StdEncoding.DecodeString(in.File)
	if err != nil {
		return nil, fault.Invalidf("parameter %q must be base64 of an xlsx workbook", "file")
	}
	return o.ImportEntries(ctx, a.AppID, a.PlatformID, in.CodeDefID, data)
}
