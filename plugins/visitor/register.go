package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/opencitycode/citycode/sdk/plugin"
)

// collection is where registrations are kept.
const collection = "registrations"

var mobileRe = regexp.MustCompile(`^1[3-9][0-9]{9}$`)

// maxRunes bounds a text field: 200 characters for the note, 100 for the
// others.
func maxRunes(key string) int {
	if key == "note" {
		return 200
	}
	return 100
}

// checkRegistration validates a form against the configured fields and
// the fence, and answers the document to store: each filled field under
// its key (numbers as numbers), and the position when given. With a
// fence, the position is required and must lie within the radius.
// Nothing about the request is kept when it fails.
func checkRegistration(v url.Values, cfg config) (map[string]any, error) {
	allowed := map[string]bool{"lat": true, "lng": true}
	for _, f := range cfg.Fields {
		allowed[f.Key] = true
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !allowed[name] {
			return nil, invalid("未知的表单字段：" + name)
		}
		if len(v[name]) > 1 {
			return nil, invalid("表单字段 " + name + " 只能填写一次")
		}
	}
	doc := map[string]any{}
	for _, f := range cfg.Fields {
		s := strings.TrimSpace(v.Get(f.Key))
		if f.Type == typeTel {
			s = strings.NewReplacer(" ", "", "-", "", "　", "").Replace(s)
		}
		if s == "" {
			if f.Required {
				return nil, missing("请填写" + f.Label)
			}
			continue
		}
		switch f.Type {
		case typeTel:
			if !mobileRe.MatchString(s) {
				return nil, invalid(f.Label + "格式不正确：请填写 11 位手机号")
			}
			doc[f.Key] = s
		case typeNumber:
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(n) || n < 0 || n > 1e6 {
				return nil, invalid(f.Label + "须为不小于 0 的数字")
			}
			doc[f.Key] = n
		default:
			if limit := maxRunes(f.Key); utf8.RuneCountInString(s) > limit {
				return nil, invalid(fmt.Sprintf("%s不能超过 %d 个字", f.Label, limit))
			}
			doc[f.Key] = s
		}
	}
	latS, lngS := strings.TrimSpace(v.Get("lat")), strings.TrimSpace(v.Get("lng"))
	if latS == "" && lngS == "" {
		if cfg.Fence != nil {
			return nil, missing("本登记点仅限现场登记：请允许获取位置信息后再提交")
		}
		return doc, nil
	}
	lat, err1 := strconv.ParseFloat(latS, 64)
	lng, err2 := strconv.ParseFloat(lngS, 64)
	if err1 != nil || err2 != nil || math.IsNaN(lat) || math.IsNaN(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180 {
		return nil, invalid("位置信息无效：纬度须在 -90 至 90 之间，经度须在 -180 至 180 之间")
	}
	doc["lat"], doc["lng"] = lat, lng
	if f := cfg.Fence; f != nil {
		d := distance(f.Lat, f.Lng, lat, lng)
		if d > f.Radius {
			return nil, outside(fmt.Sprintf("您当前的位置距登记点约 %s，超出可登记范围（%s以内），请到登记点现场登记", metres(d), metres(f.Radius)))
		}
		doc["distance"] = math.Round(d)
	}
	return doc, nil
}

// earthRadius is the mean radius of the earth in metres.
const earthRadius = 6371008.8

// distance is the great-circle distance in metres between two points
// (haversine), in degrees.
func distance(lat1, lng1, lat2, lng2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

// metres renders a distance: 350 米, 1.2 公里.
func metres(d float64) string {
	if d < 1000 {
		return strconv.Itoa(int(math.Round(d))) + " 米"
	}
	return strconv.FormatFloat(math.Round(d/100)/10, 'f', -1, 64) + " 公里"
}

// register stores a registration and answers its number.
func register(ctx context.Context, c *call) (*plugin.Response, error) {
	v, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	doc, err := checkRegistration(v, c.cfg)
	if err != nil {
		return nil, err
	}
	doc["point"] = c.point
	if vis := c.req.Visitor; !vis.Tourist && vis.Pseudonym != "" {
		doc["visitor"] = vis.Pseudonym
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	rec, err := c.host.PutRecord(ctx, plugin.Record{Collection: collection, CodeToken: c.req.Code.Token, Doc: b})
	if err != nil {
		return nil, err
	}
	if err := c.host.Event(ctx, "registration.created", map[string]any{"registrationId": rec.ID, "fenced": c.cfg.Fence != nil}); err != nil {
		c.host.Log(ctx, "warn", "registration.created event: "+err.Error())
	}
	var rows []row
	for _, f := range c.cfg.Fields {
		if x, ok := doc[f.Key]; ok {
			rows = append(rows, row{Label: f.Label, Value: cell(x)})
		}
	}
	return render(http.StatusCreated, donePage, c, map[string]any{"ID": rec.ID, "Time": rec.CreatedAt.In(cst).Format("2006-01-02 15:04"),
		"Rows": rows})
}

type row struct{ Label, Value string }

// cell renders a stored value: strings as they are, numbers as written.
func cell(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(x)
}
