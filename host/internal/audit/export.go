package audit

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// exportHeader names the export columns.
var exportHeader = []string{"序号", "时间", "类型", "操作员", "平台", "来源IP", "操作", "对象", "结果", "请求ID", "详情"}

const exportTimeLayout = "2006-01-02 15:04:05.000"

// exportRow renders e as export cells (after the seq column).
func (l *Logger) exportRow(e *Entry) []string {
	operator := e.Account
	if operator == "" {
		operator = e.OperatorID
	}
	return []string{e.At.In(l.loc).Format(exportTimeLayout), e.Type.label(), operator, e.PlatformID,
		e.SourceIP, e.Action, e.Target, e.Result.label(), e.RequestID, string(e.Detail)}
}

// ExportCSV writes the entries matching f (Offset and Limit ignored), newest
// first, as CSV in UTF-8 with a byte-order mark so that Excel reads Chinese
// correctly. Cells that a spreadsheet would run as a formula are prefixed
// with an apostrophe. Nothing is written when f is invalid or matches more
// than MaxExportRows entries (a fault.Invalid error wrapping
// ErrExportTooLarge); a write error of w ends the export.
func (l *Logger) ExportCSV(ctx context.Context, f Filter, w io.Writer) error {
	var cw *csv.Writer
	err := l.each(ctx, f, func() error {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return err
		}
		cw = csv.NewWriter(w)
		return cw.Write(exportHeader)
	}, func(e *Entry) error {
		row := append([]string{fmt.Sprint(e.Seq)}, l.exportRow(e)...)
		for i, c := range row {
			row[i] = defuseFormula(c)
		}
		return cw.Write(row) // buffered; errors surface at a later write or Flush
	})
	if err != nil {
		return err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("audit: export csv: %w", err)
	}
	return nil
}

// defuseFormula keeps a spreadsheet from evaluating attacker-chosen text
// (an account named "=HYPERLINK(...)") as a formula.
func defuseFormula(s string) string {
	if s != "" && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' || s[0] == '\r') {
		return "'" + s
	}
	return s
}

// ExportXLSX writes the entries matching f (Offset and Limit ignored), newest
// first, as an xlsx workbook with one sheet. Rows are streamed to a spill
// file, not held in memory. Errors are as for ExportCSV; nothing is written to
// w before every row has been read.
func (l *Logger) ExportXLSX(ctx context.Context, f Filter, w io.Writer) error {
	const sheet = "审计日志"
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return fmt.Errorf("audit: export xlsx: %w", err)
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("audit: export xlsx: %w", err)
	}
	row := 1
	setRow := func(cells []any) error {
		cell, err := excelize.CoordinatesToCellName(1, row)
		if err != nil {
			return err
		}
		row++
		return sw.SetRow(cell, cells)
	}
	err = l.each(ctx, f, func() error {
		for i, width := range []float64{10, 24, 14, 18, 14, 18, 20, 24, 8, 36, 60} {
			if err := sw.SetColWidth(i+1, i+1, width); err != nil {
				return err
			}
		}
		bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
		if err != nil {
			return err
		}
		cells := make([]any, len(exportHeader))
		for i, h := range exportHeader {
			cells[i] = excelize.Cell{StyleID: bold, Value: h}
		}
		return setRow(cells)
	}, func(e *Entry) error {
		cells := []any{e.Seq}
		for _, c := range l.exportRow(e) {
			cells = append(cells, c)
		}
		return setRow(cells)
	})
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("audit: export xlsx: %w", err)
	}
	if err := x.Write(w); err != nil {
		return fmt.Errorf("audit: export xlsx: %w", err)
	}
	return nil
}

// each validates f and, in one snapshot, checks the number of matches
// against the export cap, calls begin, then row for every match, newest
// first. Rows are read from the connection as row consumes them.
func (l *Logger) each(ctx context.Context, f Filter, begin func() error, row func(*Entry) error) error {
	if err := f.validate(false); err != nil {
		return err
	}
	tx, err := l.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("audit: export: begin: %w", err)
	}
	defer tx.Rollback(ctx)
	where, args := f.where()
	var total int64
	if !f.empty() {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM audit_entries`+where, args...).Scan(&total); err != nil {
			return fmt.Errorf("audit: export: count: %w", err)
		}
	}
	if total > l.maxExport {
		return fault.Wrap(ErrExportTooLarge, fault.Invalid, fault.CodeInvalidParameter, fmt.Sprintf(
			"the filter matches %d log entries, more than the %d one export may hold; narrow the time range", total, l.maxExport))
	}
	if err := begin(); err != nil {
		return fmt.Errorf("audit: export: %w", err)
	}
	if total == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, selectEntries+where+" ORDER BY at DESC, seq DESC", args...)
	if err != nil {
		return fmt.Errorf("audit: export: query: %w", err)
	}
	defer rows.Close()
	var e Entry
	for rows.Next() {
		if err := scanEntry(rows, &e); err != nil {
			return fmt.Errorf("audit: export: read: %w", err)
		}
		if err := row(&e); err != nil {
			return fmt.Errorf("audit: export: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: export: read: %w", err)
	}
	return nil
}
