package auth

import (
	"context"
	"net/http"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the console endpoints of login, sessions, operators,
// roles and menus.
func (s *Service) Routes() []*httpapi.Route {
	const (
		tagLogin     = "login"
		tagOperators = "operators"
		tagRoles     = "roles"
		tagMenus     = "menus"
	)
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/captcha", s.captchaHandler).
			Doc("获取验证码", "Draws a new image captcha (digits) for the login form; it expires after 2 minutes and is good for one login attempt.").
			Tag(tagLogin).Public(),
		httpapi.Handle(http.MethodPost, "/console/login", s.loginHandler).
			Doc("登录", "Checks the captcha, the account and password, the lockout (5 failures lock the account for 15 minutes) and the account's status, and opens a session whose token goes in `Authorization: Bearer <token>`.").
			Tag(tagLogin).Public().
			Errors(fault.CodeCaptchaFailure, fault.CodeInvalidCredential, fault.CodeAccountLocked, fault.CodeAccountDisabled),
		httpapi.Handle(http.MethodPost, "/console/logout", s.logoutHandler).
			Doc("退出登录", "Ends the caller's session.").
			Tag(tagLogin).Console("").PendingPasswordOK(),
		httpapi.Handle(http.MethodGet, "/console/me", s.meHandler).
			Doc("当前用户", "The calling operator, its permissions and whether it belongs to the main platform.").
			Tag(tagLogin).Console("").PendingPasswordOK(),
		httpapi.Handle(http.MethodPut, "/console/me/password", s.changePasswordHandler).
			Doc("修改密码", "Changes the caller's password (8-128 characters with letters and digits, different from the old one), clears the one-time-password flag and ends the caller's other sessions.").
			Tag(tagLogin).Console("").PendingPasswordOK(),
		httpapi.Handle(http.MethodGet, "/console/me/menus", s.myMenusHandler).
			Doc("我的菜单", "The menu tree the caller may use: everything its platform may do for administrators, what its roles give for staff.").
			Tag(tagLogin, tagMenus).Console(""),

		httpapi.Handle(http.MethodGet, "/console/operators", s.listOperatorsHandler).
			Doc("操作员列表", "Lists operators in the caller's data scope; fuzzy account/name search, exact mobile, status, type, platform.").
			Tag(tagOperators).Console("operator.read"),
		httpapi.Handle(http.MethodGet, "/console/operators/:id", s.getOperatorHandler).
			Doc("操作员详情", "One operator; another platform's or region's is refused.").
			Tag(tagOperators).Console("operator.read"),
		httpapi.Handle(http.MethodPost, "/console/operators", s.createOperatorHandler).
			Doc("新增操作员", "Creates an operator with a one-time password, returned only in this answer. The grant (roles' permissions, object types, region) may not exceed the caller's; a staff caller creates a sub-account of its own.").
			Tag(tagOperators).Console("operator.create").Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodPut, "/console/operators/:id", s.updateOperatorHandler).
			Doc("修改操作员", "Replaces an operator's name, contact data, type, region, department, object types, roles and status; account and platform are fixed.").
			Tag(tagOperators).Console("operator.update"),
		httpapi.Handle(http.MethodDelete, "/console/operators/:id", s.deleteOperatorHandler).
			Doc("删除操作员", "Deletes an operator; not oneself, not one with sub-accounts.").
			Tag(tagOperators).Console("operator.delete").Errors(fault.CodeResourceInUse),
		httpapi.Handle(http.MethodPost, "/console/operators/batch-delete", s.deleteOperatorsHandler).
			Doc("批量删除操作员", "Deletes the operators listed, all or none.").
			Tag(tagOperators).Console("operator.delete").Errors(fault.CodeResourceInUse),
		httpapi.Handle(http.MethodPost, "/console/operators/:id/reset-password", s.resetPasswordHandler).
			Doc("重置密码", "Gives the operator a new one-time password (returned only in this answer), unlocks it and ends its sessions.").
			Tag(tagOperators).Console("operator.reset_password"),
		httpapi.Handle(http.MethodPost, "/console/operators/:id/enable", s.enableOperatorHandler).
			Doc("启用操作员", "Enables an operator.").
			Tag(tagOperators).Console("operator.enable"),
		httpapi.Handle(http.MethodPost, "/console/operators/:id/disable", s.disableOperatorHandler).
			Doc("停用操作员", "Disables an operator and ends its sessions; not oneself.").
			Tag(tagOperators).Console("operator.disable"),

		httpapi.Handle(http.MethodGet, "/console/roles", s.listRolesHandler).
			Doc("角色列表", "Lists the roles of the platforms in the caller's scope; fuzzy name/code search, status, platform.").
			Tag(tagRoles).Console("role.read"),
		httpapi.Handle(http.MethodGet, "/console/roles/:id", s.getRoleHandler).
			Doc("角色详情", "One role with its menus and permissions.").
			Tag(tagRoles).Console("role.read"),
		httpapi.Handle(http.MethodPost, "/console/roles", s.createRoleHandler).
			Doc("新增角色", "Creates a role from menus whose permissions the caller holds itself.").
			Tag(tagRoles).Console("role.create").Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodPut, "/console/roles/:id", s.updateRoleHandler).
			Doc("修改角色", "Replaces a role's code, name, description, status and menus; holders get the change with their next request.").
			Tag(tagRoles).Console("role.update").Errors(fault.CodeResourceAlreadyExists),
		httpapi.Handle(http.MethodDelete, "/console/roles/:id", s.deleteRoleHandler).
			Doc("删除角色", "Deletes a role; operators holding it lose it.").
			Tag(tagRoles).Console("role.delete"),
		httpapi.Handle(http.MethodPost, "/console/roles/batch-delete", s.deleteRolesHandler).
			Doc("批量删除角色", "Deletes the roles listed, all or none; operators holding them lose them.").
			Tag(tagRoles).Console("role.delete"),

		httpapi.Handle(http.MethodGet, "/console/menus/tree", s.menuTreeHandler).
			Doc("菜单树", "The whole menu tree with permission codes.").
			Tag(tagMenus).Console("menu.read"),
		httpapi.Handle(http.MethodGet, "/console/menus/:id", s.getMenuHandler).
			Doc("菜单详情", "One menu.").
			Tag(tagMenus).Console("menu.read"),
		httpapi.Handle(http.MethodPost, "/console/menus", s.createMenuHandler).
			Doc("新增菜单", "Adds a menu or button (main platform only).").
			Tag(tagMenus).Console("menu.create"),
		httpapi.Handle(http.MethodPut, "/console/menus/:id", s.updateMenuHandler).
			Doc("修改菜单", "Changes a menu (main platform only); built-in menus keep their kind and permission.").
			Tag(tagMenus).Console("menu.update").Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodDelete, "/console/menus/:id", s.deleteMenuHandler).
			Doc("删除菜单", "Deletes a menu without children (main platform only); built-in menus cannot be deleted.").
			Tag(tagMenus).Console("menu.delete").Errors(fault.CodeResourceInUse),
	}
}

