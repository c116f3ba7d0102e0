package notifyrpc_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/internal/notify"
)

const (
	inApp  = pb.DeliveryChannel_DELIVERY_CHANNEL_IN_APP
	email  = pb.DeliveryChannel_DELIVERY_CHANNEL_EMAIL
	sms    = pb.DeliveryChannel_DELIVERY_CHANNEL_SMS
	status = pb.DeliveryStatus_DELIVERY_STATUS_PENDING
)

func TestNotifyValidation(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		cases := []struct {
			req  *pb.NotifyRequest
			want string
		}{
			{&pb.NotifyRequest{NotificationId: "n", UserIds: []string{"u"}}, "tenant_id is required"},
			{&pb.NotifyRequest{TenantId: "  ", NotificationId: "n", UserIds: []string{"u"}}, "tenant_id is required"},
			{&pb.NotifyRequest{TenantId: "t", NotificationId: " ", UserIds: []string{"u"}}, "notification_id is required"},
			{&pb.NotifyRequest{TenantId: "t", NotificationId: "n"}, "user_ids must be non-empty"},
			{&pb.NotifyRequest{TenantId: "t", NotificationId: "n", UserIds: []string{"u", ""}}, "user_ids must not contain blank ids"},
		}
		for _, c := range cases {
			_, err := e.internal.Notify(ctxT(t), internalReq(c.req))
			wantCode(t, c.want, err, connect.CodeInvalidArgument)
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("message %q lacks %q", err, c.want)
			}
		}
		if p := inbox(t, e, "u", "t", &pb.GetNotificationsRequest{}); len(p.Notifications) != 0 {
			t.Fatalf("a rejected request stored rows: %v", p.Notifications)
		}
	})
}

func TestAuthentication(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		ok := &pb.NotifyRequest{TenantId: "t", NotificationId: "n", UserIds: []string{"u"}}
		for _, tok := range []string{"", "wrong", internalToken + "x"} {
			r := connect.NewRequest(ok)
			if tok != "" {
				r.Header().Set("X-Notify-Internal-Token", tok)
			}
			r.Header().Set("Authorization", "Bearer dev:u:t") // ignored on the internal port
			_, err := e.internal.Notify(ctxT(t), r)
			wantCode(t, "Notify with internal token "+strconv.Quote(tok), err, connect.CodeUnauthenticated)
		}
		for _, h := range []string{"", "dev:u:t", "Basic dev:u:t", "Bearer ", "Bearerdev:u:t", "Bearer dev:u"} {
			r := connect.NewRequest(&pb.GetNotificationsRequest{})
			if h != "" {
				r.Header().Set("Authorization", h)
			}
			_, err := e.client.GetNotifications(ctxT(t), r)
			wantCode(t, "GetNotifications with "+strconv.Quote(h), err, connect.CodeUnauthenticated)

			sr := connect.NewRequest(&pb.StreamEventsRequest{})
			if h != "" {
				sr.Header().Set("Authorization", h)
			}
			st, err := e.client.StreamEvents(ctxT(t), sr)
			if err == nil {
				for st.Receive() {
					t.Fatalf("unauthenticated stream got an event: %v", st.Msg())
				}
				err = st.Err()
			}
			wantCode(t, "StreamEvents with "+strconv.Quote(h), err, connect.CodeUnauthenticated)
		}
		for _, call := range []func(*connect.Request[pb.AckNotificationRequest]) error{
			func(r *connect.Request[pb.AckNotificationRequest]) error {
				_, err := e.client.AckNotification(ctxT(t), r)
				return err
			},
		} {
			wantCode(t, "AckNotification without token", call(connect.NewRequest(&pb.AckNotificationRequest{Id: "x"})), connect.CodeUnauthenticated)
		}
		_, err := e.client.AckDataChange(ctxT(t), connect.NewRequest(&pb.AckDataChangeRequest{IdempotencyKey: "k", SessionId: "s"}))
		wantCode(t, "AckDataChange without token", err, connect.CodeUnauthenticated)
		_, err = e.client.RegisterPushToken(ctxT(t), connect.NewRequest(&pb.RegisterPushTokenRequest{DeviceType: pb.DeviceType_DEVICE_TYPE_IOS, Token: "x"}))
		wantCode(t, "RegisterPushToken without token", err, connect.CodeUnauthenticated)
		// "bearer" is case-insensitive and the token is trimmed.
		r := connect.NewRequest(&pb.GetNotificationsRequest{})
		r.Header().Set("Authorization", "bEaReR   dev:u:t  ")
		if _, err := e.client.GetNotifications(ctxT(t), r); err != nil {
			t.Fatalf("mixed-case bearer: %v", err)
		}
	})
}

