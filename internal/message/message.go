// Package message is what people say in channels: messages with a
// client-chosen id (sending twice creates one), one total order per
// channel (seq), history pages that never skip or repeat, threads, edits
// with their history, and soft deletes. Every change is announced on the
// channel's topic through the outbox.
package message

import (
	"context"
	"database/sql"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/outbox"
	"github.com/quikapp/quikapp/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrations creates the message tables.
var Migrations = store.Migrations{Domain: "message", FS: store.MigrationsFS(migrationFiles, "migrations")}

// Limits.
const (
	MaxTextRunes   = 40_000
	MaxClientIDLen = 64
	MaxPage        = 200
)

// Message is a message as the API shows it.
type Message struct {
	ID              string        `json:"id"`
	ChannelID       string        `json:"channelId"`
	Seq             int64         `json:"seq"`
	AuthorID        string        `json:"authorId"`
	ClientMessageID string        `json:"clientMessageId,omitempty"`
	Text            string        `json:"text"`
	ThreadID        string        `json:"threadId,omitempty"`
	ReplyCount      int           `json:"replyCount"`
	LastReplyAt     *time.Time    `json:"lastReplyAt,omitempty"`
	CreatedAt       time.Time     `json:"createdAt"`
	EditedAt        *time.Time    `json:"editedAt,omitempty"`
	Deleted         bool          `json:"deleted"`
	AlsoInChannel   bool          `json:"alsoInChannel,omitempty"`
	Mentions        Mentions      `json:"mentions"`
	Reactions       []Reaction    `json:"reactions"`
	Previews        []LinkPreview `json:"previews"`
	Files           []Attachment  `json:"files"`
}

// Service implements messages.
type Service struct {
	db       *store.DB
	log      *slog.Logger
	access   *access.Checker
	channels *channel.Service
	now      func() time.Time
	actors   Actors
	previews *http.Client
	receipts ReceiptPolicy
	keywords Keywords
	files    Files
}

// New returns a Service.
func New(db *store.DB, log *slog.Logger, checker *access.Checker, channels *channel.Service, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, log: log, access: checker, channels: channels, now: now}
}

const columns = "id, channel_id, seq, author_id, client_msg_id, text, thread_id, reply_count, last_reply_ms, created_ms, edited_ms, deleted_ms, also_in_channel"

func scan(row interface{ Scan(...any) error }) (Message, error) {
	var m Message
	var lastReply, created, edited, deleted int64
	err := row.Scan(&m.ID, &m.ChannelID, &m.Seq, &m.AuthorID, &m.ClientMessageID, &m.Text, &m.ThreadID, &m.ReplyCount,
		&lastReply, &created, &edited, &deleted, &m.AlsoInChannel)
	m.CreatedAt = time.UnixMilli(created).UTC()
	if lastReply != 0 {
		t := time.UnixMilli(lastReply).UTC()
		m.LastReplyAt = &t
	}
	if edited != 0 {
		t := time.UnixMilli(edited).UTC()
		m.EditedAt = &t
	}
	if deleted != 0 {
		m.Deleted, m.Text = true, "" // what was said is gone for everyone
	}
	m.Mentions = ParseMentions(m.Text)
	m.Reactions, m.Previews, m.Files = []Reaction{}, []LinkPreview{}, []Attachment{}
	return m, err
}

