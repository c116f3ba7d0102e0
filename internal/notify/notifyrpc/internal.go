package notifyrpc

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"connectrpc.com/connect"

	pb "github.com/quikapp/quikapp/api/notify/v1/notifyv1"
	"github.com/quikapp/quikapp/api/notify/v1/notifyv1/notifyv1connect"
	"github.com/quikapp/quikapp/internal/notify"
)

// InternalHeader carries the shared secret of the internal port.
const InternalHeader = "X-Notify-Internal-Token"

// MaxNotifyMessageBytes bounds a Notify request: bodies of 512 KiB are
// part of the store contract, with room for many recipients.
const MaxNotifyMessageBytes = 4 << 20

// InternalConfig builds the internal service.
type InternalConfig struct {
	Engine   *notify.Engine
	Auth     Authenticator
	Log      *slog.Logger
	Observer Observer
}

// InternalService implements elloloop.notify.v1.NotificationInternalService.
type InternalService struct {
	cfg InternalConfig
}

var _ notifyv1connect.NotificationInternalServiceHandler = (*InternalService)(nil)

// NewInternalService returns the internal service.
func NewInternalService(cfg InternalConfig) *InternalService {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &InternalService{cfg: cfg}
}

// Handler returns the service's route prefix and handler.
func (s *InternalService) Handler() (string, http.Handler) {
	return notifyv1connect.NewNotificationInternalServiceHandler(s,
		connect.WithReadMaxBytes(MaxNotifyMessageBytes),
		connect.WithCompressMinBytes(compressMinBytes),
		connect.WithRecover(recoverPanic(s.cfg.Log)))
}

// Notify stores and delivers a notification (contract §4).
func (s *InternalService) Notify(ctx context.Context, req *connect.Request[pb.NotifyRequest]) (*connect.Response[pb.NotifyResponse], error) {
	resp, err := s.notify(ctx, req)
	if s.cfg.Observer != nil {
		code := "ok"
		if err != nil {
			code = connect.CodeOf(err).String()
		}
		s.cfg.Observer.NotifyRequest(code)
	}
	return resp, err
}

func (s *InternalService) notify(ctx context.Context, req *connect.Request[pb.NotifyRequest]) (*connect.Response[pb.NotifyResponse], error) {
	if err := s.cfg.Auth.Internal(req.Header().Get(InternalHeader)); err != nil {
		return nil, connect.NewError(connect.CodeUnauthenticated, err)
	}
	c, err := s.cfg.Engine.Notify(ctx, requestFromProto(req.Msg))
	if err != nil {
		var ve *notify.ValidationError
		if errors.As(err, &ve) {
			return nil, connect.NewError(connect.CodeInvalidArgument, ve)
		}
		return nil, internal(s.cfg.Log, "Notify", err)
	}
	return connect.NewResponse(&pb.NotifyResponse{Delivered: int32(c.Delivered), Pending: int32(c.Pending), Failed: int32(c.Failed)}), nil
}
