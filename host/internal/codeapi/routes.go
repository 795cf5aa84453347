package codeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the manual's section-5 code API, with its exact paths and
// field names.
func (s *Service) Routes() []*httpapi.Route {
	const post = http.MethodPost
	codes := []string{fault.CodeCodeNotActive, fault.CodeResourceNotFound, fault.CodeUnauthorizedOperation, fault.CodeServiceUnavailable}
	verifyCodes := append([]string{fault.CodeCodeTampered, fault.CodeCodeRevoked, fault.CodeRiskIntercepted,
		fault.CodeSceneSwitchedOff, fault.CodeSceneDisabled, fault.CodeCounterpartDisabled}, codes...)
	open := func(family string) func(context.Context, *OpenIn) (*OpenOut, error) {
		return func(ctx context.Context, in *OpenIn) (*OpenOut, error) { return s.open(ctx, family, in) }
	}
	return []*httpapi.Route{
		httpapi.Handle(post, "/api/openPersonalCode", open(FamilyIdentity)).
			Doc("个人码生码接口", "Registers the holder from userExt (base64 of {name, certType, certNo, mobile}) for an identity rule (codeDefId) and answers the userId the app knows them by — the same userId every time for the same person.").
			Tag("personal-code").App().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/api/showPersonalCode", s.showPersonal).
			Doc("个人码亮码接口", "Issues a fresh signed personal code for the user: codeContent to render as a QR code until expireTime (unix seconds), then show again.").
			Tag("personal-code").App().Reads().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/identity/decodeIdentityCode", s.decodeIdentity).
			Doc("个人码解码接口", "Verifies a scanned personal code for the accepting organisation (acceptOrgId). The identity comes back in full only where the holder authorized that scene (and the policy agrees), otherwise desensitized. An expired code answers expire=true without identity; a forged or altered one FailedOperation.CodeTampered; a revoked one FailedOperation.CodeRevoked.").
			Tag("personal-code").Needs("code-decode").App().Reads().AcceptUnknownFields().Errors(verifyCodes...),
		httpapi.Handle(post, "/api/openHealthCode", open(FamilyHealth)).
			Doc("健康码生码接口", "Registers the holder for a health rule and answers their userId.").
			Tag("health-code").App().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/api/showHealthCode", s.showHealth).
			Doc("健康码亮码接口", "Issues a fresh health code with the holder's desensitized name and certificate number and the health data bound under dataType \"health\" (healthStatus, isVaccinated, reportDate).").
			Tag("health-code").App().Reads().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/health/decodeHealthCode", s.decodeHealth).
			Doc("健康码解码接口", "Verifies a scanned health code and answers the holder's health data.").
			Tag("health-code").Needs("code-decode").App().Reads().AcceptUnknownFields().Errors(verifyCodes...),
		httpapi.Handle(post, "/api/openPaymentCode", open(FamilyPayment)).
			Doc("支付生码接口", "Registers the holder for a payment rule and answers their userId.").
			Tag("payment-code").App().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/api/showPaymentCode", s.showPayment).
			Doc("支付亮码接口", "Issues a fresh payment code for the user.").
			Tag("payment-code").App().Reads().AcceptUnknownFields().Errors(codes...),
		httpapi.Handle(post, "/payment/decodePaymentCode", s.decodePayment).
			Doc("支付解码接口", "Verifies a scanned payment code and answers whose it is (cityCodeAppId, userId) for charging.").
			Tag("payment-code").Needs("code-decode").App().Reads().AcceptUnknownFields().Errors(verifyCodes...),
		httpapi.Handle(post, "/api/revokePersonalCode", s.revokeRoute).
			Doc("撤销码", "Revokes every code of the user's rule issued so far (a lost phone): decoding them answers FailedOperation.CodeRevoked; codes shown afterwards work.").
			Tag("personal-code").App().AcceptUnknownFields().Errors(codes...),
	}
}

// Flex is an id the manual types inconsistently (userId "integer",
// codeDefId "boolean"): it accepts a JSON string or number.
type Flex string

// UnmarshalJSON accepts "abc", 123 and null.
func (f *Flex) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = Flex(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return &json.UnmarshalTypeError{Value: string(b), Type: stringType}
		}
		*f = Flex(n.String())
	}
	return nil
}

