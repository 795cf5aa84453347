package interop

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/fault"
)

func mustMatcher(t *testing.T, kind, value string) *matcher {
	t.Helper()
	m, err := compileMatch(kind, value)
	if err != nil {
		t.Fatalf("compile %s %q: %v", kind, value, err)
	}
	return m
}

// TestCompileMatch: bad rules are refused with InvalidParameter naming
// matchValue (or MissingParameter), before anything is stored.
func TestCompileMatch(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]struct{ kind, value string }{
		"regex syntax":            {MatchRegex, `ZF(`},
		"regex too long":          {MatchRegex, strings.Repeat("a", maxPattern+1)},
		"regex matches nothing":   {MatchRegex, `.*`},
		"regex optional":          {MatchRegex, `(ZF)?`},
		"perl lookahead":          {MatchRegex, `ZF(?=1)`},
		"template no placeholder": {MatchTemplate, "https://pay.example.cn/q/1"},
		"template two codes":      {MatchTemplate, "https://pay.example.cn/{code}/{code}"},
		"template other name":     {MatchTemplate, "https://pay.example.cn/q/{id}"},
		"template in host":        {MatchTemplate, "https://{code}.example.cn/q"},
		"template after host":     {MatchTemplate, "https://pay.example.cn{code}"},
		"template in userinfo":    {MatchTemplate, "https://u:{code}@pay.example.cn/q/"},
		"template not a URL":      {MatchTemplate, "ZF{code}"},
		"template ftp":            {MatchTemplate, "ftp://pay.example.cn/{code}"},
		"template fragment":       {MatchTemplate, "https://pay.example.cn/q#{code}"},
		"template content":        {MatchTemplate, "https://pay.example.cn/q/{content}"},
		"prefix one character":    {MatchPrefix, "Z"},
		"prefix two lines":        {MatchPrefix, "ZF\nX"},
		"unknown kind":            {"glob", "ZF*"},
	} {
		_, err := compileMatch(c.kind, c.value)
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := compileMatch(MatchPrefix, ""); fault.CodeOf(err) != fault.CodeMissingParameter {
		t.Errorf("empty: %v", err)
	}
}

// TestMatch: what each kind of rule claims and the code it extracts.
func TestMatch(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind, value, content string
		ok                   bool
		code                 string
	}{
		{MatchPrefix, "ZF", "ZF0123", true, "ZF0123"},
		{MatchPrefix, "ZF", "zf0123", false, ""},
		{MatchRegex, `ZF(?P<code>[0-9]{6})`, "ZF123456", true, "123456"},
		{MatchRegex, `ZF(?P<code>[0-9]{6})`, "ZF1234567", false, ""},    // the whole content must match
		{MatchRegex, `ZF(?P<code>[0-9]{6})`, "xZF123456", false, ""},    // not just somewhere in it
		{MatchRegex, `^ZF[0-9]{6}$`, "ZF123456", true, "ZF123456"},      // anchors of its own are fine
		{MatchRegex, `ZF[0-9]{6}|YL[0-9]{4}`, "YL1234", true, "YL1234"}, // alternatives stay whole-content
		{MatchRegex, `ZF[0-9]{6}|YL[0-9]{4}`, "YL12345", false, ""},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://pay.example.cn/q/abc", true, "abc"},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://pay.example.cn/q/abc?from=qr", true, "abc"},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://pay.example.cn/q/abc/more", false, ""},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://pay.example.cn/q/", false, ""},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://pay.example.cn.evil.example/q/abc", false, ""},
		{MatchTemplate, "https://pay.example.cn/q/{code}", "https://payXexample.cn/q/abc", false, ""}, // dots are literal
		{MatchTemplate, "https://pay.example.cn/q?id={code}", "https://pay.example.cn/q?id=42&from=qr", true, "42"},
		{MatchTemplate, "https://pay.example.cn/q?id={code}", "https://pay.example.cn/q?id=42?x", false, ""},
		{MatchTemplate, "https://pay.example.cn/{code}/detail", "https://pay.example.cn/7/detail", true, "7"},
	} {
		code, ok := mustMatcher(t, c.kind, c.value).match(c.content)
		if ok != c.ok || code != c.code {
			t.Errorf("%s %q on %q: %q %v, want %q %v", c.kind, c.value, c.content, code, ok, c.code, c.ok)
		}
	}
}

func entry(id int64, platform string, enabled bool, m *matcher) *codeEntry {
	return &codeEntry{ID: id, Name: m.kind + ":" + m.value, PlatformID: platform, Enabled: enabled, m: m}
}

