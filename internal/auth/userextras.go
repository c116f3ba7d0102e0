package auth

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // avatar formats
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/emoji"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

// Settings are a user's preferences. Every field has a default, so a
// user who never saved settings gets a full document.
type Settings struct {
	Theme         string               `json:"theme"` // light, dark, system
	Notifications NotificationSettings `json:"notifications"`
	Privacy       PrivacySettings      `json:"privacy"`
}

// NotificationSettings say what reaches the user where.
type NotificationSettings struct {
	Desktop     string `json:"desktop"` // all, mentions, none
	Mobile      string `json:"mobile"`
	Email       string `json:"email"`
	EmailDigest string `json:"emailDigest"` // never, daily, weekly
	// Quiet hours in the user's time zone, "22:00" to "08:00"; empty: none.
	QuietFrom string `json:"quietFrom"`
	QuietTo   string `json:"quietTo"`
	// PausedUntil is "do not disturb": no pushes or emails until then.
	PausedUntil *time.Time `json:"pausedUntil,omitempty"`
	// Keywords notify the user when a message in one of their channels
	// contains them (case-insensitive, whole words).
	Keywords []string `json:"keywords"`
}

// PrivacySettings say what others see.
type PrivacySettings struct {
	ShowPresence    bool `json:"showPresence"`
	ReadReceipts    bool `json:"readReceipts"`
	AllowDMsFromAll bool `json:"allowDirectMessagesFromAnyone"`
}

// DefaultSettings are what a new account has.
var DefaultSettings = Settings{
	Theme:         "system",
	Notifications: NotificationSettings{Desktop: "all", Mobile: "mentions", Email: "mentions", EmailDigest: "daily", Keywords: []string{}},
	Privacy:       PrivacySettings{ShowPresence: true, ReadReceipts: true, AllowDMsFromAll: true},
}

func oneOf(p *httpapi.Problems, field, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	p.Add(field, "must be one of "+strings.Join(allowed, ", "))
}

func clockTime(p *httpapi.Problems, field, v string) {
	if v == "" {
		return
	}
	if _, err := time.Parse("15:04", v); err != nil || len(v) != 5 {
		p.Add(field, `must be a time of day such as "22:00"`)
	}
}

func (st Settings) validate() error {
	var p httpapi.Problems
	oneOf(&p, "theme", st.Theme, "light", "dark", "system")
	n := st.Notifications
	oneOf(&p, "notifications.desktop", n.Desktop, "all", "mentions", "none")
	oneOf(&p, "notifications.mobile", n.Mobile, "all", "mentions", "none")
	oneOf(&p, "notifications.email", n.Email, "all", "mentions", "none")
	oneOf(&p, "notifications.emailDigest", n.EmailDigest, "never", "daily", "weekly")
	clockTime(&p, "notifications.quietFrom", n.QuietFrom)
	clockTime(&p, "notifications.quietTo", n.QuietTo)
	if (n.QuietFrom == "") != (n.QuietTo == "") {
		p.Add("notifications.quietTo", "quiet hours need both quietFrom and quietTo")
	}
	if len(n.Keywords) > 20 {
		p.Add("notifications.keywords", "at most 20 keywords")
	}
	for _, k := range n.Keywords {
		if c := utf8.RuneCountInString(strings.TrimSpace(k)); c < 2 || c > 40 || strings.IndexFunc(k, unicode.IsControl) >= 0 {
			p.Add("notifications.keywords", "each keyword has 2 to 40 characters")
			break
		}
	}
	return p.Err()
}