// String is the id as text.
func (f Flex) String() string { return string(f) }

var stringType = reflect.TypeFor[string]()

// OpenIn is the body of the open APIs.
type OpenIn struct {
	CityCodeAppID string          `json:"cityCodeAppId" validate:"required,max=64" doc:"城市码平台的appId: the signing app"`
	CodeDefID     Flex            `json:"codeDefId" validate:"required,max=64" doc:"码定义ID: the code rule"`
	UserExt       string          `json:"userExt" validate:"max=4096" doc:"用户三要素: base64 of JSON {name, certType, certNo, mobile}"`
	BizExtInfo    string          `json:"bizExtInfo" validate:"max=1024" doc:"业务扩展信息"`
	Raw           json.RawMessage `json:"-" raw:"body"`
}

// OpenOut answers open.
type OpenOut struct {
	UserID string `json:"userId" doc:"用户id: stable per app and person"`
}

// ShowIn is the body of the show APIs.
type ShowIn struct {
	CityCodeAppID    string          `json:"cityCodeAppId" validate:"required,max=64"`
	CodeDefID        Flex            `json:"codeDefId" validate:"required,max=64"`
	UserID           Flex            `json:"userId" validate:"required,max=64" doc:"城市码用户Id from open"`
	CollectInfo      string          `json:"collectInfo" validate:"max=1024" doc:"亮码位置信息"`
	BizExtInfo       string          `json:"bizExtInfo" validate:"max=1024"`
	BizExtMap        json.RawMessage `json:"bizExtMap"`
	BizInputParamMap json.RawMessage `json:"bizInputParamMap"`
	Raw              json.RawMessage `json:"-" raw:"body"`
}

// ShowOut answers show.
type ShowOut struct {
	CityCodeAppID   string `json:"cityCodeAppId"`
	CityCodeID      string `json:"cityCodeId" doc:"码ID"`
	CodeContent     string `json:"codeContent" doc:"码串: render as a QR code"`
	CodeContentType string `json:"codeContentType" doc:"original_string"`
	ExpireTime      int64  `json:"expireTime" doc:"过期时间, unix seconds"`
}

// HealthShowOut answers showHealthCode.
type HealthShowOut struct {
	ShowOut
	DesensitizeCardID string `json:"desensitizeCardId" doc:"脱敏证件号"`
	DesensitizeName   string `json:"desensitizeName" doc:"脱敏姓名"`
	Health
}

// Health is the health data bound to a holder (dataType "health").
type Health struct {
	HealthStatus string `json:"healthStatus" doc:"健康状态"`
	IsVaccinated string `json:"isVaccinated" doc:"疫苗接种信息"`
	ReportDate   string `json:"reportDate" doc:"报告日期"`
}

// DecodeIn is the body of the decode APIs.
type DecodeIn struct {
	AcceptOrgID   string `json:"acceptOrgId" validate:"required,max=64" doc:"用码机构标识"`
	AcceptOrgName string `json:"acceptOrgName" validate:"max=128"`
	CodeContent   string `json:"codeContent" validate:"required,max=2048" doc:"二维码内容字符串"`
	QRCodeTime    string `json:"qrCodeTime" validate:"max=32" doc:"扫码时间"`
	TerminalNo    string `json:"terminalNo" validate:"max=64" doc:"扫码设备编号"`
	UseCode       string `json:"useCode" validate:"max=64"`
	UseInfo       string `json:"useInfo" validate:"max=256"`
	BizExtInfo    string `json:"bizExtInfo" validate:"max=1024"`
}

// DecodeOut answers every decode.
type DecodeOut struct {
	BizExtInfo    string `json:"bizExtInfo,omitempty"`
	CityCodeAppID string `json:"cityCodeAppId" doc:"the issuing app"`
	CityCodeID    string `json:"cityCodeId"`
	CodeDefID     string `json:"codeDefId"`
	Expire        bool   `json:"expire" doc:"是否已过期: then no holder data is answered"`
	UserID        string `json:"userId,omitempty"`
}

