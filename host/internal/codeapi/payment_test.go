package codeapi_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/codeapi"
	"github.com/opencitycode/citycode/host/internal/codec"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/persons"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store/storetest"
)

func TestFlexAcceptsStringsAndNumbers(t *testing.T) {
	var in struct {
		UserID codeapi.Flex `json:"userId"`
		Def    codeapi.Flex `json:"codeDefId"`
		None   codeapi.Flex `json:"none"`
	}
	if err := json.Unmarshal([]byte(`{"userId": 1234567890123, "codeDefId": "R0001", "none": null}`), &in); err != nil {
		t.Fatal(err)
	}
	if in.UserID != "1234567890123" || in.Def != "R0001" || in.None != "" {
		t.Fatalf("%+v", in)
	}
	if err := json.Unmarshal([]byte(`{"userId": true}`), &in); err == nil {
		t.Fatal("a boolean userId was accepted")
	}
}

func TestPaymentNotifications(t *testing.T) {
	pool := storetest.New(t)
	sealer, _ := codec.NewSealer([]byte("0123456789abcdef"))
	eng, err := policy.New(t.Context(), policy.Config{PollInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	people, _ := persons.New(persons.Config{Pool: pool, Sealer: sealer, Authz: eng})
	u, err := people.Open(context.Background(), "ccMetro", "P0000", persons.Identity{Name: "张三丰", CertType: persons.ResidentID, CertNo: "11010519491231002X"})
	if err != nil {
		t.Fatal(err)
	}
	pay := codeapi.NewPayments(pool, people, func() time.Time { return time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC) })
	ctx := actor.With(context.Background(), &actor.Actor{Kind: actor.KindApp, AppID: "ccMetro", PlatformID: "P0000"})
	routes := map[string]func(any) (any, error){}
	for _, r := range pay.Routes() {
		routes[r.Path] = nil
	}
	if len(routes) != 3 {
		t.Fatalf("routes %v", routes)
	}
	status := 1
	order := codeapi.OrderIn{
		BizOrderNo: "M20261122-0001", MerchantCode: "SHMETRO", MerchantName: "上海地铁", OrderAmount: 400,
		OrderDate: "20261122", PayStatus: &status, QRCodeTime: "20261122080102", TradeCreateTime: "20261122080103",
		TripInfo: "人民广场-徐家汇", UserID: codeapi.Flex(u.UserID),
	}
	out, err := codeapi.NotifyTrafficForTest(pay, ctx, &order)
	if err != nil || out.HandleState != "01" {
		t.Fatalf("notify: %+v %v", out, err)
	}
	// A repeated notification updates the order, it does not duplicate it.
	status = 2
	if _, err := codeapi.NotifyTrafficForTest(pay, ctx, &order); err != nil {
		t.Fatal(err)
	}
	var n, ps int
	pool.QueryRow(context.Background(), "SELECT count(*), max(pay_status) FROM payment_orders").Scan(&n, &ps)
	if n != 1 || ps != 2 {
		t.Fatalf("orders %d, status %d", n, ps)
	}
	for label, mutate := range map[string]func(o *codeapi.OrderIn){
		"no trip":          func(o *codeapi.OrderIn) { o.TripInfo = "" },
		"bad date":         func(o *codeapi.OrderIn) { o.OrderDate = "20261340" },
		"discount > total": func(o *codeapi.OrderIn) { o.DiscountAmount = 500 },
		"unknown user":     func(o *codeapi.OrderIn) { o.UserID = "u000" },
	} {
		o := order
		mutate(&o)
		if _, err := codeapi.NotifyTrafficForTest(pay, ctx, &o); fault.KindOf(err) == fault.Internal {
			t.Errorf("%s: %v", label, err)
		} else if err == nil {
			t.Errorf("%s accepted", label)
		}
	}
}
