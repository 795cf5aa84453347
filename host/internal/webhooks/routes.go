package webhooks

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/host/internal/fault"
	"github.com/opencitycode/citycode/host/internal/httpapi"
	"github.com/opencitycode/citycode/host/internal/policy"
	"github.com/opencitycode/citycode/host/internal/store"
)

// Routes declares the console's management of an app's pushes.
func (s *Service) Routes() []*httpapi.Route {
	return []*httpapi.Route{
		httpapi.Handle(http.MethodGet, "/console/apps/:appId/webhook", s.getRoute).
			Doc("应用推送订阅", "The app's push subscription: its URL, events and state.").
			Tag("webhooks").Console("app.read"),
		httpapi.Handle(http.MethodPut, "/console/apps/:appId/webhook", s.putRoute).
			Doc("设置应用推送", "Subscribes the app to events of its platform (object.activated: 推送激活二维码接口, object.cancelled, ping) at an https URL. Each push is a POST signed with the app's secret as the app signs its requests (X-CityCode-Signature over POST, the URL's path and query, timestamp, nonce and body), with X-CityCode-Event and X-CityCode-Delivery; answered 2xx, or retried with backoff for about 21 hours.").
			Tag("webhooks").Console("app.update"),
		httpapi.Handle(http.MethodDelete, "/console/apps/:appId/webhook", s.deleteRoute).
			Doc("取消应用推送", "Removes the subscription; pending deliveries are dropped.").
			Tag("webhooks").Console("app.update"),
		httpapi.Handle(http.MethodPost, "/console/apps/:appId/webhook/ping", s.pingRoute).
			Doc("推送测试", "Queues a ping event to the app's subscription, to check its receiver.").
			Tag("webhooks").Console("app.update"),
		httpapi.Handle(http.MethodGet, "/console/apps/:appId/webhook/deliveries", s.deliveriesRoute).
			Doc("推送记录", "The app's deliveries, newest first: event, state (pending, delivered, failed, dropped), attempts, the last answer.").
			Tag("webhooks").Console("app.read"),
		httpapi.Handle(http.MethodPost, "/console/apps/:appId/webhook/deliveries/:id/redeliver", s.redeliverRoute).
			Doc("重新推送", "Queues a failed or dropped delivery again, now, with its attempts reset.").
			Tag("webhooks").Console("app.update"),
	}
}

// Subscription is an app's push subscription.
type Subscription struct {
	AppID     string    `json:"appId"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	Enabled   bool      `json:"enabled"`
	UpdatedBy string    `json:"updatedBy"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// AppIn names an app.
type AppIn struct {
	AppID string `path:"appId" validate:"required,max=32"`
}

// appPlatform answers the platform of an app in the caller's scope.
func (s *Service) appPlatform(ctx context.Context, appID string) (string, error) {
	var platform, region string
	err := s.cfg.Pool.QueryRow(ctx, `SELECT platform_id, region_code FROM apps WHERE id = $1`, appID).Scan(&platform, &region)
	if store.NoRows(err) || (err == nil && !policy.ScopeFrom(ctx).Contains(platform, region, "")) {
		// Outside the scope reads as absent: ids of other platforms' apps
		// are not confirmed.
		return "", fault.NotFoundf("app %s not found", appID)
	}
	return platform, err
}

func (s *Service) getRoute(ctx context.Context, in *AppIn) (*Subscription, error) {
	if _, err := s.appPlatform(ctx, in.AppID); err != nil {
		return nil, err
	}
	sub := Subscription{AppID: in.AppID}
	err := s.cfg.Pool.QueryRow(ctx, `SELECT url, events, enabled, updated_by, updated_at FROM webhook_subscriptions WHERE app_id = $1`, in.AppID).
		Scan(&sub.URL, &sub.Events, &sub.Enabled, &sub.UpdatedBy, &sub.UpdatedAt)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("app %s has no push subscription", in.AppID)
	}
	return &sub, err
}

// PutIn subscribes an app.
type PutIn struct {
	AppID   string   `path:"appId" json:"-" validate:"required,max=32"`
	URL     string   `json:"url" validate:"required,max=500" doc:"https URL the pushes are posted to"`
	Events  []string `json:"events" validate:"required,min=1,max=10,dive,max=40" doc:"object.activated, object.cancelled, ping"`
	Enabled *bool    `json:"enabled" doc:"default true"`
}

