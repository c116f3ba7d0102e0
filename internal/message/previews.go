package message

import (
	"context"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/quikapp/quikapp/internal/store"
)

// LinkPreview is what a linked page says about itself.
type LinkPreview struct {
	URL         string `json:"url"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	ImageURL    string `json:"imageUrl,omitempty"`
	SiteName    string `json:"siteName,omitempty"`
}

// Preview limits.
const (
	maxPreviewLinks = 3
	maxPageBytes    = 512 << 10
	previewTimeout  = 5 * time.Second
)

var linkRE = regexp.MustCompile(`https?://[^\s<>"'\x60]+`)

// links are the first few distinct http(s) links outside code.
func links(text string) []string {
	text = codeSpan.ReplaceAllString(text, "")
	var out []string
	for _, l := range linkRE.FindAllString(text, -1) {
		l = strings.TrimRight(l, ".,;:!?)]}")
		u, err := url.Parse(l)
		if err != nil || u.Host == "" || len(l) > 2048 {
			continue
		}
		s := u.String()
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
		if len(out) == maxPreviewLinks {
			break
		}
	}
	return out
}

// queuePreviews records the message's links for the preview worker.
func queuePreviews(ctx context.Context, tx *store.Tx, m Message) error {
	for i, l := range links(m.Text) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO link_previews (message_id, url, position) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", m.ID, l, i); err != nil {
			return fmt.Errorf("message: queue preview: %w", err)
		}
	}
	return nil
}

// SetPreviewClient gives the worker the HTTP client it fetches with; it
// must refuse internal addresses (netguard).
func (s *Service) SetPreviewClient(c *http.Client) { s.previews = c }

