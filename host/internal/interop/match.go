package interop

import (
	"cmp"
	"net/url"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/host/internal/fault"
)

// Match kinds of a business code.
const (
	MatchPrefix   = "prefix"   // the content starts with the value
	MatchRegex    = "regex"    // the whole content matches the RE2 expression
	MatchTemplate = "template" // the content is a URL of the template's shape
)

// Target kinds of a business code.
const (
	TargetRedirect = "redirect" // the parse answers a landing URL made from the template
	TargetService  = "service"  // the host POSTs the code to the URL and relays its answer
)

const (
	maxPattern = 512  // characters of a match value
	maxContent = 4096 // characters of scanned content
	// placeholder is the part of the content a template or a regex's
	// group "code" extracts; {content} is all of it.
	placeholder        = "{code}"
	contentPlaceholder = "{content}"
)

// matcher is a compiled match rule. It is immutable and shared by every
// snapshot that holds the same rule.
type matcher struct {
	kind  string
	value string
	re    *regexp.Regexp // regex and template: anchored at both ends
	group int            // the group holding the code; 0: the whole content
	// literal counts the characters the rule spells out: its specificity.
	literal int
	// public is how many leading bytes of a matching content the rule
	// itself spells, so they may be logged as they are.
	public int
}

// rank orders kinds of equal literal length: a template fixes the shape of
// the rest of the content, a regular expression some of it, a prefix none.
func rank(kind string) int {
	switch kind {
	case MatchTemplate:
		return 3
	case MatchRegex:
		return 2
	}
	return 1
}

// compileMatch checks a match rule as an administrator enters it and
// compiles it. Errors are InvalidParameter naming matchValue.
func compileMatch(kind, value string) (*matcher, error) {
	bad := func(format string, args ...any) error {
		return fault.Invalidf("parameter %q: "+format, append([]any{"matchValue"}, args...)...)
	}
	n := utf8.RuneCountInString(value)
	switch {
	case n == 0:
		return nil, fault.Missing("matchValue")
	case n > maxPattern:
		return nil, bad("is longer than %d characters", maxPattern)
	case !utf8.ValidString(value) || strings.ContainsAny(value, "\x00\r\n"):
		return nil, bad("must be one line of text")
	}
	m := &matcher{kind: kind, value: value}
	switch kind {
	case MatchPrefix:
		if n < 2 {
			return nil, bad("a prefix needs at least 2 characters")
		}
		m.literal, m.public = n, len(value)
	case MatchRegex:
		own, err := regexp.Compile(value)
		if err != nil {
			// The parser's message names what is wrong with the
			// administrator's own expression; it carries nothing else.
			return nil, bad("is not a valid regular expression (RE2): %v", err)
		}
		// The whole content must match: an expression that matches
		// somewhere inside would claim contents it was never meant for.
		// It is anchored in its parsed, canonical form: the text as typed
		// may end inside a \Q quote, which would swallow the anchor (a
		// fuzz finding).
		tree, err := syntax.Parse(value, syntax.Perl)
		if err != nil {
			return nil, bad("is not a valid regular expression (RE2): %v", err)
		}
		if m.re, err = regexp.Compile(`^(?:` + tree.String() + `)$`); err != nil {
			return nil, bad("is not a valid regular expression (RE2): %v", err)
		}
		if m.re.MatchString("") {
			return nil, bad("matches empty content, so it would claim every code")
		}
		if i := m.re.SubexpIndex("code"); i > 0 {
			m.group = i
		}
		lit, _ := own.LiteralPrefix()
		m.literal, m.public = utf8.RuneCountInString(lit), len(lit)
	case MatchTemplate:
		before, after, err := splitTemplate(value, "matchValue", true)
		if err != nil {
			return nil, err
		}
		// The code is one path segment or query value; after the template
		// the content may go on with a query (when the template has none)
		// or further parameters and a fragment.
		rest := `(?:[?#].*)?`
		if strings.Contains(value, "?") {
			rest = `(?:[&#].*)?`
		}
		m.re = regexp.MustCompile(`^` + regexp.QuoteMeta(before) + `([^/?#&]+)` + regexp.QuoteMeta(after) + rest + `$`)
		m.group = 1
		m.literal = utf8.RuneCountInString(before) + utf8.RuneCountInString(after)
		m.public = len(before)
	default:
		return nil, fault.Invalidf("parameter %q must be one of: prefix regex template", "matchKind")
	}
	return m, nil
}

