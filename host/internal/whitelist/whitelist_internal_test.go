package whitelist

import "testing"

// TestDomains: entries are plain lower-case host names or *.host; a plain
// entry covers itself only, a wildcard its subdomains only.
func TestDomains(t *testing.T) {
	for in, want := range map[string]string{"SVC.Example.cn": "svc.example.cn", " *.example.cn ": "*.example.cn", "a-b.example.cn": "a-b.example.cn"} {
		if got, err := normalize(in); err != nil || got != want {
			t.Errorf("normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "localhost", "*.", "*.cn.", "a..b.cn", "-a.b.cn", "a-.b.cn", "a_b.example.cn", "http://a.cn", "a.cn/x", "例子.cn", "*.*.a.cn", "a.cn:443"} {
		if got, err := normalize(in); err == nil {
			t.Errorf("normalize(%q) accepted as %q", in, got)
		}
	}
	for _, c := range []struct {
		domain, host string
		want         bool
	}{
		{"svc.example.cn", "svc.example.cn", true},
		{"svc.example.cn", "a.svc.example.cn", false},
		{"svc.example.cn", "svc.example.cn.evil.example", false},
		{"*.example.cn", "a.example.cn", true},
		{"*.example.cn", "a.b.example.cn", true},
		{"*.example.cn", "example.cn", false},
		{"*.example.cn", "badexample.cn", false},
	} {
		if got := matches(c.domain, c.host); got != c.want {
			t.Errorf("matches(%q, %q) = %v", c.domain, c.host, got)
		}
	}
}