// An offline user's row stays pending, but the call counts it delivered
// (upstream's own server test asserts this).
func TestNotifyOfflineUserCountsDelivered(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}, Title: "Hi", Body: "there"})
		if got.Delivered != 1 || got.Pending != 0 || got.Failed != 0 {
			t.Fatalf("counts %v, want 1/0/0", got)
		}
		p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{})
		if len(p.Notifications) != 1 || p.UnreadCount != 1 {
			t.Fatalf("inbox %v", p)
		}
		n := p.Notifications[0]
		if n.Status != status || n.Channel != inApp || n.Title != "Hi" || n.Body != "there" || n.NotificationId != "n1" || n.DeliveredAtMs != 0 || n.CreatedAtMs <= 0 {
			t.Fatalf("row %v", n)
		}
	})
}

// With a live stream the event arrives, is the row before the status
// update, and the row becomes delivered.
func TestNotifyLiveDelivery(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		ls := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		other := openStream(t, e, "u1", "beta", pb.DeviceType_DEVICE_TYPE_ANDROID) // same user id, other tenant
		got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"},
			SubjectRef: "msg:1", SubjectType: "message", Title: "T", Body: "B"})
		if got.Delivered != 1 || got.Pending != 0 {
			t.Fatalf("counts %v", got)
		}
		n := ls.next(t).GetNotification().GetNotification()
		if n.GetId() == "" || n.Status != status || n.Channel != inApp || n.DeliveredAtMs != 0 || n.CreatedAtMs <= 0 ||
			n.NotificationId != "n1" || n.SubjectRef != "msg:1" || n.SubjectType != "message" || n.Title != "T" || n.Body != "B" {
			t.Fatalf("live event %v", n)
		}
		row := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}).Notifications[0]
		if row.Status != pb.DeliveryStatus_DELIVERY_STATUS_DELIVERED || row.DeliveredAtMs <= 0 || row.Id != n.Id {
			t.Fatalf("row after live delivery %v", row)
		}
		// The other tenant's same-named user saw nothing: the next event
		// it gets is its own.
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "beta", NotificationId: "fence", UserIds: []string{"u1"}})
		other.nextIs(t, "fence")
	})
}

// An in_app address never redirects the event to another user ([FIX]);
// an empty entry counts pending with no push.
func TestInAppAddressCannotRedirect(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		victim := openStream(t, e, "u2", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		self := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_BROWSER)
		got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"},
			Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"in_app": "u2"}}}})
		if got.Delivered != 1 {
			t.Fatalf("counts %v", got)
		}
		self.nextIs(t, "n1")
		got = notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n2", UserIds: []string{"u1"},
			Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"in_app": ""}}}})
		if got.Delivered != 0 || got.Pending != 1 {
			t.Fatalf("empty in_app entry: counts %v, want pending 1", got)
		}
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "fence", UserIds: []string{"u1", "u2"}})
		self.nextIs(t, "fence") // n2 was never pushed
		victim.nextIs(t, "fence")
	})
}

// Channels without a provider count pending; unknown and unspecified
// numbers are dropped; one row per user whatever the channels.
func TestNotifyChannelsWithoutProviders(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1", "u2"},
			Channels:  []pb.DeliveryChannel{inApp, email, sms, pb.DeliveryChannel(99), pb.DeliveryChannel_DELIVERY_CHANNEL_UNSPECIFIED},
			Addresses: map[string]*pb.ChannelAddresses{"u1": {ByChannel: map[string]string{"email": "a@example.com", "carrier_pigeon": "x"}}}})
		if got.Delivered != 2 || got.Pending != 4 || got.Failed != 0 {
			t.Fatalf("counts %v, want 2/4/0", got)
		}
		for _, u := range []string{"u1", "u2"} {
			if p := inbox(t, e, u, "acme", &pb.GetNotificationsRequest{}); len(p.Notifications) != 1 {
				t.Fatalf("%s has %d rows, want 1", u, len(p.Notifications))
			}
		}
		// Only unknown channels: every active channel (in_app) is used.
		got = notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n2", UserIds: []string{"u1"}, Channels: []pb.DeliveryChannel{42}})
		if got.Delivered != 1 || got.Pending != 0 {
			t.Fatalf("unknown-only channels: counts %v", got)
		}
	})
}

