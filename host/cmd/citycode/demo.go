package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/codeengine"
	"github.com/opencitycode/citycode/host/internal/config"
	"github.com/opencitycode/citycode/host/internal/events"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/tenancy"
)

// Demo is what `citycode demo` prints: everything a newcomer needs for a
// first signed call.
type Demo struct {
	CityCodeAppID string `json:"cityCodeAppId"`
	PlatformID    string `json:"platformId"`
	AppSecret     string `json:"appSecret" doc:"hex; the HMAC-SM3 key is the decoded bytes"`
	DataKey       string `json:"dataKey" doc:"hex SM4 key for X-CityCode-Encrypt: SM4-GCM"`
	SM2PrivateKey string `json:"sm2PrivateKey" doc:"PEM; for X-CityCode-SignMethod: SM2"`
	// Rules are the demo's enabled code rules bound to the app, by family:
	// their ids are the codeDefId of the open/show APIs.
	Rules map[string]string `json:"rules"`
	// ObjectCodes are active object codes (一物一码) of a demo object type:
	// open their URLs in a browser to see the landing page.
	ObjectCodes []string `json:"objectCodes"`
}

// demoObjectCodes activates three object codes of a demo object type and
// answers their URLs.
func demoObjectCodes(ctx context.Context, sc *storeConn, cfg *config.Config, rules *codeengine.Rules, appID, ruleID string) ([]string, error) {
	evw, err := events.New(ctx, events.Config{Pool: sc.pool})
	if err != nil {
		return nil, err
	}
	defer evw.Close(context.WithoutCancel(ctx))
	base := cfg.HTTP.PublicBaseURL
	if base == "" {
		base = "http://127.0.0.1" + cfg.HTTP.Addr
		if !strings.HasPrefix(cfg.HTTP.Addr, ":") {
			base = "http://" + cfg.HTTP.Addr
		}
	}
	objects, err := codeengine.NewObjects(rules, evw, strings.TrimRight(base, "/"))
	if err != nil {
		return nil, err
	}
	typ, err := objects.CreateType(ctx, &codeengine.TypeIn{Name: "演示·公共设施 " + time.Now().Format("0102-150405"), Management: "local"})
	if err != nil {
		return nil, err
	}
	batch, err := objects.PreIssue(ctx, appID, tenancy.MainPlatformID, ruleID, typ.ID, "310000", 3)
	if err != nil {
		return nil, err
	}
	codes, err := objects.BatchCodes(ctx, tenancy.MainPlatformID, batch.BatchID, 0, 3)
	if err != nil {
		return nil, err
	}
	var urls []string
	for i, c := range codes {
		out, err := objects.Activate(ctx, appID, tenancy.MainPlatformID, c.Token, &codeengine.ActivateIn{
			Attributes: map[string]any{"name": fmt.Sprintf("演示设施 %d 号", i+1)}, OwnerUnit: "演示单位"})
		if err != nil {
			return nil, err
		}
		urls = append(urls, out.URL)
	}
	return urls, nil
}

// demoCmd: citycode demo [--json] — registers a demo app on the main
// platform of the configured database (the running host sees it at once)
// and prints its credentials.
func demoCmd(args []string, stdout io.Writer) error {
	asJSON := false
	var rest []string
	for _, a := range args {
		if a == "--json" {
			asJSON = true
		} else {
			rest = append(rest, a)
		}
	}
	cfg, done, sc, err := openStore(rest)
	if err != nil {
		return err
	}
	defer done()
	keyText, err := cfg.MasterKeyText(func(b []byte) error { _, err := rand.Read(b); return err })
	if err != nil {
		return err
	}
	key, err := codec.ParseMasterKey(keyText)
	if err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	sealer, err := codec.NewSealer(key)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(actor.With(sc.ctx, actor.System()), time.Minute)
	defer cancel()
	engine, err := policy.New(ctx, policy.Config{Dir: cfg.Policy.Dir, PollInterval: -1})
	if err != nil {
		return err
	}
	defer engine.Close()
	ten, err := tenancy.New(tenancy.Config{Pool: sc.pool, Authz: engine, Sealer: sealer})
	if err != nil {
		return err
	}
	if err := ten.Seed(ctx); err != nil {
		return err
	}
	priv, pub, err := codec.GenerateSM2Key()
	if err != nil {
		return err
	}
	app, err := ten.CreateApp(ctx, &tenancy.CreateAppIn{
		PlatformID:      tenancy.MainPlatformID,
		AppFields:       tenancy.AppFields{Name: "演示应用 " + time.Now().Format("0102-150405"), BusinessUnit: "城市码平台演示"},
		Developer:       tenancy.DeveloperFields{Name: "演示开发者"},
		SM2PublicKey:    pub,
		GenerateDataKey: true,
	})
	if err != nil {
		return err
	}
	rules, err := codeengine.New(codeengine.Config{Pool: sc.pool, Authz: engine, Tenancy: ten, MainPlatformID: tenancy.MainPlatformID})
	if err != nil {
		return err
	}
	d := Demo{CityCodeAppID: app.AppID, PlatformID: app.PlatformID, AppSecret: app.AppSecret, DataKey: app.DataKey, SM2PrivateKey: priv,
		Rules: map[string]string{}}
	// The console would create these; here they are made ready to use:
	// published, enabled and bound to the demo app.
	rctx := policy.WithScope(ctx, policy.Scope{All: true})
	for _, r := range []codeengine.RuleIn{
		{Name: "演示·身份码", Form: "dynamic", Family: "identity", Function: codeengine.Function{ValiditySeconds: 300, RefreshSeconds: 60, Offline: true}},
		{Name: "演示·健康码", Form: "dynamic", Family: "health", Function: codeengine.Function{ValiditySeconds: 300, RefreshSeconds: 60, Offline: true}},
		{Name: "演示·支付码", Form: "dynamic", Family: "payment", Function: codeengine.Function{ValiditySeconds: 60, RefreshSeconds: 30}},
		{Name: "演示·一物一码", Form: "static", Family: "object"},
	} {
		created, err := rules.CreateRule(rctx, &r)
		if err != nil {
			return err
		}
		if _, err := rules.Publish(rctx, &codeengine.RuleIDIn{RuleID: created.ID}); err != nil {
			return err
		}
		d.Rules[r.Family] = created.ID
	}
	ids := make([]string, 0, len(d.Rules))
	for _, id := range d.Rules {
		ids = append(ids, id)
	}
	if _, err := rules.Bind(rctx, &codeengine.BindIn{AppID: app.AppID, RuleIDs: ids}); err != nil {
		return err
	}
	if d.ObjectCodes, err = demoObjectCodes(rctx, sc, cfg, rules, app.AppID, d.Rules["object"]); err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(d)
	}
	fmt.Fprintf(stdout, "cityCodeAppId: %s\nappSecret:     %s\ndataKey:       %s\nrules:         identity %s, health %s, payment %s, object %s\nobject codes:  %s\nSM2 private key:\n%s",
		d.CityCodeAppID, d.AppSecret, d.DataKey, d.Rules["identity"], d.Rules["health"], d.Rules["payment"], d.Rules["object"],
		strings.Join(d.ObjectCodes, " "), d.SM2PrivateKey)
	return nil
}
