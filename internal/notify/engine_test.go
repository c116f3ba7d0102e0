package notify_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/memstore"
)

// fakeSender answers from a script of errors (nil = success) and records
// what it was asked to send.
type fakeSender struct {
	name   string
	mu     sync.Mutex
	script []error
	status string
	sent   []notify.Message
}

func (f *fakeSender) Provider() string { return f.name }

func (f *fakeSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, m)
	var err error
	if len(f.script) > 0 {
		err, f.script = f.script[0], f.script[1:]
	}
	if err != nil {
		return notify.Result{}, err
	}
	return notify.Result{Status: f.status, ReceiptID: "r-" + m.Destination}, nil
}

func (f *fakeSender) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sent)
}

type fixture struct {
	engine *notify.Engine
	store  notify.Store
	hub    *notify.Hub
}

func newFixture(t *testing.T, senders map[string]notify.Sender, fallback bool) *fixture {
	t.Helper()
	st := memstore.New()
	hub := notify.NewHub(notify.HubConfig{})
	e, err := notify.NewEngine(notify.EngineConfig{Store: st, Hub: hub, Senders: senders, DeviceFallback: fallback, RetryBackoff: time.Microsecond, SendAttempts: 3})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{engine: e, store: st, hub: hub}
}

func (f *fixture) notify(t *testing.T, req notify.Request) notify.Counts {
	t.Helper()
	c, err := f.engine.Notify(context.Background(), req)
	if err != nil {
		t.Fatalf("Notify: %v", err)
	}
	return c
}

func (f *fixture) row(t *testing.T, tenant, user string) notify.Notification {
	t.Helper()
	p, err := f.store.ListNotifications(context.Background(), notify.Query{TenantID: tenant, UserID: user, Limit: 10})
	if err != nil || len(p.Items) != 1 {
		t.Fatalf("rows of %s/%s: %v %v", tenant, user, p.Items, err)
	}
	return p.Items[0]
}

func (f *fixture) log(t *testing.T, n notify.Notification) []notify.Delivery {
	t.Helper()
	d, err := f.store.ListDeliveries(context.Background(), n.TenantID, n.UserID, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func smsTo(user, number string) map[string]map[string]string {
	return map[string]map[string]string{user: {notify.ChannelSMS: number}}
}

func TestEngineRetriesTemporaryFailures(t *testing.T) {
	sms := &fakeSender{name: "twilio", script: []error{
		notify.Errorf(notify.ErrTemporary, 503, "busy"), notify.Errorf(notify.ErrTemporary, 429, "slow down"), nil,
	}}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelSMS: sms}, false)
	c := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"}, Channels: []string{notify.ChannelSMS}, Addresses: smsTo("u", "+15550001111")})
	if c != (notify.Counts{Delivered: 1}) || sms.calls() != 3 {
		t.Fatalf("counts %+v after %d calls, want delivered after 3", c, sms.calls())
	}
	row := f.row(t, "t", "u")
	if row.Status != notify.StatusDelivered || row.DeliveredAtMs == 0 {
		t.Fatalf("row %+v", row)
	}
	log := f.log(t, row)
	if len(log) != 3 || log[0].Status != notify.StatusFailed || log[2].Status != notify.StatusDelivered || log[2].Attempt != 3 ||
		log[2].ReceiptID != "r-+15550001111" || log[2].Destination != "…1111" || log[2].Provider != "twilio" {
		t.Fatalf("delivery log %+v", log)
	}
}

func TestEngineFinalFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		calls  int
		logged string
	}{
		{"rejected", notify.Errorf(notify.ErrRejected, 400, "bad"), 1, notify.StatusFailed},
		{"invalid destination", notify.Errorf(notify.ErrInvalidDestination, 0, "not a number"), 1, notify.StatusFailed},
		{"gone", notify.Errorf(notify.ErrDestinationGone, 410, "unsubscribed"), 1, "gone"},
		{"temporary until the budget ends", notify.Errorf(notify.ErrTemporary, 500, "down"), 3, notify.StatusFailed},
		{"unclassified", errors.New("connection reset"), 3, notify.StatusFailed},
	} {
		t.Run(c.name, func(t *testing.T) {
			sms := &fakeSender{name: "twilio", script: []error{c.err, c.err, c.err}}
			f := newFixture(t, map[string]notify.Sender{notify.ChannelSMS: sms}, false)
			got := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"}, Channels: []string{notify.ChannelSMS}, Addresses: smsTo("u", "+15550001111")})
			if got != (notify.Counts{Failed: 1}) || sms.calls() != c.calls {
				t.Fatalf("counts %+v after %d calls, want failed after %d", got, sms.calls(), c.calls)
			}
			row := f.row(t, "t", "u")
			if row.Status != notify.StatusFailed {
				t.Fatalf("row status %s", row.Status)
			}
			if log := f.log(t, row); len(log) != c.calls || log[len(log)-1].Status != c.logged || log[0].Error == "" {
				t.Fatalf("delivery log %+v", log)
			}
		})
	}
}

// A failure on one channel never pulls back a row another channel
// delivered; a later success moves a failed row forward.
func TestEngineFailedOnlyReplacesPendingOrFailed(t *testing.T) {
	sms := &fakeSender{name: "twilio", script: []error{notify.Errorf(notify.ErrRejected, 400, "no"), notify.Errorf(notify.ErrRejected, 400, "no")}}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelSMS: sms}, false)
	ses, err := f.hub.Open("t", "u", notify.DeviceBrowser)
	if err != nil {
		t.Fatal(err)
	}
	c := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"},
		Channels: []string{notify.ChannelInApp, notify.ChannelSMS}, Addresses: smsTo("u", "+15550001111")})
	if c != (notify.Counts{Delivered: 1, Failed: 1}) {
		t.Fatalf("counts %+v", c)
	}
	if row := f.row(t, "t", "u"); row.Status != notify.StatusDelivered {
		t.Fatalf("sms failure overwrote delivered: %s", row.Status)
	}
	f.hub.Close(ses)

	c = f.notify(t, notify.Request{TenantID: "t", NotificationID: "m", UserIDs: []string{"v"},
		Channels: []string{notify.ChannelSMS}, Addresses: smsTo("v", "+15550001111")})
	if c.Failed != 1 || f.row(t, "t", "v").Status != notify.StatusFailed {
		t.Fatalf("first attempt: %+v", c)
	}
	// The producer retries; the provider now accepts.
	c = f.notify(t, notify.Request{TenantID: "t", NotificationID: "m", UserIDs: []string{"v"},
		Channels: []string{notify.ChannelSMS}, Addresses: smsTo("v", "+15550001111")})
	if c.Delivered != 1 || f.row(t, "t", "v").Status != notify.StatusDelivered {
		t.Fatalf("retry: %+v, row %s", c, f.row(t, "t", "v").Status)
	}
}

// A retried request does not send again on a channel that already
// delivered, and still counts it delivered.
func TestEngineDoesNotResendDeliveredChannels(t *testing.T) {
	sms := &fakeSender{name: "twilio"}
	email := &fakeSender{name: "smtp", script: []error{notify.Errorf(notify.ErrRejected, 0, "mailbox full")}}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelSMS: sms, notify.ChannelEmail: email}, false)
	req := notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"}, Channels: []string{notify.ChannelSMS, notify.ChannelEmail},
		Addresses: map[string]map[string]string{"u": {notify.ChannelSMS: "+15550001111", notify.ChannelEmail: "u@example.com"}}}
	if c := f.notify(t, req); c != (notify.Counts{Delivered: 1, Failed: 1}) {
		t.Fatalf("first: %+v", c)
	}
	if c := f.notify(t, req); c != (notify.Counts{Delivered: 2}) {
		t.Fatalf("retry: %+v", c)
	}
	if sms.calls() != 1 || email.calls() != 2 {
		t.Fatalf("sms sent %d times (want 1), email %d (want 2)", sms.calls(), email.calls())
	}
}