// With live connections off there is no in-app provider: the default
// channel set is empty and nothing is stored; StreamEvents authenticates
// first, then answers unimplemented.
func TestLiveOff(t *testing.T) {
	each(t, envOptions{liveOff: true}, func(t *testing.T, e *env) {
		got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}})
		if got.Delivered+got.Pending+got.Failed != 0 {
			t.Fatalf("counts %v, want 0/0/0", got)
		}
		if p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}); len(p.Notifications) != 0 {
			t.Fatalf("rows stored with no channel: %v", p.Notifications)
		}
		got = notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n2", UserIds: []string{"u1"}, Channels: []pb.DeliveryChannel{inApp}})
		if got.Pending != 1 {
			t.Fatalf("in_app asked with live off: counts %v, want pending 1", got)
		}
		for _, c := range []struct {
			auth string
			code connect.Code
		}{{"Bearer nope", connect.CodeUnauthenticated}, {"Bearer dev:u1:acme", connect.CodeUnimplemented}} {
			r := connect.NewRequest(&pb.StreamEventsRequest{})
			r.Header().Set("Authorization", c.auth)
			st, err := e.client.StreamEvents(ctxT(t), r)
			if err == nil {
				for st.Receive() {
					t.Fatal("stream with live off sent an event")
				}
				err = st.Err()
			}
			wantCode(t, "StreamEvents "+c.auth, err, c.code)
		}
		_, err := e.client.AckDataChange(ctxT(t), as("u1", "acme", &pb.AckDataChangeRequest{IdempotencyKey: "k", SessionId: "s"}))
		if err != nil {
			t.Fatalf("AckDataChange with live off: %v", err)
		}
	})
}

// The same notification id is one row; statuses only move forward, so a
// re-sent notification never pulls a read row back.
func TestNotifyIdempotentAndForwardOnly(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		req := &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1", "u1"}, Title: "first"}
		if got := notifyOK(t, e, req); got.Delivered != 1 {
			t.Fatalf("duplicate user ids: counts %v, want delivered 1", got)
		}
		row := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}).Notifications[0]
		if _, err := e.client.AckNotification(ctxT(t), as("u1", "acme", &pb.AckNotificationRequest{Id: row.Id})); err != nil {
			t.Fatal(err)
		}
		ls := openStream(t, e, "u1", "acme", pb.DeviceType_DEVICE_TYPE_IOS)
		if got := notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1"}, Title: "second"}); got.Delivered != 1 {
			t.Fatalf("retry counts %v", got)
		}
		p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{})
		if len(p.Notifications) != 1 || p.Notifications[0].Status != pb.DeliveryStatus_DELIVERY_STATUS_READ || p.Notifications[0].Title != "first" || p.UnreadCount != 0 {
			t.Fatalf("after retry: %v", p)
		}
		// The retry was pushed live again (the first push found no
		// stream), carrying the stored row.
		if n := ls.next(t).GetNotification().GetNotification(); n.Id != row.Id || n.Title != "first" {
			t.Fatalf("retry pushed %v", n)
		}
	})
}