// normalizeKeywords trims, lower-cases and de-duplicates keywords.
func normalizeKeywords(ks []string) []string {
	out := []string{}
	for _, k := range ks {
		k = strings.ToLower(strings.TrimSpace(k))
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// KeywordWatchers returns, for the members of a channel who watch
// keywords (and did not mute it or set it to "none"), their keywords (read with q, inside the message's
// transaction).
func (s *Service) KeywordWatchers(ctx context.Context, q store.Querier, channelID string) (map[string][]string, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT k.user_id, k.keyword FROM user_keywords k JOIN channel_members m ON m.user_id = k.user_id AND m.channel_id = ?
		 WHERE m.muted = 0 AND m.notify_level <> 'none'`, channelID)
	if err != nil {
		return nil, fmt.Errorf("auth: keyword watchers: %w", err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		var u, k string
		if err := rows.Scan(&u, &k); err != nil {
			return nil, fmt.Errorf("auth: keyword watchers: %w", err)
		}
		out[u] = append(out[u], k)
	}
	return out, rows.Err()
}

// Settings returns the user's settings.
func (s *Service) Settings(ctx context.Context, userID string) (Settings, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, "SELECT settings FROM user_settings WHERE user_id = ?", userID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultSettings, nil
	}
	if err != nil {
		return Settings{}, fmt.Errorf("auth: load settings: %w", err)
	}
	st := DefaultSettings
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return Settings{}, fmt.Errorf("auth: decode settings of %s: %w", userID, err)
	}
	return st, nil
}

// SaveSettings replaces the user's settings with st, which must be whole
// and valid.
func (s *Service) SaveSettings(ctx context.Context, userID string, st Settings) (Settings, error) {
	if err := st.validate(); err != nil {
		return Settings{}, err
	}
	st.Notifications.Keywords = normalizeKeywords(st.Notifications.Keywords)
	raw, _ := json.Marshal(st)
	now := ms(s.now())
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO user_settings (user_id, settings, updated_ms) VALUES (?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings, updated_ms = excluded.updated_ms`,
			userID, string(raw), now)
		if err != nil {
			return fmt.Errorf("auth: save settings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_keywords WHERE user_id = ?", userID); err != nil {
			return fmt.Errorf("auth: save keywords: %w", err)
		}
		for _, k := range st.Notifications.Keywords {
			if _, err := tx.ExecContext(ctx, "INSERT INTO user_keywords (user_id, keyword) VALUES (?, ?)", userID, k); err != nil {
				return fmt.Errorf("auth: save keywords: %w", err)
			}
		}
		return userEvent(ctx, tx, userID, "settings_changed", st)
	})
	return st, err
}

// userEvent announces a change to the user's own devices
// (user.<id>.<kind>, delivered on the realtime topic user:{id}).
func userEvent(ctx context.Context, tx *store.Tx, userID, kind string, payload any) error {
	data, err := json.Marshal(map[string]any{"type": "user." + kind, "userId": userID, "data": payload})
	if err != nil {
		return fmt.Errorf("auth: encode event: %w", err)
	}
	return outbox.Add(ctx, tx, bus.Message{ID: newID(), Subject: "user." + userID + "." + kind, Data: data})
}

// CustomStatus is the emoji and text a user shows, until ClearAfter.
type CustomStatus struct {
	Emoji      string     `json:"emoji"`
	Text       string     `json:"text"`
	ClearAfter *time.Time `json:"clearAfter,omitempty"`
}

// SetStatus sets (or, when emoji and text are empty, clears) the status.
func (s *Service) SetStatus(ctx context.Context, userID string, st CustomStatus) (User, error) {
	var p httpapi.Problems
	st.Text = strings.TrimSpace(st.Text)
	if utf8.RuneCountInString(st.Text) > 100 || strings.IndexFunc(st.Text, unicode.IsControl) >= 0 {
		p.Add("text", "must be one line of at most 100 characters")
	}
	if st.Emoji != "" && !emoji.Valid(st.Emoji) {
		p.Add("emoji", `must be an emoji such as "🌴" or a shortcode such as ":palm_tree:"`)
	}
	var clear int64
	if st.ClearAfter != nil {
		if !st.ClearAfter.After(s.now()) {
			p.Add("clearAfter", "must be in the future")
		}
		clear = st.ClearAfter.UnixMilli()
	}
	if err := p.Err(); err != nil {
		return User{}, err
	}
	var u User
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE users SET status_emoji = ?, status_text = ?, status_clear_ms = ?, updated_ms = ? WHERE id = ?",
			st.Emoji, st.Text, clear, ms(s.now()), userID); err != nil {
			return fmt.Errorf("auth: set status: %w", err)
		}
		var err error
		if u, err = s.user(ctx, tx, userID); err != nil {
			return err
		}
		return userEvent(ctx, tx, userID, "status_changed", u.Status)
	})
	return u, err
}

