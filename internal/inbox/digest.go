package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Recipient is what the digest needs to know about a person.
type Recipient struct {
	Email string
	// Level is their email setting: all, mentions or none.
	Level string
	// QuietFrom and QuietTo ("22:00", "07:00") in Location; empty: none.
	QuietFrom, QuietTo string
	Location           *time.Location
	// LastActive is when they last used QuikApp (zero: never).
	LastActive time.Time
	// PausedUntil is do-not-disturb: no digest before it.
	PausedUntil time.Time
}

// Digest emails people what they missed: unread notifications older than
// Delay, for people away at least that long, outside their quiet hours,
// at most once per notification.
type Digest struct {
	Service   *Service
	Delay     time.Duration
	PublicURL string
	Recipient func(ctx context.Context, userID string) (Recipient, error)
	Send      func(ctx context.Context, to, subject, text string) error
}

// inQuietHours reports whether t falls in the from–to window (which may
// wrap past midnight).
func inQuietHours(t time.Time, from, to string, loc *time.Location) bool {
	if from == "" || to == "" {
		return false
	}
	if loc == nil {
		loc = time.UTC
	}
	f, err1 := time.Parse("15:04", from)
	e, err2 := time.Parse("15:04", to)
	if err1 != nil || err2 != nil {
		return false
	}
	lt := t.In(loc)
	m := lt.Hour()*60 + lt.Minute()
	fm, em := f.Hour()*60+f.Minute(), e.Hour()*60+e.Minute()
	if fm <= em {
		return m >= fm && m < em
	}
	return m >= fm || m < em
}

// Run sends the digests due now and returns how many emails went out.
func (d *Digest) Run(ctx context.Context) (int, error) {
	s := d.Service
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	t := now()
	cutoff := t.Add(-d.Delay).UnixMilli()
	rows, err := s.DB.QueryContext(ctx,
		"SELECT DISTINCT user_id FROM notifications WHERE emailed_ms = 0 AND read_ms = 0 AND created_ms < ? LIMIT 100", cutoff)
	if err != nil {
		return 0, fmt.Errorf("inbox: digest candidates: %w", err)
	}
	var users []string
	for rows.Next() {
		var u string
		if err := rows.Scan(&u); err != nil {
			rows.Close()
			return 0, fmt.Errorf("inbox: digest candidates: %w", err)
		}
		users = append(users, u)
	}
	rows.Close()
	sent := 0
	for _, u := range users {
		ok, err := d.one(ctx, u, t, cutoff)
		if err != nil {
			s.Log.WarnContext(ctx, "digest_failed", "user", u, "error", err)
			continue
		}
		if ok {
			sent++
		}
	}
	return sent, nil
}

// digestLease is how long a node may take over one person's digest
// before another may try; far longer than writing one email takes.
const digestLease = 5 * time.Minute

// lease takes userID's digest for this node, unless another node holds
// it; release gives it back.
func (d *Digest) lease(ctx context.Context, userID string, now time.Time) (release func(), ok bool, err error) {
	until := now.Add(digestLease).UnixMilli()
	res, err := d.Service.DB.ExecContext(ctx, `INSERT INTO digest_leases (user_id, until_ms) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET until_ms = excluded.until_ms WHERE digest_leases.until_ms <= ?`,
		userID, until, now.UnixMilli())
	if err != nil {
		return nil, false, fmt.Errorf("inbox: digest lease: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return nil, false, err
	}
	return func() {
		// Ours only: past its end another node may hold it anew. A lease
		// not given back just lapses.
		_, _ = d.Service.DB.ExecContext(context.WithoutCancel(ctx), "DELETE FROM digest_leases WHERE user_id = ? AND until_ms = ?", userID, until)
	}, true, nil
}

func (d *Digest) one(ctx context.Context, userID string, now time.Time, cutoff int64) (bool, error) {
	s := d.Service
	// Every node runs the digest; the lease makes one of them write it,
	// and the count, read under the lease, skips what another node has
	// settled since the candidates were listed.
	release, ok, err := d.lease(ctx, userID, now)
	if err != nil || !ok {
		return false, err
	}
	defer release()
	var due int
	if err := s.DB.QueryRowContext(ctx, "SELECT COUNT(*) FROM notifications WHERE user_id = ? AND emailed_ms = 0 AND read_ms = 0 AND created_ms < ?",
		userID, cutoff).Scan(&due); err != nil || due == 0 {
		return false, err
	}
	r, err := d.Recipient(ctx, userID)
	if err != nil {
		return false, err
	}
	if !r.LastActive.IsZero() && r.LastActive.After(now.Add(-d.Delay)) {
		return false, nil // around: they will see it in the app
	}
	if inQuietHours(now, r.QuietFrom, r.QuietTo, r.Location) || now.Before(r.PausedUntil) {
		return false, nil // later
	}
	kinds := "'mention', 'broadcast', 'dm', 'thread_reply', 'keyword'"
	if r.Level == "none" || r.Email == "" {
		// Nothing by email: mark them so they are not looked at again.
		_, err := s.DB.ExecContext(ctx, "UPDATE notifications SET emailed_ms = ? WHERE user_id = ? AND emailed_ms = 0 AND created_ms < ?", now.UnixMilli(), userID, cutoff)
		return false, err
	}
	if r.Level == "mentions" {
		kinds = "'mention', 'broadcast', 'dm', 'keyword'"
	}
	items, _, err := s.List(ctx, userID, true, "", 50)
	if err != nil {
		return false, err
	}
	var picked []Notification
	for _, n := range items {
		if n.CreatedAt.UnixMilli() < cutoff && strings.Contains(kinds, "'"+n.Kind+"'") {
			picked = append(picked, n)
		}
	}
	// Whatever is old enough is settled now, sent or not (a kind they do
	// not want by email, or a channel they can no longer see).
	mark := func() error {
		_, err := s.DB.ExecContext(ctx, "UPDATE notifications SET emailed_ms = ? WHERE user_id = ? AND emailed_ms = 0 AND created_ms < ?", now.UnixMilli(), userID, cutoff)
		return err
	}
	if len(picked) == 0 {
		return false, mark()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "While you were away, %d things needed you on QuikApp:\n\n", len(picked))
	for i, n := range picked {
		if i == 10 {
			fmt.Fprintf(&b, "…and %d more.\n", len(picked)-10)
			break
		}
		fmt.Fprintf(&b, "• %s: %s\n", kindLabel(n.Kind), n.Snippet)
	}
	base := d.PublicURL
	if base == "" {
		base = "http://localhost:3000"
	}
	fmt.Fprintf(&b, "\nOpen QuikApp: %s\n\nYou get these emails because of your notification settings; change them in Preferences.\n", base)
	subject := fmt.Sprintf("%d unread on QuikApp", len(picked))
	if err := d.Send(ctx, r.Email, subject, b.String()); err != nil {
		return false, err // not marked: tried again next round
	}
	return true, mark()
}

func kindLabel(k string) string {
	switch k {
	case Mention:
		return "You were mentioned"
	case Broadcast:
		return "Everyone was addressed"
	case DirectMsg:
		return "Direct message"
	case ThreadReply:
		return "Reply in a thread you follow"
	case Keyword:
		return "A keyword you follow"
	}
	return k
}
