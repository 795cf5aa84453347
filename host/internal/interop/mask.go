package interop

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

const (
	maxPublicLog = 96 // characters of a rule's own text kept in a log line
	maskText     = "****"
)

// maskContent is what the parse log keeps of scanned content: the part
// the matched rule spells itself (public bytes: a prefix, a template's
// text before {code}, a regex's literal prefix) — or, for content nothing
// matched, an http(s) URL's scheme and host — and of the rest, which may
// be a person's code, a quarter at most at each end around "****" (none
// at all of four characters or fewer).
func maskContent(content string, public int) string {
	if public <= 0 {
		public = urlHead(content)
	}
	public = min(public, len(content))
	for public > 0 && public < len(content) && !utf8.RuneStart(content[public]) {
		public--
	}
	head, rest := content[:public], content[public:]
	if utf8.RuneCountInString(head) > maxPublicLog {
		r := []rune(head)
		head = string(r[:maxPublicLog]) + "…"
	}
	return head + maskRest(rest)
}

func maskRest(s string) string {
	r := []rune(s)
	n := len(r)
	if n == 0 {
		return ""
	}
	if n <= 4 {
		return maskText
	}
	keep := min(n/4, 4)
	return string(r[:keep]) + maskText + string(r[n-keep:])
}

// urlHead answers the length of "scheme://host/" of an http(s) URL
// without credentials, else 0.
func urlHead(s string) int {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return 0
	}
	i := strings.Index(s, "//") + 2
	j := strings.IndexAny(s[i:], "/?#")
	if j < 0 {
		return len(s)
	}
	return i + j + 1
}

// maskPhone keeps the first three and last four digits of a phone number
// of eleven or more characters (138****5678), and the ends of shorter
// ones.
func maskPhone(s string) string {
	switch n := len(s); {
	case n == 0:
		return ""
	case n >= 11:
		return s[:3] + maskText + s[n-4:]
	case n <= 4:
		return strings.Repeat("*", n)
	default:
		return s[:2] + strings.Repeat("*", n-4) + s[n-2:]
	}
}
