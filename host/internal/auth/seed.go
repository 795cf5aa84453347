package auth

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/store"
)

// builtinMenu is one entry of the product's menu tree. Pages carry the
// read permission of their resource; their buttons carry the others.
type builtinMenu struct {
	key, parent      string
	name, path, icon string
	perm             string
	button           bool
}

func (m builtinMenu) kind() string {
	if m.button {
		return KindButton
	}
	return KindMenu
}

// pageMenus declares a page under parent with read permission <res>.read and a
// button per other verb, named in the console's words.
func pageMenus(parent, res, name, path string, buttons ...[2]string) []builtinMenu {
	key := "page:" + res
	out := []builtinMenu{{key: key, parent: parent, name: name, path: path, perm: res + ".read"}}
	for _, b := range buttons {
		out = append(out, builtinMenu{key: "button:" + res + "." + b[0], parent: key, name: b[1], perm: res + "." + b[0], button: true})
	}
	return out
}

// builtinMenus is the console's menu tree as the product ships it, parents
// first. Its permission codes cover every console action.
func builtinMenus() []builtinMenu {
	group := func(key, parent, name, path, icon string) builtinMenu {
		return builtinMenu{key: key, parent: parent, name: name, path: path, icon: icon}
	}
	crud := [][2]string{{"create", "新增"}, {"update", "修改"}, {"delete", "删除"}}
	onOff := [][2]string{{"enable", "启用"}, {"disable", "停用"}}
	verbs := func(lists ...[][2]string) [][2]string {
		var out [][2]string
		for _, l := range lists {
			out = append(out, l...)
		}
		return out
	}
	var ms []builtinMenu
	add := func(m ...builtinMenu) { ms = append(ms, m...) }

	add(group("group:biz", "", "业务配置", "/biz", "setting"),
		group("group:biz.base", "group:biz", "基础配置管理", "/biz/base", ""))
	add(pageMenus("group:biz.base", "platform", "平台管理", "/biz/base/platforms", verbs(crud, onOff)...)...)
	add(pageMenus("group:biz.base", "app", "应用管理", "/biz/base/apps", verbs(crud, onOff, [][2]string{{"secret", "密钥管理"}})...)...)
	add(pageMenus("group:biz.base", "developer", "开发者管理", "/biz/base/developers", [2]string{"update", "修改"})...)
	add(pageMenus("group:biz.base", "capability", "能力授权", "/biz/base/capabilities", [2]string{"grant", "分配/回收"})...)

	add(group("group:ops", "", "运维管理", "/ops", "tool"),
		group("group:ops.perm", "group:ops", "权限管理", "/ops/permissions", ""))
	add(pageMenus("group:ops.perm", "operator", "操作员管理", "/ops/permissions/operators",
		verbs(crud, onOff, [][2]string{{"reset_password", "重置密码"}})...)...)
	add(pageMenus("group:ops.perm", "role", "角色管理", "/ops/permissions/roles", crud...)...)
	add(pageMenus("group:ops.perm", "menu", "菜单管理", "/ops/permissions/menus", crud...)...)

	add(group("group:engine", "", "码核心引擎", "/engine", "qrcode"))
	add(pageMenus("group:engine", "spec", "码规范管理", "/engine/specs", crud...)...)
	add(pageMenus("group:engine", "rule", "码规则管理", "/engine/rules",
		verbs(crud, onOff, [][2]string{{"publish", "发布"}, {"push", "推送"}, {"remove", "移除"}, {"bind", "关联应用"}})...)...)
	add(pageMenus("group:engine", "objtype", "物品类型管理", "/engine/object-types", crud...)...)
	add(pageMenus("group:engine", "enterprise", "一企一码管理", "/engine/enterprises", [2]string{"update", "登记"})...)

	add(group("group:plugins", "", "插件与落地页", "/plugins", "appstore-add"))
	add(pageMenus("group:plugins", "plugin", "插件管理", "/plugins/list",
		verbs([][2]string{{"install", "安装"}, {"enable", "启用"}, {"disable", "停用"}, {"update", "配置"}})...)...)
	add(pageMenus("group:plugins", "landing", "落地页管理", "/plugins/landing", verbs(crud, [][2]string{{"review", "审核"}})...)...)

	add(group("group:scene", "", "场景管控", "/scene", "dashboard"))
	add(pageMenus("group:scene", "traffic", "场景限流管控", "/scene/traffic", verbs(crud, [][2]string{{"restore", "恢复服务"}})...)...)
	add(pageMenus("group:scene", "whitelist", "白名单管理", "/scene/whitelists", [2]string{"create", "新增"}, [2]string{"delete", "删除"})...)
	add(pageMenus("group:scene", "monitor", "监控和熔断管理", "/scene/monitor")...)

	add(group("group:scenes", "", "场景管理", "/scenes", "appstore"))
	add(pageMenus("group:scenes", "scenetype", "场景类型管理", "/scenes/types", crud...)...)
	add(pageMenus("group:scenes", "scene", "场景配置", "/scenes/list",
		verbs(crud, [][2]string{{"publish", "发布/下架"}, {"disable", "紧急停用"}, {"enable", "恢复"}})...)...)
	add(pageMenus("group:scenes", "sceneservice", "服务池管理", "/scenes/services", verbs(crud, [][2]string{{"publish", "发布"}})...)...)
	add(pageMenus("group:scenes", "servicelist", "服务清单", "/scenes/service-lists", [2]string{"export", "导出"})...)
	add(pageMenus("group:scenes", "counterpart", "场景对接方", "/scenes/counterparts",
		[2]string{"create", "新增"}, [2]string{"update", "修改"}, [2]string{"enable", "启用"}, [2]string{"disable", "停用"})...)
	add(pageMenus("group:scenes", "excellent", "优秀场景管理", "/scenes/excellent",
		[2]string{"create", "新增"}, [2]string{"update", "编辑"}, [2]string{"enable", "启用"}, [2]string{"disable", "禁用"})...)

	add(group("group:risk", "", "城市码风控", "/risk", "safety"))
	add(pageMenus("group:risk", "blacklist", "黑名单管理", "/risk/blacklist", [2]string{"create", "新增"}, [2]string{"update", "解除"})...)
	add(pageMenus("group:risk", "riskrecord", "风控拦截管理", "/risk/records", [2]string{"release", "批量解除"}, [2]string{"export", "导出"})...)
	add(pageMenus("group:risk", "riskrule", "风控规则管理", "/risk/rules", verbs(crud, onOff)...)...)
	add(pageMenus("group:risk", "riskindicator", "风控指标管理", "/risk/indicators", crud...)...)
	add(pageMenus("group:risk", "riskapp", "风控应用管理", "/risk/apps", [2]string{"update", "设置"})...)
	add(pageMenus("group:risk", "riskdict", "风控字典管理", "/risk/dict", crud...)...)

	add(group("group:interop", "", "互联互通", "/interop", "link"))
	add(pageMenus("group:interop", "interopcode", "业务码管理", "/interop/codes", verbs(crud, onOff)...)...)
	add(pageMenus("group:interop", "interoplog", "业务码解析日志", "/interop/logs")...)
	add(pageMenus("group:interop", "interopalert", "告警管理", "/interop/alerts", verbs(crud, onOff)...)...)
	add(pageMenus("group:interop", "interopalertrecord", "告警记录", "/interop/alert-records")...)
	add(pageMenus("group:interop", "interopscene", "互通场景管理", "/interop/scenes",
		verbs(crud, onOff, [][2]string{{"grant", "授权管理"}, {"routing", "路由开关"}})...)...)

	add(group("group:operation", "", "城市码运营", "/operation", "home"))
	add(pageMenus("group:operation", "workbench", "运营管理工作台", "/operation/workbench")...)

	add(group("group:control", "", "城市码管控", "/control", "bar-chart"))
	add(pageMenus("group:control", "stats", "授权监控", "/control/monitoring", [2]string{"export", "导出"})...)
	add(pageMenus("group:control", "assessment", "考核分析", "/control/assessment")...)
	add(pageMenus("group:control", "scenestat", "场景统计", "/control/scenes")...)

	add(group("group:open", "", "开放平台", "/open", "api"))
	add(pageMenus("group:open", "opendev", "开发者管理", "/open/developers", [2]string{"freeze", "冻结"}, [2]string{"restore", "恢复"})...)
	add(pageMenus("group:open", "openqual", "资质审核", "/open/qualifications", [2]string{"review", "审核"}, [2]string{"export", "下载营业执照"})...)
	add(pageMenus("group:open", "openapply", "能力申请审核", "/open/applications", [2]string{"review", "审核"})...)

	add(group("group:users", "", "用户服务", "/users", "user"))
	add(pageMenus("group:users", "person", "用户信息管理", "/users/persons")...)

	add(group("group:mgmt", "", "业务管理", "/mgmt", "appstore"))
	add(pageMenus("group:mgmt", "region", "区域管理", "/mgmt/regions", crud...)...)
	add(pageMenus("group:mgmt", "industry", "行业管理", "/mgmt/industries", crud...)...)
	add(pageMenus("group:mgmt", "department", "部门管理", "/mgmt/departments", crud...)...)

	add(group("group:sys", "", "系统管理", "/sys", "control"))
	add(pageMenus("group:sys", "audit", "日志管理", "/sys/logs", [2]string{"export", "导出"})...)
	add(pageMenus("group:sys", "dict", "字典管理", "/sys/dicts", crud...)...)
	add(pageMenus("group:sys", "policy", "策略管理", "/sys/policies", [2]string{"update", "上传"})...)
	add(pageMenus("group:sys", "key", "密钥管理", "/sys/keys", [2]string{"rotate", "轮换"})...)
	add(pageMenus("group:sys", "qrjob", "图片任务", "/sys/qr-jobs")...)
	add(pageMenus("group:engine", "objcode", "一物一码管理", "/engine/object-codes",
		[2]string{"review", "审核"}, [2]string{"export", "导出"}, [2]string{"import", "旧码导入"})...)
	return ms
}

// Seed creates what a fresh installation needs, idempotently: the built-in
// menus that are missing, and — when there is no initial administrator —
// the account "admin" (root, on the main platform) with a random one-time
// password that must be changed at first login. It returns that password
// and created=true only on the start that created the account; the caller
// prints it once. Several hosts starting at once are serialized.
func (s *Service) Seed(ctx context.Context) (initialPassword string, created bool, err error) {
	err = store.Tx(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockSeed(ctx, tx); err != nil {
			return err
		}
		if err := seedMenus(ctx, tx, builtinMenus(), s.now()); err != nil {
			return err
		}
		exists, err := rootExists(ctx, tx)
		if err != nil || exists {
			return err
		}
		initialPassword = oneTimePassword()
		_, err = s.insertOperator(ctx, tx, &operatorRecord{
			Account: "admin", Name: "初始管理员", Type: actor.Root, PlatformID: s.mainID,
			Status: StatusEnabled, PasswordHash: s.pw.Hash(initialPassword), MustChange: true,
		})
		created = err == nil
		return err
	})
	if err != nil {
		return "", false, err
	}
	return initialPassword, created, nil
}