// IdentityOut answers decodeIdentityCode.
type IdentityOut struct {
	DecodeOut
	CertNo   string `json:"certNo,omitempty"`
	CertType string `json:"certType,omitempty"`
	Mobile   string `json:"mobile,omitempty"`
	Name     string `json:"name,omitempty"`
	Masked   bool   `json:"desensitized" doc:"true when the identity is desensitized (the scene is not authorized)"`
}

// HealthOut answers decodeHealthCode.
type HealthOut struct {
	DecodeOut
	Health
}

func (s *Service) showPersonal(ctx context.Context, in *ShowIn) (*ShowOut, error) {
	sh, err := s.show(ctx, FamilyIdentity, in)
	if err != nil {
		return nil, err
	}
	return &sh.out, nil
}

func (s *Service) showPayment(ctx context.Context, in *ShowIn) (*ShowOut, error) {
	sh, err := s.show(ctx, FamilyPayment, in)
	if err != nil {
		return nil, err
	}
	return &sh.out, nil
}

func (s *Service) showHealth(ctx context.Context, in *ShowIn) (*HealthShowOut, error) {
	sh, err := s.show(ctx, FamilyHealth, in)
	if err != nil {
		return nil, err
	}
	h, err := s.health(ctx, sh.user.PersonID)
	if err != nil {
		return nil, err
	}
	return &HealthShowOut{ShowOut: sh.out, DesensitizeCardID: sh.user.Masked.CertNo, DesensitizeName: sh.user.Masked.Name, Health: h}, nil
}

func (s *Service) health(ctx context.Context, personID int64) (Health, error) {
	var h Health
	bs, err := s.persons.BoundOfPerson(ctx, personID, "health")
	if err != nil || len(bs) == 0 {
		return h, err
	}
	_ = json.Unmarshal(bs[0].Data, &h) // bound by the health app; unknown shapes show as empty
	return h, nil
}

func (s *Service) decodeIdentity(ctx context.Context, in *DecodeIn) (*IdentityOut, error) {
	d, err := s.decode(ctx, FamilyIdentity, in)
	if err != nil {
		return nil, err
	}
	out := &IdentityOut{DecodeOut: d.out}
	out.BizExtInfo = in.BizExtInfo
	if d.out.Expire {
		out.UserID = ""
		return out, nil
	}
	id, full, err := s.identity(ctx, d, in.AcceptOrgID, appOf(ctx))
	if err != nil {
		return nil, err
	}
	out.Name, out.CertNo, out.CertType, out.Mobile, out.Masked = id.Name, id.CertNo, string(id.CertType), id.Mobile, !full
	return out, nil
}

func (s *Service) decodeHealth(ctx context.Context, in *DecodeIn) (*HealthOut, error) {
	d, err := s.decode(ctx, FamilyHealth, in)
	if err != nil {
		return nil, err
	}
	out := &HealthOut{DecodeOut: d.out}
	out.BizExtInfo = in.BizExtInfo
	if d.out.Expire {
		out.UserID = ""
		return out, nil
	}
	if out.Health, err = s.health(ctx, d.user.PersonID); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Service) decodePayment(ctx context.Context, in *DecodeIn) (*DecodeOut, error) {
	d, err := s.decode(ctx, FamilyPayment, in)
	if err != nil {
		return nil, err
	}
	out := d.out
	out.BizExtInfo = in.BizExtInfo
	if out.Expire {
		out.UserID = ""
	}
	return &out, nil
}

// RevokeIn is the body of revokePersonalCode.
type RevokeIn struct {
	CityCodeAppID string `json:"cityCodeAppId" validate:"required,max=64"`
	CodeDefID     Flex   `json:"codeDefId" validate:"required,max=64"`
	UserID        Flex   `json:"userId" validate:"required,max=64"`
	Reason        string `json:"reason" validate:"max=256"`
}

func (s *Service) revokeRoute(ctx context.Context, in *RevokeIn) (*httpapi.Empty, error) {
	a, err := caller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Revoke(ctx, a.AppID, in.UserID.String(), in.CodeDefID.String(), in.Reason)
}

func appOf(ctx context.Context) string {
	if a, err := caller(ctx, ""); err == nil {
		return a.AppID
	}
	return ""
}
