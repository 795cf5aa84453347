package policy

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// Routes declares the console endpoints policy authors use: the serving
// bundle's status, and replacing the bundle (refused, with the reasons, when
// it fails to compile or fails its own tests; the old bundle keeps deciding).
func (e *Engine) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/policies", e.statusRoute).
			Doc("策略状态", "The version (digest) of the serving policy bundle and the last refused reload, if any.").
			Tag("policies").Console("policy.read"),
		httpapi.Handle(http.MethodPut, "/console/policies", e.replaceRoute).
			Doc("上传策略", "Replaces the whole Rego bundle. The bundle is compiled and its *_test.rego tests are run first; a bundle that fails either is refused and the serving one keeps deciding.").
			Tag("policies").Console("policy.update").Errors(fault.CodePolicyRejected),
	}
}

// StatusOut describes the serving bundle.
type StatusOut struct {
	Version   string `json:"version" doc:"digest of the serving bundle"`
	LastError string `json:"lastError,omitempty" doc:"why the last reload was refused"`
}

func (e *Engine) statusRoute(context.Context, *httpapi.Empty) (*StatusOut, error) {
	out := &StatusOut{Version: e.Version()}
	if err := e.LastError(); err != nil {
		out.LastError = err.Error()
	}
	return out, nil
}

// ReplaceIn is a bundle upload: Rego sources keyed by relative path
// ("authz/authz.rego", "authz/authz_test.rego", ...).
type ReplaceIn struct {
	Files map[string]string `json:"files" validate:"required,min=1,max=500,dive,max=1048576"`
}

func (e *Engine) replaceRoute(ctx context.Context, in *ReplaceIn) (*StatusOut, error) {
	files := make(map[string][]byte, len(in.Files))
	for name, src := range in.Files {
		files[name] = []byte(src)
	}
	if err := e.Replace(ctx, files); err != nil {
		var be *BundleError
		if errors.As(err, &be) {
			return nil, fault.E(fault.Invalid, fault.CodePolicyRejected, "policy bundle refused; the previous one keeps deciding: %s", strings.Join(be.Problems, "; "))
		}
		return nil, err
	}
	return &StatusOut{Version: e.Version()}, nil
}
