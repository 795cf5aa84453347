package codeapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/persons"
)

// Payments records the payment orders apps report (the manual's
// 5.1.14–5.1.16). It owns table payment_orders.
type Payments struct {
	pool    *pgxpool.Pool
	persons *persons.Service
	clock   func() time.Time
}

// NewPayments returns the order notification service.
func NewPayments(pool *pgxpool.Pool, people *persons.Service, clock func() time.Time) *Payments {
	if clock == nil {
		clock = time.Now
	}
	return &Payments{pool: pool, persons: people, clock: clock}
}

// Routes declares the payment order notifications: apps tell the platform
// about orders paid with codes.
func (s *Payments) Routes() []*httpapi.Route {
	const post = http.MethodPost
	return []*httpapi.Route{
		httpapi.Handle(post, "/traffic/notifyTrafficPay", s.notifyTraffic).
			Doc("交通支付订单通知接口", "A transit operator reports a ride paid with a code. Repeated notifications of one bizOrderNo update the order. handleState 01 = accepted.").
			Tag("payment-code").App().AcceptUnknownFields(),
		httpapi.Handle(post, "/payment/notifyPaymentCreate", s.notifyCreate).
			Doc("支付订单创建通知接口", "A merchant reports an order created for a user (with its cashier URL).").
			Tag("payment-code").App().AcceptUnknownFields(),
		httpapi.Handle(post, "/payment/notifyPaymentResult", s.notifyResult).
			Doc("支付订单支付结果通知接口", "A merchant reports the payment result of an order.").
			Tag("payment-code").App().AcceptUnknownFields(),
	}
}

// OrderIn is the body of notifyTrafficPay and notifyPaymentResult.
type OrderIn struct {
	BizOrderNo       string `json:"bizOrderNo" validate:"required,max=64" doc:"收款单位订单号"`
	MerchantCode     string `json:"merchantCode" validate:"required,max=64"`
	MerchantName     string `json:"merchantName" validate:"required,max=128"`
	OrderAmount      int64  `json:"orderAmount" validate:"min=0,max=100000000000" doc:"订单金额, fen"`
	DiscountAmount   int64  `json:"discountAmount" validate:"min=0,max=100000000000"`
	DiscountNote     string `json:"discountNote" validate:"max=256"`
	OrderDate        string `json:"orderDate" validate:"required,len=8,numeric" doc:"yyyyMMdd"`
	PayStatus        *int   `json:"payStatus" validate:"required,min=0,max=99" doc:"支付状态"`
	QRCodeTime       string `json:"qrCodeTime" validate:"required,len=14,numeric" doc:"扫码时间 yyyyMMddHHmmss"`
	TradeCreateTime  string `json:"tradeCreateTime" validate:"required,len=14,numeric" doc:"yyyyMMddHHmmss"`
	TradePayedTime   string `json:"tradePayedTime" validate:"omitempty,len=14,numeric"`
	TradeTranTime    string `json:"tradeTranTime" validate:"omitempty,len=14,numeric"`
	NotifyTime       string `json:"notifyTime" validate:"omitempty,len=14,numeric"`
	TripInfo         string `json:"tripInfo" validate:"max=1024" doc:"行程信息 (required for transit)"`
	UserID           Flex   `json:"userId" validate:"required,max=64" doc:"应用用户标识"`
	OrderNo          string `json:"orderNo" validate:"max=64"`
	OrderTitle       string `json:"orderTitle" validate:"max=128"`
	OrderDescription string `json:"orderDescription" validate:"max=512"`
	OrgCode          string `json:"orgCode" validate:"max=64"`
	PayName          string `json:"payName" validate:"max=64"`
	PayType          string `json:"payType" validate:"max=32"`
	PlatformTradeNo  string `json:"platformTradeNo" validate:"max=64"`
	QRCode           string `json:"qrCode" validate:"max=2048"`
	Remark           string `json:"remark" validate:"max=256"`
	TerminalNo       string `json:"terminalNo" validate:"max=64"`
	UseInfo          string `json:"useInfo" validate:"max=256"`
	CardName         string `json:"cardName" validate:"max=64"`
	CardType         string `json:"cardType" validate:"max=32"`
}

