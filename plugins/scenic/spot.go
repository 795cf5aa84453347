package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// spot is the scenic spot (景点) a code stands for, as its page shows it:
// each field from the spot's settings (景点设置, set by the staff), else
// the code's attributes, else the platform's configuration.
type spot struct {
	Name, Intro, Hours, Address, Cover string
	// CoverLocal says the cover is served by the platform itself: the
	// landing pages' content policy shows only such images, others are
	// linked.
	CoverLocal bool
	Modes      []string
}

// settings are a spot's settings as the staff set them; empty fields
// fall back to the code's attributes and the configuration.
type settings struct {
	Name    string   `json:"name,omitempty"`
	Intro   string   `json:"intro,omitempty"`
	Hours   string   `json:"hours,omitempty"`
	Address string   `json:"address,omitempty"`
	Cover   string   `json:"cover,omitempty"`
	Modes   []string `json:"modes,omitempty"`
}

// spotDoc is the document of the spots collection, whose record id is
// the code's token: the settings and who saved them.
type spotDoc struct {
	settings
	UpdatedBy string `json:"updatedBy"`
}

// attribute keys a code's type may use for each field, English first.
var (
	nameKeys    = []string{"name", "名称", "景点名称"}
	introKeys   = []string{"intro", "description", "简介", "景点简介"}
	hoursKeys   = []string{"openingHours", "hours", "开放时间"}
	addressKeys = []string{"address", "地址"}
	coverKeys   = []string{"cover", "封面"}
)

// spotOf merges a spot's settings over the code's attributes over the
// configuration. base is the code's landing URL.
func spotOf(code *plugin.Code, s settings, cfg config, base string) spot {
	var attrs map[string]any
	_ = json.Unmarshal(code.Attributes, &attrs)
	first := func(vals ...string) string {
		for _, v := range vals {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
		return ""
	}
	cover := first(s.Cover, httpURL(scalar(attrs, coverKeys...)), cfg.Cover)
	sp := spot{
		Name:    first(s.Name, scalar(attrs, nameKeys...), code.Name, "景点"),
		Intro:   first(s.Intro, scalar(attrs, introKeys...), cfg.Intro),
		Hours:   first(s.Hours, scalar(attrs, hoursKeys...), cfg.Hours),
		Address: first(s.Address, scalar(attrs, addressKeys...), cfg.Address),
		Cover:   cover, CoverLocal: sameOrigin(cover, base), Modes: cfg.Modes,
	}
	if len(s.Modes) > 0 {
		if m, err := checkModes(s.Modes); err == nil {
			sp.Modes = m
		}
	}
	return sp
}

// scalar renders the first present attribute of keys: strings as they
// are, numbers as written; anything else is left out.
func scalar(attrs map[string]any, keys ...string) string {
	for _, k := range keys {
		switch v := attrs[k].(type) {
		case string:
			if s := strings.TrimSpace(v); s != "" {
				return s
			}
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return ""
}

// httpURL answers s when it is an http(s) URL, else "".
func httpURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return s
}

// sameOrigin reports whether two URLs share scheme and host.
func sameOrigin(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	return a != "" && err1 == nil && err2 == nil && ua.Scheme == ub.Scheme && ua.Host != "" && ua.Host == ub.Host
}

// loadSpot reads the spot of the request's code.
func (c *call) loadSpot(ctx context.Context, code *plugin.Code) (spot, error) {
	var s settings
	rec, err := c.host.GetRecord(ctx, "spots", code.Token)
	switch {
	case err == nil:
		decode(*rec, &s)
	case !plugin.IsCode(err, plugin.ErrNotFound):
		return spot{}, err
	}
	return spotOf(code, s, c.cfg, c.req.BaseURL), nil
}

// The staff's spot settings: an admin route the console reaches at
// /console/plugins/scenic/admin/spots (PUT, plugin.update); the console
// lists the saved ones as the spots collection.

// spotInput is the body of PUT /spots: the code (token or URL) and its
// settings, which replace the previous ones whole.
type spotInput struct {
	Code string `json:"code"`
	settings
}

// fieldLimits bound name, intro, hours, address and cover, in that
// order, in characters.
var fieldLimits = []struct {
	title     string
	max       int
	multiline bool
}{{"景点名称", 40, false}, {"景点简介", 1000, true}, {"开放时间", 100, false}, {"地址", 200, false}, {"封面图片地址", 500, false}}

// readSpot decodes and checks a spot's settings: known fields only,
// bounded plain text, an http(s) cover URL, and modes a subset of text,
// photo and video (absent: the platform's default; empty: refused).
func readSpot(body []byte) (spotInput, error) {
	var in spotInput
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return in, invalid(`请求体须为 JSON：{"code": 码, "name", "intro", "hours", "address", "cover", "modes": ["text","photo","video"]}`)
	}
	if in.Code = strings.TrimSpace(in.Code); in.Code == "" {
		return in, missing("请提供景点的码 code（码串或码的链接）")
	}
	if len(in.Code) > 300 {
		return in, invalid("码 code 过长")
	}
	vals := []*string{&in.Name, &in.Intro, &in.Hours, &in.Address, &in.Cover}
	for i, f := range fieldLimits {
		v := strings.TrimSpace(*vals[i])
		*vals[i] = v
		if utf8.RuneCountInString(v) > f.max {
			return in, invalid(f.title + "不能超过 " + strconv.Itoa(f.max) + " 个字")
		}
		if !plainText(v, f.multiline) {
			return in, invalid(f.title + "含有无效字符")
		}
	}
	if in.Cover != "" && httpURL(in.Cover) == "" {
		return in, invalid("封面图片地址须为 http:// 或 https:// 开头的链接")
	}
	if in.Modes != nil {
		m, err := checkModes(in.Modes)
		if err != nil {
			return in, err
		}
		in.Modes = m
	}
	return in, nil
}

// plainText reports whether s is valid UTF-8 without control characters
// (line breaks allowed where multiline).
func plainText(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return false
		}
	}
	return true
}

