package openplatform

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/opencitycode/citycode/host/internal/actor"
	"github.com/opencitycode/citycode/host/internal/fault"
)

// Channels of a notification.
const (
	ChannelSite  = "site"
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Message is a rendered notification handed to the notifier.
type Message struct {
	OutboxID    int64
	DeveloperID string
	Channel     string // email | sms
	Recipient   string // the address in full: personal data, never logged
	Template    string
	Title, Body string
}

// Notifier delivers email and SMS notifications (the city's message
// gateway). Site notifications need none: the portal reads them.
type Notifier interface {
	Send(ctx context.Context, m Message) error
}

// RecordOnly is the default notifier: messages stay in the outbox as
// recorded, for a gateway (or a test) to read.
type RecordOnly struct{}

// Send implements Notifier; it sends nothing.
func (RecordOnly) Send(context.Context, Message) error { return errRecordOnly }

var errRecordOnly = fmt.Errorf("openplatform: recorded only")

// outbox collects the messages a transaction rendered, delivered once it
// commits (a rolled back change notifies nobody).
type outbox struct{ pending []Message }

// notify renders template for developerID with vars into the outbox, one
// row per channel of the template: site always stored; email and SMS only
// when the developer gave an address.
func (p *Portal) notify(ctx context.Context, tx pgx.Tx, ob *outbox, developerID, template string, vars map[string]string) error {
	var title, body string
	var channels []string
	err := tx.QueryRow(ctx, `SELECT title, body, channels FROM open_message_templates WHERE code = $1`, template).Scan(&title, &body, &channels)
	if err != nil {
		return fmt.Errorf("openplatform: template %s: %w", template, err)
	}
	pairs := make([]string, 0, 2*len(vars))
	for k, v := range vars {
		pairs = append(pairs, "{{"+k+"}}", v)
	}
	r := strings.NewReplacer(pairs...)
	title, body = r.Replace(title), r.Replace(body)
	var mobileSealed, mobileMasked, emailSealed, emailMasked string
	if err := tx.QueryRow(ctx, `SELECT mobile_sealed, mobile_masked, email_sealed, email_masked FROM open_developers WHERE id = $1`, developerID).
		Scan(&mobileSealed, &mobileMasked, &emailSealed, &emailMasked); err != nil {
		return fmt.Errorf("openplatform: developer %s: %w", developerID, err)
	}
	now := p.cfg.Clock()
	for _, ch := range channels {
		var sealed, masked, purpose string
		switch ch {
		case ChannelEmail:
			sealed, masked, purpose = emailSealed, emailMasked, purposeEmail
		case ChannelSMS:
			sealed, masked, purpose = mobileSealed, mobileMasked, purposeMobile
		case ChannelSite:
		default:
			continue
		}
		if ch != ChannelSite && sealed == "" {
			continue // no address to send to
		}
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO open_outbox (developer_id, channel, template, recipient, title, body, status, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'recorded', $7) RETURNING id`, developerID, ch, template, masked, title, body, now).Scan(&id); err != nil {
			return err
		}
		if ch == ChannelSite {
			continue
		}
		addr, err := p.cfg.Sealer.Open(sealed, purpose)
		if err != nil {
			return fmt.Errorf("openplatform: open %s of %s: %w", ch, developerID, err)
		}
		ob.pending = append(ob.pending, Message{OutboxID: id, DeveloperID: developerID, Channel: ch, Recipient: string(addr),
			Template: template, Title: title, Body: body})
	}
	return nil
}

// deliver hands the committed messages to the notifier and records the
// outcome; a failed delivery stays in the outbox as failed, it never
// fails the change that caused it.
func (p *Portal) deliver(ctx context.Context, ob *outbox) {
	ctx = context.WithoutCancel(ctx)
	for _, m := range ob.pending {
		err := p.cfg.Notifier.Send(ctx, m)
		if err == errRecordOnly {
			continue
		}
		status, msg := "sent", ""
		if err != nil {
			status, msg = "failed", fault.CodeOf(err)
			p.log.WarnContext(ctx, "notification not delivered", "outbox", m.OutboxID, "channel", m.Channel, "err", err)
		}
		if _, err := p.cfg.Pool.Exec(ctx, `UPDATE open_outbox SET status = $2, error = $3 WHERE id = $1`, m.OutboxID, status, msg); err != nil {
			p.log.ErrorContext(ctx, "recording a delivery", "outbox", m.OutboxID, "err", err)
		}
	}
}

// Notification is a site notification of the developer.
type Notification struct {
	ID        int64      `json:"id"`
	Template  string     `json:"template" doc:"what happened: qualification.approved, qualification.rejected, application.approved ..."`
	Title     string     `json:"title"`
	Body      string     `json:"body"`
	CreatedAt time.Time  `json:"createdAt"`
	ReadAt    *time.Time `json:"readAt,omitempty"`
}

// NotificationsIn pages the notifications.
type NotificationsIn struct {
	Unread bool `query:"unread" doc:"only those not yet read"`
	PageIn
}

// NotificationPage is a page of notifications.
type NotificationPage struct {
	Total  int64          `json:"total"`
	Unread int64          `json:"unread"`
	Items  []Notification `json:"items"`
}

func (p *Portal) notificationsRoute(ctx context.Context, in *NotificationsIn) (*NotificationPage, error) {
	dev := developerOf(ctx)
	limit, offset := in.limits()
	out := &NotificationPage{Items: []Notification{}}
	if err := p.cfg.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE read_at IS NULL) FROM open_outbox
		WHERE developer_id = $1 AND channel = 'site'`, dev).Scan(&out.Total, &out.Unread); err != nil {
		return nil, err
	}
	rows, err := p.cfg.Pool.Query(ctx, `SELECT id, template, title, body, created_at, read_at FROM open_outbox
		WHERE developer_id = $1 AND channel = 'site' AND (NOT $2 OR read_at IS NULL) ORDER BY id DESC LIMIT $3 OFFSET $4`,
		dev, in.Unread, limit, offset)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Notification, error) {
		var n Notification
		return n, r.Scan(&n.ID, &n.Template, &n.Title, &n.Body, &n.CreatedAt, &n.ReadAt)
	})
	if err != nil {
		return nil, err
	}
	out.Items = append(out.Items, items...)
	if in.Unread {
		out.Total = out.Unread
	}
	return out, nil
}

// NotificationIDIn names a notification.
type NotificationIDIn struct {
	ID int64 `path:"id" validate:"required,min=1"`
}

func (p *Portal) readNotificationRoute(ctx context.Context, in *NotificationIDIn) (*Notification, error) {
	var n Notification
	err := p.cfg.Pool.QueryRow(ctx, `UPDATE open_outbox SET read_at = coalesce(read_at, $3)
		WHERE id = $1 AND developer_id = $2 AND channel = 'site' RETURNING id, template, title, body, created_at, read_at`,
		in.ID, developerOf(ctx), p.cfg.Clock()).Scan(&n.ID, &n.Template, &n.Title, &n.Body, &n.CreatedAt, &n.ReadAt)
	if isNoRows(err) {
		// Another developer's notification is as absent as none.
		return nil, fault.NotFoundf("notification %d not found", in.ID)
	}
	return &n, err
}

// developerOf answers the calling developer's id ("" for other callers:
// Developer routes never run for them).
func developerOf(ctx context.Context) string {
	if a := actor.From(ctx); a != nil && a.Kind == actor.KindDeveloper {
		return a.DeveloperID
	}
	return ""
}
