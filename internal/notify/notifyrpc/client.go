package notifyrpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/api/notify/v1/notifyv1/notifyv1connect"
	"github.com/quikapp/quikapp/internal/notify"
)

// Authenticator checks the credentials of both ports (contract §3).
type Authenticator interface {
	// Client checks an Authorization header value.
	Client(authorization string) (notify.Identity, error)
	// Internal checks an X-Notify-Internal-Token header value.
	Internal(token string) error
}

// Observer counts what the API does; the daemon turns it into metrics.
type Observer interface {
	NotifyRequest(code string)
	StreamEventSent(kind string)
}

// ClientConfig builds the client service.
type ClientConfig struct {
	Engine *notify.Engine
	// Hub and DataChanges are nil when live connections are off.
	Hub         *notify.Hub
	DataChanges *notify.DataChanges
	Auth        Authenticator
	Heartbeat   time.Duration // default 30s
	Log         *slog.Logger
	Observer    Observer
	Now         func() time.Time
}

// ClientService implements elloloop.notify.v1.NotificationClientService.
type ClientService struct {
	cfg ClientConfig
}

var _ notifyv1connect.NotificationClientServiceHandler = (*ClientService)(nil)

// NewClientService returns the client service.
func NewClientService(cfg ClientConfig) *ClientService {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 30 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ClientService{cfg: cfg}
}

// compressMinBytes keeps small messages uncompressed: gzip's per-message
// setup cost more CPU than the bytes it saved (measured in S6: a quarter of
// the server's CPU went to gzip resets for ~200-byte events).
const compressMinBytes = 1024

// MaxClientMessageBytes bounds a client request: the largest legitimate one
// is a push token.
const MaxClientMessageBytes = 64 << 10

// Handler returns the service's route prefix and handler: Connect (binary
// and JSON), gRPC and gRPC-Web.
func (s *ClientService) Handler() (string, http.Handler) {
	return notifyv1connect.NewNotificationClientServiceHandler(s,
		connect.WithReadMaxBytes(MaxClientMessageBytes),
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithRecover(recoverPanic(s.cfg.Log)))
}

func (s *ClientService) identify(h http.Header) (notify.Identity, error) {
	id, err := s.cfg.Auth.Client(h.Get("Authorization"))
	if err != nil {
		return notify.Identity{}, connect.NewError(connect.CodeUnauthenticated, err)
	}
	return id, nil
}

// StreamEvents is the live stream: a heartbeat carrying the session id at
// once, then events and a heartbeat every interval, until the client
// cancels or the server shuts down (both end the stream canceled).
func (s *ClientService) StreamEvents(ctx context.Context, req *connect.Request[pb.StreamEventsRequest], stream *connect.ServerStream[pb.StreamEvent]) error {
	id, err := s.identify(req.Header())
	if err != nil {
		return err
	}
	if s.cfg.Hub == nil {
		return connect.NewError(connect.CodeUnimplemented, errors.New("notify: live connections are disabled"))
	}
	sess, err := s.cfg.Hub.Open(id.TenantID, id.UserID, deviceByEnum[req.Msg.GetDeviceType()])
	if err != nil {
		return connect.NewError(connect.CodeCanceled, err)
	}
	defer s.cfg.Hub.Close(sess)
	s.cfg.Log.Info("stream_open", "session", sess.ID, "device_type", sess.DeviceType)
	reason := "client"
	defer func() { s.cfg.Log.Info("stream_close", "session", sess.ID, "reason", reason) }()

	send := func(ev notify.Event) error {
		if err := stream.Send(eventToProto(sess.ID, ev)); err != nil {
			reason = "send_failed"
			return err
		}
		if s.cfg.Observer != nil {
			s.cfg.Observer.StreamEventSent(string(ev.Kind))
		}
		return nil
	}
	heartbeat := func() notify.Event {
		return notify.Event{Kind: notify.EventHeartbeat, TimestampMs: s.cfg.Now().UnixMilli()}
	}
	if err := send(heartbeat()); err != nil {
		return err
	}
	tick := time.NewTicker(s.cfg.Heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return connect.NewError(connect.CodeCanceled, ctx.Err())
		case <-sess.Done():
			reason = "shutdown"
			return connect.NewError(connect.CodeCanceled, errors.New("notify: server is shutting down"))
		case <-tick.C:
			if err := send(heartbeat()); err != nil {
				return err
			}
		case ev := <-sess.Events():
			if err := send(ev); err != nil {
				return err
			}
		}
	}
}