var _ httpapi.RouteSet = (*Service)(nil)

type idIn struct {
	ID int64 `path:"id" validate:"min=1"`
}

type idsIn struct {
	IDs []int64 `json:"ids" validate:"required,min=1,max=500"`
}

type changePasswordIn struct {
	OldPassword string `json:"oldPassword" validate:"required,max=128"`
	NewPassword string `json:"newPassword" validate:"required,max=128"`
}

type operatorIn struct {
	ID int64 `path:"id" validate:"min=1"`
	OperatorInput
}

type roleIn struct {
	ID int64 `path:"id" validate:"min=1"`
	RoleInput
}

type menuIn struct {
	ID int64 `path:"id" validate:"min=1"`
	MenuInput
}

type passwordOut struct {
	Password string `json:"password" doc:"one-time password; shown only now"`
}

type menusOut struct {
	Items []*Menu `json:"items"`
}

func (s *Service) captchaHandler(ctx context.Context, _ *httpapi.Empty) (*Captcha, error) {
	return s.NewCaptcha(ctx)
}

func (s *Service) loginHandler(ctx context.Context, in *LoginInput) (*LoginResult, error) {
	return s.Login(ctx, *in)
}

func (s *Service) logoutHandler(ctx context.Context, _ *httpapi.Empty) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.Logout(ctx)
}

