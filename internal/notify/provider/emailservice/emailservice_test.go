package emailservice_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"connectrpc.com/connect"

	emailv1 "github.com/quikapp/quikapp/api/email/v1/emailv1"
	"github.com/quikapp/quikapp/api/email/v1/emailv1/emailv1connect"
	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/emailservice"
)

// fakeService is an email service speaking gRPC over h2c, as one in the
// cluster would. It refuses anything that is not gRPC.
type fakeService struct {
	mu   sync.Mutex
	got  []*emailv1.SendEmailRequest
	fail error
}

func (f *fakeService) SendEmail(_ context.Context, r *connect.Request[emailv1.SendEmailRequest]) (*connect.Response[emailv1.SendEmailResponse], error) {
	if r.Peer().Protocol != connect.ProtocolGRPC {
		return nil, connect.NewError(connect.CodeFailedPrecondition, errors.New("gRPC only"))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	f.got = append(f.got, r.Msg)
	return connect.NewResponse(&emailv1.SendEmailResponse{MessageId: "m-1"}), nil
}

func start(t *testing.T) (*fakeService, string) {
	f := &fakeService{}
	mux := http.NewServeMux()
	mux.Handle(emailv1connect.NewEmailServiceHandler(f))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return f, srv.Listener.Addr().String()
}

func TestSendEmail(t *testing.T) {
	f, addr := start(t)
	s, err := emailservice.New(emailservice.Config{Address: addr, From: "QuikApp <noreply@quikapp.example>"})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Send(context.Background(), notify.Message{ID: "row-1", TenantID: "acme", NotificationID: "n1", Channel: notify.ChannelEmail,
		Destination: "Ada <ada@example.com>", Title: "Héllo", Body: "line 1\nline 2", SubjectRef: "msg:1", SubjectType: "message"})
	if err != nil {
		t.Fatal(err)
	}
	if res.ReceiptID != "m-1" || len(f.got) != 1 {
		t.Fatalf("result %+v, %d requests", res, len(f.got))
	}
	g := f.got[0]
	if g.From != "QuikApp <noreply@quikapp.example>" || g.To != "ada@example.com" || g.Subject != "Héllo" || g.TextBody != "line 1\nline 2" ||
		g.IdempotencyKey != "row-1:email" || g.Metadata["tenant_id"] != "acme" || g.Metadata["subject_ref"] != "msg:1" {
		t.Fatalf("request %v", g)
	}
}

func TestSendEmailErrors(t *testing.T) {
	f, addr := start(t)
	s, err := emailservice.New(emailservice.Config{Address: addr, From: "noreply@quikapp.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "not an address", "a@example.com\r\nBcc: x@example.com"} {
		if _, err := s.Send(context.Background(), notify.Message{Destination: bad}); !errors.Is(err, notify.ErrInvalidDestination) {
			t.Errorf("destination %q: %v, want invalid destination", bad, err)
		}
	}
	if len(f.got) != 0 {
		t.Fatal("an invalid destination reached the service")
	}
	for _, c := range []struct {
		code connect.Code
		want error
	}{{connect.CodeInvalidArgument, notify.ErrRejected}, {connect.CodeUnavailable, notify.ErrTemporary}, {connect.CodeResourceExhausted, notify.ErrTemporary}} {
		f.fail = connect.NewError(c.code, errors.New("nope"))
		if _, err := s.Send(context.Background(), notify.Message{Destination: "a@example.com"}); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.code, err, c.want)
		}
	}
	if _, err := emailservice.New(emailservice.Config{Address: "nohost", From: "a@example.com"}); err == nil {
		t.Error("address without a port accepted")
	}
	if _, err := emailservice.New(emailservice.Config{Address: addr, From: "nope"}); err == nil {
		t.Error("bad From accepted")
	}
}