// GetNotifications returns a page of the caller's inbox (contract §4).
func (s *ClientService) GetNotifications(ctx context.Context, req *connect.Request[pb.GetNotificationsRequest]) (*connect.Response[pb.GetNotificationsResponse], error) {
	id, err := s.identify(req.Header())
	if err != nil {
		return nil, err
	}
	before, err := ParseCursor(req.Msg.GetCursor())
	if err != nil {
		return nil, connect.NewError(connect.CodeInvalidArgument, err)
	}
	page, err := s.cfg.Engine.ListInbox(ctx, id.TenantID, id.UserID, before, int(req.Msg.GetLimit()), req.Msg.GetUnreadOnly())
	if err != nil {
		return nil, internal(s.cfg.Log, "GetNotifications", err)
	}
	out := &pb.GetNotificationsResponse{UnreadCount: int32(page.Unread)}
	for _, n := range page.Items {
		out.Notifications = append(out.Notifications, toProto(n))
	}
	if page.NextBefore > 0 {
		out.NextCursor = strconv.FormatInt(page.NextBefore, 10)
	}
	return connect.NewResponse(out), nil
}

// ParseCursor reads a GetNotifications cursor: empty for the newest page,
// else a base-10 int64 > 0 (a leading + is accepted, as strconv reads it).
func ParseCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(c, 10, 64)
	if err != nil || v <= 0 {
		return 0, errors.New("cursor must be a positive decimal integer taken from next_cursor")
	}
	return v, nil
}

// AckNotification marks one of the caller's rows read.
func (s *ClientService) AckNotification(ctx context.Context, req *connect.Request[pb.AckNotificationRequest]) (*connect.Response[pb.AckNotificationResponse], error) {
	id, err := s.identify(req.Header())
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Engine.MarkRead(ctx, id.TenantID, id.UserID, req.Msg.GetId()); err != nil {
		return nil, s.mapError("AckNotification", err)
	}
	return connect.NewResponse(&pb.AckNotificationResponse{}), nil
}

// AckDataChange stops the re-sends of a data change to one of the caller's
// sessions; unknown pairs and other users' sessions succeed and change
// nothing.
func (s *ClientService) AckDataChange(ctx context.Context, req *connect.Request[pb.AckDataChangeRequest]) (*connect.Response[pb.AckDataChangeResponse], error) {
	id, err := s.identify(req.Header())
	if err != nil {
		return nil, err
	}
	key, session := strings.TrimSpace(req.Msg.GetIdempotencyKey()), strings.TrimSpace(req.Msg.GetSessionId())
	switch {
	case key == "":
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("idempotency_key is required"))
	case session == "":
		return nil, connect.NewError(connect.CodeInvalidArgument, errors.New("session_id is required"))
	}
	if s.cfg.DataChanges != nil {
		s.cfg.DataChanges.Ack(id.TenantID, id.UserID, session, key)
	}
	return connect.NewResponse(&pb.AckDataChangeResponse{}), nil
}

// RegisterPushToken stores the caller's push token for a device type.
func (s *ClientService) RegisterPushToken(ctx context.Context, req *connect.Request[pb.RegisterPushTokenRequest]) (*connect.Response[pb.RegisterPushTokenResponse], error) {
	id, err := s.identify(req.Header())
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Engine.RegisterDevice(ctx, id.TenantID, id.UserID, deviceByEnum[req.Msg.GetDeviceType()], req.Msg.GetToken()); err != nil {
		return nil, s.mapError("RegisterPushToken", err)
	}
	return connect.NewResponse(&pb.RegisterPushTokenResponse{}), nil
}

func (s *ClientService) mapError(rpc string, err error) error {
	var ve *notify.ValidationError
	switch {
	case errors.As(err, &ve):
		return connect.NewError(connect.CodeInvalidArgument, ve)
	case errors.Is(err, notify.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, notify.ErrNotFound)
	}
	return internal(s.cfg.Log, rpc, err)
}

// internal logs the cause and answers a bare internal error: store
// details never reach a client.
func internal(log *slog.Logger, rpc string, err error) error {
	log.Error("rpc_failed", "rpc", rpc, "error", err)
	return connect.NewError(connect.CodeInternal, errors.New("notify: internal error"))
}

// recoverPanic turns a handler panic into internal "internal server
// error"; the process keeps serving.
func recoverPanic(log *slog.Logger) func(context.Context, connect.Spec, http.Header, any) error {
	return func(_ context.Context, spec connect.Spec, _ http.Header, p any) error {
		log.Error("rpc_panic", "procedure", spec.Procedure, "panic", p)
		return connect.NewError(connect.CodeInternal, errors.New("internal server error"))
	}
}
