package search

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/message"
	"github.com/quikapp/quikapp/internal/store"
)

// Service runs searches.
type Service struct {
	DB     *store.DB
	Access *access.Checker
	// Messages loads found messages with their reactions and previews.
	Messages *message.Service
}

// Result is one hit.
type Result struct {
	Type       string           `json:"type"` // message, channel, user
	Message    *message.Message `json:"message,omitempty"`
	Channel    *ChannelHit      `json:"channel,omitempty"`
	User       *UserHit         `json:"user,omitempty"`
	File       *FileHit         `json:"file,omitempty"`
	Highlights [][2]int         `json:"highlights"` // rune ranges of the matched text in message.text (or name)
}

// ChannelHit is a channel found by name or topic.
type ChannelHit struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Type  string `json:"type"`
	Topic string `json:"topic"`
}

// FileHit is a file found by name.
type FileHit struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	UploaderID  string `json:"uploaderId"`
}

// files finds files by name that the caller may download: their own, or
// shared in a channel they can see (the same rule as the download).
func (s *Service) files(ctx context.Context, actor access.Actor, r Request, q Query) ([]Result, string, error) {
	text := strings.ToLower(strings.Join(append(q.Words, q.Phrases...), " "))
	pat := likePattern(text)
	rows, err := s.DB.QueryContext(ctx,
		`SELECT f.id, f.name, f.content_type, f.size, f.uploader_id FROM files f
		 WHERE f.workspace_id = ? AND f.deleted_ms = 0 AND LOWER(f.name) LIKE ? ESCAPE '\'
		   AND (f.uploader_id = ? OR EXISTS (SELECT 1 FROM file_shares fs JOIN channels c ON c.id = fs.channel_id
		        WHERE fs.file_id = f.id AND (c.kind = 'public' OR EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.user_id = ?))))
		 ORDER BY f.created_ms DESC, f.id DESC LIMIT ?`, r.WorkspaceID, pat, actor.UserID, actor.UserID, r.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("search: files: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var f FileHit
		if err := rows.Scan(&f.ID, &f.Name, &f.ContentType, &f.Size, &f.UploaderID); err != nil {
			return nil, "", fmt.Errorf("search: files: %w", err)
		}
		out = append(out, Result{Type: "file", File: &f, Highlights: highlight(f.Name, []string{text})})
	}
	return out, "", rows.Err()
}

// UserHit is a person found by name.
type UserHit struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
	Title       string `json:"title"`
}

// Request is one search.
type Request struct {
	WorkspaceID string
	Query       string
	Type        string // messages (default), channels, users
	Sort        string // newest (default), relevance
	Cursor      string
	Limit       int
}

// Search runs r for actor.
func (s *Service) Search(ctx context.Context, actor access.Actor, r Request) ([]Result, string, error) {
	if err := s.Access.Can(ctx, actor, access.WorkspaceRead, access.Resource{Kind: "workspace", ID: r.WorkspaceID, WorkspaceID: r.WorkspaceID}); err != nil {
		return nil, "", err
	}
	q, err := Parse(r.Query)
	if err != nil {
		return nil, "", httpapi.InvalidField("q", err.Error())
	}
	if r.Limit <= 0 || r.Limit > 100 {
		r.Limit = 20
	}
	switch r.Type {
	case "", "messages":
		if q.Empty() {
			return nil, "", httpapi.InvalidField("q", "say what to look for: words, \"a phrase\" or an operator such as from:@ann")
		}
		return s.messages(ctx, actor, r, q)
	case "channels":
		return s.channels(ctx, actor, r, q)
	case "users":
		return s.users(ctx, r, q)
	case "files":
		return s.files(ctx, actor, r, q)
	}
	return nil, "", httpapi.InvalidField("type", "must be messages, channels, users or files")
}