// A provider-reported status is kept (here: acked), and only forward.
func TestEngineKeepsReportedStatus(t *testing.T) {
	push := &fakeSender{name: "fcm", status: notify.StatusAcked}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelMobilePush: push}, false)
	c := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"}, Channels: []string{notify.ChannelMobilePush},
		Addresses: map[string]map[string]string{"u": {notify.ChannelMobilePush: "tok"}}})
	if c.Delivered != 1 {
		t.Fatalf("counts %+v", c)
	}
	if row := f.row(t, "t", "u"); row.Status != notify.StatusAcked || row.AckAtMs == 0 {
		t.Fatalf("row %+v", row)
	}
}

type router struct{ android, ios notify.Sender }

func (r router) Provider() string { return "router" }
func (r router) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	return notify.Result{}, errors.New("router must not be called directly")
}
func (r router) Route(d notify.Destination) notify.Sender {
	if d.DeviceType == notify.DeviceIOS {
		return r.ios
	}
	return r.android
}

// With the fallback on, push goes to registered devices when the request
// gives no address; with it off such a channel stays pending.
func TestEngineDeviceFallback(t *testing.T) {
	for _, on := range []bool{false, true} {
		fcm, apns, web := &fakeSender{name: "fcm"}, &fakeSender{name: "apns"}, &fakeSender{name: "vapid"}
		f := newFixture(t, map[string]notify.Sender{notify.ChannelMobilePush: router{fcm, apns}, notify.ChannelWebPush: web}, on)
		ctx := context.Background()
		for dt, tok := range map[string]string{notify.DeviceAndroid: "fcm-token", notify.DeviceIOS: "apns-token", notify.DeviceBrowser: `{"endpoint":"https://push.example/x"}`} {
			if _, err := f.engine.RegisterDevice(ctx, "t", "u", dt, tok); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.engine.RegisterDevice(ctx, "other", "u", notify.DeviceAndroid, "foreign"); err != nil {
			t.Fatal(err)
		}
		c := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u"}, Channels: []string{notify.ChannelMobilePush, notify.ChannelWebPush}})
		if !on {
			if c != (notify.Counts{Pending: 2}) || fcm.calls()+apns.calls()+web.calls() != 0 {
				t.Fatalf("fallback off: %+v, %d sends", c, fcm.calls()+apns.calls()+web.calls())
			}
			continue
		}
		if c != (notify.Counts{Delivered: 2}) || fcm.calls() != 1 || apns.calls() != 1 || web.calls() != 1 {
			t.Fatalf("fallback on: %+v, fcm %d apns %d web %d", c, fcm.calls(), apns.calls(), web.calls())
		}
		if fcm.sent[0].Destination != "fcm-token" || apns.sent[0].Destination != "apns-token" {
			t.Fatalf("wrong tokens: %q %q", fcm.sent[0].Destination, apns.sent[0].Destination)
		}
	}
}

// A full session drops events instead of blocking the sender; the other
// sessions still get theirs.
func TestHubDropsForFullSessions(t *testing.T) {
	var dropped int
	var mu sync.Mutex
	hub := notify.NewHub(notify.HubConfig{QueueSize: 2, OnDrop: func(*notify.Session, notify.EventKind) { mu.Lock(); dropped++; mu.Unlock() }})
	slow, _ := hub.Open("t", "u", notify.DeviceBrowser)
	fast, _ := hub.Open("t", "u", notify.DeviceIOS)
	took := 0
	for range 5 {
		took += hub.Push("t", "u", notify.Event{Kind: notify.EventNotification})
		<-fast.Events() // the fast client keeps up
	}
	if took != 2+5 || dropped != 3 || len(slow.Events()) != 2 {
		t.Fatalf("took %d (want 7), dropped %d (want 3), slow queue %d", took, dropped, len(slow.Events()))
	}
	if n := hub.Push("t", "other", notify.Event{}); n != 0 {
		t.Fatalf("pushed to %d sessions of a user with none", n)
	}
	hub.Close(slow)
	hub.Close(slow) // twice is harmless
	if hub.Len() != 1 {
		t.Fatalf("%d sessions left", hub.Len())
	}
}

// A token the provider reports gone is purged from the registered devices,
// so the next notification does not try it again.
func TestEnginePurgesGoneDevices(t *testing.T) {
	fcm := &fakeSender{name: "fcm", script: []error{notify.Errorf(notify.ErrDestinationGone, 404, "UNREGISTERED")}}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelMobilePush: fcm}, true)
	ctx := context.Background()
	if _, err := f.engine.RegisterDevice(ctx, "t", "u", notify.DeviceAndroid, "dead-token"); err != nil {
		t.Fatal(err)
	}
	req := notify.Request{TenantID: "t", NotificationID: "n1", UserIDs: []string{"u"}, Channels: []string{notify.ChannelMobilePush}}
	if c := f.notify(t, req); c != (notify.Counts{Failed: 1}) {
		t.Fatalf("counts %+v", c)
	}
	if ds, _ := f.store.ListDevices(ctx, "t", "u"); len(ds) != 0 {
		t.Fatalf("gone device kept: %+v", ds)
	}
	req.NotificationID = "n2"
	if c := f.notify(t, req); c != (notify.Counts{Pending: 1}) || fcm.calls() != 1 {
		t.Fatalf("after purge: %+v, %d sends", c, fcm.calls())
	}
}

