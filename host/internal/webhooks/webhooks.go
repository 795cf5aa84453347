// Package webhooks pushes events to the apps that subscribed to them (推送):
// an object code activated or cancelled (推送激活二维码接口), a test ping.
//
// Deliveries are rows written in the transaction that makes the event (for
// object codes, by a trigger on their status, whatever the path that
// changed it), so a change that committed is pushed and one that rolled
// back is not. A dispatcher on every node claims due deliveries with SKIP
// LOCKED and a lease, posts them signed with the app's secret exactly as
// the app signs its own requests (sdk/apisign.VerifyWebhook checks them),
// and retries with backoff until the app answers 2xx or the attempts run
// out. Delivery is at least once: the delivery id repeats on every retry.
package webhooks

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opencitycode/citycode/host/internal/audit"
	"github.com/opencitycode/citycode/sdk/apisign"
)

// The events an app can subscribe to.
const (
	EventObjectActivated = "object.activated"
	EventObjectCancelled = "object.cancelled"
	EventPing            = "ping"
)

var knownEvents = map[string]bool{EventObjectActivated: true, EventObjectCancelled: true, EventPing: true}

// backoff is the wait after each failed attempt; after the last, the
// delivery fails (about 21 hours after the first).
var backoff = []time.Duration{10 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 30 * time.Minute,
	2 * time.Hour, 6 * time.Hour, 12 * time.Hour}

const (
	batch        = 20
	lease        = 2 * time.Minute // a claimed delivery no node finished is retried after this
	postTimeout  = 10 * time.Second
	maxErrorText = 500
)

// Config wires the service.
type Config struct {
	Pool *pgxpool.Pool
	// Secret answers an app's HMAC secret, which signs its pushes.
	Secret func(ctx context.Context, appID string) ([]byte, error)
	// PublicBase prefixes object codes' URLs in the pushed data.
	PublicBase string
	// AllowInsecure accepts http:// URLs and loopback or private
	// addresses (development and tests).
	AllowInsecure bool
	Audit         *audit.Logger
	Log           *slog.Logger
	Clock         func() time.Time
	// Interval between polls for due deliveries (default 1 s).
	Interval time.Duration
}

// Service manages subscriptions and dispatches deliveries.
type Service struct {
	cfg    Config
	log    *slog.Logger
	client *http.Client

	stop context.CancelFunc
	done sync.WaitGroup
}

// New makes the service; Start runs its dispatcher.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	s := &Service{cfg: cfg, log: cfg.Log.With("component", "webhooks")}
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: s.checkAddress}
	s.client = &http.Client{
		Timeout:   postTimeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, MaxIdleConnsPerHost: 4},
		// A subscriber's redirect is not followed: it could point anywhere.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// checkAddress refuses, at connect time (after DNS, so a name that
// resolves to an inside address is caught too), loopback, private,
// link-local and unspecified addresses unless insecure use is allowed.
func (s *Service) checkAddress(_, address string, _ syscall.RawConn) error {
	if s.cfg.AllowInsecure {
		return nil
	}
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsUnspecified() || ip.IsMulticast() || ip.IsInterfaceLocalMulticast() {
		return fmt.Errorf("webhooks: %s is not a public address", host)
	}
	return nil
}