// Block stops blocked from messaging the user (the messaging layer asks
// Blocked before delivering a DM).
func (s *Service) Block(ctx context.Context, userID, blocked string) error {
	if userID == blocked {
		return httpapi.InvalidField("userId", "you cannot block yourself")
	}
	if _, err := s.user(ctx, s.db, blocked); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, "INSERT INTO user_blocks (user_id, blocked_id, created_ms) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
		userID, blocked, ms(s.now()))
	if err != nil {
		return fmt.Errorf("auth: block: %w", err)
	}
	return nil
}

// Unblock lifts a block.
func (s *Service) Unblock(ctx context.Context, userID, blocked string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM user_blocks WHERE user_id = ? AND blocked_id = ?", userID, blocked)
	if err != nil {
		return fmt.Errorf("auth: unblock: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return httpapi.NotFound("block")
	}
	return nil
}

// Blocks lists whom the user blocked.
func (s *Service) Blocks(ctx context.Context, userID string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT blocked_id FROM user_blocks WHERE user_id = ? ORDER BY created_ms LIMIT 1000", userID)
	if err != nil {
		return nil, fmt.Errorf("auth: blocks: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("auth: blocks: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// Blocked reports whether either user blocked the other.
func (s *Service) Blocked(ctx context.Context, a, b string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx,
		"SELECT COUNT(*) FROM user_blocks WHERE (user_id = ? AND blocked_id = ?) OR (user_id = ? AND blocked_id = ?)", a, b, b, a).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("auth: blocked: %w", err)
	}
	return n > 0, nil
}

// MaxDevices is how many push devices a user keeps.
const MaxDevices = 10

// Device is a push target.
type Device struct {
	ID         string    `json:"id"`
	Platform   string    `json:"platform"` // ios, android, web
	Name       string    `json:"name"`
	CreatedAt  time.Time `json:"createdAt"`
	LastSeenAt time.Time `json:"lastSeenAt"`
}

// RegisterDevice adds a push device, or refreshes it when the token is
// known. Beyond MaxDevices the least recently seen one is dropped.
func (s *Service) RegisterDevice(ctx context.Context, userID, platform, pushToken, name string) (Device, error) {
	var p httpapi.Problems
	oneOf(&p, "platform", platform, "ios", "android", "web")
	if pushToken == "" || len(pushToken) > 4096 || strings.IndexFunc(pushToken, unicode.IsControl) >= 0 {
		p.Add("token", "is required: the push token (or web push subscription JSON) of at most 4096 bytes")
	}
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 80 {
		p.Add("name", "must be at most 80 characters")
	}
	if err := p.Err(); err != nil {
		return Device{}, err
	}
	now := s.now()
	d := Device{ID: newID(), Platform: platform, Name: name, CreatedAt: now.UTC().Truncate(time.Millisecond), LastSeenAt: now.UTC().Truncate(time.Millisecond)}
	err := s.db.InTx(ctx, func(tx *store.Tx) error {
		var id string
		var created int64
		err := tx.QueryRowContext(ctx,
			`INSERT INTO user_devices (id, user_id, platform, push_token, name, created_ms, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (user_id, push_token) DO UPDATE SET platform = excluded.platform, name = excluded.name, last_seen_ms = excluded.last_seen_ms
			 RETURNING id, created_ms`, d.ID, userID, platform, pushToken, name, ms(now), ms(now)).Scan(&id, &created)
		if err != nil {
			return fmt.Errorf("auth: register device: %w", err)
		}
		d.ID, d.CreatedAt = id, time.UnixMilli(created).UTC()
		_, err = tx.ExecContext(ctx,
			`DELETE FROM user_devices WHERE user_id = ? AND id NOT IN (
			   SELECT id FROM user_devices WHERE user_id = ? ORDER BY last_seen_ms DESC, id DESC LIMIT ?)`, userID, userID, MaxDevices)
		if err != nil {
			return fmt.Errorf("auth: trim devices: %w", err)
		}
		return nil
	})
	return d, err
}

// Devices lists the user's push devices, most recently seen first.
func (s *Service) Devices(ctx context.Context, userID string) ([]Device, error) {
	rows, err := s.db.QueryContext(ctx,
		"SELECT id, platform, name, created_ms, last_seen_ms FROM user_devices WHERE user_id = ? ORDER BY last_seen_ms DESC, id DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("auth: devices: %w", err)
	}
	defer rows.Close()
	out := []Device{}
	for rows.Next() {
		var d Device
		var c, l int64
		if err := rows.Scan(&d.ID, &d.Platform, &d.Name, &c, &l); err != nil {
			return nil, fmt.Errorf("auth: devices: %w", err)
		}
		d.CreatedAt, d.LastSeenAt = time.UnixMilli(c).UTC(), time.UnixMilli(l).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// RemoveDevice forgets one of the user's devices.
func (s *Service) RemoveDevice(ctx context.Context, userID, id string) error {
	res, err := s.db.ExecContext(ctx, "DELETE FROM user_devices WHERE id = ? AND user_id = ?", id, userID)
	if err != nil {
		return fmt.Errorf("auth: remove device: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return httpapi.NotFound("device")
	}
	return nil
}

// Avatar limits.
const (
	MaxAvatarBytes = 2 << 20
	MaxAvatarSide  = 4096
)

// SetAvatar stores an uploaded picture after checking what it really is:
// the type is read from the bytes (PNG, JPEG or GIF), the image must
// decode, and its sides are bounded.
func (s *Service) SetAvatar(ctx context.Context, userID string, data []byte) error {
	ctype := http.DetectContentType(data)
	if ctype != "image/png" && ctype != "image/jpeg" && ctype != "image/gif" {
		return &httpapi.Error{Status: http.StatusUnsupportedMediaType, Code: httpapi.CodeUnsupportedMedia,
			Message: "an avatar must be a PNG, JPEG or GIF image"}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return httpapi.InvalidField("avatar", "the image could not be read")
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxAvatarSide || cfg.Height > MaxAvatarSide {
		return httpapi.InvalidField("avatar", fmt.Sprintf("must be at most %d pixels on each side", MaxAvatarSide))
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO user_avatars (user_id, content_type, width, height, data, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
			 ON CONFLICT (user_id) DO UPDATE SET content_type = excluded.content_type, width = excluded.width,
			   height = excluded.height, data = excluded.data, updated_ms = excluded.updated_ms`,
			userID, ctype, cfg.Width, cfg.Height, data, ms(s.now()))
		if err != nil {
			return fmt.Errorf("auth: save avatar: %w", err)
		}
		return userEvent(ctx, tx, userID, "avatar_changed", map[string]int{"width": cfg.Width, "height": cfg.Height})
	})
}

// Avatar returns a user's picture.
func (s *Service) Avatar(ctx context.Context, userID string) (ctype string, data []byte, updated time.Time, err error) {
	var up int64
	err = s.db.QueryRowContext(ctx, "SELECT content_type, data, updated_ms FROM user_avatars WHERE user_id = ?", userID).Scan(&ctype, &data, &up)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, time.Time{}, httpapi.NotFound("avatar")
	}
	if err != nil {
		return "", nil, time.Time{}, fmt.Errorf("auth: load avatar: %w", err)
	}
	return ctype, data, time.UnixMilli(up).UTC(), nil
}

// DeleteAvatar removes the picture.
func (s *Service) DeleteAvatar(ctx context.Context, userID string) error {
	if _, err := s.db.ExecContext(ctx, "DELETE FROM user_avatars WHERE user_id = ?", userID); err != nil {
		return fmt.Errorf("auth: delete avatar: %w", err)
	}
	return nil
}

// PushTarget is a device's platform and token, for delivery only (the
// API never shows tokens).
type PushTarget struct {
	Platform string
	Token    string
}

// PushTargets lists the user's devices with their tokens.
func (s *Service) PushTargets(ctx context.Context, userID string) ([]PushTarget, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT platform, push_token FROM user_devices WHERE user_id = ? ORDER BY last_seen_ms DESC", userID)
	if err != nil {
		return nil, fmt.Errorf("auth: push targets: %w", err)
	}
	defer rows.Close()
	var out []PushTarget
	for rows.Next() {
		var p PushTarget
		if err := rows.Scan(&p.Platform, &p.Token); err != nil {
			return nil, fmt.Errorf("auth: push targets: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
