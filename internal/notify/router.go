package notify

import (
	"context"
	"encoding/hex"
)

// MobileRouter sends mobile push through FCM or APNs, whichever the
// destination belongs to: a registered device's type decides (android →
// FCM, ios → APNs); an address given in a request is an APNs token when it
// is 64+ hex digits, else an FCM registration token.
type MobileRouter struct {
	FCM, APNs Sender // either may be nil
}

var _ Router = MobileRouter{}

// Provider names the pair for logs; metrics use the routed provider.
func (r MobileRouter) Provider() string { return "mobile" }

// Send routes then sends; the engine calls Route itself.
func (r MobileRouter) Send(ctx context.Context, m Message) (Result, error) {
	s := r.Route(Destination{Value: m.Destination})
	if s == nil {
		return Result{}, Errorf(ErrInvalidDestination, 0, "no mobile push provider for this token")
	}
	return s.Send(ctx, m)
}

// Route picks the provider for d, or nil when it has none.
func (r MobileRouter) Route(d Destination) Sender {
	var s Sender
	switch d.DeviceType {
	case DeviceAndroid:
		s = r.FCM
	case DeviceIOS:
		s = r.APNs
	default:
		if looksLikeAPNsToken(d.Value) {
			s = r.APNs
		} else {
			s = r.FCM
		}
	}
	if s == nil {
		return nil // avoid a typed-nil Sender
	}
	return s
}

func looksLikeAPNsToken(v string) bool {
	if len(v) < 64 || len(v)%2 != 0 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}
