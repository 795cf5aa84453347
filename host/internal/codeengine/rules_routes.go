package codeengine

import (
	"net/http"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the console endpoints of specs, rules, versions, pools and
// app bindings.
func (s *Rules) Routes() []*httpapi.Route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
		failed, inUse       = fault.CodeFailedOperation, fault.CodeResourceInUse
	)
	return []*httpapi.Route{
		// Specs (码规范管理).
		httpapi.Handle(get, "/console/specs", s.ListSpecs).
			Doc("码规范列表", "Specs by fuzzy name, status and creation-time range, newest first.").
			Tag("specs").Console("spec.read"),
		httpapi.Handle(get, "/console/specs/:specId", s.GetSpec).
			Doc("码规范详情", "One spec with its fields.").
			Tag("specs").Console("spec.read"),
		httpapi.Handle(post, "/console/specs", s.CreateSpec).
			Doc("新增码规范", "Creates an enabled spec: name, description and its ordered fields (name, label, length, type, required). Main platform only.").
			Tag("specs").Console("spec.create"),
		httpapi.Handle(put, "/console/specs/:specId", s.UpdateSpec).
			Doc("编辑码规范", "Replaces a spec's name, description and fields. Rules keep the fields they took when created. Main platform only.").
			Tag("specs").Console("spec.update"),
		httpapi.Handle(post, "/console/specs/:specId/enable", s.EnableSpec).
			Doc("启用码规范", "Enables a spec. Main platform only.").
			Tag("specs").Console("spec.update"),
		httpapi.Handle(post, "/console/specs/:specId/disable", s.DisableSpec).
			Doc("停用码规范", "Disables a spec: new rules cannot choose it; rules that use it are unaffected. Main platform only.").
			Tag("specs").Console("spec.update"),
		httpapi.Handle(del, "/console/specs/:specId", s.DeleteSpec).
			Doc("删除码规范", "Deletes a spec; rules that use it keep its name and the fields they took. Main platform only.").
			Tag("specs").Console("spec.delete"),

		// Rules (码规则管理).
		httpapi.Handle(get, "/console/rules", s.ListRules).
			Doc("码规则列表", "Rules in the caller's scope — all for the main platform, its pool for a sub-platform — by fuzzy name, applicable platform, pool, status, enabled, industry, kind, family and creation-time range, newest first.").
			Tag("rules").Console("rule.read"),
		httpapi.Handle(get, "/console/rules/:ruleId", s.GetRule).
			Doc("码规则详情", "A rule with its base information, spec fields, QR style, push state and all its versions. A rule outside the caller's pool is 403.").
			Tag("rules").Console("rule.read"),
		httpapi.Handle(post, "/console/rules", s.CreateRule).
			Doc("新增码规则", "Creates a pending, enabled rule with version 1: base information (name, form, kind, family, applicable platform, industry), function settings, spec fields (copied from an enabled spec unless given), extension fields, data-collection fields and QR style. A disabled spec is FailedOperation. Main platform only.").
			Tag("rules").Console("rule.create").Errors(failed),
		httpapi.Handle(put, "/console/rules/:ruleId", s.UpdateRule).
			Doc("编辑码规则基本信息", "Replaces a rule's name, industry and QR style, which are not versioned. Function, extension and data-collection settings change by versions. Main platform only.").
			Tag("rules").Console("rule.update"),
		httpapi.Handle(post, "/console/rules/:ruleId/publish", s.Publish).
			Doc("发布码规则", "pending → published; a published rule stays so. Main platform only.").
			Tag("rules").Console("rule.publish"),
		httpapi.Handle(post, "/console/rules/:ruleId/enable", s.EnableRule).
			Doc("启用码规则", "Enables a rule. Main platform only.").
			Tag("rules").Console("rule.enable"),
		httpapi.Handle(post, "/console/rules/:ruleId/disable", s.DisableRule).
			Doc("停用码规则", "Disables a rule on every platform at once: it issues no codes and its codes answer FailedOperation.CodeNotActive. Main platform only.").
			Tag("rules").Console("rule.disable"),
		httpapi.Handle(post, "/console/rules/:ruleId/push", s.Push).
			Doc("推送码规则", "Puts a published rule of a sub-platform into that platform's pool with the current content of all its versions; pushing again refreshes it. A main-platform or pending rule is FailedOperation. Main platform only.").
			Tag("rules").Console("rule.push").Errors(failed),
		httpapi.Handle(del, "/console/rules/:ruleId/pool", s.RemoveFromPool).
			Doc("移除码规则", "Takes a disabled rule out of its sub-platform's pool: the pool no longer shows it and the bindings of the platform's apps to it go with it (listed in the answer). An enabled rule is FailedOperation. Main platform only.").
			Tag("rules").Console("rule.remove").Errors(failed),
		httpapi.Handle(del, "/console/rules/:ruleId", s.DeleteRule).
			Doc("删除码规则", "Deletes a rule and its versions; refused while any app is bound to it (ResourceInUse naming the apps). Main platform only.").
			Tag("rules").Console("rule.delete").Errors(inUse),

		// Versions (码规则版本管理).
		httpapi.Handle(get, "/console/rules/:ruleId/versions", s.ListVersions).
			Doc("码规则版本列表", "A rule's versions in order, with their settings, state and push state.").
			Tag("rules").Console("rule.read"),
		httpapi.Handle(get, "/console/rules/:ruleId/versions/:version", s.GetVersion).
			Doc("码规则版本详情", "One version of a rule.").
			Tag("rules").Console("rule.read"),
		httpapi.Handle(post, "/console/rules/:ruleId/versions", s.NewVersion).
			Doc("编辑码规则/新增版本", "New function, extension and data-collection settings make the rule's next version, enabled: codes are issued by it from now on (on a sub-platform after the next push). Main platform only.").
			Tag("rules").Console("rule.update"),
		httpapi.Handle(put, "/console/rules/:ruleId/versions/:version", s.UpdateVersion).
			Doc("编辑版本", "Replaces one version's settings in place; a sub-platform's apps see the change after the next push. Main platform only.").
			Tag("rules").Console("rule.update"),
		httpapi.Handle(post, "/console/rules/:ruleId/versions/:version/enable", s.EnableVersion).
			Doc("启用版本", "Enables a version; several may be enabled at once and codes are issued by the highest. Main platform only.").
			Tag("rules").Console("rule.enable"),
		httpapi.Handle(post, "/console/rules/:ruleId/versions/:version/disable", s.DisableVersion).
			Doc("停用版本", "Disables a version: it issues no codes and its codes answer FailedOperation.CodeNotActive. Main platform only.").
			Tag("rules").Console("rule.disable"),

		// App bindings (关联码规则).
		httpapi.Handle(get, "/console/apps/:appId/rules", s.AppRules).
			Doc("应用关联的码规则", "The rules an app is bound to.").
			Tag("rules").Console("rule.read"),
		httpapi.Handle(put, "/console/apps/:appId/rules", s.Bind).
			Doc("关联码规则", "Binds the app to rules of its platform's pool, all or none; rules already bound stay bound. A rule of another platform's pool, or a sub-platform's rule not pushed, is FailedOperation. Operators bind their own platform's apps.").
			Tag("rules").Console("rule.bind").Errors(failed),
		httpapi.Handle(del, "/console/apps/:appId/rules/:ruleId", s.Unbind).
			Doc("移除关联码规则", "Unbinds a rule from the app; the rule stays in the pool.").
			Tag("rules").Console("rule.bind"),
	}
}