// HandleOut answers a notification.
type HandleOut struct {
	HandleState string `json:"handleState" doc:"通知结果: 00 失败, 01 成功"`
}

func (s *Payments) notifyTraffic(ctx context.Context, in *OrderIn) (*HandleOut, error) {
	if in.TripInfo == "" {
		return nil, fault.Missing("tripInfo")
	}
	return s.saveOrder(ctx, "traffic", in)
}

func (s *Payments) notifyResult(ctx context.Context, in *OrderIn) (*HandleOut, error) {
	return s.saveOrder(ctx, "payment", in)
}

func (s *Payments) saveOrder(ctx context.Context, kind string, in *OrderIn) (*HandleOut, error) {
	a, err := caller(ctx, "")
	if err != nil {
		return nil, err
	}
	if in.DiscountAmount > in.OrderAmount {
		return nil, fault.Invalidf("discountAmount is larger than orderAmount")
	}
	for name, v := range map[string]string{"orderDate": in.OrderDate, "qrCodeTime": in.QRCodeTime, "tradeCreateTime": in.TradeCreateTime} {
		layout := "20060102150405"
		if len(v) == 8 {
			layout = "20060102"
		}
		if _, err := time.Parse(layout, v); err != nil {
			return nil, fault.Invalidf("parameter %q is not a valid date", name)
		}
	}
	if _, err := s.persons.User(ctx, a.AppID, in.UserID.String()); err != nil {
		return nil, err
	}
	detail, _ := json.Marshal(in)
	now := s.clock()
	_, err = s.pool.Exec(ctx, `
		INSERT INTO payment_orders (app_id, biz_order_no, kind, user_id, merchant_code, merchant_name, org_code,
		                            order_amount, discount_amount, pay_status, detail, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)
		ON CONFLICT (app_id, biz_order_no) DO UPDATE SET pay_status = EXCLUDED.pay_status, order_amount = EXCLUDED.order_amount,
		    discount_amount = EXCLUDED.discount_amount, detail = EXCLUDED.detail, updated_at = EXCLUDED.updated_at`,
		a.AppID, in.BizOrderNo, kind, in.UserID.String(), in.MerchantCode, in.MerchantName, in.OrgCode,
		in.OrderAmount, in.DiscountAmount, *in.PayStatus, detail, now)
	if err != nil {
		return nil, fmt.Errorf("codeapi: save order: %w", err)
	}
	return &HandleOut{HandleState: "01"}, nil
}

// CreateIn is the body of notifyPaymentCreate.
type CreateIn struct {
	CashURL     string `json:"cashUrl" validate:"required,max=1024,url" doc:"收银台地址"`
	OrderAmount int64  `json:"orderAmount" validate:"min=1,max=100000000000" doc:"订单金额, fen"`
	OrgCode     string `json:"orgCode" validate:"required,max=64" doc:"用码机构"`
	UserID      Flex   `json:"userId" validate:"required,max=64"`
}

func (s *Payments) notifyCreate(ctx context.Context, in *CreateIn) (*HandleOut, error) {
	a, err := caller(ctx, "")
	if err != nil {
		return nil, err
	}
	if _, err := s.persons.User(ctx, a.AppID, in.UserID.String()); err != nil {
		return nil, err
	}
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	now := s.clock()
	_, err = s.pool.Exec(ctx, `
		INSERT INTO payment_orders (app_id, biz_order_no, kind, user_id, org_code, order_amount, cash_url, created_at, updated_at)
		VALUES ($1, $2, 'payment', $3, $4, $5, $6, $7, $7)`,
		a.AppID, "PC"+hex.EncodeToString(b), in.UserID.String(), in.OrgCode, in.OrderAmount, in.CashURL, now)
	if err != nil {
		return nil, fmt.Errorf("codeapi: create order: %w", err)
	}
	return &HandleOut{HandleState: "01"}, nil
}
