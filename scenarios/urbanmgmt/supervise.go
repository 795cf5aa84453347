package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"

	"github.com/opencitycode/citycode/sdk/apisign"
	"github.com/opencitycode/citycode/sdk/plugin"
)

// 码上督: a supervisor (督察队员) records what they found at a shop; a
// record that found a problem is handed off to the online supervision
// system (网上督察系统) for its closed-loop handling.
//
// Plugins make no outbound calls, so the supervision system pulls: it
// polls the admin route GET /handoffs (through the console API, as an
// account with plugin.read), which answers the pending hand-offs as a
// payload signed with HMAC-SM3 under config handoffSecret in the
// platform's own signing scheme (sdk/apisign), and then acknowledges what
// it took with POST /handoffs/ack, naming its own case numbers. A record
// stays pending until acknowledged, so a lost poll loses nothing. Every
// record also writes the usage event supervision.created with its
// problem flag, for systems that read the platform's event stream.

// Hand-off statuses.
const (
	handoffNone    = "无需转办"
	handoffPending = "待转办"
	handoffDone    = "已转办"

	tplSupervision = "urbanmgmt.supervision"
)

// supervision is the document of the supervisions collection.
type supervision struct {
	Shop       string `json:"shop"`
	Officer    string `json:"officer"`
	Findings   string `json:"findings"`
	Problem    bool   `json:"problem"`
	Photo      string `json:"photo,omitempty"`
	Handoff    string `json:"handoff"`
	ExternalID string `json:"externalId,omitempty"`
	HandedAt   string `json:"handedAt,omitempty"`
	Supervisor string `json:"supervisor"`
}

type supervisionView struct {
	supervision
	ID, Created string
}

func superviseHome(ctx context.Context, c *call) (*plugin.Response, error) {
	recs, err := c.list(ctx, "supervisions", nil, 20)
	if err != nil {
		return nil, err
	}
	var items []supervisionView
	for _, rec := range recs {
		v := supervisionView{ID: rec.ID, Created: rec.CreatedAt.In(cst).Format("2006-01-02 15:04")}
		decode(rec, &v.supervision)
		items = append(items, v)
	}
	return render(200, supervisePage, c, map[string]any{"Member": c.member, "Items": items, "Hint": photoHint})
}

// recordSupervision stores a supervision; one with problem=1 is queued for
// the supervision system and announced to supervisionTo.
func recordSupervision(ctx context.Context, c *call) (*plugin.Response, error) {
	f, err := readForm(c.req)
	if err != nil {
		return nil, err
	}
	if err := f.only("findings", "problem"); err != nil {
		return nil, err
	}
	s := supervision{Shop: c.shop.Title, Officer: c.member.Officer(), Handoff: handoffNone, Supervisor: c.req.Visitor.Pseudonym}
	if s.Findings, err = f.text("findings", "督察情况", maxText, true); err != nil {
		return nil, err
	}
	switch f.get("problem") {
	case "1":
		s.Problem, s.Handoff = true, handoffPending
	case "", "0":
	default:
		return nil, invalid("problem 须为 1（存在问题，转入督察系统）或留空")
	}
	if s.Photo, err = c.storePhoto(ctx, f); err != nil {
		return nil, err
	}
	rec, err := c.put(ctx, "supervisions", "", c.req.Code.Token, s, 0)
	if err != nil {
		return nil, err
	}
	c.event(ctx, "supervision.created", map[string]any{"supervisionId": rec.ID, "problem": s.Problem})
	c.audit(ctx, "supervision.record", "supervision:"+rec.ID, map[string]any{"code": c.req.Code.Token, "officer": s.Officer,
		"problem": s.Problem})
	if s.Problem {
		to := c.cfg.SupervisionTo
		if to == "" {
			to = c.recipient()
		}
		c.push(ctx, tplSupervision, []string{to}, map[string]string{"supervisionId": rec.ID, "code": c.req.Code.Token,
			"shop": c.shop.Title, "findings": clip(s.Findings, 200)})
	}
	return render(http.StatusCreated, submittedPage, c, map[string]any{"Title": "督察情况已登记", "ID": rec.ID, "Status": s.Handoff,
		"Next": "/supervise", "NextText": "返回码上督"})
}

// handoffItem is a supervision in the hand-off payload.
type handoffItem struct {
	ID         string `json:"id"`
	Code       string `json:"code"`
	Shop       string `json:"shop"`
	ObjectID   string `json:"objectId,omitempty"` // the enforcement system's object, when mapped
	Officer    string `json:"officer"`
	Findings   string `json:"findings"`
	Photo      string `json:"photo,omitempty"`
	RecordedAt string `json:"recordedAt"`
}

// handoffPayload is what is signed.
type handoffPayload struct {
	Source      string        `json:"source"`
	PlatformID  string        `json:"platformId"`
	GeneratedAt string        `json:"generatedAt"`
	Total       int64         `json:"total"`
	Items       []handoffItem `json:"items"`
}

