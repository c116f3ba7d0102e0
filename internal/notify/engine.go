package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Channels lists every channel in wire order (DeliveryChannel 1…6).
var Channels = []string{ChannelInApp, ChannelEmail, ChannelWebPush, ChannelMobilePush, ChannelSMS, ChannelWhatsApp}

// Request is one Notify call: a notification for several users on several
// channels.
type Request struct {
	TenantID       string
	NotificationID string
	UserIDs        []string
	// Channels to deliver on, by name; empty means every active channel.
	Channels    []string
	SubjectRef  string
	SubjectType string
	Title       string
	Body        string
	// Addresses maps a user id to channel name → destination.
	Addresses map[string]map[string]string
}

// Counts is the Notify outcome, counted per (user, channel) as the
// upstream service counts it.
type Counts struct{ Delivered, Pending, Failed int }

// ValidationError is a request the caller must fix.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

// EngineObserver receives one call per finished send (after retries):
// status is delivered, pending, failed or gone. Used for metrics.
type EngineObserver interface {
	SendObserved(channel, provider, status string, d time.Duration)
}

// EngineConfig builds an Engine.
type EngineConfig struct {
	Store Store
	// Hub holds live sessions; nil when live connections are off, which
	// also disables the in-app channel.
	Hub *Hub
	// Senders maps a channel name (not in_app) to its provider. A sender
	// that also implements Router picks the provider per destination.
	Senders map[string]Sender
	// DeviceFallback sends web and mobile push to the user's registered
	// devices when the request gives no address (contract §6 [EXT]).
	DeviceFallback bool
	// SendAttempts bounds tries per destination for retryable failures
	// (default 3); RetryBackoff is the first pause, doubled each time
	// (default 500ms).
	SendAttempts int
	RetryBackoff time.Duration
	Now          func() time.Time
	Log          *slog.Logger
	Observer     EngineObserver
}

// Router is a Sender that delegates to one of several providers, chosen by
// the destination (mobile push: FCM for Android tokens, APNs for iOS).
type Router interface {
	Route(d Destination) Sender
}

// Destination is where one channel's message goes.
type Destination struct {
	Value      string
	DeviceType string // set when it comes from a registered device
}

// Engine is the notification pipeline shared by notifyd and QuikApp.
type Engine struct {
	cfg EngineConfig
}