func (s *Service) meHandler(ctx context.Context, _ *httpapi.Empty) (*Me, error) {
	return s.Me(ctx)
}

func (s *Service) changePasswordHandler(ctx context.Context, in *changePasswordIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.ChangePassword(ctx, in.OldPassword, in.NewPassword)
}

func (s *Service) myMenusHandler(ctx context.Context, _ *httpapi.Empty) (*menusOut, error) {
	ms, err := s.MyMenus(ctx)
	return &menusOut{Items: ms}, err
}

func (s *Service) listOperatorsHandler(ctx context.Context, in *OperatorFilter) (*OperatorPage, error) {
	return s.ListOperators(ctx, *in)
}

func (s *Service) getOperatorHandler(ctx context.Context, in *idIn) (*Operator, error) {
	return s.GetOperator(ctx, in.ID)
}

func (s *Service) createOperatorHandler(ctx context.Context, in *OperatorInput) (*NewOperator, error) {
	return s.CreateOperator(ctx, *in)
}

func (s *Service) updateOperatorHandler(ctx context.Context, in *operatorIn) (*Operator, error) {
	return s.UpdateOperator(ctx, in.ID, in.OperatorInput)
}

func (s *Service) deleteOperatorHandler(ctx context.Context, in *idIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.DeleteOperators(ctx, []int64{in.ID})
}

func (s *Service) deleteOperatorsHandler(ctx context.Context, in *idsIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.DeleteOperators(ctx, in.IDs)
}

func (s *Service) resetPasswordHandler(ctx context.Context, in *idIn) (*passwordOut, error) {
	pw, err := s.ResetPassword(ctx, in.ID)
	return &passwordOut{Password: pw}, err
}

func (s *Service) enableOperatorHandler(ctx context.Context, in *idIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.SetOperatorStatus(ctx, in.ID, true)
}

func (s *Service) disableOperatorHandler(ctx context.Context, in *idIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.SetOperatorStatus(ctx, in.ID, false)
}

func (s *Service) listRolesHandler(ctx context.Context, in *RoleFilter) (*RolePage, error) {
	return s.ListRoles(ctx, *in)
}

func (s *Service) getRoleHandler(ctx context.Context, in *idIn) (*Role, error) {
	return s.GetRole(ctx, in.ID)
}

func (s *Service) createRoleHandler(ctx context.Context, in *RoleInput) (*Role, error) {
	return s.CreateRole(ctx, *in)
}

func (s *Service) updateRoleHandler(ctx context.Context, in *roleIn) (*Role, error) {
	return s.UpdateRole(ctx, in.ID, in.RoleInput)
}

func (s *Service) deleteRoleHandler(ctx context.Context, in *idIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.DeleteRoles(ctx, []int64{in.ID})
}

func (s *Service) deleteRolesHandler(ctx context.Context, in *idsIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.DeleteRoles(ctx, in.IDs)
}

func (s *Service) menuTreeHandler(ctx context.Context, _ *httpapi.Empty) (*menusOut, error) {
	ms, err := s.MenuTree(ctx)
	return &menusOut{Items: ms}, err
}

func (s *Service) getMenuHandler(ctx context.Context, in *idIn) (*Menu, error) {
	return s.GetMenu(ctx, in.ID)
}

func (s *Service) createMenuHandler(ctx context.Context, in *MenuInput) (*Menu, error) {
	return s.CreateMenu(ctx, *in)
}

func (s *Service) updateMenuHandler(ctx context.Context, in *menuIn) (*Menu, error) {
	return s.UpdateMenu(ctx, in.ID, in.MenuInput)
}

func (s *Service) deleteMenuHandler(ctx context.Context, in *idIn) (*httpapi.Empty, error) {
	return &httpapi.Empty{}, s.DeleteMenu(ctx, in.ID)
}
