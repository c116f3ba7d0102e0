package realtime

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/quikapp/quikapp/internal/bus"
)

// BanPattern matches the auth service's ban announcements
// (auth.user.<id>.banned).
const BanPattern = "auth.user.*.banned"

// FollowBans closes every connection of a user the moment a ban is
// announced on the bus, on every node (Subscribe is fan-out).
func FollowBans(ctx context.Context, b bus.Bus, h *Hub, log *slog.Logger) (bus.Subscription, error) {
	sub, err := b.Subscribe(ctx, BanPattern, func(ctx context.Context, m bus.Message) error {
		parts := strings.Split(m.Subject, ".")
		if len(parts) != 4 {
			return fmt.Errorf("realtime: unexpected ban subject %q", m.Subject)
		}
		if n := h.DisconnectUser(parts[2], ReasonBanned); n > 0 {
			log.InfoContext(ctx, "realtime_banned_user_disconnected", "user", parts[2], "connections", n)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("realtime: follow bans: %w", err)
	}
	return sub, nil
}