func TestGetNotificationsPagingAndCursor(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		for i := range 105 {
			notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: fmt.Sprint("n", i), UserIds: []string{"u1"}})
		}
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "other", UserIds: []string{"u2"}})
		if p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}); len(p.Notifications) != 20 || p.NextCursor == "" || p.UnreadCount != 105 {
			t.Fatalf("default page: %d rows, cursor %q, unread %d", len(p.Notifications), p.NextCursor, p.UnreadCount)
		}
		if p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{Limit: 1000}); len(p.Notifications) != 100 {
			t.Fatalf("limit 1000 gave %d rows, want 100", len(p.Notifications))
		}
		if p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{Limit: -3}); len(p.Notifications) != 20 {
			t.Fatalf("limit -3 gave %d rows, want 20", len(p.Notifications))
		}
		// Following next_cursor: strictly older rows, newest first. Ties on
		// created_at_ms may be skipped at a boundary (contract), so check
		// order and bounds rather than a total.
		seen := map[string]bool{}
		cursor := ""
		for range 200 {
			p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{Cursor: cursor, Limit: 7})
			for i, n := range p.Notifications {
				if seen[n.Id] {
					t.Fatalf("row %s returned twice", n.Id)
				}
				seen[n.Id] = true
				if cursor != "" {
					c, _ := strconv.ParseInt(cursor, 10, 64)
					if n.CreatedAtMs >= c {
						t.Fatalf("row at %d on the page after cursor %d", n.CreatedAtMs, c)
					}
				}
				if i > 0 && n.CreatedAtMs > p.Notifications[i-1].CreatedAtMs {
					t.Fatal("page not newest first")
				}
			}
			if p.NextCursor == "" {
				break
			}
			if want := strconv.FormatInt(p.Notifications[len(p.Notifications)-1].CreatedAtMs, 10); p.NextCursor != want {
				t.Fatalf("next_cursor %q, want the last row's created_at_ms %s", p.NextCursor, want)
			}
			cursor = p.NextCursor
		}
		if len(seen) == 0 || len(seen) > 105 {
			t.Fatalf("walked %d rows", len(seen))
		}
		for _, bad := range []string{"abc", "0", "-5", "1.5", " 5", "9223372036854775808"} {
			_, err := e.client.GetNotifications(ctxT(t), as("u1", "acme", &pb.GetNotificationsRequest{Cursor: bad}))
			wantCode(t, "cursor "+strconv.Quote(bad), err, connect.CodeInvalidArgument)
		}
		if _, err := e.client.GetNotifications(ctxT(t), as("u1", "acme", &pb.GetNotificationsRequest{Cursor: "+9000000000000"})); err != nil {
			t.Fatalf("cursor with a leading +: %v", err)
		}
	})
}

func TestAckNotification(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "acme", NotificationId: "n1", UserIds: []string{"u1", "u2"}})
		notifyOK(t, e, &pb.NotifyRequest{TenantId: "beta", NotificationId: "n1", UserIds: []string{"u1"}})
		mine := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}).Notifications[0]
		theirs := inbox(t, e, "u2", "acme", &pb.GetNotificationsRequest{}).Notifications[0]
		otherTenant := inbox(t, e, "u1", "beta", &pb.GetNotificationsRequest{}).Notifications[0]
		for _, blank := range []string{"", "   "} {
			_, err := e.client.AckNotification(ctxT(t), as("u1", "acme", &pb.AckNotificationRequest{Id: blank}))
			wantCode(t, "blank id", err, connect.CodeInvalidArgument)
		}
		for _, id := range []string{theirs.Id, otherTenant.Id, "not-a-uuid", "00000000-0000-0000-0000-000000000000", "'; DROP TABLE x; --"} {
			_, err := e.client.AckNotification(ctxT(t), as("u1", "acme", &pb.AckNotificationRequest{Id: id}))
			wantCode(t, "ack of "+id, err, connect.CodeNotFound)
		}
		for range 2 { // repeats succeed
			if _, err := e.client.AckNotification(ctxT(t), as("u1", "acme", &pb.AckNotificationRequest{Id: "  " + mine.Id + " "})); err != nil {
				t.Fatal(err)
			}
		}
		p := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{UnreadOnly: true})
		if len(p.Notifications) != 0 || p.UnreadCount != 0 {
			t.Fatalf("after ack: %v", p)
		}
		row := inbox(t, e, "u1", "acme", &pb.GetNotificationsRequest{}).Notifications[0]
		if row.Status != pb.DeliveryStatus_DELIVERY_STATUS_READ || row.ReadAtMs <= 0 {
			t.Fatalf("acked row %v", row)
		}
		for _, who := range [][2]string{{"u2", "acme"}, {"u1", "beta"}} {
			if p := inbox(t, e, who[0], who[1], &pb.GetNotificationsRequest{}); p.UnreadCount != 1 {
				t.Fatalf("%v lost its unread row: %v", who, p)
			}
		}
	})
}

