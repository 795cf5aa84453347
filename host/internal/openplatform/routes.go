package openplatform

import (
	"net/http"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the developer portal (/open/v1: register and log in are
// public, the rest needs a developer session) and its administration in
// the console (/console/open).
func (p *Portal) Routes() []*httpapi.Route {
	return append(p.developerRoutes(), p.consoleRoutes()...)
}

func (p *Portal) developerRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/open/v1/register", p.registerRoute).
			Doc("开发者注册", "Registers a developer account with the local account provider (password: 8 to 128 characters with letters and digits); mobile and email are stored sealed and answered masked.").
			Tag("open-portal").Public().Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodPost, "/open/v1/login", p.loginRoute).
			Doc("开发者登录", "Opens a portal session (12 h at most, 30 min idle). Five wrong passwords in a row lock the account for 15 minutes; a frozen developer cannot log in.").
			Tag("open-portal").Public().Errors(fault.CodeInvalidCredential, fault.CodeAccountLocked, fault.CodeAccountDisabled),
		httpapi.Handle(http.MethodPost, "/open/v1/logout", p.logoutRoute).
			Doc("开发者退出", "Ends the developer's sessions.").Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodGet, "/open/v1/me", p.meRoute).
			Doc("开发者信息", "The calling developer: profile, status and certification; personal data masked.").Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodPut, "/open/v1/me", p.profileRoute).
			Doc("修改开发者信息", "Replaces the profile: nickname, avatar URL, bio and skill tags; mobile and email change only when given.").
			Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodGet, "/open/v1/notifications", p.notificationsRoute).
			Doc("站内通知", "The developer's notifications, newest first: results of reviews (with a rejection's reason), frozen and restored accounts.").
			Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodPost, "/open/v1/notifications/:id/read", p.readNotificationRoute).
			Doc("标记已读", "Marks a notification read.").Tag("open-portal").Developer().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/open/v1/files", p.uploadRoute).
			Doc("上传资质文件", "Uploads a business licence (base64 of a PNG, JPEG or PDF, at most 5 MiB; the type is sniffed from the content) for a qualification.").
			Tag("open-portal").Developer().MaxBody(MaxLicenceBytes*4/3 + 4096).Errors(fault.CodeRequestTooLarge),
		httpapi.Handle(http.MethodPost, "/open/v1/qualifications", p.submitQualificationRoute).
			Doc("提交开发者资质", "Submits a personal (real name, resident ID number, contact) or enterprise (name, unified social credit code with its check character, business licence file, contact) qualification for review; one waits at a time.").
			Tag("open-portal").Developer().Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodGet, "/open/v1/qualifications", p.myQualificationsRoute).
			Doc("认证进度", "The developer's qualifications with their review's progress and result, newest first; personal data masked.").
			Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodGet, "/open/v1/capabilities", p.capabilitiesRoute).
			Doc("服务能力目录", "The open API's capabilities an app may apply for, each with its routes; filter by keyword.").
			Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodPost, "/open/v1/apps", p.createAppRoute).
			Doc("创建应用", "Creates an app (name, icon, description, type) once a qualification is approved; it calls only the capabilities granted to it. The app secret is answered only this once.").
			Tag("open-portal").Developer().Errors(fault.CodeFailedOperation, fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodGet, "/open/v1/apps", p.appsRoute).
			Doc("我的应用", "The developer's apps with status (enabled, disabled, reviewing) and grants; search by keyword, filter by type and status, sort by name or creation time.").
			Tag("open-portal").Developer(),
		httpapi.Handle(http.MethodGet, "/open/v1/apps/:appId", p.appRoute).
			Doc("应用详情", "One of the developer's apps with its grants and this period's use.").Tag("open-portal").Developer().Errors(fault.CodeResourceNotFound),
		httpapi.Handle(http.MethodPost, "/open/v1/apps/:appId/applications", p.applyRoute).
			Doc("申请服务能力", "Applies for a capability for the app, or for another quota of one it holds, with a reason; an administrator reviews it. One application per app and capability waits at a time.").
			Tag("open-portal").Developer().Errors(fault.CodeResourceNotFound, fault.CodeFailedOperation),
		httpapi.Handle(http.MethodGet, "/open/v1/applications", p.myApplicationsRoute).
			Doc("能力申请进度", "The developer's applications and their review, newest first; filter by app, capability and status.").
			Tag("open-portal").Developer(),
	}
}

func (p *Portal) consoleRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/open/developers", p.developersRoute).
			Doc("开发者列表", "Developers of the open platform in the caller's scope; search by account or nickname, filter by status and certification.").
			Tag("open-platform").Console("opendev.read"),
		httpapi.Handle(http.MethodGet, "/console/open/developers/:id", p.developerRoute).
			Doc("开发者详情", "A developer's account, profile (personal data masked) and apps.").Tag("open-platform").Console("opendev.read"),
		httpapi.Handle(http.MethodPost, "/console/open/developers/:id/freeze", p.freezeRoute).
			Doc("冻结开发者", "Freezes a developer: its sessions end, it cannot log in, and its apps' signed calls are refused (UnauthorizedOperation); it is notified with the reason.").
			Tag("open-platform").Console("opendev.freeze").Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodPost, "/console/open/developers/:id/restore", p.restoreRoute).
			Doc("恢复开发者", "Restores a frozen developer.").Tag("open-platform").Console("opendev.restore").Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodGet, "/console/open/qualifications", p.qualificationsRoute).
			Doc("资质审核列表", "Qualifications in the caller's scope, newest first; filter by status, kind and developer. Personal data masked.").
			Tag("open-platform").Console("openqual.read"),
		httpapi.Handle(http.MethodGet, "/console/open/qualifications/:id", p.qualificationRoute).
			Doc("资质详情", "A qualification with its progress; personal data masked.").Tag("open-platform").Console("openqual.read"),
		httpapi.Handle(http.MethodPost, "/console/open/qualifications/:id/review", p.reviewQualificationRoute).
			Doc("审核资质", "Approves (the developer is certified and may create apps) or rejects with a reason; the developer is notified (site, email, SMS).").
			Tag("open-platform").Console("openqual.review").Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodGet, "/console/open/qualifications/:id/licence", p.licenceRoute).
			Doc("下载营业执照", "The business licence file of an enterprise qualification (recorded in the data-security log).").
			Tag("open-platform").Console("openqual.export"),
		httpapi.Handle(http.MethodGet, "/console/open/applications", p.applicationsRoute).
			Doc("能力申请列表", "Applications for capabilities in the caller's scope, newest first; filter by app, capability and status.").
			Tag("open-platform").Console("openapply.read"),
		httpapi.Handle(http.MethodPost, "/console/open/applications/:id/review", p.reviewApplicationRoute).
			Doc("审核能力申请", "Approves (the capability and quota join the app's grants at once) or rejects with a reason; the developer is notified.").
			Tag("open-platform").Console("openapply.review").Errors(fault.CodeFailedOperation),
	}
}
