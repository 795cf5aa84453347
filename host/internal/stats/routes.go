package stats

import (
	"net/http"

	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the console's statistics: 城市码管控 (授权监控, 考核分析,
// 场景统计) and the operations workbench. Every one reads; the exports are
// recorded in the data-security log.
func (s *Service) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/stats/platforms", s.PlatformStats).
			Doc("平台统计", "Generations, shows and verifications of each platform in your scope over a period of Beijing days (default the last 7), with the distinct holders behind them, platforms without use included; filter by platform id or part of its name, sort by generate, show or verify, page.").
			Tag("stats").Console("stats.read"),
		httpapi.Handle(http.MethodGet, "/console/stats/platforms/export", s.ExportPlatformStats).
			Doc("导出平台统计", "The platform statistics with the same filters and order, every row (at most 100,000), as an xlsx workbook with a total row.").
			Tag("stats").Console("stats.export"),
		httpapi.Handle(http.MethodGet, "/console/stats/apps", s.AppStats).
			Doc("应用统计", "Generations, shows and verifications of each app in your scope over a period, with distinct holders; filter by platform (id or name) and app (id or name), sort, page.").
			Tag("stats").Console("stats.read"),
		httpapi.Handle(http.MethodGet, "/console/stats/apps/export", s.ExportAppStats).
			Doc("导出应用统计", "The app statistics as an xlsx workbook.").
			Tag("stats").Console("stats.export"),
		httpapi.Handle(http.MethodGet, "/console/stats/rules", s.RuleStats).
			Doc("码规则统计", "Generations, shows and verifications per code rule used in your scope over a period; filter by platform, app, rule id and rule name, sort, page.").
			Tag("stats").Console("stats.read"),
		httpapi.Handle(http.MethodGet, "/console/stats/rules/export", s.ExportRuleStats).
			Doc("导出码规则统计", "The code-rule statistics as an xlsx workbook.").
			Tag("stats").Console("stats.export"),
		httpapi.Handle(http.MethodGet, "/console/stats/trend", s.Trend).
			Doc("用码趋势", "Generations, shows and verifications over time of every platform in your scope, of one platform (平台用码趋势) or of one app (应用用码趋势): by hour for today and yesterday, by day for the last 7 or 30 days and custom periods; one series per operation.").
			Tag("stats").Console("stats.read"),
		httpapi.Handle(http.MethodGet, "/console/stats/daily", s.Daily).
			Doc("日报", "The daily report of one platform (平台日报) or one app (应用日报): a row per day of the period with generations, shows, verifications, distinct holders, failures and interceptions.").
			Tag("stats").Console("stats.read").Errors("MissingParameter"),
		httpapi.Handle(http.MethodGet, "/console/stats/daily/export", s.ExportDaily).
			Doc("导出日报", "The daily report as an xlsx workbook.").
			Tag("stats").Console("stats.export").Errors("MissingParameter"),
		httpapi.Handle(http.MethodGet, "/console/stats/top", s.Top).
			Doc("排行榜", "考核分析: the top 5 platforms or apps in your scope by generations (生码量) or by use (用码量: shows and verifications) for yesterday, the last 7 or 30 days, or a custom period; app boards may be limited to one platform.").
			Tag("stats").Console("assessment.read").Errors("MissingParameter"),
		httpapi.Handle(http.MethodGet, "/console/stats/scenes", s.Scenes).
			Doc("场景统计", "Activity of the codes that name a region (object codes: scans of their landing page, verifications, service use, ...) per region, code kind and/or day, in your scope; filter by platform, region (and everything in it) and kind.").
			Tag("stats").Console("scenestat.read"),
		httpapi.Handle(http.MethodGet, "/console/workbench", s.Workbench).
			Doc("运营管理工作台", "The operations workbench in one answer, over your scope: who you are and your last login, yesterday's generations, shows and verifications, counts of sub-platforms, apps and users, app and sub-platform rankings by use (yesterday, 7 or 30 days), the code engine's calls and error rate per platform for the last hour, the 7-day trend, the user registration trend (7 or 30 days) and the latest interoperability alerts.").
			Tag("workbench").Console("workbench.read"),
	}
}
