package notifyd

import (
	"fmt"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/emailservice"
)

// buildSenders makes one sender per configured channel (in-app is the
// hub, not a sender).
func buildSenders(cfg Config) (map[string]notify.Sender, error) {
	out := map[string]notify.Sender{}
	if cfg.Email.Provider == ProviderEmailService {
		s, err := emailservice.New(emailservice.Config{Address: cfg.Email.ServiceAddress, From: cfg.Email.From})
		if err != nil {
			return nil, fmt.Errorf("notifyd: email: %w", err)
		}
		out[notify.ChannelEmail] = s
	}
	return out, nil
}
