package tenancy

import (
	"context"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the console endpoints of platforms, apps, developers,
// regions, industries, departments and dictionaries.
func (s *Service) Routes() []*httpapi.Route {
	const (
		get, post, put, del   = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		inUse, exists, failed = fault.CodeResourceInUse, fault.CodeResourceAlreadyExists, fault.CodeFailedOperation
	)
	return []*httpapi.Route{
		// Platforms (平台管理).
		httpapi.Handle(get, "/console/platforms", s.ListPlatforms).
			Doc("平台列表", "Lists platforms in the caller's data scope (main-platform administrators see all, sub-platform operators their own); fuzzy name and id search, kind, status, creation-time range. The main platform comes first.").
			Tag("platforms").Console("platform.read"),
		httpapi.Handle(get, "/console/platforms/:platformId", s.GetPlatform).
			Doc("平台详情", "One platform; another platform than the caller's is 403 for sub-platform operators.").
			Tag("platforms").Console("platform.read"),
		httpapi.Handle(post, "/console/platforms", s.CreatePlatform).
			Doc("新增子平台", "Creates a sub-platform and, in the same transaction, its administrator from adminAccount (操作员账户). The answer holds the administrator's one-time password, shown only once. A taken account stores nothing and answers 409. Main platform only.").
			Tag("platforms").Console("platform.create").Errors(exists),
		httpapi.Handle(put, "/console/platforms/:platformId", s.UpdatePlatform).
			Doc("编辑平台", "Replaces a platform's name, service URL, region, contact and description. Sub-platform operators may edit only their own platform.").
			Tag("platforms").Console("platform.update").Errors(exists),
		httpapi.Handle(del, "/console/platforms/:platformId", adapt(s.DeletePlatform)).
			Doc("删除子平台", "Deletes a sub-platform and its departments. The main platform cannot be deleted (FailedOperation); a platform with apps is refused (ResourceInUse). Main platform only.").
			Tag("platforms").Console("platform.delete").Errors(inUse, failed),
		httpapi.Handle(post, "/console/platforms/:platformId/enable", s.EnablePlatform).
			Doc("启用子平台", "Enables a sub-platform. Its apps keep their status: apps disabled with the platform stay disabled until enabled one by one. Main platform only.").
			Tag("platforms").Console("platform.enable").Errors(failed),
		httpapi.Handle(post, "/console/platforms/:platformId/disable", s.DisablePlatform).
			Doc("停用子平台", "Disables a sub-platform and all its apps. Refused (FailedOperation, naming them) while any of its apps is listed on the citizen side (C端上架). The main platform cannot be disabled. Main platform only.").
			Tag("platforms").Console("platform.disable").Errors(failed),

		// Apps (应用管理).
		httpapi.Handle(get, "/console/apps", s.ListApps).
			Doc("应用列表", "Lists apps in the caller's data scope (all, the caller's platform, or the caller's region by code prefix); fuzzy name and id search, platform, industry, status, creation-time range.").
			Tag("apps").Console("app.read"),
		httpapi.Handle(get, "/console/apps/:appId", s.GetApp).
			Doc("应用详情", "One app with its platform name and developer (mobile masked); never its secret or data key.").
			Tag("apps").Console("app.read"),
		httpapi.Handle(post, "/console/apps", s.CreateApp).
			Doc("新增应用", "Creates an app and its one developer in a platform (default: the caller's; sub-platform operators only their own). The answer shows the app secret (64 hex digits; the HMAC-SM3 key is the decoded 32 bytes) and, with generateDataKey, the SM4 data key (32 hex digits) — only this once. Both are stored sealed.").
			Tag("apps").Console("app.create").Errors(exists, failed),
		httpapi.Handle(put, "/console/apps/:appId", s.UpdateApp).
			Doc("编辑应用", "Replaces an app's name, business unit, industry, region (empty keeps it) and description.").
			Tag("apps").Console("app.update").Errors(exists),
		httpapi.Handle(del, "/console/apps/:appId", adapt(s.DeleteApp)).
			Doc("删除应用", "Deletes a disabled app and its developer; an enabled app is refused (FailedOperation).").
			Tag("apps").Console("app.delete").Errors(failed, inUse),
		httpapi.Handle(post, "/console/apps/:appId/enable", s.EnableApp).
			Doc("启用应用", "Enables an app; refused while its platform is disabled.").
			Tag("apps").Console("app.enable").Errors(failed),
		httpapi.Handle(post, "/console/apps/:appId/disable", s.DisableApp).
			Doc("停用应用", "Disables an app; refused while it is listed on the citizen side (C端上架). Its signed calls are refused at once on this host and within the secrets cache TTL (default 2 s) on others.").
			Tag("apps").Console("app.disable").Errors(failed),
		httpapi.Handle(put, "/console/apps/:appId/listing", s.SetListing).
			Doc("C端上架/下架", "Lists (listed=true) or unlists an app on the citizen side. Only an enabled app of an enabled platform can be listed.").
			Tag("apps").Console("app.update").Errors(failed),
		httpapi.Handle(post, "/console/apps/:appId/secret", s.RotateSecret).
			Doc("重置应用密钥", "Replaces the app secret and shows the new one (64 hex digits) only this once; the old one stops working.").
			Tag("apps").Console("app.secret"),
		httpapi.Handle(put, "/console/apps/:appId/sm2-key", s.SetSM2Key).
			Doc("设置SM2公钥", "Sets the SM2 public key the app signs requests with (X-CityCode-SignMethod: SM2): PEM, or hex/base64 of the DER or of the point.").
			Tag("apps").Console("app.secret"),
		httpapi.Handle(del, "/console/apps/:appId/sm2-key", s.ClearSM2Key).
			Doc("清除SM2公钥", "Removes the app's SM2 public key; SM2-signed requests are then refused.").
			Tag("apps").Console("app.secret"),
		httpapi.Handle(post, "/console/apps/:appId/data-key", s.GenerateDataKey).
			Doc("生成数据密钥", "Generates (or replaces) the app's SM4 data key for encrypted bodies and shows it (32 hex digits) only this once.").
			Tag("apps").Console("app.secret"),
		httpapi.Handle(del, "/console/apps/:appId/data-key", s.ClearDataKey).
			Doc("清除数据密钥", "Removes the app's SM4 data key; encrypted bodies are then refused.").
			Tag("apps").Console("app.secret"),

		// Developers (开发者管理).
		httpapi.Handle(get, "/console/developers", s.ListDevelopers).
			Doc("开发者列表", "Lists the developers of the apps in the caller's data scope; fuzzy developer number and name search, owning app.").
			Tag("developers").Console("developer.read"),
		httpapi.Handle(get, "/console/developers/:developerId", s.GetDeveloper).
			Doc("开发者详情", "One developer, mobile masked.").
			Tag("developers").Console("developer.read"),
		httpapi.Handle(put, "/console/developers/:developerId", s.UpdateDeveloper).
			Doc("编辑开发者", "Replaces a developer's name, contact and email; mobile is kept when absent, cleared when empty.").
			Tag("developers").Console("developer.update"),

		// Regions (区域管理).
		httpapi.Handle(get, "/console/regions", s.ListRegions).
			Doc("区域列表", "Lists regions by keyword (name or code), parent, level and status, ordered by code.").
			Tag("regions").Console("region.read"),
		httpapi.Handle(get, "/console/regions/tree", s.RegionTree).
			Doc("区域树", "The region tree from the level-1 regions or from rootCode, down to maxLevel; status=enabled leaves out disabled regions and their subtrees.").
			Tag("regions").Console("region.read"),
		httpapi.Handle(get, "/console/regions/:code", s.GetRegion).
			Doc("区域详情", "One region.").
			Tag("regions").Console("region.read"),
		httpapi.Handle(post, "/console/regions", s.CreateRegion).
			Doc("新增区域", "Adds a region by its national code (6 digits at levels 1-3, 9 at level 4, 12 at level 5), below a parent of a higher level whose significant digits it starts with. Main platform only.").
			Tag("regions").Console("region.create").Errors(exists),
		httpapi.Handle(put, "/console/regions/:code", s.UpdateRegion).
			Doc("编辑区域", "Renames a region; code, level and parent are fixed. Main platform only.").
			Tag("regions").Console("region.update"),
		httpapi.Handle(post, "/console/regions/:code/enable", s.enableRegion).
			Doc("启用区域", "Enables a region. Main platform only.").
			Tag("regions").Console("region.update"),
		httpapi.Handle(post, "/console/regions/:code/disable", s.disableRegion).
			Doc("停用区域", "Disables a region: existing platforms and apps keep it, new ones cannot choose it. Main platform only.").
			Tag("regions").Console("region.update"),
		httpapi.Handle(del, "/console/regions/:code", adapt(s.DeleteRegion)).
			Doc("删除区域", "Deletes a region without sub-regions that no platform, app or department uses (else ResourceInUse). Main platform only.").
			Tag("regions").Console("region.delete").Errors(inUse),

		// Industries (行业管理).
		httpapi.Handle(get, "/console/industries", s.ListIndustries).
			Doc("行业列表", "Lists industries by keyword (name or code), parent and status, ordered by sort and code.").
			Tag("industries").Console("industry.read"),
		httpapi.Handle(get, "/console/industries/:code", s.GetIndustry).
			Doc("行业详情", "One industry.").
			Tag("industries").Console("industry.read"),
		httpapi.Handle(post, "/console/industries", s.CreateIndustry).
			Doc("新增行业", "Adds an industry. Main platform only.").
			Tag("industries").Console("industry.create").Errors(exists),
		httpapi.Handle(put, "/console/industries/:code", s.UpdateIndustry).
			Doc("编辑行业", "Replaces an industry's name, parent, sort and status. Main platform only.").
			Tag("industries").Console("industry.update"),
		httpapi.Handle(del, "/console/industries/:code", adapt(s.DeleteIndustry)).
			Doc("删除行业", "Deletes an industry without sub-industries or apps (else ResourceInUse). Main platform only.").
			Tag("industries").Console("industry.delete").Errors(inUse),

		// Departments (组织机构).
		httpapi.Handle(get, "/console/departments", s.ListDepartments).
			Doc("部门列表", "Lists departments in the caller's data scope by platform, parent and keyword (name or leader).").
			Tag("departments").Console("department.read"),
		httpapi.Handle(get, "/console/departments/:departmentId", s.GetDepartment).
			Doc("部门详情", "One department.").
			Tag("departments").Console("department.read"),
		httpapi.Handle(post, "/console/departments", s.CreateDepartment).
			Doc("新增部门", "Adds a department to a platform in the caller's scope (default: the caller's platform).").
			Tag("departments").Console("department.create").Errors(exists),
		httpapi.Handle(put, "/console/departments/:departmentId", s.UpdateDepartment).
			Doc("编辑部门", "Replaces a department's region, parent, name, sort, leader and phone; it stays in its platform.").
			Tag("departments").Console("department.update").Errors(exists),
		httpapi.Handle(del, "/console/departments/:departmentId", adapt(s.DeleteDepartment)).
			Doc("删除部门", "Deletes a department without sub-departments (else ResourceInUse).").
			Tag("departments").Console("department.delete").Errors(inUse),

		// Dictionaries (字典管理).
		httpapi.Handle(get, "/console/dict/groups", s.ListDictGroups).
			Doc("字典分组列表", "Lists dictionary groups by keyword (code or name).").
			Tag("dictionaries").Console("dict.read"),
		httpapi.Handle(get, "/console/dict/groups/:groupId", s.GetDictGroup).
			Doc("字典分组详情", "One dictionary group.").
			Tag("dictionaries").Console("dict.read"),
		httpapi.Handle(post, "/console/dict/groups", s.CreateDictGroup).
			Doc("新增字典分组", "Adds a dictionary group; its code is fixed once created. Main platform only.").
			Tag("dictionaries").Console("dict.create").Errors(exists),
		httpapi.Handle(put, "/console/dict/groups/:groupId", s.UpdateDictGroup).
			Doc("修改字典分组", "Replaces a group's name and description. Main platform only.").
			Tag("dictionaries").Console("dict.update"),
		httpapi.Handle(del, "/console/dict/groups/:groupId", adapt(s.DeleteDictGroup)).
			Doc("删除字典分组", "Deletes a group together with all its items. Main platform only.").
			Tag("dictionaries").Console("dict.delete"),
		httpapi.Handle(post, "/console/dict/groups/batch-delete", s.DeleteDictGroups).
			Doc("批量删除字典分组", "Deletes the groups named by ids together with all their items; unknown ids are ignored. Main platform only.").
			Tag("dictionaries").Console("dict.delete"),
		httpapi.Handle(get, "/console/dict/items", s.ListDictItems).
			Doc("字典列表", "Lists dictionary items by group, keyword (label or value) and status.").
			Tag("dictionaries").Console("dict.read"),
		httpapi.Handle(get, "/console/dict/items/:itemId", s.GetDictItem).
			Doc("字典详情", "One dictionary item.").
			Tag("dictionaries").Console("dict.read"),
		httpapi.Handle(post, "/console/dict/items", s.CreateDictItem).
			Doc("新增字典", "Adds an item to a group; its value is unique within the group. Main platform only.").
			Tag("dictionaries").Console("dict.create").Errors(exists),
		httpapi.Handle(put, "/console/dict/items/:itemId", s.UpdateDictItem).
			Doc("修改字典", "Replaces an item's label, value, sort and status. Main platform only.").
			Tag("dictionaries").Console("dict.update").Errors(exists),
		httpapi.Handle(del, "/console/dict/items/:itemId", adapt(s.DeleteDictItem)).
			Doc("删除字典", "Deletes an item. Main platform only.").
			Tag("dictionaries").Console("dict.delete"),
		httpapi.Handle(post, "/console/dict/items/batch-delete", s.DeleteDictItems).
			Doc("批量删除字典", "Deletes the items named by ids; unknown ids are ignored. Main platform only.").
			Tag("dictionaries").Console("dict.delete"),
	}
}

// adapt turns a service call answering only an error into a handler.
func adapt[In any](fn func(context.Context, *In) error) func(context.Context, *In) (*httpapi.Empty, error) {
	return func(ctx context.Context, in *In) (*httpapi.Empty, error) {
		if err := fn(ctx, in); err != nil {
			return nil, err
		}
		return &httpapi.Empty{}, nil
	}
}

func (s *Service) enableRegion(ctx context.Context, in *RegionCodeIn) (*Region, error) {
	return s.SetRegionStatus(ctx, in.Code, StatusEnabled)
}

func (s *Service) disableRegion(ctx context.Context, in *RegionCodeIn) (*Region, error) {
	return s.SetRegionStatus(ctx, in.Code, StatusDisabled)
}
