package pluginhost

import "testing"

func TestMask(t *testing.T) {
	for in, want := range map[string]string{"": "", "张三丰": "张**", "13800138000": "1********", "a": "a"} {
		if got := mask(in); got != want {
			t.Errorf("mask(%q) = %q, want %q", in, got, want)
		}
	}
}