// TestPrecedence: among several enabled matches the most specific wins,
// whatever order they were registered in: more literal characters, then
// template before regex before prefix, then the older code. Only the
// caller's platform's and the main platform's codes are candidates; a
// content only disabled codes match says so.
func TestPrecedence(t *testing.T) {
	t.Parallel()
	const main, pd, mh = "P0000", "P0001", "P0002"
	all := []*codeEntry{
		entry(1, main, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/")),           // 23
		entry(2, main, true, mustMatcher(t, MatchTemplate, "https://pay.example.cn/q/{code}")), // 25
		entry(3, main, true, mustMatcher(t, MatchRegex, `https://pay\.example\.cn/q/[0-9]+`)),  // 25
		entry(4, main, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/q/1")),        // 26
		entry(5, pd, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/q/")),           // 25
		entry(6, mh, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/q/9")),          // 26, another platform
		entry(7, pd, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/q/1")),          // 26, younger than 4
		entry(8, pd, false, mustMatcher(t, MatchPrefix, "YL")),
		entry(9, main, true, mustMatcher(t, MatchRegex, `https://pay\.example\.cn/r/[0-9]+`)), // 25
		entry(10, pd, true, mustMatcher(t, MatchPrefix, "https://pay.example.cn/r/")),         // 25
	}
	s := &Service{cfg: Config{MainPlatformID: main}}
	for round := range 3 {
		codes := slices.Clone(all)
		if round > 0 {
			slices.Reverse(codes)
		}
		if round == 2 {
			codes[0], codes[4] = codes[4], codes[0]
		}
		snap := &registered{codes: codes}
		slices.SortFunc(snap.codes, precedes)
		for _, c := range []struct {
			platform, content string
			want              int64
		}{
			{pd, "https://pay.example.cn/q/123", 4},   // longest literal; 4 and 7 tie, 4 is older
			{pd, "https://pay.example.cn/q/abc", 2},   // template over prefix at 25
			{pd, "https://pay.example.cn/q/999", 2},   // template over regex at 25; 6 is another platform's
			{mh, "https://pay.example.cn/q/999", 6},   // its own
			{pd, "https://pay.example.cn/r/5", 9},     // regex over prefix at 25
			{pd, "https://pay.example.cn/r/x", 10},    // the regex does not match
			{mh, "https://pay.example.cn/r/x", 1},     // 10 is Pudong's
			{main, "https://pay.example.cn/about", 1}, // the main platform's own
		} {
			got, _, err := s.recognize(snap, c.platform, c.content)
			if err != nil || got.ID != c.want {
				t.Fatalf("round %d: %s %q: %+v %v, want code %d", round, c.platform, c.content, got, err, c.want)
			}
		}
		_, _, err := s.recognize(snap, mh, "ZF123")
		if fault.CodeOf(err) != fault.CodeForeignCode {
			t.Fatalf("unknown content: %v", err)
		}
		got, _, err := s.recognize(snap, pd, "YL123")
		if fault.CodeOf(err) != fault.CodeFailedOperation || got.ID != 8 || !strings.Contains(err.Error(), "disabled") {
			t.Fatalf("a disabled code: %+v %v", got, err)
		}
	}
}

// TestTargetTemplates: redirect targets keep placeholders out of the
// host, and fill escapes what it puts in so it cannot add a path, a query
// or a host.
func TestTargetTemplates(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{
		"https://{code}.example.cn/",
		"https://land.example.cn{code}",
		"https://land.example.cn/p#{code}",
		"https://land.example.cn/{code}/{code}",
		"https://land.example.cn/{other}",
		"https://u:p@land.example.cn/{code}",
		"javascript:alert({code})",
		"//land.example.cn/{code}",
		`https://land.example.cn\{code}`,
	} {
		if _, _, err := splitTemplate(bad, "targetUrl", false); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for _, ok := range []string{"https://land.example.cn/", "https://land.example.cn/p/{code}?c={content}", "https://land.example.cn/?{code}"} {
		if _, _, err := splitTemplate(ok, "targetUrl", false); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, c := range []struct{ tmpl, code, content, want string }{
		{"https://land.example.cn/p/{code}?c={content}", "a/b", "x&y=1 z", "https://land.example.cn/p/a%2Fb?c=x%26y%3D1+z"},
		{"https://land.example.cn/p/{code}", "..", "", "https://land.example.cn/p/%2E%2E"},
		{"https://land.example.cn/p/{code}", "@evil.example", "", "https://land.example.cn/p/@evil.example"},
		{"https://land.example.cn/p/{code}", "?a#b", "", "https://land.example.cn/p/%3Fa%23b"},
		{"https://land.example.cn/p?c={code}&d=1", "1&admin=1", "", "https://land.example.cn/p?c=1%26admin%3D1&d=1"},
	} {
		if got := fill(c.tmpl, c.code, c.content); got != c.want {
			t.Errorf("fill(%q, %q) = %q, want %q", c.tmpl, c.code, got, c.want)
		}
	}
}

// TestJudge: the arithmetic of the two metrics at their edges.
func TestJudge(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		metric             string
		threshold          float64
		min, total, failed int64
		wantValue          float64
		wantFire           bool
	}{
		{MetricFailureRate, 50, 10, 9, 9, 0, false},   // too few samples, however bad
		{MetricFailureRate, 50, 10, 10, 4, 40, false}, // below
		{MetricFailureRate, 50, 10, 10, 5, 50, true},  // reaching is enough
		{MetricFailureRate, 50, 10, 16, 9, 56.25, true},
		{MetricFailureRate, 50, 0, 0, 0, 0, false}, // nothing measured, nothing judged
		{MetricFailureRate, 100, 1, 3, 3, 100, true},
		{MetricVolume, 100, 0, 99, 99, 99, false},
		{MetricVolume, 100, 0, 100, 0, 100, true},
		{"latency", 1, 0, 100, 100, 0, false},
	} {
		v, fire := judge(c.metric, c.threshold, c.min, measurement{Total: c.total, Failures: c.failed})
		if v != c.wantValue || fire != c.wantFire {
			t.Errorf("%s %g (min %d) over %d/%d: %g %v, want %g %v", c.metric, c.threshold, c.min, c.failed, c.total, v, fire, c.wantValue, c.wantFire)
		}
	}
	if r := reason("解析失败率", MetricFailureRate, 56.25, 50, 300, measurement{16, 9}); !strings.Contains(r, "56.2%") || !strings.Contains(r, "50%") || !strings.Contains(r, "16") {
		t.Errorf("reason: %s", r)
	}
}

// TestTally: windows slide by the second, and a slot from an earlier lap
// of the ring is never counted.
func TestTally(t *testing.T) {
	t.Parallel()
	var ty tally
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 10 {
		ty.add(t0.Add(time.Duration(i)*time.Second), i%2 == 0)
	}
	if m := ty.sum(t0.Add(9*time.Second), 60); m != (measurement{10, 5}) {
		t.Fatalf("all in the window: %+v", m)
	}
	if m := ty.sum(t0.Add(9*time.Second), 5); m != (measurement{5, 2}) { // seconds 5..9: 6 and 8 failed
		t.Fatalf("the last 5 s: %+v", m)
	}
	if m := ty.sum(t0.Add(65*time.Second), 60); m != (measurement{4, 2}) { // seconds 6..9 left
		t.Fatalf("slid: %+v", m)
	}
	if m := ty.sum(t0.Add(maxWindow*time.Second), maxWindow); m != (measurement{9, 4}) {
		t.Fatalf("an hour on, second 0 is out: %+v", m)
	}
	// A lap later the same slots count a new second.
	ty.add(t0.Add(maxWindow*time.Second), true)
	if m := ty.sum(t0.Add(maxWindow*time.Second), 1); m != (measurement{1, 1}) {
		t.Fatalf("a lap later: %+v", m)
	}
	if m := ty.sum(t0.Add(2*maxWindow*time.Second), maxWindow); m != (measurement{}) {
		t.Fatalf("two laps later: %+v", m)
	}
}

// TestMask: the log keeps what the rule itself spells and little of the
// rest; a phone keeps its ends.
func TestMask(t *testing.T) {
	t.Parallel()
	const card = "6222021234567890123"
	for _, c := range []struct {
		content string
		public  int
		want    string
	}{
		{"https://pay.example.cn/q/" + card, len("https://pay.example.cn/q/"), "https://pay.example.cn/q/6222****0123"},
		{"https://other.example.cn/c/" + card, 0, "https://other.example.cn/c/62****0123"},
		{"ZF" + card, 2, "ZF6222****0123"},
		{card, 0, "6222****0123"},
		{"ZF1234", 0, "Z****4"},
		{"abc", 0, "****"},
		{"", 0, ""},
		{"随申码一二三四五六七八", 0, "随申****七八"},
		{"随申码abcdefgh", len("随申"), "随申码a****gh"},
		{"随申码abcdefgh", len("随申") + 1, "随申码a****gh"}, // a cut inside a character moves back
	} {
		got := maskContent(c.content, c.public)
		if got != c.want {
			t.Errorf("maskContent(%q, %d) = %q, want %q", c.content, c.public, got, c.want)
		}
		if len(c.content) > 8 && strings.Contains(got, card) {
			t.Errorf("%q kept the whole number", got)
		}
	}
	long := "https://pay.example.cn/" + strings.Repeat("a", 200) + "/" + card
	if got := maskContent(long, len(long)-len(card)); strings.Contains(got, card) || len([]rune(got)) > maxPublicLog+20 {
		t.Errorf("a long rule text is cut: %q", got)
	}
	for in, want := range map[string]string{"13800138000": "138****8000", "021-12345678": "021****5678", "12345": "12*45", "123": "***", "": ""} {
		if got := maskPhone(in); got != want {
			t.Errorf("maskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