// NewEngine returns an engine; Store is required.
func NewEngine(cfg EngineConfig) (*Engine, error) {
	if cfg.Store == nil {
		return nil, errors.New("notify: engine needs a store")
	}
	if cfg.SendAttempts <= 0 {
		cfg.SendAttempts = 3
	}
	if cfg.RetryBackoff <= 0 {
		cfg.RetryBackoff = 500 * time.Millisecond
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Senders == nil {
		cfg.Senders = map[string]Sender{}
	}
	return &Engine{cfg: cfg}, nil
}

// Store returns the engine's store.
func (e *Engine) Store() Store { return e.cfg.Store }

// ActiveChannels lists, in wire order, the channels with a provider.
func (e *Engine) ActiveChannels() []string {
	var out []string
	for _, c := range Channels {
		if c == ChannelInApp && e.cfg.Hub != nil || e.cfg.Senders[c] != nil {
			out = append(out, c)
		}
	}
	return out
}

func (e *Engine) nowMs() int64 { return e.cfg.Now().UnixMilli() }

// Notify stores one inbox row per user and delivers it on each channel,
// following contract §4: the row is idempotent on (tenant, user,
// notification id); a channel without provider or destination counts
// pending; a provider error counts failed and marks the row failed; a
// success counts delivered whatever status the provider reports. Statuses
// only move forward. A store failure fails the whole call.
func (e *Engine) Notify(ctx context.Context, req Request) (Counts, error) {
	var c Counts
	switch {
	case strings.TrimSpace(req.TenantID) == "":
		return c, &ValidationError{"tenant_id is required"}
	case strings.TrimSpace(req.NotificationID) == "":
		return c, &ValidationError{"notification_id is required"}
	case len(req.UserIDs) == 0:
		return c, &ValidationError{"user_ids must be non-empty"}
	case slices.ContainsFunc(req.UserIDs, func(u string) bool { return strings.TrimSpace(u) == "" }):
		// Upstream stores rows for blank ids; a row nobody can read is
		// only lost data, so we refuse (contract §4 [EXT]).
		return c, &ValidationError{"user_ids must not contain blank ids"}
	}
	channels := e.channelsFor(req.Channels)
	seen := make(map[string]bool, len(req.UserIDs))
	for _, user := range req.UserIDs {
		if seen[user] {
			continue // a user listed twice gets one notification
		}
		seen[user] = true
		if err := e.notifyUser(ctx, req, user, channels, &c); err != nil {
			return Counts{}, err
		}
	}
	return c, nil
}

// channelsFor keeps the known channels asked for, in order and without
// repeats, or every active channel when none is left.
func (e *Engine) channelsFor(asked []string) []string {
	var out []string
	for _, ch := range asked {
		if slices.Contains(Channels, ch) && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return e.ActiveChannels()
	}
	return out
}

// row tracks one user's inbox row through the channel loop.
type row struct {
	n       Notification
	created bool
	done    map[string]bool // channels already delivered by an earlier request
}

func (e *Engine) notifyUser(ctx context.Context, req Request, user string, channels []string, c *Counts) error {
	if len(channels) == 0 {
		return nil
	}
	r, err := e.ensureRow(ctx, req, user, channels[0])
	if err != nil {
		return err
	}
	addrs := req.Addresses[user]
	for _, ch := range channels {
		if r.done[ch] {
			// A retry of a request that already went out on this channel:
			// do not send twice (contract §4 rule 6, [FIX optional]).
			c.Delivered++
			continue
		}
		if err := e.deliver(ctx, r, ch, addrs, c); err != nil {
			return err
		}
	}
	return nil
}

// ensureRow creates the user's row or loads the existing one with the
// channels an earlier request already delivered on.
func (e *Engine) ensureRow(ctx context.Context, req Request, user, firstChannel string) (*row, error) {
	n := Notification{
		TenantID:       req.TenantID,
		UserID:         user,
		NotificationID: req.NotificationID,
		SubjectRef:     req.SubjectRef,
		SubjectType:    req.SubjectType,
		Title:          req.Title,
		Body:           req.Body,
		Channel:        firstChannel,
		Status:         StatusPending,
		CreatedAtMs:    e.nowMs(),
	}
	id, created, err := e.cfg.Store.CreateNotification(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("notify: create row for user %q: %w", user, err)
	}
	r := &row{created: created, done: map[string]bool{}}
	if created {
		n.ID = id
		r.n = n
		return r, nil
	}
	if r.n, err = e.cfg.Store.GetNotification(ctx, req.TenantID, user, id); err != nil {
		return nil, fmt.Errorf("notify: load row %s: %w", id, err)
	}
	log, err := e.cfg.Store.ListDeliveries(ctx, req.TenantID, user, id)
	if err != nil {
		return nil, fmt.Errorf("notify: load delivery log of %s: %w", id, err)
	}
	for _, d := range log {
		if d.Status == StatusDelivered {
			r.done[d.Channel] = true
		}
	}
	return r, nil
}

// deliver sends the row on one channel and counts the outcome.
func (e *Engine) deliver(ctx context.Context, r *row, ch string, addrs map[string]string, c *Counts) error {
	if ch == ChannelInApp {
		return e.deliverInApp(ctx, r, addrs, c)
	}
	sender := e.cfg.Senders[ch]
	if sender == nil {
		c.Pending++
		return nil
	}
	dests, err := e.destinations(ctx, r.n, ch, addrs)
	if err != nil {
		return err
	}
	if len(dests) == 0 {
		c.Pending++
		return nil
	}
	var status string
	var lastErr error
	for _, d := range dests {
		s := sender
		if rt, ok := sender.(Router); ok {
			if s = rt.Route(d); s == nil {
				lastErr = Errorf(ErrInvalidDestination, 0, "no provider for this %s destination", ch)
				continue
			}
		}
		res, err := e.send(ctx, s, r.n, ch, d)
		if err != nil {
			lastErr = err
			continue
		}
		if status == "" || rank(res.Status) > rank(status) {
			status = res.Status
		}
	}
	if status == "" && lastErr != nil {
		c.Failed++
		if canMove(r.n.Status, StatusFailed) {
			// Upstream ignores a failure to record "failed"; so do we, but
			// we log it.
			if err := e.setStatus(ctx, r, StatusFailed); err != nil {
				e.cfg.Log.Warn("notify_status_write_failed", "id", r.n.ID, "status", StatusFailed, "error", err)
			}
		}
		return nil
	}
	c.Delivered++
	return e.advance(ctx, r, status)
}

// deliverInApp pushes the row to the user's own live sessions. An in_app
// address never redirects the event to someone else ([FIX]): an empty
// entry means "do not push" and counts pending, any other value means the
// recipient.
func (e *Engine) deliverInApp(ctx context.Context, r *row, addrs map[string]string, c *Counts) error {
	if e.cfg.Hub == nil {
		c.Pending++
		return nil
	}
	if a, ok := addrs[ChannelInApp]; ok && a == "" {
		c.Pending++
		return nil
	}
	start := time.Now()
	ev := Event{Kind: EventNotification, Notification: r.n}
	ev.Notification.Channel = ChannelInApp
	took := e.cfg.Hub.Push(r.n.TenantID, r.n.UserID, ev)
	status := StatusPending
	if took > 0 {
		status = StatusDelivered
	}
	e.observe(ChannelInApp, ChannelInApp, status, time.Since(start))
	e.record(ctx, Delivery{
		NotificationID: r.n.ID, TenantID: r.n.TenantID, UserID: r.n.UserID, Channel: ChannelInApp,
		Provider: ChannelInApp, Destination: fmt.Sprintf("%d live session(s)", took), Attempt: 1, Status: status, AtMs: e.nowMs(),
	})
	// The offline user's row stays pending but the call counts it
	// delivered, exactly as upstream does.
	c.Delivered++
	return e.advance(ctx, r, status)
}

// destinations resolves where channel ch goes for the row's user.
func (e *Engine) destinations(ctx context.Context, n Notification, ch string, addrs map[string]string) ([]Destination, error) {
	if a, ok := addrs[ch]; ok {
		// A present address goes to the provider even when empty: it fails
		// there without a network call and the channel counts failed, as
		// upstream counts it (contract §6: "an empty destination fails").
		return []Destination{{Value: a}}, nil
	}
	if !e.cfg.DeviceFallback || (ch != ChannelWebPush && ch != ChannelMobilePush) {
		return nil, nil
	}
	devices, err := e.cfg.Store.ListDevices(ctx, n.TenantID, n.UserID)
	if err != nil {
		return nil, fmt.Errorf("notify: list devices of %q: %w", n.UserID, err)
	}
	var out []Destination
	for _, d := range devices {
		web := d.DeviceType == DeviceBrowser
		if d.Token != "" && web == (ch == ChannelWebPush) {
			out = append(out, Destination{Value: d.Token, DeviceType: d.DeviceType})
		}
	}
	return out, nil
}

// send tries one destination, retrying retryable failures with doubling
// backoff, and logs every attempt.
func (e *Engine) send(ctx context.Context, s Sender, n Notification, ch string, d Destination) (Result, error) {
	m := Message{
		ID: n.ID, TenantID: n.TenantID, UserID: n.UserID, NotificationID: n.NotificationID, Channel: ch,
		Destination: d.Value, Title: n.Title, Body: n.Body, SubjectRef: n.SubjectRef, SubjectType: n.SubjectType,
	}
	start := time.Now()
	pause := e.cfg.RetryBackoff
	for attempt := 1; ; attempt++ {
		res, err := s.Send(ctx, m)
		entry := Delivery{
			NotificationID: n.ID, TenantID: n.TenantID, UserID: n.UserID, Channel: ch, Provider: s.Provider(),
			Destination: Redact(ch, d.Value), Attempt: attempt, ReceiptID: res.ReceiptID, AtMs: e.nowMs(),
		}
		switch {
		case err == nil:
			entry.Status = StatusDelivered
		case errors.Is(err, ErrDestinationGone):
			entry.Status, entry.Error = "gone", shortError(err)
		default:
			entry.Status, entry.Error = StatusFailed, shortError(err)
		}
		e.record(ctx, entry)
		if err == nil || !Retryable(err) || attempt >= e.cfg.SendAttempts {
			e.observe(ch, s.Provider(), entry.Status, time.Since(start))
			if errors.Is(err, ErrDestinationGone) && d.DeviceType != "" {
				e.purge(ctx, n, d)
			}
			if err != nil {
				e.cfg.Log.Warn("notify_send_failed", "channel", ch, "provider", s.Provider(), "id", n.ID,
					"destination", entry.Destination, "attempts", attempt, "error", entry.Error)
			}
			if res.Status == "" && err == nil {
				res.Status = StatusDelivered
			}
			return res, err
		}
		select {
		case <-ctx.Done():
			e.observe(ch, s.Provider(), StatusFailed, time.Since(start))
			return Result{}, fmt.Errorf("notify: %s retry abandoned: %w", ch, ctx.Err())
		case <-time.After(pause):
		}
		pause *= 2
	}
}

// purge forgets a registered device whose token the provider says is gone,
// so it is not tried again on every notification.
func (e *Engine) purge(ctx context.Context, n Notification, d Destination) {
	if err := e.cfg.Store.DeleteDevice(ctx, n.TenantID, n.UserID, d.DeviceType, d.Value); err != nil {
		e.cfg.Log.Warn("notify_device_purge_failed", "device_type", d.DeviceType, "error", err)
		return
	}
	e.cfg.Log.Info("notify_device_purged", "device_type", d.DeviceType, "user", n.UserID)
}

func (e *Engine) record(ctx context.Context, d Delivery) {
	if err := e.cfg.Store.RecordDelivery(ctx, d); err != nil {
		e.cfg.Log.Warn("notify_delivery_log_failed", "id", d.NotificationID, "channel", d.Channel, "error", err)
	}
}

func (e *Engine) observe(ch, provider, status string, d time.Duration) {
	if e.cfg.Observer != nil {
		e.cfg.Observer.SendObserved(ch, provider, status, d)
	}
}

// advance moves the row to status when that is forward; a store failure
// here fails the call.
func (e *Engine) advance(ctx context.Context, r *row, status string) error {
	if !canMove(r.n.Status, status) {
		return nil
	}
	if err := e.setStatus(ctx, r, status); err != nil {
		return fmt.Errorf("notify: set %s on %s: %w", status, r.n.ID, err)
	}
	return nil
}

func (e *Engine) setStatus(ctx context.Context, r *row, status string) error {
	at := e.nowMs()
	if err := e.cfg.Store.UpdateStatus(ctx, r.n.TenantID, r.n.UserID, r.n.ID, status, at); err != nil {
		return err
	}
	r.n.Status = status
	switch status {
	case StatusDelivered:
		r.n.DeliveredAtMs = at
	case StatusAcked:
		r.n.AckAtMs = at
	case StatusRead:
		r.n.ReadAtMs = at
	}
	return nil
}

// rank orders the forward-only statuses; failed and unknown are below
// pending's successors.
func rank(status string) int {
	switch status {
	case StatusDelivered:
		return 1
	case StatusAcked:
		return 2
	case StatusRead:
		return 3
	}
	return 0
}

// canMove says whether a row at from may be set to to: pending →
// delivered → acked → read only forward, and failed replaces only pending
// or failed (contract §4 rule 6 [FIX]).
func canMove(from, to string) bool {
	if to == StatusFailed {
		return from == StatusPending || from == StatusFailed
	}
	if to == StatusPending || to == from {
		return false
	}
	return rank(to) > rank(from)
}

// shortError keeps a provider error readable in the delivery log.
func shortError(err error) string {
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
