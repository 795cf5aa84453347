package persons

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the signed app API of bound data (the manual's 5.1.4–5.1.7)
// and of scene authorization.
func (s *Service) Routes() []*httpapi.Route {
	const post = http.MethodPost
	return []*httpapi.Route{
		httpapi.Handle(post, "/bindData/bindData", s.bindRoute).
			Doc("用户绑定数据接口", "Binds a JSON object to the user under dataType (e.g. health status), replacing earlier data of that type. Stored sealed.").
			Tag("bind-data").App().AcceptUnknownFields(),
		httpapi.Handle(post, "/bindData/getBindData", s.getBoundRoute).
			Doc("获取用户绑定数据接口", "The data bound to the user under dataType; data is the bound JSON as a string.").
			Tag("bind-data").App().Reads().AcceptUnknownFields(),
		httpapi.Handle(post, "/bindData/getBindDataList", s.listBoundRoute).
			Doc("获取用户绑定数据集合接口", "The data bound to the user under each of dataTypes (comma-separated); types with nothing bound are left out.").
			Tag("bind-data").App().Reads().AcceptUnknownFields(),
		httpapi.Handle(post, "/bindData/unbindData", s.unbindRoute).
			Doc("解绑用户数据接口", "Removes the data bound to the user under dataType.").
			Tag("bind-data").App().AcceptUnknownFields(),
		httpapi.Handle(post, "/api/authorizeScene", s.authorizeRoute).
			Doc("场景授权", "The person allows a scene (acceptOrgId) to see their identity in full when it decodes their codes, for validDays days (default 365). Without it decoders get the desensitized identity.").
			Tag("personal-code").App().AcceptUnknownFields(),
		httpapi.Handle(post, "/api/revokeSceneAuthorization", s.revokeRoute).
			Doc("撤销场景授权", "Withdraws a scene authorization; decoders at that scene get the desensitized identity again.").
			Tag("personal-code").App().AcceptUnknownFields(),
	}
}

// appCaller returns the signing app and checks that cityCodeAppId, when
// sent, is that app: an app acts only on its own users.
func appCaller(ctx context.Context, cityCodeAppID string) (*actor.Actor, error) {
	a := actor.From(ctx)
	if a == nil || a.Kind != actor.KindApp {
		return nil, fault.E(fault.Unauthenticated, fault.CodeAuthFailure, "a signed app request is required")
	}
	if cityCodeAppID != "" && cityCodeAppID != a.AppID {
		return nil, fault.Deniedf("cityCodeAppId %q is not the signing app", cityCodeAppID)
	}
	return a, nil
}

// UserIn names one of the calling app's users.
type UserIn struct {
	CityCodeAppID string `json:"cityCodeAppId" validate:"required,max=64" doc:"城市码应用ID: the signing app"`
	UserID        string `json:"userId" validate:"required,max=64" doc:"用户ID from openPersonalCode"`
}

// BindIn is the body of bindData.
type BindIn struct {
	UserIn
	DataType string          `json:"dataType" validate:"required,max=64" doc:"数据类型, e.g. health"`
	DataName string          `json:"dataName" validate:"max=64" doc:"数据项名称"`
	BindData json.RawMessage `json:"bindData" doc:"绑定数据: a JSON object"`
}

func (s *Service) bindRoute(ctx context.Context, in *BindIn) (*httpapi.Empty, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	data := in.BindData
	// Some clients send the object as a JSON string.
	var str string
	if json.Unmarshal(data, &str) == nil && json.Valid([]byte(str)) {
		data = json.RawMessage(str)
	}
	if t := strings.TrimSpace(string(data)); t != "" && t[0] != '{' {
		return nil, fault.Invalidf("parameter %q must be a JSON object", "bindData")
	}
	return &httpapi.Empty{}, s.Bind(ctx, a.AppID, in.UserID, in.DataType, in.DataName, data)
}

// TypeIn names a user and a data type.
type TypeIn struct {
	UserIn
	DataType string `json:"dataType" validate:"required,max=64"`
}

// BoundOut is bound data as the manual answers it: data is the JSON text.
type BoundOut struct {
	UserID   string `json:"userId"`
	DataType string `json:"dataType"`
	DataName string `json:"dataName"`
	Data     string `json:"data"`
}

func boundOut(b Bound) BoundOut {
	return BoundOut{UserID: b.UserID, DataType: b.DataType, DataName: b.DataName, Data: string(b.Data)}
}

func (s *Service) getBoundRoute(ctx context.Context, in *TypeIn) (*BoundOut, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	bs, err := s.BoundData(ctx, a.AppID, in.UserID, in.DataType)
	if err != nil {
		return nil, err
	}
	if len(bs) == 0 {
		return nil, fault.NotFoundf("no data of type %q is bound to this user", in.DataType)
	}
	out := boundOut(bs[0])
	return &out, nil
}

// TypesIn names a user and several data types.
type TypesIn struct {
	UserIn
	DataTypes string `json:"dataTypes" validate:"required,max=1024" doc:"数据类型, comma-separated"`
}

// BoundListOut is the answer of getBindDataList.
type BoundListOut struct {
	Items []BoundOut `json:"items"`
}

func (s *Service) listBoundRoute(ctx context.Context, in *TypesIn) (*BoundListOut, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	var types []string
	for _, t := range strings.Split(in.DataTypes, ",") {
		if t = strings.TrimSpace(t); t != "" {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil, fault.Missing("dataTypes")
	}
	bs, err := s.BoundData(ctx, a.AppID, in.UserID, types...)
	if err != nil {
		return nil, err
	}
	out := &BoundListOut{Items: []BoundOut{}}
	for _, b := range bs {
		out.Items = append(out.Items, boundOut(b))
	}
	return out, nil
}

func (s *Service) unbindRoute(ctx context.Context, in *TypeIn) (*httpapi.Empty, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Unbind(ctx, a.AppID, in.UserID, in.DataType)
}

// AuthorizeIn grants a scene.
type AuthorizeIn struct {
	UserIn
	AcceptOrgID string `json:"acceptOrgId" validate:"required,max=64" doc:"用码机构标识 of the scene"`
	ValidDays   int    `json:"validDays" validate:"min=0,max=366" doc:"default 365"`
}

// AuthorizeOut tells until when the authorization holds.
type AuthorizeOut struct {
	ExpireTime int64 `json:"expireTime" doc:"unix seconds"`
}

func (s *Service) authorizeRoute(ctx context.Context, in *AuthorizeIn) (*AuthorizeOut, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	days := in.ValidDays
	if days == 0 {
		days = 365
	}
	until, err := s.Authorize(ctx, a.AppID, in.UserID, in.AcceptOrgID, time.Duration(days)*24*time.Hour)
	if err != nil {
		return nil, err
	}
	return &AuthorizeOut{ExpireTime: until.Unix()}, nil
}

// RevokeIn withdraws a scene.
type RevokeIn struct {
	UserIn
	AcceptOrgID string `json:"acceptOrgId" validate:"required,max=64"`
}

func (s *Service) revokeRoute(ctx context.Context, in *RevokeIn) (*httpapi.Empty, error) {
	a, err := appCaller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	return &httpapi.Empty{}, s.Revoke(ctx, a.AppID, in.UserID, in.AcceptOrgID)
}
