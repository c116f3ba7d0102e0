package notifyd

import (
	"fmt"

	"github.com/quikapp/quikapp/internal/notify"
	"github.com/quikapp/quikapp/internal/notify/provider/apns"
	"github.com/quikapp/quikapp/internal/notify/provider/emailservice"
	"github.com/quikapp/quikapp/internal/notify/provider/fcm"
	"github.com/quikapp/quikapp/internal/notify/provider/smtp"
	"github.com/quikapp/quikapp/internal/notify/provider/twilio"
	"github.com/quikapp/quikapp/internal/notify/provider/webpush"
)

// buildSenders makes one sender per configured channel (in-app is the
// hub, not a sender).
func buildSenders(cfg Config) (map[string]notify.Sender, error) {
	out := map[string]notify.Sender{}
	switch cfg.Email.Provider {
	case ProviderEmailService:
		s, err := emailservice.New(emailservice.Config{Address: cfg.Email.ServiceAddress, From: cfg.Email.From})
		if err != nil {
			return nil, fmt.Errorf("notifyd: email: %w", err)
		}
		out[notify.ChannelEmail] = s
	case ProviderSMTP:
		s, err := smtp.New(smtp.Config{
			Host: cfg.Email.SMTP.Host, Port: cfg.Email.SMTP.Port, Username: cfg.Email.SMTP.Username,
			Password: cfg.Email.SMTP.Password, From: cfg.Email.From, TLS: cfg.Email.SMTP.TLS,
		})
		if err != nil {
			return nil, fmt.Errorf("notifyd: email: %w", err)
		}
		out[notify.ChannelEmail] = s
	}
	for _, tw := range []struct {
		channel string
		cfg     TwilioConfig
	}{{notify.ChannelSMS, cfg.SMS}, {notify.ChannelWhatsApp, cfg.WhatsApp}} {
		if !tw.cfg.Enabled() {
			continue
		}
		s, err := twilio.New(twilio.Config{
			AccountSID: tw.cfg.AccountSID, AuthToken: tw.cfg.AuthToken, MessagingServiceSID: tw.cfg.MessagingServiceSID,
			From: tw.cfg.From, Channel: tw.channel, BaseURL: tw.cfg.BaseURL,
		})
		if err != nil {
			return nil, fmt.Errorf("notifyd: %s: %w", tw.channel, err)
		}
		out[tw.channel] = s
	}
	if cfg.WebPush.Enabled() {
		s, err := webpush.New(webpush.Config{PublicKey: cfg.WebPush.PublicKey, PrivateKey: cfg.WebPush.PrivateKey, Subject: cfg.WebPush.Subject})
		if err != nil {
			return nil, fmt.Errorf("notifyd: web push: %w", err)
		}
		out[notify.ChannelWebPush] = s
	}
	if mp := cfg.MobilePush; len(mp.Providers) > 0 {
		var r notify.MobileRouter
		if mp.Has(ProviderFCM) {
			s, err := fcm.New(fcm.Config{ProjectID: mp.FCM.ProjectID, ClientEmail: mp.FCM.ClientEmail, PrivateKeyID: mp.FCM.PrivateKeyID,
				PrivateKey: mp.FCM.PrivateKey, BaseURL: mp.FCM.BaseURL, TokenURL: mp.FCM.TokenURL})
			if err != nil {
				return nil, fmt.Errorf("notifyd: mobile push: %w", err)
			}
			r.FCM = s
		}
		if mp.Has(ProviderAPNs) {
			s, err := apns.New(apns.Config{Key: mp.APNs.Key, KeyID: mp.APNs.KeyID, TeamID: mp.APNs.TeamID, Topic: mp.APNs.Topic,
				Sandbox: mp.APNs.Sandbox, BaseURL: mp.APNs.BaseURL})
			if err != nil {
				return nil, fmt.Errorf("notifyd: mobile push: %w", err)
			}
			r.APNs = s
		}
		out[notify.ChannelMobilePush] = r
	}
	return out, nil
}