func checkText(text string) (string, error) {
	text = strings.TrimRightFunc(text, unicode.IsSpace)
	switch {
	case strings.TrimSpace(text) == "":
		return "", httpapi.InvalidField("text", "is required")
	case !utf8.ValidString(text):
		return "", httpapi.InvalidField("text", "must be valid UTF-8")
	case utf8.RuneCountInString(text) > MaxTextRunes:
		return "", httpapi.InvalidField("text", "must be at most "+strconv.Itoa(MaxTextRunes)+" characters")
	case strings.ContainsFunc(text, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		return "", httpapi.InvalidField("text", "must not contain control characters")
	}
	return text, nil
}

func event(ctx context.Context, tx *store.Tx, channelID, kind string, m Message) error {
	data, err := json.Marshal(map[string]any{"type": "message." + kind, "data": m})
	if err != nil {
		return fmt.Errorf("message: encode event: %w", err)
	}
	return outbox.Add(ctx, tx, bus.Message{ID: uuid.Must(uuid.NewV7()).String(), Subject: "channel." + channelID + ".message_" + kind, Data: data})
}

// Post sends a message to a channel the actor is in. With a
// clientMessageId the same request twice gives the first message back
// (created reports which).
func (s *Service) Post(ctx context.Context, actor access.Actor, channelID, text, clientID, threadID string, alsoInChannel bool) (m Message, created bool, err error) {
	return s.PostWithFiles(ctx, actor, channelID, text, clientID, threadID, alsoInChannel, nil)
}

// Attachment is a file carried by a message.
type Attachment struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
}

// Files shares uploads into messages and finds them again (the file
// module implements it).
type Files interface {
	Share(ctx context.Context, tx *store.Tx, actor access.Actor, workspaceID, channelID, messageID string, ids []string) ([]Attachment, error)
	OfMessages(ctx context.Context, q store.Querier, messageIDs []string) (map[string][]Attachment, error)
}

// SetFiles installs the file module.
func (s *Service) SetFiles(f Files) { s.files = f }

// PostWithFiles is Post with attachments (file ids the actor can see);
// a message with files may have no text.
func (s *Service) PostWithFiles(ctx context.Context, actor access.Actor, channelID, text, clientID, threadID string, alsoInChannel bool, fileIDs []string) (m Message, created bool, err error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	if err != nil {
		return Message{}, false, err
	}
	if err := s.access.Can(ctx, actor, access.MessagePost, access.Resource{Kind: "channel", ID: channelID, WorkspaceID: c.WorkspaceID}); err != nil {
		return Message{}, false, err
	}
	if !c.IsMember {
		return Message{}, false, httpapi.Forbidden("join the channel to post in it")
	}
	if c.Archived {
		return Message{}, false, httpapi.Conflict("this channel is archived")
	}
	if len(fileIDs) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	} else if text, err = checkText(text); err != nil {
		return Message{}, false, err
	}
	if len(fileIDs) > 0 && s.files == nil {
		return Message{}, false, httpapi.InvalidField("fileIds", "file sharing is not running in this process")
	}
	if len(clientID) > MaxClientIDLen || strings.ContainsFunc(clientID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return Message{}, false, httpapi.InvalidField("clientMessageId", "must be at most 64 printable ASCII characters")
	}
	if clientID != "" {
		if prev, err := s.byClientID(ctx, s.db, actor.UserID, clientID); err == nil {
			return prev, false, nil
		} else if !errors.Is(err, sql.ErrNoRows) {
			return Message{}, false, err
		}
	}
	now := s.now()
	m = Message{ID: uuid.Must(uuid.NewV7()).String(), ChannelID: channelID, AuthorID: actor.UserID, ClientMessageID: clientID,
		Text: text, ThreadID: threadID, CreatedAt: now.UTC().Truncate(time.Millisecond)}
	if threadID == "" {
		alsoInChannel = false
	}
	m.AlsoInChannel = alsoInChannel
	dup := false
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		dup = false
		rootAuthor := ""
		if threadID != "" {
			var err error
			if rootAuthor, err = s.bumpThread(ctx, tx, channelID, threadID, now); err != nil {
				return err
			}
		}
		if err := tx.QueryRowContext(ctx,
			`INSERT INTO channel_counters (channel_id, last_seq) VALUES (?, 1)
			 ON CONFLICT (channel_id) DO UPDATE SET last_seq = channel_counters.last_seq + 1 RETURNING last_seq`, channelID).Scan(&m.Seq); err != nil {
			return fmt.Errorf("message: next seq of %s: %w", channelID, err)
		}
		m.Mentions = ParseMentions(text)
		_, err := tx.ExecContext(ctx, "INSERT INTO messages (id, channel_id, seq, author_id, client_msg_id, text, thread_id, created_ms, broadcast, also_in_channel) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			m.ID, channelID, m.Seq, actor.UserID, clientID, text, threadID, now.UnixMilli(), store.Flag(m.Mentions.Channel || m.Mentions.Here), store.Flag(alsoInChannel))
		if tx.Dialect().IsUniqueViolation(err) && clientID != "" {
			dup = true // the same send raced itself; the other copy won
			return errRollback
		}
		if err != nil {
			return fmt.Errorf("message: insert: %w", err)
		}
		if err := recordMentions(ctx, tx, m); err != nil {
			return err
		}
		if threadID != "" {
			if err := autoFollow(ctx, tx, m, rootAuthor); err != nil {
				return err
			}
		}
		if err := s.notifyPeople(ctx, tx, c, m); err != nil {
			return err
		}
		if err := queuePreviews(ctx, tx, m); err != nil {
			return err
		}
		if len(fileIDs) > 0 {
			if m.Files, err = s.files.Share(ctx, tx, actor, c.WorkspaceID, channelID, m.ID, fileIDs); err != nil {
				return err
			}
		}
		// The author has read what they wrote.
		if err := markRead(ctx, tx, channelID, actor.UserID, m.Seq, now); err != nil {
			return err
		}
		m.Reactions = []Reaction{}
		return event(ctx, tx, channelID, "created", m)
	})
	if dup {
		prev, err := s.byClientID(ctx, s.db, actor.UserID, clientID)
		return prev, false, err
	}
	if err != nil {
		return Message{}, false, err
	}
	return m, true, nil
}

