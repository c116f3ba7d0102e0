package message

import (
	"context"
	"fmt"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/httpapi"
	"github.com/quikapp/quikapp/internal/store"
)

// follow makes userID follow the thread (a no-op when they already do;
// following false records an explicit unfollow that auto-follow keeps).
func follow(ctx context.Context, tx *store.Tx, threadID, channelID, userID string, explicit, following bool) error {
	q := `INSERT INTO thread_follows (thread_id, user_id, channel_id, following) VALUES (?, ?, ?, ?) ON CONFLICT (thread_id, user_id) DO NOTHING`
	if explicit {
		q = `INSERT INTO thread_follows (thread_id, user_id, channel_id, following) VALUES (?, ?, ?, ?)
		     ON CONFLICT (thread_id, user_id) DO UPDATE SET following = excluded.following`
	}
	if _, err := tx.ExecContext(ctx, q, threadID, userID, channelID, store.Flag(following)); err != nil {
		return fmt.Errorf("message: follow thread: %w", err)
	}
	return nil
}

// autoFollow: a reply's author, the thread's starter and anyone the reply
// names follow the thread, unless they unfollowed it.
func autoFollow(ctx context.Context, tx *store.Tx, m Message, rootAuthor string) error {
	for _, u := range append([]string{m.AuthorID, rootAuthor}, m.Mentions.Users...) {
		if err := follow(ctx, tx, m.ThreadID, m.ChannelID, u, false, true); err != nil {
			return err
		}
	}
	// The author has read their own reply.
	_, err := tx.ExecContext(ctx, "UPDATE thread_follows SET last_read_seq = ? WHERE thread_id = ? AND user_id = ? AND last_read_seq < ?",
		m.Seq, m.ThreadID, m.AuthorID, m.Seq)
	return err
}

// SetFollowing follows or unfollows a thread.
func (s *Service) SetFollowing(ctx context.Context, actor access.Actor, id string, following bool) error {
	m, _, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	if m.ThreadID != "" {
		return httpapi.InvalidField("id", "is a reply; follow its thread's first message")
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		return follow(ctx, tx, m.ID, m.ChannelID, actor.UserID, true, following)
	})
}

// ThreadSummary is a followed thread in the threads view.
type ThreadSummary struct {
	Root        Message `json:"root"`
	UnreadCount int     `json:"unreadCount"`
}

// Threads lists the threads the actor follows in a workspace, most
// recently active first, with their unread replies. Threads of channels
// the actor can no longer see are left out.
func (s *Service) Threads(ctx context.Context, actor access.Actor, workspaceID string) ([]ThreadSummary, error) {
	if err := s.access.Can(ctx, actor, access.WorkspaceRead, access.Resource{Kind: "workspace", ID: workspaceID, WorkspaceID: workspaceID}); err != nil {
		return nil, err
	}
	roots, err := s.list(ctx, "SELECT "+prefixed("m.")+` FROM thread_follows f JOIN messages m ON m.id = f.thread_id JOIN channels c ON c.id = m.channel_id
		WHERE f.user_id = ? AND f.following = 1 AND c.workspace_id = ? AND m.reply_count > 0 ORDER BY m.last_reply_ms DESC LIMIT 200`,
		actor.UserID, workspaceID)
	if err != nil {
		return nil, err
	}
	out := []ThreadSummary{}
	for _, r := range roots {
		if _, err := s.channels.Get(ctx, actor, r.ChannelID); err != nil {
			continue
		}
		var n int
		err := s.db.QueryRowContext(ctx,
			`SELECT COUNT(*) FROM messages m JOIN thread_follows f ON f.thread_id = m.thread_id AND f.user_id = ?
			 WHERE m.thread_id = ? AND m.seq > f.last_read_seq AND m.author_id <> ? AND m.deleted_ms = 0`,
			actor.UserID, r.ID, actor.UserID).Scan(&n)
		if err != nil {
			return nil, fmt.Errorf("message: thread unread: %w", err)
		}
		out = append(out, ThreadSummary{Root: r, UnreadCount: n})
	}
	return out, nil
}

// MarkThreadRead records that the actor read a thread to its end.
func (s *Service) MarkThreadRead(ctx context.Context, actor access.Actor, id string) error {
	m, _, err := s.Get(ctx, actor, id)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *store.Tx) error {
		if err := follow(ctx, tx, m.ID, m.ChannelID, actor.UserID, false, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`UPDATE thread_follows SET last_read_seq = COALESCE((SELECT MAX(seq) FROM messages WHERE thread_id = ?), 0)
			 WHERE thread_id = ? AND user_id = ?`, m.ID, m.ID, actor.UserID)
		if err != nil {
			return fmt.Errorf("message: thread read: %w", err)
		}
		return nil
	})
}