// setSpot replaces a spot's settings, against the version read so that
// of two operators saving at once one is told to reload; audited.
func setSpot(ctx context.Context, c *call) (*plugin.Response, error) {
	in, err := readSpot(c.req.Body)
	if err != nil {
		return nil, err
	}
	code, err := c.host.ResolveCode(ctx, tokenOf(in.Code))
	switch {
	case plugin.IsCode(err, plugin.ErrNotFound) || plugin.IsCode(err, plugin.ErrInvalid):
		return nil, notFound("本平台没有这个码：" + in.Code)
	case err != nil:
		return nil, err
	case code.Kind != "object":
		return nil, invalid("景点须为物码（一物一码）")
	}
	var version int64
	rec, err := c.host.GetRecord(ctx, "spots", code.Token)
	switch {
	case err == nil:
		version = rec.Version
	case !plugin.IsCode(err, plugin.ErrNotFound):
		return nil, err
	}
	doc := spotDoc{settings: in.settings, UpdatedBy: c.req.Operator.Account}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	_, err = c.host.PutRecord(ctx, plugin.Record{Collection: "spots", ID: code.Token, CodeToken: code.Token, Doc: b,
		Version: version, IfAbsent: version == 0})
	if plugin.IsCode(err, "FailedOperation.VersionConflict") || plugin.IsCode(err, "FailedOperation.RecordExists") {
		return nil, conflict("Changed", "该景点的设置刚被其他工作人员修改，请刷新后重试")
	}
	if err != nil {
		return nil, err
	}
	if err := c.host.Audit(ctx, "spot.update", "spot:"+code.Token, map[string]any{"code": code.Token, "settings": in.settings,
		"operator": c.req.Operator.Account}); err != nil {
		// The settings stand; the log must show the gap.
		c.host.Log(ctx, "error", "spot "+code.Token+" settings not audited: "+err.Error())
	}
	modes := spotOf(code, in.settings, c.cfg, "").Modes
	return plugin.JSON(200, spotItem{Code: code.Token, Settings: in.settings, Modes: modes, ModeNames: describeModes(modes),
		UpdatedBy: doc.UpdatedBy})
}

// spotItem answers a spot's saved settings, and the modes its page
// allows after the platform's default.
type spotItem struct {
	Code      string   `json:"code"`
	Settings  settings `json:"settings"`
	Modes     []string `json:"modes"`
	ModeNames string   `json:"modeNames"`
	UpdatedBy string   `json:"updatedBy"`
}

// tokenOf reads a code's token from a token or its URL.
func tokenOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndex(s, "/c/"); i >= 0 {
		s = s[i+3:]
		if j := strings.IndexAny(s, "/?#"); j >= 0 {
			s = s[:j]
		}
	}
	return s
}