// Start runs the dispatcher until Close.
func (s *Service) Start(ctx context.Context) {
	ctx, s.stop = context.WithCancel(ctx)
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(s.cfg.Interval)
		defer t.Stop()
		for {
			if _, err := s.DispatchOnce(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("dispatching pushes", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the dispatcher; deliveries it had claimed are retried by
// any node once their lease ends.
func (s *Service) Close(context.Context) error {
	if s.stop != nil {
		s.stop()
	}
	s.done.Wait()
	return nil
}

type delivery struct {
	id         int64
	appID      string
	platformID string
	event      string
	payload    []byte
	attempts   int
	createdAt  time.Time
	url        string // empty: the subscription is gone or disabled
}

// DispatchOnce claims the due deliveries (at most one batch) and posts
// them, concurrently; it answers how many it attempted.
func (s *Service) DispatchOnce(ctx context.Context) (int, error) {
	now := s.cfg.Clock()
	rows, err := s.cfg.Pool.Query(ctx, `WITH due AS (
			SELECT id FROM webhook_deliveries WHERE status = 'pending' AND next_attempt_at <= $1
			ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED)
		UPDATE webhook_deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3
		FROM due WHERE d.id = due.id
		RETURNING d.id, d.app_id, d.platform_id, d.event, d.payload, d.attempts, d.created_at,
			COALESCE((SELECT s.url FROM webhook_subscriptions s WHERE s.app_id = d.app_id AND s.enabled), '')`,
		now, batch, now.Add(lease))
	if err != nil {
		return 0, err
	}
	ds, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (delivery, error) {
		var d delivery
		return d, r.Scan(&d.id, &d.appID, &d.platformID, &d.event, &d.payload, &d.attempts, &d.createdAt, &d.url)
	})
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() { s.deliver(ctx, d) })
	}
	wg.Wait()
	return len(ds), nil
}

// deliver posts one delivery and records the outcome.
func (s *Service) deliver(ctx context.Context, d delivery) {
	if d.url == "" {
		s.finish(ctx, d, "dropped", 0, "the app has no enabled subscription")
		return
	}
	status, err := s.post(ctx, d)
	switch {
	case err == nil && status >= 200 && status < 300:
		s.finish(ctx, d, "delivered", status, "")
	case d.attempts >= len(backoff):
		s.finish(ctx, d, "failed", status, errText(status, err))
	default:
		_, uerr := s.cfg.Pool.Exec(context.WithoutCancel(ctx), `UPDATE webhook_deliveries SET next_attempt_at = $2, last_status = $3, last_error = $4
			WHERE id = $1 AND status = 'pending'`, d.id, s.cfg.Clock().Add(backoff[d.attempts-1]), nullStatus(status), errText(status, err))
		if uerr != nil {
			s.log.Warn("recording a push attempt", "delivery", d.id, "err", uerr)
		}
	}
}

func (s *Service) finish(ctx context.Context, d delivery, status string, code int, msg string) {
	_, err := s.cfg.Pool.Exec(context.WithoutCancel(ctx), `UPDATE webhook_deliveries SET status = $2, last_status = $3, last_error = $4,
		delivered_at = CASE WHEN $2 = 'delivered' THEN $5::timestamptz END WHERE id = $1`, d.id, status, nullStatus(code), msg, s.cfg.Clock())
	if err != nil {
		s.log.Warn("recording a push", "delivery", d.id, "err", err)
	}
}

// Body is what an app receives.
type Body struct {
	ID         int64           `json:"id" doc:"the delivery: the same on every retry"`
	Event      string          `json:"event"`
	PlatformID string          `json:"platformId"`
	OccurredAt time.Time       `json:"occurredAt"`
	Data       json.RawMessage `json:"data"`
}

// post sends one delivery, signed, and answers the HTTP status.
func (s *Service) post(ctx context.Context, d delivery) (int, error) {
	secret, err := s.cfg.Secret(ctx, d.appID)
	if err != nil {
		return 0, fmt.Errorf("the app's secret: %w", err)
	}
	body, err := json.Marshal(Body{ID: d.id, Event: d.event, PlatformID: d.platformID, OccurredAt: d.createdAt, Data: s.data(d)})
	if err != nil {
		return 0, err
	}
	u, err := url.Parse(d.url)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	ts, nonce := s.cfg.Clock().UnixMilli(), newNonce()
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "CityCode-Webhook/1")
	h.Set(apisign.HeaderAppID, d.appID)
	h.Set(apisign.HeaderTimestamp, strconv.FormatInt(ts, 10))
	h.Set(apisign.HeaderNonce, nonce)
	h.Set(apisign.HeaderEvent, d.event)
	h.Set(apisign.HeaderDelivery, strconv.FormatInt(d.id, 10))
	h.Set(apisign.HeaderSignature, apisign.SignHMAC(secret, apisign.StringToSign(http.MethodPost, u.EscapedPath(), u.RawQuery, ts, nonce, body)))
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// data is the payload as pushed: an object code's gets its URL.
func (s *Service) data(d delivery) json.RawMessage {
	if d.event != EventObjectActivated && d.event != EventObjectCancelled {
		return d.payload
	}
	var m map[string]any
	if json.Unmarshal(d.payload, &m) != nil {
		return d.payload
	}
	if tok, ok := m["token"].(string); ok {
		m["url"] = s.cfg.PublicBase + "/c/" + tok
	}
	b, err := json.Marshal(m)
	if err != nil {
		return d.payload
	}
	return b
}

func newNonce() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func errText(status int, err error) string {
	msg := ""
	switch {
	case err != nil:
		msg = err.Error()
	case status != 0:
		msg = "HTTP " + strconv.Itoa(status)
	}
	if len(msg) > maxErrorText {
		msg = msg[:maxErrorText]
	}
	return msg
}

func nullStatus(code int) *int {
	if code == 0 {
		return nil
	}
	return &code
}