func quoteFTS(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// messages builds one query: visibility, text match and operators, in SQL.
func (s *Service) messages(ctx context.Context, actor access.Actor, r Request, q Query) ([]Result, string, error) {
	pg := s.DB.Driver() == store.Postgres
	where := []string{"c.workspace_id = ?", "m.deleted_ms = 0",
		"(c.kind = 'public' OR EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.user_id = ?))"}
	args := []any{r.WorkspaceID, actor.UserID}
	positive := append(append([]string{}, q.Words...), q.Phrases...)
	from := "messages m JOIN channels c ON c.id = m.channel_id"
	if len(positive) > 0 {
		if pg {
			var parts []string
			for _, w := range q.Words {
				parts, args = append(parts, "plainto_tsquery('english', ?)"), append(args, w)
			}
			for _, p := range q.Phrases {
				parts, args = append(parts, "phraseto_tsquery('english', ?)"), append(args, p)
			}
			where = append(where, "m.tsv @@ ("+strings.Join(parts, " && ")+")")
		} else {
			var terms []string
			for _, t := range positive {
				terms = append(terms, quoteFTS(t))
			}
			// Joined, not IN (…): with newest-first order by rowid SQLite
			// walks the index from the end and stops at the page's size.
			from = "message_fts f JOIN messages m ON m.rowid = f.rowid JOIN channels c ON c.id = m.channel_id"
			where, args = append([]string{"f.message_fts MATCH ?"}, where...), append([]any{strings.Join(terms, " AND ")}, args...)
		}
	}
	if len(q.Not) > 0 {
		if pg {
			var parts []string
			for _, w := range q.Not {
				parts, args = append(parts, "phraseto_tsquery('english', ?)"), append(args, w)
			}
			where = append(where, "NOT (m.tsv @@ ("+strings.Join(parts, " || ")+"))")
		} else {
			var terms []string
			for _, t := range q.Not {
				terms = append(terms, quoteFTS(t))
			}
			where, args = append(where, "m.rowid NOT IN (SELECT rowid FROM message_fts WHERE message_fts MATCH ?)"), append(args, strings.Join(terms, " OR "))
		}
	}
	for _, f := range q.From {
		where = append(where, `m.author_id IN (SELECT u.id FROM users u JOIN workspace_members wm ON wm.user_id = u.id AND wm.workspace_id = ?
			WHERE LOWER(u.display_name) = LOWER(?) OR u.id = ?)`)
		args = append(args, r.WorkspaceID, f, f)
	}
	for _, in := range q.In {
		if name, ok := strings.CutPrefix(in, "#"); ok {
			where, args = append(where, "c.name = ?"), append(args, strings.ToLower(name))
			continue
		}
		who := strings.TrimPrefix(in, "@")
		where = append(where, `c.kind IN ('dm', 'group') AND EXISTS (SELECT 1 FROM channel_members cm JOIN users u ON u.id = cm.user_id
			WHERE cm.channel_id = c.id AND (LOWER(u.display_name) = LOWER(?) OR u.id = ?))`)
		args = append(args, who, who)
	}
	day := int64(24 * time.Hour / time.Millisecond)
	if !q.Before.IsZero() {
		where, args = append(where, "m.created_ms < ?"), append(args, q.Before.UnixMilli())
	}
	if !q.After.IsZero() {
		where, args = append(where, "m.created_ms >= ?"), append(args, q.After.UnixMilli()+day)
	}
	if !q.On.IsZero() {
		where, args = append(where, "m.created_ms >= ? AND m.created_ms < ?"), append(args, q.On.UnixMilli(), q.On.UnixMilli()+day)
	}
	if q.HasLink {
		where = append(where, "(m.text LIKE '%http://%' OR m.text LIKE '%https://%')")
	}
	if q.HasReact {
		where = append(where, "EXISTS (SELECT 1 FROM reactions x WHERE x.message_id = m.id)")
	}
	if q.HasFile {
		where = append(where, "EXISTS (SELECT 1 FROM file_shares fs JOIN files fi ON fi.id = fs.file_id WHERE fs.message_id = m.id AND fi.deleted_ms = 0)")
	}
	if q.IsThread {
		where = append(where, "(m.thread_id <> '' OR m.reply_count > 0)")
	}
	if q.IsPinned {
		where = append(where, "EXISTS (SELECT 1 FROM pins p WHERE p.message_id = m.id)")
	}
	// Newest first: by insertion order, which is time order. On SQLite
	// that is the rowid, which the full-text index can walk backwards.
	order := "m.created_ms DESC, m.id DESC"
	if !pg {
		order = "m.rowid DESC"
		if len(positive) > 0 {
			order = "f.rowid DESC" // the index's own order, so it can stop early
		}
	}
	offset := 0
	if r.Sort == "relevance" && len(positive) > 0 {
		if pg {
			var parts []string
			for _, t := range positive {
				parts, args = append(parts, "plainto_tsquery('english', ?)"), append(args, t)
			}
			order = "ts_rank(m.tsv, " + strings.Join(parts, " && ") + ") DESC, m.created_ms DESC, m.id DESC"
		} else {
			order = "(SELECT bm25(message_fts) FROM message_fts WHERE message_fts MATCH ? AND rowid = m.rowid), m.created_ms DESC, m.id DESC"
			var terms []string
			for _, t := range positive {
				terms = append(terms, quoteFTS(t))
			}
			args = append(args, strings.Join(terms, " OR "))
		}
		if r.Cursor != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(decode(r.Cursor), "o:"))
			if err != nil || !strings.HasPrefix(decode(r.Cursor), "o:") || n < 0 {
				return nil, "", httpapi.InvalidField("cursor", "is not a cursor this API returned")
			}
			offset = n
		}
	} else if r.Sort != "" && r.Sort != "newest" && r.Sort != "relevance" {
		return nil, "", httpapi.InvalidField("sort", "must be newest or relevance")
	} else if r.Cursor != "" {
		at, id, ok := strings.Cut(decode(r.Cursor), ":")
		n, err := strconv.ParseInt(at, 10, 64)
		if !ok || err != nil || id == "" {
			return nil, "", httpapi.InvalidField("cursor", "is not a cursor this API returned")
		}
		// Newest order takes no arguments of its own, so these follow the
		// other conditions' arguments directly.
		if pg {
			where = append(where, "(m.created_ms < ? OR (m.created_ms = ? AND m.id < ?))")
			args = append(args, n, n, id)
		} else {
			where = append(where, "m.rowid < (SELECT rowid FROM messages WHERE id = ?)")
			args = append(args, id)
		}
	}
	sqlText := "SELECT m.id FROM " + from + " WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + order + " LIMIT ? OFFSET ?"
	args = append(args, r.Limit+1, offset)
	ids, err := column(ctx, s.DB, sqlText, args...)
	if err != nil {
		return nil, "", fmt.Errorf("search: messages: %w", err)
	}
	next := ""
	if len(ids) > r.Limit {
		ids = ids[:r.Limit]
		if r.Sort == "relevance" && len(positive) > 0 {
			next = encode("o:" + strconv.Itoa(offset+r.Limit))
		}
	}
	out := make([]Result, 0, len(ids))
	for _, id := range ids {
		m, _, err := s.Messages.Get(ctx, actor, id)
		if err != nil {
			return nil, "", err
		}
		out = append(out, Result{Type: "message", Message: &m, Highlights: highlight(m.Text, positive)})
	}
	if next == "" && len(out) == r.Limit && (r.Sort != "relevance" || len(positive) == 0) {
		last := out[len(out)-1].Message
		next = encode(strconv.FormatInt(last.CreatedAt.UnixMilli(), 10) + ":" + last.ID)
	}
	return out, next, nil
}

