package codeengine

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// Sheets of an entry template.
const (
	templateSheet = "物品信息"
	notesSheet    = "填写说明"
)

// EntryTemplate builds the xlsx template of an object type's entry: on
// the first sheet the header row of entryColumns (required columns marked
// *) and an example row, which ImportEntries skips while it is left as it
// was; on the second, what each column takes. Text columns are formatted
// as text, so codes such as 0012 keep their zeros; enum and boolean
// columns offer their values in a drop-down.
func (o *Objects) EntryTemplate(ctx context.Context, typeID string) (*xlsxFile, error) {
	t, err := o.GetType(ctx, &TypeIDIn{TypeID: strings.TrimSpace(typeID)})
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	if err := fillTemplate(f, t); err != nil {
		f.Close()
		return nil, fmt.Errorf("codeengine: entry template: %w", err)
	}
	return &xlsxFile{f: f, name: "object-entry-" + t.ID + ".xlsx"}, nil
}

func fillTemplate(f *excelize.File, t *ObjectType) error {
	if err := f.SetSheetName(f.GetSheetName(0), templateSheet); err != nil {
		return err
	}
	text, err := f.NewStyle(&excelize.Style{NumFmt: 49})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	required, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Bold: true, Color: "C00000"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"DDEBF7"}}})
	if err != nil {
		return err
	}
	example, err := f.NewStyle(&excelize.Style{NumFmt: 49, Font: &excelize.Font{Italic: true, Color: "808080"}})
	if err != nil {
		return err
	}
	exampleNumber, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Italic: true, Color: "808080"}})
	if err != nil {
		return err
	}
	last := strconv.Itoa(MaxEntries + 1)
	cols := entryColumns(t)
	for i := range cols {
		c := &cols[i]
		col, err := excelize.ColumnNumberToName(i + 1)
		if err != nil {
			return err
		}
		number := c.kind == colAttr && c.field.Type == TypeNumber
		if !number {
			if err := f.SetColStyle(templateSheet, col, text); err != nil {
				return err
			}
		}
		if err := f.SetColWidth(templateSheet, col, col, float64(max(14, 2*len([]rune(c.head))+4))); err != nil {
			return err
		}
		h, style := c.head, head
		if c.required {
			h, style = h+"*", required
		}
		if err := f.SetCellStr(templateSheet, col+"1", h); err != nil {
			return err
		}
		if err := f.SetCellStyle(templateSheet, col+"1", col+"1", style); err != nil {
			return err
		}
		// The example is text even in number columns: read back raw, it is
		// what the template wrote, so the unchanged row is recognised.
		if err := f.SetCellStr(templateSheet, col+"2", c.example(t)); err != nil {
			return err
		}
		style = example
		if number {
			style = exampleNumber
		}
		if err := f.SetCellStyle(templateSheet, col+"2", col+"2", style); err != nil {
			return err
		}
		var options []string
		switch {
		case c.kind == colAttr && c.field.Type == TypeEnum:
			options = c.field.Options
		case c.kind == colAttr && c.field.Type == TypeBoolean:
			options = []string{"是", "否"}
		}
		if len(options) > 0 {
			dv := excelize.NewDataValidation(true)
			dv.Sqref = col + "2:" + col + last
			// A list longer than Excel's 255 characters goes without a
			// drop-down; the notes list the values.
			if dv.SetDropList(options) == nil {
				if err := f.AddDataValidation(templateSheet, dv); err != nil {
					return err
				}
			}
		}
	}
	if err := f.SetPanes(templateSheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return err
	}
	return fillNotes(f, t, cols, head)
}

// fillNotes writes the template's second sheet: what each column takes.
func fillNotes(f *excelize.File, t *ObjectType, cols []entryColumn, head int) error {
	if _, err := f.NewSheet(notesSheet); err != nil {
		return err
	}
	rows := [][]string{{"列", "必填", "填写说明"}}
	for i := range cols {
		c := &cols[i]
		need := ""
		if c.required {
			need = "是"
		}
		rows = append(rows, []string{c.head, need, c.note(t)})
	}
	rows = append(rows, []string{}, []string{"说明", "", fmt.Sprintf("第1行为表头，带*的列必填；第2行为示例，原样保留时导入会跳过它。每个文件最多 %d 行，每行录入一个物品，生成一个码。物品类型：%s（%s）。", MaxEntries, t.ID, t.Name)})
	for i, r := range rows {
		for j, v := range r {
			cell, err := excelize.CoordinatesToCellName(j+1, i+1)
			if err != nil {
				return err
			}
			if err := f.SetCellStr(notesSheet, cell, v); err != nil {
				return err
			}
		}
	}
	if err := f.SetCellStyle(notesSheet, "A1", "C1", head); err != nil {
		return err
	}
	if err := f.SetColWidth(notesSheet, "A", "A", 20); err != nil {
		return err
	}
	return f.SetColWidth(notesSheet, "C", "C", 80)
}

// note tells what a column takes.
func (c *entryColumn) note(t *ObjectType) string {
	switch c.kind {
	case colType:
		return "物品类型编号（如 " + t.ID + "）或名称"
	case colRegion:
		return "行政区划代码，如 " + exampleRegion + "（最多32字）"
	case colOwner:
		return "权属单位（最多128字）"
	case colCoords:
		return "经度,纬度，如 " + exampleCoords + "（写入属性 " + c.lng.Name + "、" + c.lat.Name + "）"
	}
	f := &c.field
	var s string
	switch f.Type {
	case TypeNumber:
		s = "数字"
	case TypeDate:
		s = "日期，如 2025-01-01"
	case TypeBoolean:
		s = "是 或 否"
	case TypeEnum:
		s = "可选值：" + strings.Join(f.Options, "、")
	default:
		s = "文本"
		if f.Length > 0 {
			s += fmt.Sprintf("（最多%d字）", f.Length)
		}
	}
	s += "；属性 " + f.Name
	if c.head == headIndustry {
		s = "行业管理编码；" + s
		if t.IndustryCodeUnique {
			s += "；同一类型的有效码中不得重复"
		}
	}
	return s
}

// TemplateIn asks for an object type's entry template.
type TemplateIn struct {
	TypeID string `query:"typeId" validate:"required,max=32" doc:"the object type whose fields head the columns"`
}

func (o *Objects) templateRoute(ctx context.Context, in *TemplateIn) (*xlsxFile, error) {
	if _, err := app(ctx); err != nil {
		return nil, err
	}
	if err := storable("typeId", in.TypeID); err != nil {
		return nil, err
	}
	return o.EntryTemplate(ctx, in.TypeID)
}
