package scenes

import (
	"bytes"
	"io"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Intros are rich text typed in the console and shown in the clients'
// web views, so they are reduced to a safe subset when saved: the clients
// render what they get, and one unsafe intro would run script in every
// user's client. Allowed are text formatting, lists, headings, links to
// https addresses and images from https addresses; every other element is
// dropped (script, style and the like together with their content, the
// rest keeping their text), every attribute not listed here too.
var (
	allowedTags = map[atom.Atom]bool{
		atom.P: true, atom.Br: true, atom.B: true, atom.Strong: true, atom.I: true, atom.Em: true, atom.U: true,
		atom.S: true, atom.Ul: true, atom.Ol: true, atom.Li: true, atom.H1: true, atom.H2: true, atom.H3: true,
		atom.H4: true, atom.Blockquote: true, atom.Span: true, atom.Div: true, atom.A: true, atom.Img: true,
		atom.Table: true, atom.Thead: true, atom.Tbody: true, atom.Tr: true, atom.Td: true, atom.Th: true, atom.Hr: true,
	}
	// Elements whose content is not text a reader should see either.
	droppedWithContent = map[atom.Atom]bool{
		atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Object: true, atom.Embed: true,
		atom.Noscript: true, atom.Template: true, atom.Svg: true, atom.Math: true, atom.Textarea: true,
		atom.Select: true, atom.Head: true, atom.Title: true,
	}
	allowedAttrs = map[atom.Atom][]string{
		atom.A:   {"href", "title"},
		atom.Img: {"src", "alt", "width", "height"},
		atom.Td:  {"colspan", "rowspan"},
		atom.Th:  {"colspan", "rowspan"},
	}
)

// Sanitize reduces rich text to the safe subset described above. It never
// fails: whatever does not parse as wanted is dropped or escaped.
func Sanitize(in string) string {
	z := html.NewTokenizer(strings.NewReader(in))
	var out bytes.Buffer
	skip := 0 // depth inside dropped-with-content elements
	var open []atom.Atom
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				return ""
			}
			break
		}
		tok := z.Token()
		switch tt {
		case html.StartTagToken, html.SelfClosingTagToken:
			if droppedWithContent[tok.DataAtom] {
				if tt == html.StartTagToken {
					skip++
				}
				continue
			}
			if skip > 0 || !allowedTags[tok.DataAtom] {
				continue
			}
			out.WriteString("<" + tok.DataAtom.String())
			for _, a := range tok.Attr {
				if a.Namespace != "" || !slices.Contains(allowedAttrs[tok.DataAtom], a.Key) {
					continue
				}
				if (a.Key == "href" || a.Key == "src") && checkHTTPS(a.Key, strings.TrimSpace(a.Val), true) != nil {
					continue
				}
				out.WriteString(" " + a.Key + `="` + html.EscapeString(strings.TrimSpace(a.Val)) + `"`)
			}
			if tok.DataAtom == atom.A {
				out.WriteString(` rel="noopener noreferrer" target="_blank"`)
			}
			out.WriteString(">")
			if tt == html.StartTagToken && !isVoid(tok.DataAtom) {
				open = append(open, tok.DataAtom)
			}
		case html.EndTagToken:
			if droppedWithContent[tok.DataAtom] {
				if skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 || !allowedTags[tok.DataAtom] || isVoid(tok.DataAtom) {
				continue
			}
			// Close only what is open, innermost first, so the output is
			// balanced whatever the input was.
			if i := slices.Index(open, tok.DataAtom); i >= 0 {
				for j := len(open) - 1; j >= i; j-- {
					out.WriteString("</" + open[j].String() + ">")
				}
				open = open[:i]
			}
		case html.TextToken:
			if skip == 0 {
				out.WriteString(html.EscapeString(tok.Data))
			}
		}
	}
	for j := len(open) - 1; j >= 0; j-- {
		out.WriteString("</" + open[j].String() + ">")
	}
	return out.String()
}

func isVoid(a atom.Atom) bool { return a == atom.Br || a == atom.Img || a == atom.Hr }