func encode(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decode(s string) string {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

func column(ctx context.Context, q store.Querier, sqlText string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// highlight finds the words of terms in text (case-insensitive; a word
// matches a longer one it begins, so "plan" marks "plans") and returns
// their rune ranges.
func highlight(text string, terms []string) [][2]int {
	var want []string
	for _, t := range terms {
		for _, w := range strings.FieldsFunc(strings.ToLower(t), notWord) {
			want = append(want, stem(w))
		}
	}
	out := [][2]int{}
	runes := []rune(text)
	for i := 0; i < len(runes); {
		if notWord(runes[i]) {
			i++
			continue
		}
		j := i
		for j < len(runes) && !notWord(runes[j]) {
			j++
		}
		word := strings.ToLower(string(runes[i:j]))
		for _, w := range want {
			if w != "" && strings.HasPrefix(word, w) {
				out = append(out, [2]int{i, j})
				break
			}
		}
		i = j
	}
	return out
}

func notWord(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }

// stem drops the commonest English endings, enough for highlighting what
// the database's stemmer matched.
func stem(w string) string {
	for _, suf := range []string{"ing", "ed", "es", "s"} {
		if len(w) > len(suf)+2 && strings.HasSuffix(w, suf) {
			return strings.TrimSuffix(w, suf)
		}
	}
	return w
}

// channels finds visible channels by name or topic.
func (s *Service) channels(ctx context.Context, actor access.Actor, r Request, q Query) ([]Result, string, error) {
	text := strings.ToLower(strings.Join(append(q.Words, q.Phrases...), " "))
	pat := likePattern(text)
	rows, err := s.DB.QueryContext(ctx,
		`SELECT c.id, c.name, c.kind, c.topic FROM channels c
		 WHERE c.workspace_id = ? AND c.kind IN ('public', 'private') AND c.archived_ms = 0
		   AND (c.kind = 'public' OR EXISTS (SELECT 1 FROM channel_members cm WHERE cm.channel_id = c.id AND cm.user_id = ?))
		   AND (c.name LIKE ? ESCAPE '\' OR LOWER(c.topic) LIKE ? ESCAPE '\')
		 ORDER BY c.name LIMIT ?`, r.WorkspaceID, actor.UserID, pat, pat, r.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("search: channels: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var c ChannelHit
		if err := rows.Scan(&c.ID, &c.Name, &c.Type, &c.Topic); err != nil {
			return nil, "", fmt.Errorf("search: channels: %w", err)
		}
		out = append(out, Result{Type: "channel", Channel: &c, Highlights: highlight(c.Name, []string{text})})
	}
	return out, "", rows.Err()
}

// users finds members of the workspace by name.
func (s *Service) users(ctx context.Context, r Request, q Query) ([]Result, string, error) {
	text := strings.ToLower(strings.Join(append(q.Words, q.Phrases...), " "))
	pat := likePattern(text)
	rows, err := s.DB.QueryContext(ctx,
		`SELECT u.id, u.display_name, u.title FROM users u JOIN workspace_members wm ON wm.user_id = u.id AND wm.workspace_id = ?
		 WHERE LOWER(u.display_name) LIKE ? ESCAPE '\' ORDER BY u.display_name, u.id LIMIT ?`, r.WorkspaceID, pat, r.Limit)
	if err != nil {
		return nil, "", fmt.Errorf("search: users: %w", err)
	}
	defer rows.Close()
	out := []Result{}
	for rows.Next() {
		var u UserHit
		if err := rows.Scan(&u.ID, &u.DisplayName, &u.Title); err != nil {
			return nil, "", fmt.Errorf("search: users: %w", err)
		}
		out = append(out, Result{Type: "user", User: &u, Highlights: highlight(u.DisplayName, []string{text})})
	}
	return out, "", rows.Err()
}

// likePattern matches text anywhere, with LIKE's wildcards in it escaped.
func likePattern(text string) string {
	return "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(text) + "%"
}