// RunPreviews fetches pending previews once each (claimed like scheduled
// items) and announces each on its channel.
func (s *Service) RunPreviews(ctx context.Context) (int, error) {
	if s.previews == nil {
		return 0, nil
	}
	now := s.now()
	rows, err := s.db.QueryContext(ctx,
		"SELECT message_id, url FROM link_previews WHERE status = 'pending' AND claimed_until_ms < ? LIMIT 10", now.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("message: pending previews: %w", err)
	}
	type job struct{ msg, url string }
	var jobs []job
	for rows.Next() {
		var j job
		if err := rows.Scan(&j.msg, &j.url); err != nil {
			rows.Close()
			return 0, fmt.Errorf("message: pending previews: %w", err)
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	done := 0
	for _, j := range jobs {
		res, err := s.db.ExecContext(ctx,
			"UPDATE link_previews SET claimed_until_ms = ?, attempts = attempts + 1 WHERE message_id = ? AND url = ? AND status = 'pending' AND claimed_until_ms < ?",
			now.Add(claimLease).UnixMilli(), j.msg, j.url, now.UnixMilli())
		if err != nil {
			return done, fmt.Errorf("message: claim preview: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue
		}
		p, ferr := s.fetchPreview(ctx, j.url)
		if ferr != nil {
			s.log.InfoContext(ctx, "link_preview_failed", "url_host", hostOf(j.url), "error", ferr)
			_, _ = s.db.ExecContext(ctx, "UPDATE link_previews SET status = 'failed' WHERE message_id = ? AND url = ?", j.msg, j.url)
			continue
		}
		err = s.db.InTx(ctx, func(tx *store.Tx) error {
			if _, err := tx.ExecContext(ctx,
				`UPDATE link_previews SET status = 'done', title = ?, description = ?, image_url = ?, site_name = ?, fetched_ms = ?
				 WHERE message_id = ? AND url = ?`, p.Title, p.Description, p.ImageURL, p.SiteName, s.now().UnixMilli(), j.msg, j.url); err != nil {
				return fmt.Errorf("message: store preview: %w", err)
			}
			m, err := scan(tx.QueryRowContext(ctx, "SELECT "+columns+" FROM messages WHERE id = ?", j.msg))
			if err != nil {
				return fmt.Errorf("message: reload: %w", err)
			}
			if err := s.decorate(ctx, tx, &m); err != nil {
				return err
			}
			return event(ctx, tx, m.ChannelID, "updated", m)
		})
		if err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

func hostOf(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Hostname()
}

var (
	titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)
	metaRE  = regexp.MustCompile(`(?is)<meta\s[^>]*>`)
	attrRE  = regexp.MustCompile(`(?is)([a-z][a-z0-9:_-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')`)
)

// fetchPreview reads a page's title, description, image and site name
// from its Open Graph tags (or its <title>), within time and size limits.
func (s *Service) fetchPreview(ctx context.Context, link string) (LinkPreview, error) {
	ctx, cancel := context.WithTimeout(ctx, previewTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, link, nil)
	if err != nil {
		return LinkPreview{}, err
	}
	req.Header.Set("User-Agent", "QuikAppBot/1.0 (link preview)")
	req.Header.Set("Accept", "text/html")
	resp, err := s.previews.Do(req)
	if err != nil {
		return LinkPreview{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return LinkPreview{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/html" {
		return LinkPreview{}, fmt.Errorf("not HTML (%s)", mt)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxPageBytes))
	if err != nil {
		return LinkPreview{}, err
	}
	page := string(body)
	if i := strings.Index(strings.ToLower(page), "</head>"); i >= 0 {
		page = page[:i]
	}
	meta := map[string]string{}
	for _, tag := range metaRE.FindAllString(page, 200) {
		attrs := map[string]string{}
		for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
			attrs[strings.ToLower(a[1])] = a[2] + a[3]
		}
		key := attrs["property"]
		if key == "" {
			key = attrs["name"]
		}
		if key != "" && attrs["content"] != "" {
			if _, seen := meta[strings.ToLower(key)]; !seen {
				meta[strings.ToLower(key)] = attrs["content"]
			}
		}
	}
	p := LinkPreview{URL: link, Title: meta["og:title"], Description: meta["og:description"], SiteName: meta["og:site_name"]}
	if p.Title == "" {
		if m := titleRE.FindStringSubmatch(page); m != nil {
			p.Title = m[1]
		}
	}
	if p.Description == "" {
		p.Description = meta["description"]
	}
	if img := meta["og:image"]; img != "" {
		if u, err := resp.Request.URL.Parse(html.UnescapeString(img)); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			p.ImageURL = u.String()
		}
	}
	p.Title, p.Description, p.SiteName = clean(p.Title, 200), clean(p.Description, 400), clean(p.SiteName, 100)
	if p.Title == "" {
		return LinkPreview{}, fmt.Errorf("no title")
	}
	return p, nil
}

// clean unescapes, flattens whitespace and bounds a text from a page.
func clean(s string, max int) string {
	s = strings.Join(strings.Fields(html.UnescapeString(s)), " ")
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "")
	}
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// attachPreviews loads the fetched previews of a page of messages.
func attachPreviews(ctx context.Context, q store.Querier, ms []Message) error {
	if len(ms) == 0 {
		return nil
	}
	idx := map[string]int{}
	args := make([]any, len(ms))
	for i, m := range ms {
		idx[m.ID], args[i] = i, m.ID
		ms[i].Previews = []LinkPreview{}
	}
	rows, err := q.QueryContext(ctx, "SELECT message_id, url, title, description, image_url, site_name FROM link_previews WHERE status = 'done' AND message_id IN (?"+
		strings.Repeat(",?", len(ms)-1)+") ORDER BY message_id, position", args...)
	if err != nil {
		return fmt.Errorf("message: load previews: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var p LinkPreview
		if err := rows.Scan(&id, &p.URL, &p.Title, &p.Description, &p.ImageURL, &p.SiteName); err != nil {
			return fmt.Errorf("message: load previews: %w", err)
		}
		if i, ok := idx[id]; ok && !ms[i].Deleted {
			ms[i].Previews = append(ms[i].Previews, p)
		}
	}
	return rows.Err()
}
