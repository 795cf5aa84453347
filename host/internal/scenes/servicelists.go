package scenes

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
)

// ServiceListRoutes declares the service lists (服务清单): the services of
// the pool that serve person, enterprise or object codes.
func (s *Service) ServiceListRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/service-lists", s.serviceListRoute).
			Doc("服务清单", "The services serving a kind of code (person 一人一码, enterprise 一企一码, object 一物一码) for the caller's department (an operator without one sees every department's) and the code's attributes (industry, object type), by keyword.").
			Tag("scenes").Console("servicelist.read"),
		httpapi.Handle(http.MethodGet, "/console/service-lists/export", s.exportServiceListRoute).
			Doc("导出服务清单", "The same list as an xlsx workbook.").
			Tag("scenes").Console("servicelist.export"),
	}
}

// ServiceListIn asks for a service list.
type ServiceListIn struct {
	Kind       string `query:"kind" validate:"required,oneof=person enterprise object"`
	Industry   string `query:"industry" validate:"max=64" doc:"the code's industry: services limited to other industries are left out"`
	ObjectType string `query:"objectType" validate:"max=64" doc:"the object code's type: services limited to other types are left out"`
	Keyword    string `query:"keyword" validate:"max=50" doc:"part of the name, a keyword or the description"`
}

// ServiceList is a service list.
type ServiceList struct {
	Department string        `json:"department" doc:"the caller's department the list is for; empty: every department"`
	Items      []PoolService `json:"items"`
}

func (s *Service) serviceList(ctx context.Context, in *ServiceListIn) (*ServiceList, error) {
	dept := ""
	if a := actor.From(ctx); a != nil && a.OperatorID != 0 && s.cfg.Department != nil {
		var err error
		if dept, err = s.cfg.Department(ctx, a.OperatorID); err != nil {
			return nil, err
		}
	}
	m, kw := SearchIn{Keyword: in.Keyword}.match(6, "description")
	clause, args := policy.ScopeFrom(ctx).SQL(policy.ScopeColumns{Platform: "platform_id"}, 7)
	rows, err := s.cfg.Pool.Query(ctx, `SELECT `+serviceCols+` FROM scene_services
		WHERE (platform_id = $1 OR `+clause+`) AND $2 = ANY(code_kinds)
			AND ($3 = '' OR cardinality(departments) = 0 OR $3 = ANY(departments))
			AND ($4 = '' OR cardinality(industries) = 0 OR $4 = ANY(industries))
			AND ($5 = '' OR cardinality(object_types) = 0 OR $5 = ANY(object_types))
			AND `+m+` ORDER BY category, id LIMIT 10001`,
		append([]any{s.cfg.MainPlatformID, in.Kind, dept, in.Industry, in.ObjectType, kw}, args...)...)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, scanService)
	if err != nil {
		return nil, err
	}
	if len(items) > 10000 {
		return nil, fault.Invalidf("more than 10000 services match; narrow the list")
	}
	if items == nil {
		items = []PoolService{}
	}
	return &ServiceList{Department: dept, Items: items}, nil
}

func (s *Service) serviceListRoute(ctx context.Context, in *ServiceListIn) (*ServiceList, error) {
	return s.serviceList(ctx, in)
}

type xlsxFile struct {
	name string
	data []byte
}

func (x *xlsxFile) ContentType() string {
	return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
}
func (x *xlsxFile) Filename() string { return x.name }
func (x *xlsxFile) WriteTo(_ context.Context, w io.Writer) error {
	_, err := w.Write(x.data)
	return err
}

var kindNames = map[string]string{"person": "一人一码", "enterprise": "一企一码", "object": "一物一码"}

func (s *Service) exportServiceListRoute(ctx context.Context, in *ServiceListIn) (*xlsxFile, error) {
	list, err := s.serviceList(ctx, in)
	if err != nil {
		return nil, err
	}
	f := excelize.NewFile()
	defer f.Close()
	sheet := kindNames[in.Kind] + "服务清单"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return nil, err
	}
	if err := sw.SetRow("A1", []any{"编号", "服务名称", "分类", "描述", "链接", "服务码类型", "提供部门", "适用行业", "适用物品类型"}); err != nil {
		return nil, err
	}
	for i, v := range list.Items {
		kinds := make([]string, len(v.CodeKinds))
		for j, k := range v.CodeKinds {
			kinds[j] = kindNames[k]
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+2)
		if err := sw.SetRow(cell, []any{v.ID, v.Name, v.Category, v.Description, v.Link, strings.Join(kinds, "、"),
			orAll(v.Departments), orAll(v.Industries), orAll(v.ObjectTypes)}); err != nil {
			return nil, err
		}
	}
	if err := sw.Flush(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return &xlsxFile{name: sheet + ".xlsx", data: buf.Bytes()}, nil
}

// orAll joins a constraint for people: an empty one holds for all.
func orAll(vs []string) string {
	if len(vs) == 0 {
		return "全部"
	}
	return strings.Join(vs, "、")
}
