package codeapi

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// MaxCertificate bounds how long a device certificate lasts: a lost phone
// keeps making valid codes offline until its certificate ends (revocation
// reaches online verifiers at once, offline ones only then).
const MaxCertificate = 30 * 24 * time.Hour

// HolderRoutes declares the registration of holder devices.
func (s *Service) HolderRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/api/registerHolderDevice", s.registerDevice).
			Doc("登记持码设备", "For weak networks: registers the holder's device SM2 public key and answers a certificate (base64) the device uses to make its own codes offline with sdk/holder. The rule must be offline-verifiable. Codes made this way are binary; send them to the decode APIs base64-encoded.").
			Tag("personal-code").App().AcceptUnknownFields().Errors(fault.CodeCodeNotActive),
	}
}

// DeviceIn registers a device.
type DeviceIn struct {
	CityCodeAppID   string `json:"cityCodeAppId" validate:"required,max=64"`
	CodeDefID       Flex   `json:"codeDefId" validate:"required,max=64"`
	UserID          Flex   `json:"userId" validate:"required,max=64"`
	DevicePublicKey string `json:"devicePublicKey" validate:"required,max=512" doc:"hex of the uncompressed SM2 point 04||X||Y, or PEM"`
	ValidDays       int    `json:"validDays" validate:"min=0,max=30" doc:"default 7"`
}

// DeviceOut is the device's certificate.
type DeviceOut struct {
	HolderCert string `json:"holderCert" doc:"base64; give it to sdk/holder.New on the device"`
	ExpireTime int64  `json:"expireTime" doc:"unix seconds"`
}

func (s *Service) registerDevice(ctx context.Context, in *DeviceIn) (*DeviceOut, error) {
	a, err := caller(ctx, in.CityCodeAppID)
	if err != nil {
		return nil, err
	}
	r, err := s.rules.Resolve(ctx, a.AppID, in.CodeDefID.String())
	if err != nil {
		return nil, err
	}
	if !r.Offline {
		return nil, fault.Invalidf("code rule %s is online-only: holder devices need an offline-verifiable rule", r.ID)
	}
	u, err := s.persons.User(ctx, a.AppID, in.UserID.String())
	if err != nil {
		return nil, err
	}
	days := in.ValidDays
	if days == 0 {
		days = 7
	}
	now := s.clock().Truncate(time.Second)
	expires := now.Add(time.Duration(days) * 24 * time.Hour)
	cert, err := s.codes.Certify(ctx, Code{PlatformID: a.PlatformID, RuleID: r.ID, RuleVersion: r.Version, Family: r.Family, Kind: r.Kind,
		Subject: s.sealer.SealSubject(uint64(u.Handle)), CertType: string(u.CertType), IssuedAt: now, Validity: r.Validity},
		in.DevicePublicKey, expires)
	if err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(map[string]any{"holderCertificate": true, "expires": expires.Unix()})
	if err := s.record(ctx, Event{Type: "generate", Result: "success", PlatformID: a.PlatformID, AppID: a.AppID,
		RuleID: r.ID, RuleVersion: r.Version, Kind: r.Kind, SubjectID: handleID(u.Handle), Detail: detail}); err != nil {
		return nil, err
	}
	return &DeviceOut{HolderCert: base64.StdEncoding.EncodeToString(cert), ExpireTime: expires.Unix()}, nil
}
