package scenes

import "testing"

// TestSanitize: intros keep their formatting, links and images to https;
// script in any form is gone and the output is balanced.
func TestSanitize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`<p>就医<b>指南</b></p>`, `<p>就医<b>指南</b></p>`},
		{`<p onclick="x()">a<script>alert(1)</script>b</p>`, `<p>ab</p>`},
		{`<a href="https://h.example.cn/x?a=1&b=2">挂号</a>`, `<a href="https://h.example.cn/x?a=1&amp;b=2" rel="noopener noreferrer" target="_blank">挂号</a>`},
		{`<a href="javascript:alert(1)">x</a>`, `<a rel="noopener noreferrer" target="_blank">x</a>`},
		{`<img src="http://h.example.cn/a.png"><img src="https://h.example.cn/a.png" onerror="x">`, `<img><img src="https://h.example.cn/a.png">`},
		{`<style>p{}</style><iframe src="https://e.example"></iframe>text`, `text`},
		{`<div><ul><li>a<li>b</div>`, `<div><ul><li>a<li>b</li></li></ul></div>`},
		{`<p>unclosed <i>x`, `<p>unclosed <i>x</i></p>`},
		{`1 < 2 & "q"`, `1 &lt; 2 &amp; &#34;q&#34;`},
		{`<svg><script>x</script></svg>ok<form><input value=1>t</form>`, `okt`},
	} {
		if got := Sanitize(c.in); got != c.want {
			t.Errorf("Sanitize(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
	}
}

// TestParams: definitions are checked when saved and a scene's values
// against them, nested groups included.
func TestParams(t *testing.T) {
	t.Parallel()
	defs := []Param{
		{Key: "beds", Name: "床位", Type: "number", Required: true},
		{Key: "grade", Name: "等级", Type: "enum", Options: []string{"三甲", "二甲"}},
		{Key: "open", Name: "开放", Type: "group", Params: []Param{{Key: "since", Name: "开放日期", Type: "date", Required: true}}},
	}
	if err := checkParams(defs, 1); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]Param{
		{{Key: "1x", Name: "x", Type: "string"}},
		{{Key: "a", Name: "x", Type: "string"}, {Key: "a", Name: "y", Type: "string"}},
		{{Key: "a", Name: "x", Type: "enum"}},
		{{Key: "a", Name: "x", Type: "blob"}},
		{{Key: "a", Name: "", Type: "string"}},
		{{Key: "a", Name: "x", Type: "group", Params: []Param{{Key: "b", Name: "y", Type: "group", Params: []Param{{Key: "c", Name: "z", Type: "group"}}}}}},
	} {
		if err := checkParams(bad, 1); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if err := checkValues(defs, map[string]any{"beds": 1200.0, "grade": "三甲", "open": map[string]any{"since": "1907-01-01"}}, ""); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []map[string]any{
		{},
		{"beds": "many"},
		{"beds": 1.0, "grade": "一甲"},
		{"beds": 1.0, "open": map[string]any{"since": "yesterday"}},
		{"beds": 1.0, "open": map[string]any{}},
		{"beds": 1.0, "extra": true},
	} {
		if err := checkValues(defs, bad, ""); err == nil {
			t.Errorf("accepted %v", bad)
		}
	}
}
