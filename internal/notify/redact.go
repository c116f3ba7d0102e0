package notify

import (
	"encoding/json"
	"net/url"
	"strings"
)

// Redact shortens a destination for the delivery log and logs: enough to
// tell two destinations apart, never enough to message someone or replay a
// push token.
func Redact(channel, dest string) string {
	switch channel {
	case ChannelEmail:
		if at := strings.LastIndexByte(dest, '@'); at > 0 {
			return dest[:1] + "…" + dest[at:]
		}
	case ChannelSMS, ChannelWhatsApp:
		d := strings.TrimPrefix(dest, "whatsapp:")
		if len(d) > 4 {
			return "…" + d[len(d)-4:]
		}
	case ChannelWebPush:
		var sub struct {
			Endpoint string `json:"endpoint"`
		}
		if json.Unmarshal([]byte(dest), &sub) == nil {
			if u, err := url.Parse(sub.Endpoint); err == nil && u.Host != "" {
				return u.Scheme + "://" + u.Host + "/…"
			}
		}
	case ChannelMobilePush:
		if len(dest) > 8 {
			return dest[:8] + "…"
		}
	}
	if len(dest) > 2 {
		return dest[:1] + "…"
	}
	return "…"
}
