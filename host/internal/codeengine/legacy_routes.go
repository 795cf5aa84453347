package codeengine

import (
	"net/http"
	"strings"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
)

// LegacyPrefix is the path under which the platform answers old codes'
// URLs. The city points an earlier generation's host at the platform by
// forwarding https://{oldHost}{path}?{query} to
// {publicBase}/legacy/{oldHost}{path}?{query} (one gateway rule per old
// host); the platform then needs no list of old hosts: the host is part
// of the imported content, matched exactly.
const LegacyPrefix = "/legacy/"

// LegacyRoutes declares the console's import and list of old codes.
func (o *Objects) LegacyRoutes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodPost, "/console/legacy-codes", o.ImportLegacy).
			Doc("旧码导入", "Imports up to 1,000 codes of an earlier generation (一企一码兼容), all or none: each with its content exactly as printed (an old URL or a bare string, at most 512 characters, unique) and exactly one target — number (an existing active object code, which becomes read-only), uscc (an enabled enterprise) or object (a new read-only object code of the operator's platform: typeId, regionCode, ownerUnit, attributes). Targets must lie in the operator's data scope. Scanning the old content then answers through POST /openapi/v1/object-codes/verify (generation legacy) and GET /legacy/{oldHost}{path} redirects to the new landing page; every edit of a legacy code answers FailedOperation (旧码不支持编辑).").
			Tag("object-code").Console("objcode.import").Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodPost, "/console/legacy-codes/import", o.ImportLegacyFile).
			Doc("旧码导入（xlsx）", "Imports the old codes of an xlsx sheet (base64 in file; at most 1,000 rows, 20 MB) as the JSON import does, all rows or none: headers 旧码内容 (required), and per row one of 统一编号 (an object code), 统一社会信用代码 (an enterprise) or 物品类型 (a new object, with 区划, 权属单位 and 属性, a JSON object of its attributes); 备注 optional. Errors name the spreadsheet row.").
			Tag("object-code").Console("objcode.import").MaxBody(MaxImportBody).Errors(fault.CodeFailedOperation),
		httpapi.Handle(http.MethodGet, "/console/legacy-codes", o.ListLegacy).
			Doc("旧码列表", "Imported old codes in the caller's data scope by content (partial), target kind, platform and import time, newest first: the content as printed, what it stands for and its landing page.").
			Tag("object-code").Console("objcode.read"),
	}
}

// LegacyRedirect answers GET and HEAD of {publicBase}/legacy/{oldHost}{path}
// with a 302 to the landing page of the code the old URL
// https://{oldHost}{path} (or http://) stands for, so a phone camera
// scanning an old sticker reaches the new page. The target is always the
// platform's own landing URL built from a stored token: nothing of the
// request is echoed into Location.
func (o *Objects) LegacyRedirect() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.EscapedPath(), LegacyPrefix)
		if !ok || rest == "" || len(rest)+len(r.URL.RawQuery) > 4*MaxLegacyContent {
			legacyNotFound(w)
			return
		}
		if r.URL.RawQuery != "" {
			rest += "?" + r.URL.RawQuery
		}
		for _, content := range []string{"https://" + rest, "http://" + rest} {
			target, err := o.LegacyLanding(r.Context(), content)
			if fault.KindOf(err) == fault.NotFound {
				continue
			}
			if err != nil {
				http.Error(w, "服务暂时不可用，请稍后再试", http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			http.Redirect(w, r, target, http.StatusFound)
			return
		}
		legacyNotFound(w)
	})
}

func legacyNotFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusNotFound)
	_, _ = w.Write([]byte("未找到该旧码：它没有导入本平台。\n"))
}