func (s *Service) putRoute(ctx context.Context, in *PutIn) (*Subscription, error) {
	platform, err := s.appPlatform(ctx, in.AppID)
	if err != nil {
		return nil, err
	}
	if err := s.checkURL(in.URL); err != nil {
		return nil, err
	}
	events := slices.Clone(in.Events)
	slices.Sort(events)
	events = slices.Compact(events)
	for _, e := range events {
		if !knownEvents[e] {
			return nil, fault.Invalidf("parameter %q: unknown event %q (object.activated, object.cancelled, ping)", "events", e)
		}
	}
	sub := Subscription{AppID: in.AppID, URL: in.URL, Events: events, Enabled: in.Enabled == nil || *in.Enabled,
		UpdatedBy: actor.AccountOf(ctx), UpdatedAt: s.cfg.Clock()}
	_, err = s.cfg.Pool.Exec(ctx, `INSERT INTO webhook_subscriptions (app_id, platform_id, url, events, enabled, updated_by, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (app_id) DO UPDATE SET url = EXCLUDED.url, events = EXCLUDED.events,
		enabled = EXCLUDED.enabled, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at`,
		in.AppID, platform, sub.URL, sub.Events, sub.Enabled, sub.UpdatedBy, sub.UpdatedAt)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "webhook.subscribe", in.AppID, platform, map[string]any{"url": sub.URL, "events": sub.Events, "enabled": sub.Enabled})
	return &sub, nil
}

// checkURL accepts https URLs (http too when insecure use is allowed)
// with a host and no credentials.
func (s *Service) checkURL(raw string) error {
	u, err := url.Parse(raw)
	bad := func(why string) error { return fault.Invalidf("parameter %q: %s", "url", why) }
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return bad("must be an absolute URL")
	case u.User != nil:
		return bad("must not carry credentials")
	case u.Fragment != "":
		return bad("must not carry a fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && s.cfg.AllowInsecure:
	default:
		return bad("must be https")
	}
	if strings.ContainsAny(raw, " \t\r\n\x00") {
		return bad("must not hold spaces or control characters")
	}
	return nil
}

