package message

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"

	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/inbox"
	"github.com/quikapp/quikapp/internal/store"
)

// notifyPeople records who a new message concerns, in its transaction:
// everyone else in a DM; people it names (unless they set the channel
// to "none"); everyone for @channel/@here (unless muted or "none"); the
// followers of its thread. Only current members of the channel are ever
// asked, so nothing of a private channel reaches anyone outside it.
func (s *Service) notifyPeople(ctx context.Context, tx *store.Tx, c channel.Channel, m Message) error {
	base := inbox.Notification{WorkspaceID: c.WorkspaceID, ChannelID: c.ID, MessageID: m.ID, ThreadID: m.ThreadID,
		ActorID: m.AuthorID, Snippet: m.Text, CreatedAt: m.CreatedAt}
	type reason struct {
		kind  string
		query string
		args  []any
	}
	reasons := []reason{}
	if c.Type == channel.DM || c.Type == channel.Group {
		reasons = append(reasons, reason{inbox.DirectMsg, "SELECT user_id FROM channel_members WHERE channel_id = ?", []any{c.ID}})
	}
	if len(m.Mentions.Users) > 0 {
		reasons = append(reasons, reason{inbox.Mention,
			`SELECT mm.user_id FROM message_mentions mm JOIN channel_members cm ON cm.channel_id = mm.channel_id AND cm.user_id = mm.user_id
			 WHERE mm.message_id = ? AND cm.notify_level <> 'none'`, []any{m.ID}})
	}
	if m.Mentions.Channel || m.Mentions.Here {
		reasons = append(reasons, reason{inbox.Broadcast,
			"SELECT user_id FROM channel_members WHERE channel_id = ? AND muted = 0 AND notify_level <> 'none'", []any{c.ID}})
	}
	if m.ThreadID != "" {
		reasons = append(reasons, reason{inbox.ThreadReply,
			`SELECT f.user_id FROM thread_follows f JOIN channel_members cm ON cm.channel_id = f.channel_id AND cm.user_id = f.user_id
			 WHERE f.thread_id = ? AND f.following = 1`, []any{m.ThreadID}})
	}
	for _, r := range reasons {
		users, err := column(ctx, tx, r.query, r.args...)
		if err != nil {
			return err
		}
		n := base
		n.Kind = r.kind
		if err := inbox.Add(ctx, tx, n, users); err != nil {
			return err
		}
	}
	// Keywords come last: any other reason is the stronger one.
	if s.keywords == nil {
		return nil
	}
	watchers, err := s.keywords.KeywordWatchers(ctx, tx, c.ID)
	if err != nil || len(watchers) == 0 {
		return err
	}
	words := wordsOf(m.Text)
	var hit []string
	for u, ks := range watchers {
		for _, k := range ks {
			if containsWords(words, wordsOf(k)) {
				hit = append(hit, u)
				break
			}
		}
	}
	n := base
	n.Kind = inbox.Keyword
	return inbox.Add(ctx, tx, n, hit)
}

// Keywords finds the members of a channel who watch keywords.
type Keywords interface {
	KeywordWatchers(ctx context.Context, q store.Querier, channelID string) (map[string][]string, error)
}

// SetKeywords installs the keyword lookup.
func (s *Service) SetKeywords(k Keywords) { s.keywords = k }

// wordsOf splits text into lower-case words (letters and digits), code
// left out.
func wordsOf(text string) []string {
	text = strings.ToLower(codeSpan.ReplaceAllString(text, " "))
	return strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// containsWords reports whether phrase occurs in words as a run.
func containsWords(words, phrase []string) bool {
	if len(phrase) == 0 {
		return false
	}
	for i := 0; i+len(phrase) <= len(words); i++ {
		if slices.Equal(words[i:i+len(phrase)], phrase) {
			return true
		}
	}
	return false
}

func column(ctx context.Context, tx *store.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("message: recipients: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("message: recipients: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}