// signedHandoffs is the answer of GET /handoffs. Signature is the
// lower-case hex HMAC-SM3, under config handoffSecret, of
// apisign.StringToSign("GET", "/handoffs", "", Timestamp, Nonce,
// []byte(Payload)); Payload is the JSON text of a handoffPayload, carried
// as a string so that its bytes survive any re-encoding on the way.
type signedHandoffs struct {
	Payload    string `json:"payload"`
	SignMethod string `json:"signMethod"`
	Timestamp  int64  `json:"timestamp"`
	Nonce      string `json:"nonce"`
	Signature  string `json:"signature"`
}

// signHandoffs signs a payload.
func signHandoffs(secret string, payload []byte, timestamp int64, nonce string) string {
	return apisign.SignHMAC([]byte(secret), apisign.StringToSign("GET", "/handoffs", "", timestamp, nonce, payload))
}

// handoffList answers the pending hand-offs, oldest first, signed.
func handoffList(ctx context.Context, c *call) (*plugin.Response, error) {
	if c.cfg.HandoffSecret == "" {
		return nil, conflict("HandoffDisabled", "未配置 handoffSecret，督察转办清单未开放")
	}
	no, size, err := pageArgs(c.req, 50)
	if err != nil {
		return nil, err
	}
	page, err := c.host.QueryRecords(ctx, plugin.RecordQuery{Collection: "supervisions", Where: map[string]any{"handoff": handoffPending},
		Offset: (no - 1) * size, Limit: size})
	if err != nil {
		return nil, err
	}
	p := handoffPayload{Source: "urbanmgmt", PlatformID: c.req.PlatformID, GeneratedAt: stamp(c.now), Total: page.Total, Items: []handoffItem{}}
	for _, rec := range page.Items {
		var s supervision
		decode(rec, &s)
		m, err := c.mappingOf(ctx, rec.CodeToken)
		if err != nil {
			return nil, err
		}
		it := handoffItem{ID: rec.ID, Code: rec.CodeToken, Shop: s.Shop, Officer: s.Officer, Findings: s.Findings, Photo: s.Photo,
			RecordedAt: stamp(rec.CreatedAt)}
		if m != nil {
			it.ObjectID = m.ObjectID
		}
		p.Items = append(p.Items, it)
	}
	payload, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	out := signedHandoffs{Payload: string(payload), SignMethod: apisign.SignMethodHMAC, Timestamp: c.now.UnixMilli(), Nonce: hex.EncodeToString(n[:])}
	out.Signature = signHandoffs(c.cfg.HandoffSecret, payload, out.Timestamp, out.Nonce)
	return plugin.JSON(200, out)
}

// ackIn is the body of POST /handoffs/ack.
type ackIn struct {
	Items []struct {
		ID         string `json:"id"`
		ExternalID string `json:"externalId"`
	} `json:"items"`
}

// handoffAck marks hand-offs taken by the supervision system. Every item
// is checked before any is written: an unknown id or a bad item refuses
// the whole acknowledgement. Acknowledging again with the same case
// number is harmless; with another, a conflict.
func handoffAck(ctx context.Context, c *call) (*plugin.Response, error) {
	var in ackIn
	if err := readJSON(c.req.Body, &in, `{"items": [{"id": 督察记录编号, "externalId": 督察系统编号}]}`); err != nil {
		return nil, err
	}
	if len(in.Items) == 0 || len(in.Items) > 100 {
		return nil, missing("items 须为 1–100 条")
	}
	type pending struct {
		rec *plugin.Record
		s   supervision
		ext string
	}
	var todo []pending
	done := 0
	for _, it := range in.Items {
		if !recordIDRe.MatchString(it.ID) {
			return nil, invalid("督察记录编号格式不正确：" + it.ID)
		}
		ext, err := checkText(it.ExternalID, "督察系统编号 externalId", 64, true)
		if err != nil {
			return nil, err
		}
		rec, err := c.host.GetRecord(ctx, "supervisions", it.ID)
		if plugin.IsCode(err, plugin.ErrNotFound) {
			return nil, notFound("没有找到督察记录 " + it.ID)
		}
		if err != nil {
			return nil, err
		}
		var s supervision
		decode(*rec, &s)
		switch {
		case s.Handoff == handoffDone && s.ExternalID == ext:
			done++
			continue
		case s.Handoff == handoffDone:
			return nil, conflict("AlreadyHandedOff", "督察记录 "+it.ID+" 已转办为 "+s.ExternalID)
		case s.Handoff != handoffPending:
			return nil, invalid("督察记录 " + it.ID + " 未发现问题，无需转办")
		}
		todo = append(todo, pending{rec, s, ext})
	}
	for _, p := range todo {
		p.s.Handoff, p.s.ExternalID, p.s.HandedAt = handoffDone, p.ext, stamp(c.now)
		if _, err := c.put(ctx, "supervisions", p.rec.ID, p.rec.CodeToken, p.s, p.rec.Version); err != nil {
			return nil, err
		}
		done++
		c.audit(ctx, "supervision.handoff", "supervision:"+p.rec.ID, map[string]any{"code": p.rec.CodeToken, "externalId": p.ext,
			"operator": c.req.Operator.Account})
	}
	return plugin.JSON(200, map[string]any{"acknowledged": done})
}