func (s *Service) deleteRoute(ctx context.Context, in *AppIn) (*httpapi.Empty, error) {
	platform, err := s.appPlatform(ctx, in.AppID)
	if err != nil {
		return nil, err
	}
	err = store.Tx(ctx, s.cfg.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM webhook_subscriptions WHERE app_id = $1`, in.AppID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("app %s has no push subscription", in.AppID)
		}
		_, err = tx.Exec(ctx, `UPDATE webhook_deliveries SET status = 'dropped', last_error = 'the subscription was removed'
			WHERE app_id = $1 AND status = 'pending'`, in.AppID)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "webhook.unsubscribe", in.AppID, platform, nil)
	return &httpapi.Empty{}, nil
}

// Queued is a delivery put in the queue.
type Queued struct {
	ID int64 `json:"id"`
}

func (s *Service) pingRoute(ctx context.Context, in *AppIn) (*Queued, error) {
	platform, err := s.appPlatform(ctx, in.AppID)
	if err != nil {
		return nil, err
	}
	var q Queued
	data, _ := json.Marshal(map[string]any{"by": actor.AccountOf(ctx)})
	err = s.cfg.Pool.QueryRow(ctx, `INSERT INTO webhook_deliveries (app_id, platform_id, event, payload, created_at, next_attempt_at)
		SELECT app_id, platform_id, 'ping', $2, $3, $3 FROM webhook_subscriptions WHERE app_id = $1 AND enabled RETURNING id`,
		in.AppID, data, s.cfg.Clock()).Scan(&q.ID)
	if store.NoRows(err) {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "app %s has no enabled push subscription", in.AppID)
	}
	_ = platform
	return &q, err
}

// DeliveriesIn pages an app's deliveries.
type DeliveriesIn struct {
	AppID    string `path:"appId" validate:"required,max=32"`
	Status   string `query:"status" validate:"omitempty,oneof=pending delivered failed dropped"`
	PageNo   int    `query:"pageNo" validate:"min=0,max=100000"`
	PageSize int    `query:"pageSize" validate:"min=0,max=200"`
}

// Delivery is one push as the console lists it.
type Delivery struct {
	ID          int64           `json:"id"`
	Event       string          `json:"event"`
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastStatus  *int            `json:"lastStatus,omitempty" doc:"the app's last HTTP status"`
	LastError   string          `json:"lastError,omitempty"`
	NextAttempt time.Time       `json:"nextAttemptAt"`
	CreatedAt   time.Time       `json:"createdAt"`
	DeliveredAt *time.Time      `json:"deliveredAt,omitempty"`
	Payload     json.RawMessage `json:"payload"`
}

// DeliveryPage is a page of deliveries.
type DeliveryPage struct {
	Total int64      `json:"total"`
	Items []Delivery `json:"items"`
}

func (s *Service) deliveriesRoute(ctx context.Context, in *DeliveriesIn) (*DeliveryPage, error) {
	if _, err := s.appPlatform(ctx, in.AppID); err != nil {
		return nil, err
	}
	size := in.PageSize
	if size == 0 {
		size = 20
	}
	page := &DeliveryPage{Items: []Delivery{}}
	err := s.cfg.Pool.QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries WHERE app_id = $1 AND ($2 = '' OR status = $2)`,
		in.AppID, in.Status).Scan(&page.Total)
	if err != nil {
		return nil, err
	}
	rows, err := s.cfg.Pool.Query(ctx, `SELECT id, event, status, attempts, last_status, last_error, next_attempt_at, created_at, delivered_at, payload
		FROM webhook_deliveries WHERE app_id = $1 AND ($2 = '' OR status = $2) ORDER BY id DESC OFFSET $3 LIMIT $4`,
		in.AppID, in.Status, (max(in.PageNo, 1)-1)*size, size)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Delivery, error) {
		var d Delivery
		return d, r.Scan(&d.ID, &d.Event, &d.Status, &d.Attempts, &d.LastStatus, &d.LastError, &d.NextAttempt, &d.CreatedAt, &d.DeliveredAt, &d.Payload)
	})
	if err != nil {
		return nil, err
	}
	page.Items = items
	return page, nil
}

// RedeliverIn names a delivery.
type RedeliverIn struct {
	AppID string `path:"appId" validate:"required,max=32"`
	ID    int64  `path:"id" validate:"min=1"`
}

func (s *Service) redeliverRoute(ctx context.Context, in *RedeliverIn) (*Queued, error) {
	platform, err := s.appPlatform(ctx, in.AppID)
	if err != nil {
		return nil, err
	}
	var status string
	err = s.cfg.Pool.QueryRow(ctx, `SELECT status FROM webhook_deliveries WHERE id = $1 AND app_id = $2`, in.ID, in.AppID).Scan(&status)
	if store.NoRows(err) {
		return nil, fault.NotFoundf("app %s has no delivery %d", in.AppID, in.ID)
	}
	if err != nil {
		return nil, err
	}
	tag, err := s.cfg.Pool.Exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = $3, last_error = ''
		WHERE id = $1 AND app_id = $2 AND status IN ('failed', 'dropped')`, in.ID, in.AppID, s.cfg.Clock())
	if err != nil {
		return nil, err
	}
	if tag.RowsAffected() == 0 {
		return nil, fault.Conflictf(fault.CodeFailedOperation, "delivery %d is %s: only failed or dropped ones are pushed again", in.ID, status)
	}
	s.audit(ctx, "webhook.redeliver", in.AppID, platform, map[string]any{"delivery": in.ID})
	return &Queued{ID: in.ID}, nil
}

func (s *Service) audit(ctx context.Context, action, appID, platform string, detail map[string]any) {
	if s.cfg.Audit == nil {
		return
	}
	b, _ := json.Marshal(detail)
	if err := s.cfg.Audit.Record(context.WithoutCancel(ctx), audit.Entry{Type: audit.TypeOperation, Action: action, Target: "app:" + appID,
		PlatformID: platform, Result: audit.Success, Detail: b}); err != nil {
		s.log.Error("audit entry not recorded", "action", action, "err", err)
	}
}
