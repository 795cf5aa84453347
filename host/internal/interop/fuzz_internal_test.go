package interop

import (
	"net/url"
	"strings"
	"testing"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// FuzzParseRules: whatever an administrator registers and whatever a
// citizen scans, the interop parser never panics and refuses bad rules as
// client errors; a template's code is one path segment or query value; and
// a redirect filled with any scanned content stays on its template's
// scheme and host (no open redirect, no host injection).
func FuzzParseRules(f *testing.F) {
	f.Add("template", "https://pay.example.cn/q/{code}", "https://pay.example.cn/q/ABC123?x=1", "https://landing.example.cn/p/{code}?c={content}")
	f.Add("regex", `ZF(?P<code>[0-9]{6})`, "ZF123456", "https://landing.example.cn/{code}")
	f.Add("prefix", "BUS:", "BUS:xyz/../../evil", "https://landing.example.cn/x?q={content}")
	f.Add("template", "https://a.cn/{code}", "https://a.cn/@evil.example", "https://b.cn/{code}")
	f.Add("regex", "(", "", "http://{code}.cn/")
	f.Fuzz(func(t *testing.T, kind, rule, content, target string) {
		m, err := compileMatch(kind, rule)
		if err != nil {
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Fatalf("rule %q (%s): %v", rule, kind, err)
			}
			return
		}
		code, ok := m.match(content)
		if !ok {
			return
		}
		if kind == MatchTemplate && strings.ContainsAny(code, "/?#&") {
			t.Fatalf("template %q took %q from %q", rule, code, content)
		}
		if _, _, err := splitTemplate(target, "target", false); err != nil {
			if k := fault.KindOf(err); k != fault.Invalid {
				t.Fatalf("target %q: %v", target, err)
			}
			return
		}
		filled := fill(target, code, content)
		want, _ := url.Parse(strings.NewReplacer(placeholder, "x", contentPlaceholder, "x").Replace(target))
		got, err := url.Parse(filled)
		if err != nil || got.Scheme != want.Scheme || got.Host != want.Host || got.User != nil {
			t.Fatalf("target %q filled with %q / %q is %q: it left %s://%s", target, code, content, filled, want.Scheme, want.Host)
		}
	})
}