// splitTemplate checks a URL template: an absolute http(s) URL whose
// placeholders stand in its path or query, never in its scheme or host, so
// a filled template cannot send anyone to another host. A match template
// holds exactly one {code}; a redirect target {code} and {content} at most
// once each. It answers the text before the first placeholder and, for a
// match template, after it.
func splitTemplate(t, param string, forMatch bool) (before, after string, err error) {
	bad := func(format string, args ...any) error {
		return fault.Invalidf("parameter %q: "+format, append([]any{param}, args...)...)
	}
	probe := strings.NewReplacer(placeholder, "x", contentPlaceholder, "x").Replace(t)
	if strings.ContainsAny(probe, "{}") {
		return "", "", bad("the only placeholders are %s and %s", placeholder, contentPlaceholder)
	}
	if strings.ContainsAny(t, " \t\r\n\x00\\") {
		return "", "", bad("must not hold spaces, backslashes or control characters")
	}
	u, perr := url.Parse(probe)
	switch {
	case perr != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http"):
		return "", "", bad("must be an absolute http(s) URL")
	case u.User != nil:
		return "", "", bad("must not carry credentials")
	}
	codes, contents := strings.Count(t, placeholder), strings.Count(t, contentPlaceholder)
	if forMatch {
		if codes != 1 || contents != 0 {
			return "", "", bad("a URL template needs exactly one %s placeholder", placeholder)
		}
	} else if codes > 1 || contents > 1 {
		return "", "", bad("may hold %s and %s at most once each", placeholder, contentPlaceholder)
	}
	i := firstPlaceholder(t)
	if i < 0 {
		return t, "", nil
	}
	before, after = t[:i], t[i:]
	// The placeholder must come after the host's end: a "/" or "?" past
	// the scheme's "//".
	head := before[strings.Index(before, "//")+2:]
	if !strings.ContainsAny(head, "/?") {
		return "", "", bad("placeholders belong in the path or the query, not in the host")
	}
	if strings.Contains(before, "#") {
		return "", "", bad("placeholders must not be in the fragment")
	}
	if forMatch {
		after = strings.TrimPrefix(after, placeholder)
	}
	return before, after, nil
}

func firstPlaceholder(t string) int {
	a, b := strings.Index(t, placeholder), strings.Index(t, contentPlaceholder)
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// match reports whether content is this rule's, and the code it carries:
// the template's {code}, the expression's group "code", else the whole
// content.
func (m *matcher) match(content string) (string, bool) {
	switch m.kind {
	case MatchPrefix:
		if !strings.HasPrefix(content, m.value) {
			return "", false
		}
		return content, true
	default:
		sub := m.re.FindStringSubmatch(content)
		if sub == nil {
			return "", false
		}
		if m.group > 0 && sub[m.group] != "" {
			return sub[m.group], true
		}
		return content, true
	}
}

// precedes is the order in which candidates are tried, the first match
// winning: more literal characters first (the rule that spells out more
// of the content is the more specific); at equal length a template before
// a regular expression before a prefix; then the older registration.
func precedes(a, b *codeEntry) int {
	if c := cmp.Compare(b.m.literal, a.m.literal); c != 0 {
		return c
	}
	if c := cmp.Compare(rank(b.m.kind), rank(a.m.kind)); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

// fill makes a redirect target from its template: the code and content
// escaped for where they stand (a path segment before "?", a query value
// after), so they can never add a path, a query or a host.
func fill(tmpl, code, content string) string {
	q := strings.IndexByte(tmpl, '?')
	var b strings.Builder
	for i := 0; i < len(tmpl); {
		var v string
		var n int
		switch {
		case strings.HasPrefix(tmpl[i:], placeholder):
			v, n = code, len(placeholder)
		case strings.HasPrefix(tmpl[i:], contentPlaceholder):
			v, n = content, len(contentPlaceholder)
		default:
			b.WriteByte(tmpl[i])
			i++
			continue
		}
		switch {
		case q >= 0 && i > q:
			b.WriteString(url.QueryEscape(v))
		case v == "." || v == "..":
			// A dot segment would climb the target's path.
			b.WriteString(strings.Repeat("%2E", len(v)))
		default:
			b.WriteString(url.PathEscape(v))
		}
		i += n
	}
	return b.String()
}
