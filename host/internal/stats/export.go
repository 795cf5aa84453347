package stats

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Workbook is an xlsx export, built whole before the answer starts so
// that a failure is still an error answer rather than a broken file.
type Workbook struct {
	name string
	data []byte
}

// ContentType is the xlsx media type.
func (w *Workbook) ContentType() string {
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}

// Filename names the download.
func (w *Workbook) Filename() string { return w.name }

// WriteTo writes the workbook.
func (w *Workbook) WriteTo(_ context.Context, out io.Writer) error {
	_, err := out.Write(w.data)
	return err
}

// workbook lays out one sheet: a bold header, the rows, and a closing
// total row when total is not nil.
func workbook(name, sheet string, header []string, rows [][]any, total []any) (*Workbook, error) {
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", sheet); err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	sw, err := x.NewStreamWriter(sheet)
	if err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	if err := sw.SetColWidth(1, len(header), 16); err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	line := 1
	put := func(cells []any, style int) error {
		if style != 0 {
			styled := make([]any, len(cells))
			for i, c := range cells {
				styled[i] = excelize.Cell{StyleID: style, Value: c}
			}
			cells = styled
		}
		cell, err := excelize.CoordinatesToCellName(1, line)
		if err != nil {
			return err
		}
		line++
		return sw.SetRow(cell, cells)
	}
	head := make([]any, len(header))
	for i, h := range header {
		head[i] = h
	}
	if err := put(head, bold); err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	for _, r := range rows {
		if err := put(r, 0); err != nil {
			return nil, fmt.Errorf("stats: export: %w", err)
		}
	}
	if total != nil {
		if err := put(total, bold); err != nil {
			return nil, fmt.Errorf("stats: export: %w", err)
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, fmt.Errorf("stats: export: %w", err)
	}
	return &Workbook{name: name, data: buf.Bytes()}, nil
}

// exportOrder is the whole list in the order a page would show it.
func exportOrder(in PageIn) (order, error) {
	in.PageNo, in.PageSize = 0, 0
	o, err := in.check()
	o.limit = maxExportRows
	return o, err
}

func tooMany(total int64) error {
	if total > maxExportRows {
		return fault.Invalidf("%d rows match; export at most %d (filter them)", total, maxExportRows)
	}
	return nil
}

// fileName is name-from-to.xlsx, in ASCII for every browser.
func fileName(name, from, to string) string {
	return fmt.Sprintf("%s-%s-%s.xlsx", name, strings.ReplaceAll(from, "-", ""), strings.ReplaceAll(to, "-", ""))
}

var (
	countsHeader = []string{"生码量", "亮码量", "验码量"}
	peopleHeader = []string{"生码人数", "亮码人数", "验码人数"}
)

func countCells(c Counts) []any  { return []any{c.Generate, c.Show, c.Verify} }
func peopleCells(p People) []any { return []any{p.GeneratePeople, p.ShowPeople, p.VerifyPeople} }

func join(parts ...[]any) []any {
	var out []any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ExportPlatformStats answers the platform statistics in as a workbook:
// every matching platform (at most 100,000), in the list's order.
func (s *Service) ExportPlatformStats(ctx context.Context, in *PlatformStatsIn) (*Workbook, error) {
	o, err := exportOrder(in.PageIn)
	if err != nil {
		return nil, err
	}
	p, err := s.platformStats(ctx, in, o)
	if err != nil {
		return nil, err
	}
	if err := tooMany(p.Total); err != nil {
		return nil, err
	}
	rows := make([][]any, len(p.Items))
	for i, r := range p.Items {
		rows[i] = join([]any{r.PlatformID, r.PlatformName}, countCells(r.Counts), peopleCells(r.People))
	}
	header := append(append([]string{"平台编号", "平台名称"}, countsHeader...), peopleHeader...)
	return workbook(fileName("platform-stats", p.From, p.To), "平台统计", header, rows, join([]any{"合计", ""}, countCells(p.Sum)))
}

// ExportAppStats answers the app statistics in as a workbook.
func (s *Service) ExportAppStats(ctx context.Context, in *AppStatsIn) (*Workbook, error) {
	o, err := exportOrder(in.PageIn)
	if err != nil {
		return nil, err
	}
	p, err := s.appStats(ctx, in, o)
	if err != nil {
		return nil, err
	}
	if err := tooMany(p.Total); err != nil {
		return nil, err
	}
	rows := make([][]any, len(p.Items))
	for i, r := range p.Items {
		rows[i] = join([]any{r.AppID, r.AppName, r.PlatformID, r.PlatformName}, countCells(r.Counts), peopleCells(r.People))
	}
	header := append(append([]string{"应用编号", "应用名称", "平台编号", "平台名称"}, countsHeader...), peopleHeader...)
	return workbook(fileName("app-stats", p.From, p.To), "应用统计", header, rows, join([]any{"合计", "", "", ""}, countCells(p.Sum)))
}

// ExportRuleStats answers the code-rule statistics in as a workbook.
func (s *Service) ExportRuleStats(ctx context.Context, in *RuleStatsIn) (*Workbook, error) {
	o, err := exportOrder(in.PageIn)
	if err != nil {
		return nil, err
	}
	p, err := s.ruleStats(ctx, in, o)
	if err != nil {
		return nil, err
	}
	if err := tooMany(p.Total); err != nil {
		return nil, err
	}
	rows := make([][]any, len(p.Items))
	for i, r := range p.Items {
		rows[i] = join([]any{r.RuleID, r.RuleName, r.Kind, r.Family}, countCells(r.Counts))
	}
	header := append([]string{"码规则编号", "码规则名称", "码类型", "码族"}, countsHeader...)
	return workbook(fileName("rule-stats", p.From, p.To), "码规则统计", header, rows, join([]any{"合计", "", "", ""}, countCells(p.Sum)))
}

// ExportDaily answers the daily report in as a workbook.
func (s *Service) ExportDaily(ctx context.Context, in *DailyIn) (*Workbook, error) {
	d, err := s.Daily(ctx, in)
	if err != nil {
		return nil, err
	}
	rows := make([][]any, len(d.Items))
	for i, r := range d.Items {
		rows[i] = join([]any{r.Date}, countCells(r.Counts), peopleCells(r.People), []any{r.Failed, r.Intercepted})
	}
	header := append(append(append([]string{"日期"}, countsHeader...), peopleHeader...), "失败", "拦截")
	sheet, name := "平台日报", "platform-daily-"+d.PlatformID
	if d.AppID != "" {
		sheet, name = "应用日报", "app-daily-"+d.AppID
	}
	return workbook(fileName(name, d.From, d.To), sheet, header, rows, join([]any{"合计"}, countCells(d.Sum)))
}