var errRollback = errors.New("message: roll back")

func (s *Service) byClientID(ctx context.Context, q store.Querier, author, clientID string) (Message, error) {
	return scan(q.QueryRowContext(ctx, "SELECT "+columns+" FROM messages WHERE author_id = ? AND client_msg_id = ?", author, clientID))
}

// bumpThread checks a reply's parent, counts the reply on it and returns
// the parent's author.
func (s *Service) bumpThread(ctx context.Context, tx *store.Tx, channelID, threadID string, now time.Time) (string, error) {
	var author string
	err := tx.QueryRowContext(ctx,
		"UPDATE messages SET reply_count = reply_count + 1, last_reply_ms = ? WHERE id = ? AND channel_id = ? AND thread_id = '' AND deleted_ms = 0 RETURNING author_id",
		now.UnixMilli(), threadID, channelID).Scan(&author)
	if errors.Is(err, sql.ErrNoRows) {
		return "", httpapi.InvalidField("threadId", "must be a message of this channel that is not itself a reply")
	}
	if err != nil {
		return "", fmt.Errorf("message: count reply: %w", err)
	}
	return author, nil
}

// Get returns one message the actor may see.
func (s *Service) Get(ctx context.Context, actor access.Actor, id string) (Message, channel.Channel, error) {
	m, err := scan(s.db.QueryRowContext(ctx, "SELECT "+columns+" FROM messages WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, channel.Channel{}, httpapi.NotFound("message")
	}
	if err != nil {
		return Message{}, channel.Channel{}, fmt.Errorf("message: get %s: %w", id, err)
	}
	c, err := s.channels.Get(ctx, actor, m.ChannelID)
	if err != nil {
		return Message{}, channel.Channel{}, httpapi.NotFound("message")
	}
	if err = s.decorate(ctx, s.db, &m); err != nil {
		return Message{}, channel.Channel{}, err
	}
	return m, c, nil
}

// Page asks for a slice of history. Exactly one of Before, After and
// Around may be set (a message id); none means the newest messages.
type Page struct {
	Before, After, Around string
	Cursor                string
	Limit                 int
}

// History returns top-level messages of a channel, oldest first within
// the page, and the cursor that continues in the same direction.
func (s *Service) History(ctx context.Context, actor access.Actor, channelID string, p Page) ([]Message, string, error) {
	if _, err := s.channels.Get(ctx, actor, channelID); err != nil {
		return nil, "", err
	}
	return s.page(ctx, "channel_id = ? AND (thread_id = '' OR also_in_channel = 1)", channelID, p)
}

// Replies returns a thread's replies, oldest first.
func (s *Service) Replies(ctx context.Context, actor access.Actor, id string, p Page) ([]Message, string, error) {
	parent, _, err := s.Get(ctx, actor, id)
	if err != nil {
		return nil, "", err
	}
	if parent.ThreadID != "" {
		return nil, "", httpapi.InvalidField("id", "is a reply; ask for its thread's first message")
	}
	if p.Before == "" && p.After == "" && p.Around == "" && p.Cursor == "" {
		p.After = "start" // threads read from the beginning
	}
	return s.page(ctx, "channel_id = ? AND thread_id = ?", parent.ChannelID, p, parent.ID)
}

func encodeCursor(dir string, seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(dir + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (dir string, seq int64, ok bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) < 2 || (b[0] != 'b' && b[0] != 'a') {
		return "", 0, false
	}
	n, err := strconv.ParseInt(string(b[1:]), 10, 64)
	return string(b[0]), n, err == nil && n >= 0
}

func (s *Service) page(ctx context.Context, where string, channelID string, p Page, extra ...any) ([]Message, string, error) {
	set := 0
	for _, v := range []string{p.Before, p.After, p.Around, p.Cursor} {
		if v != "" {
			set++
		}
	}
	if set > 1 {
		return nil, "", httpapi.Invalid("give at most one of before, after, around and cursor")
	}
	if p.Limit <= 0 || p.Limit > MaxPage {
		p.Limit = 50
	}
	args := append([]any{channelID}, extra...)
	seqOf := func(id string) (int64, error) {
		if id == "start" {
			return 0, nil
		}
		var seq int64
		err := s.db.QueryRowContext(ctx, "SELECT seq FROM messages WHERE id = ? AND channel_id = ?", id, channelID).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, httpapi.Invalid("the message to page from is not in this channel")
		}
		return seq, err
	}
	dir, anchor := "b", int64(1<<62)
	var err error
	switch {
	case p.Cursor != "":
		var ok bool
		if dir, anchor, ok = decodeCursor(p.Cursor); !ok {
			return nil, "", httpapi.InvalidField("cursor", "is not a cursor this API returned")
		}
	case p.Before != "":
		anchor, err = seqOf(p.Before)
	case p.After != "":
		dir = "a"
		anchor, err = seqOf(p.After)
	case p.Around != "":
		center, err := seqOf(p.Around)
		if err != nil {
			return nil, "", err
		}
		older, _, err := s.query(ctx, where, args, "b", center+1, p.Limit/2+1)
		if err != nil {
			return nil, "", err
		}
		newer, _, err := s.query(ctx, where, args, "a", center, p.Limit-len(older))
		return append(older, newer...), "", err
	}
	if err != nil {
		return nil, "", err
	}
	return s.query(ctx, where, args, dir, anchor, p.Limit)
}

// query reads limit messages before (b) or after (a) seq anchor,
// returned oldest first, with the cursor for the next page that way.
func (s *Service) query(ctx context.Context, where string, args []any, dir string, anchor int64, limit int) ([]Message, string, error) {
	cmp, order := "seq < ?", "seq DESC"
	if dir == "a" {
		cmp, order = "seq > ?", "seq ASC"
	}
	q := "SELECT " + columns + " FROM messages WHERE " + where + " AND " + cmp + " ORDER BY " + order + " LIMIT ?"
	rows, err := s.db.QueryContext(ctx, q, append(append([]any{}, args...), anchor, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("message: history: %w", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m, err := scan(rows)
		if err != nil {
			return nil, "", fmt.Errorf("message: history: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("message: history: %w", err)
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		next = encodeCursor(dir, out[limit-1].Seq)
	}
	if dir == "b" { // oldest first on the page
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
	}
	if out == nil {
		out = []Message{}
	}
	if err := s.enrich(ctx, s.db, out); err != nil {
		return nil, "", err
	}
	return out, next, nil
}

// Edit replaces a message's text (its author only); the old text is kept.
func (s *Service) Edit(ctx context.Context, actor access.Actor, id, text string) (Message, error) {
	m, _, err := s.Get(ctx, actor, id)
	if err != nil {
		return Message{}, err
	}
	if m.AuthorID != actor.UserID {
		return Message{}, httpapi.Forbidden("only its author can edit a message")
	}
	if m.Deleted {
		return Message{}, httpapi.Conflict("this message was deleted")
	}
	if text, err = checkText(text); err != nil {
		return Message{}, err
	}
	now := s.now()
	err = s.db.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO message_edits (message_id, edited_ms, old_text) SELECT id, ?, text FROM messages WHERE id = ?",
			now.UnixMilli(), id); err != nil {
			return fmt.Errorf("message: keep edit: %w", err)
		}
		mentions := ParseMentions(text)
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET text = ?, edited_ms = ?, broadcast = ? WHERE id = ?",
			text, now.UnixMilli(), store.Flag(mentions.Channel || mentions.Here), id); err != nil {
			return fmt.Errorf("message: edit: %w", err)
		}
		if m, err = scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM messages WHERE id = ?", id)); err != nil {
			return fmt.Errorf("message: reload: %w", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM message_mentions WHERE message_id = ?", id); err != nil {
			return fmt.Errorf("message: clear mentions: %w", err)
		}
		if err := recordMentions(ctx, tx, m); err != nil {
			return err
		}
		if err = s.decorate(ctx, tx, &m); err != nil {
			return err
		}
		return event(ctx, tx, m.ChannelID, "updated", m)
	})
	return m, err
}

// Delete removes a message for everyone: its author may, and moderators
// and above may delete anyone's.
func (s *Service) Delete(ctx context.Context, actor access.Actor, id string) error {
	m, c, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if err := s.access.Can(ctx, actor, access.MessageDelete, access.Resource{Kind: "message", ID: id, WorkspaceID: c.WorkspaceID, OwnerID: m.AuthorID}); err != nil {
		return err
	}
	if m.Deleted {
		return nil
	}
	now := s.now()
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		// Soft: the row and its edits stay (retention and export decide
		// their fate); the API shows it as deleted, without text.
		if _, err := tx.ExecContext(ctx, "UPDATE messages SET deleted_ms = ? WHERE id = ?", now.UnixMilli(), id); err != nil {
			return fmt.Errorf("message: delete: %w", err)
		}
		// A deleted message no longer counts as a mention.
		if _, err := tx.ExecContext(ctx, "DELETE FROM message_mentions WHERE message_id = ?", id); err != nil {
			return fmt.Errorf("message: clear mentions: %w", err)
		}
		if m.ThreadID != "" {
			if _, err := tx.ExecContext(ctx, "UPDATE messages SET reply_count = reply_count - 1 WHERE id = ? AND reply_count > 0", m.ThreadID); err != nil {
				return fmt.Errorf("message: uncount reply: %w", err)
			}
		}
		m.Deleted, m.Text, m.Mentions = true, "", Mentions{}
		return event(ctx, tx, m.ChannelID, "deleted", m)
	})
}

// recordMentions stores the named users who are in the channel (not the
// author: nobody is notified of themselves).
func recordMentions(ctx context.Context, tx *store.Tx, m Message) error {
	users := m.Mentions.Users
	if len(users) == 0 {
		return nil
	}
	q := `INSERT INTO message_mentions (message_id, channel_id, seq, user_id)
	      SELECT ?, ?, ?, user_id FROM channel_members WHERE channel_id = ? AND user_id <> ? AND user_id IN (?` + strings.Repeat(",?", len(users)-1) + `)`
	args := []any{m.ID, m.ChannelID, m.Seq, m.ChannelID, m.AuthorID}
	for _, u := range users {
		args = append(args, u)
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("message: record mentions: %w", err)
	}
	return nil
}

// Channel returns the workspace of a channel the actor can see.
func (s *Service) Channel(ctx context.Context, actor access.Actor, channelID string) (string, error) {
	c, err := s.channels.Get(ctx, actor, channelID)
	return c.WorkspaceID, err
}