func TestMobileRouter(t *testing.T) {
	fcm, apns := &fakeSender{name: "fcm"}, &fakeSender{name: "apns"}
	both := notify.MobileRouter{FCM: fcm, APNs: apns}
	hexTok := "a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4a1b2c3d4"
	for _, c := range []struct {
		d    notify.Destination
		want notify.Sender
	}{
		{notify.Destination{Value: hexTok}, apns},
		{notify.Destination{Value: "dGVzdA:APA91bH-fcm-token"}, fcm},
		{notify.Destination{Value: hexTok, DeviceType: notify.DeviceAndroid}, fcm},
		{notify.Destination{Value: "x", DeviceType: notify.DeviceIOS}, apns},
	} {
		if got := both.Route(c.d); got != c.want {
			t.Errorf("Route(%+v) = %v", c.d, got)
		}
	}
	if got := (notify.MobileRouter{FCM: fcm}).Route(notify.Destination{Value: hexTok}); got != nil {
		t.Errorf("an APNs token routed to %v with no APNs provider", got)
	}
	if _, err := (notify.MobileRouter{}).Send(context.Background(), notify.Message{Destination: "x"}); !errors.Is(err, notify.ErrInvalidDestination) {
		t.Errorf("no providers: %v", err)
	}
}

// A present but empty address is handed to the provider, which refuses it
// without a call: the channel counts failed, not pending (as upstream).
func TestEngineEmptyAddressFails(t *testing.T) {
	email := &fakeSender{name: "smtp", script: []error{notify.Errorf(notify.ErrInvalidDestination, 0, "not an email address")}}
	f := newFixture(t, map[string]notify.Sender{notify.ChannelEmail: email}, false)
	c := f.notify(t, notify.Request{TenantID: "t", NotificationID: "n", UserIDs: []string{"u", "v"}, Channels: []string{notify.ChannelEmail},
		Addresses: map[string]map[string]string{"u": {notify.ChannelEmail: ""}}})
	if c != (notify.Counts{Failed: 1, Pending: 1}) {
		t.Fatalf("counts %+v, want failed 1 (empty address) and pending 1 (no address)", c)
	}
	if email.calls() != 1 || email.sent[0].Destination != "" {
		t.Fatalf("provider calls %d %+v", email.calls(), email.sent)
	}
}
