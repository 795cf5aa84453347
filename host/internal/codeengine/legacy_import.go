package codeengine

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// The headers of an xlsx import of old codes, one row per old code: the
// content, and one of 统一编号 (an object code), 统一社会信用代码 (an
// enterprise) or 物品类型 (a new object, with 区划, 权属单位 and 属性 — a
// JSON object of the type's attributes).
const (
	legacyHeadContent = "旧码内容"
	legacyHeadNumber  = "统一编号"
	legacyHeadUSCC    = "统一社会信用代码"
	legacyHeadType    = "物品类型"
	legacyHeadRegion  = "区划"
	legacyHeadOwner   = "权属单位"
	legacyHeadAttrs   = "属性"
	legacyHeadNote    = "备注"
)

// LegacyFileIn is an xlsx import of old codes.
type LegacyFileIn struct {
	File string `json:"file" validate:"required" doc:"base64 of the .xlsx workbook: headers 旧码内容*, 统一编号, 统一社会信用代码, 物品类型 (id), 区划, 权属单位, 属性 (JSON object), 备注"`
}

// ImportLegacyFile imports the old codes of an xlsx sheet as ImportLegacy
// does, all rows or none; errors name the spreadsheet row.
func (o *Objects) ImportLegacyFile(ctx context.Context, in *LegacyFileIn) (*LegacyImportOut, error) {
	data, err := base64.StdEncoding.DecodeString(in.File)
	if err != nil {
		return nil, fault.Invalidf("parameter %q must be base64 of an xlsx workbook", "file")
	}
	head, rows, err := readSheet(data)
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for j, h := range head {
		col[headKey(h)] = j
	}
	if _, ok := col[legacyHeadContent]; !ok {
		return nil, fault.Invalidf("parameter %q: the first row must hold the header %s", "file", legacyHeadContent)
	}
	cell := func(r sheetRow, name string) string {
		if j, ok := col[name]; ok {
			return r.cell(j)
		}
		return ""
	}
	imp := &LegacyImportIn{}
	for _, r := range rows {
		it := LegacyItem{Content: cell(r, legacyHeadContent), Number: cell(r, legacyHeadNumber), USCC: cell(r, legacyHeadUSCC),
			Note: cell(r, legacyHeadNote)}
		if typ := cell(r, legacyHeadType); typ != "" {
			it.Object = &LegacyObject{TypeID: typ, RegionCode: cell(r, legacyHeadRegion), OwnerUnit: cell(r, legacyHeadOwner)}
			if raw := cell(r, legacyHeadAttrs); raw != "" {
				if err := json.Unmarshal([]byte(raw), &it.Object.Attributes); err != nil || it.Object.Attributes == nil {
					return nil, fault.Invalidf("row %d: %s must be a JSON object such as {\"address\": \"...\"}", r.n, legacyHeadAttrs)
				}
			}
		} else if strings.TrimSpace(cell(r, legacyHeadAttrs)) != "" {
			return nil, fault.Invalidf("row %d: %s is for a new object: give its %s", r.n, legacyHeadAttrs, legacyHeadType)
		}
		imp.Items = append(imp.Items, it)
		imp.rows = append(imp.rows, r.n)
	}
	return o.ImportLegacy(ctx, imp)
}
