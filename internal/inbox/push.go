package inbox

import (
	"context"
	"fmt"
	"time"
)

// Device is one push target of a person.
type Device struct {
	Platform string // ios, android, web
	Token    string // a push token, or a web push subscription (JSON)
}

// PushPrefs is what deciding a push needs to know about a person.
type PushPrefs struct {
	// Level is their mobile setting: all, mentions or none.
	Level              string
	QuietFrom, QuietTo string
	Location           *time.Location
	Devices            []Device
	// PausedUntil is do-not-disturb: nothing is pushed before it.
	PausedUntil time.Time
}

// Push sends new notifications to people's phones and browsers, once
// each, within their settings and outside their quiet hours.
type Push struct {
	Service *Service
	Prefs   func(ctx context.Context, userID string) (PushPrefs, error)
	// Deliver sends one notification to one device (through the notify
	// engine and its providers).
	Deliver func(ctx context.Context, d Device, userID, title string, n Notification) error
	// MaxAge drops pushes that waited too long (default 10 minutes): a
	// late "someone mentioned you" buzz is worse than none.
	MaxAge time.Duration
}

// pushKinds are the kinds worth a buzz for each mobile setting.
var pushKinds = map[string]map[string]bool{
	"all":      {Mention: true, Broadcast: true, DirectMsg: true, ThreadReply: true, Keyword: true},
	"mentions": {Mention: true, Broadcast: true, DirectMsg: true, Keyword: true},
}

// Run pushes what is new and returns how many deliveries it made.
func (p *Push) Run(ctx context.Context) (int, error) {
	s := p.Service
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	maxAge := p.MaxAge
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	rows, err := s.DB.QueryContext(ctx,
		`SELECT id, user_id, kind, workspace_id, channel_id, message_id, thread_id, actor_id, snippet, created_ms
		 FROM notifications WHERE pushed_ms = 0 AND read_ms = 0 ORDER BY created_ms LIMIT 100`)
	if err != nil {
		return 0, fmt.Errorf("inbox: pending pushes: %w", err)
	}
	type pending struct {
		user string
		n    Notification
	}
	var todo []pending
	for rows.Next() {
		var x pending
		var c int64
		if err := rows.Scan(&x.n.ID, &x.user, &x.n.Kind, &x.n.WorkspaceID, &x.n.ChannelID, &x.n.MessageID, &x.n.ThreadID, &x.n.ActorID, &x.n.Snippet, &c); err != nil {
			rows.Close()
			return 0, fmt.Errorf("inbox: pending pushes: %w", err)
		}
		x.n.CreatedAt = time.UnixMilli(c).UTC()
		todo = append(todo, x)
	}
	rows.Close()
	sent := 0
	for _, x := range todo {
		// Claim first: a push is at most once (a repeated buzz is worse
		// than a lost one, and the inbox keeps it either way).
		res, err := s.DB.ExecContext(ctx, "UPDATE notifications SET pushed_ms = ? WHERE id = ? AND pushed_ms = 0", t.UnixMilli(), x.n.ID)
		if err != nil {
			return sent, fmt.Errorf("inbox: claim push: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 || t.Sub(x.n.CreatedAt) > maxAge {
			continue
		}
		prefs, err := p.Prefs(ctx, x.user)
		if err != nil {
			s.Log.WarnContext(ctx, "push_prefs_failed", "user", x.user, "error", err)
			continue
		}
		if !pushKinds[prefs.Level][x.n.Kind] || inQuietHours(t, prefs.QuietFrom, prefs.QuietTo, prefs.Location) || t.Before(prefs.PausedUntil) {
			continue
		}
		if s.Visible != nil && !s.Visible(ctx, x.user, x.n.ChannelID) {
			continue
		}
		for _, d := range prefs.Devices {
			if err := p.Deliver(ctx, d, x.user, kindLabel(x.n.Kind), x.n); err != nil {
				s.Log.InfoContext(ctx, "push_failed", "user", x.user, "platform", d.Platform, "error", err)
				continue
			}
			sent++
		}
	}
	return sent, nil
}