func TestRegisterPushToken(t *testing.T) {
	each(t, envOptions{}, func(t *testing.T, e *env) {
		for _, c := range []*pb.RegisterPushTokenRequest{
			{DeviceType: pb.DeviceType_DEVICE_TYPE_UNSPECIFIED, Token: "t"},
			{DeviceType: pb.DeviceType(9), Token: "t"},
			{DeviceType: pb.DeviceType_DEVICE_TYPE_ANDROID, Token: "  "},
			{DeviceType: pb.DeviceType_DEVICE_TYPE_ANDROID, Token: strings.Repeat("x", notify.MaxTokenBytes+1)},
		} {
			_, err := e.client.RegisterPushToken(ctxT(t), as("u1", "acme", c))
			wantCode(t, fmt.Sprintf("register %v/%d bytes", c.DeviceType, len(c.Token)), err, connect.CodeInvalidArgument)
		}
		for _, tok := range []string{" first ", "second"} {
			if _, err := e.client.RegisterPushToken(ctxT(t), as("u1", "acme", &pb.RegisterPushTokenRequest{DeviceType: pb.DeviceType_DEVICE_TYPE_ANDROID, Token: tok})); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := e.client.RegisterPushToken(ctxT(t), as("u1", "acme", &pb.RegisterPushTokenRequest{DeviceType: pb.DeviceType_DEVICE_TYPE_BROWSER, Token: "{}"})); err != nil {
			t.Fatal(err)
		}
		ds, err := e.store.ListDevices(ctxT(t), "acme", "u1")
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 2 || ds[0].DeviceType != "android" || ds[0].Token != "second" || ds[0].CreatedAtMs <= 0 || ds[1].DeviceType != "browser" {
			t.Fatalf("devices %+v", ds)
		}
		if other, _ := e.store.ListDevices(ctxT(t), "beta", "u1"); len(other) != 0 {
			t.Fatalf("another tenant sees devices: %+v", other)
		}
	})
}

// A store outage answers internal without details; a panic answers
// internal "internal server error" and the server keeps serving.
func TestStoreFailuresAndPanics(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			var mode string
			e := newEnv(t, "memory", p, envOptions{wrapStore: func(s notify.Store) notify.Store { return &faultyStore{Store: s, mode: &mode} }})
			mode = "error"
			_, err := e.internal.Notify(ctxT(t), internalReq(&pb.NotifyRequest{TenantId: "t", NotificationId: "n", UserIds: []string{"u"}}))
			wantCode(t, "Notify with the store down", err, connect.CodeInternal)
			if strings.Contains(err.Error(), "disk on fire") {
				t.Fatalf("store detail leaked: %v", err)
			}
			_, err = e.client.GetNotifications(ctxT(t), as("u", "t", &pb.GetNotificationsRequest{}))
			wantCode(t, "GetNotifications with the store down", err, connect.CodeInternal)
			mode = "panic"
			_, err = e.client.GetNotifications(ctxT(t), as("u", "t", &pb.GetNotificationsRequest{}))
			wantCode(t, "GetNotifications panicking", err, connect.CodeInternal)
			if !strings.Contains(err.Error(), "internal server error") {
				t.Fatalf("panic message %q", err)
			}
			mode = ""
			if _, err := e.client.GetNotifications(ctxT(t), as("u", "t", &pb.GetNotificationsRequest{})); err != nil {
				t.Fatalf("server did not survive the panic: %v", err)
			}
		})
	}
}

type faultyStore struct {
	notify.Store
	mode *string
}

func (f *faultyStore) fault() error {
	switch *f.mode {
	case "error":
		return errors.New("disk on fire")
	case "panic":
		panic("store exploded")
	}
	return nil
}

func (f *faultyStore) CreateNotification(ctx context.Context, n notify.Notification) (string, bool, error) {
	if err := f.fault(); err != nil {
		return "", false, err
	}
	return f.Store.CreateNotification(ctx, n)
}

func (f *faultyStore) ListNotifications(ctx context.Context, q notify.Query) (notify.Page, error) {
	if err := f.fault(); err != nil {
		return notify.Page{}, err
	}
	return f.Store.ListNotifications(ctx, q)
}
