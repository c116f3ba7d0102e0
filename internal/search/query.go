// Package search finds messages, channels and people within what the
// caller may see. Messages are matched by the database's own full-text
// index (SQLite FTS5, PostgreSQL tsvector), with the permission filter
// in the same query, so a page never holds anything the caller may not
// see and is never filtered afterwards.
package search

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Query is a parsed search.
type Query struct {
	Words    []string // all must match
	Phrases  []string // each must match as a phrase
	Not      []string // words that must not match
	From     []string // author references (@name or user id)
	In       []string // #channel names, or @user for a DM with them
	Before   time.Time
	After    time.Time
	On       time.Time
	HasLink  bool
	HasReact bool
	HasFile  bool
	IsThread bool
	IsPinned bool
}

// Empty reports whether the query asks for nothing at all.
func (q Query) Empty() bool {
	return len(q.Words) == 0 && len(q.Phrases) == 0 && len(q.From) == 0 && len(q.In) == 0 && q.Before.IsZero() &&
		q.After.IsZero() && q.On.IsZero() && !q.HasLink && !q.HasReact && !q.HasFile && !q.IsThread && !q.IsPinned
}

// SyntaxError says what is wrong where.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("at character %d: %s", e.Pos+1, e.Msg) }

// MaxQueryLen bounds a query.
const MaxQueryLen = 500

// Parse reads Slack-style search syntax: free words, "exact phrases",
// -word, from:@name, in:#channel, in:@name, before:/after:/on:YYYY-MM-DD,
// has:link|reaction|file, is:thread|pinned.
func Parse(s string) (Query, error) {
	var q Query
	if len(s) > MaxQueryLen {
		return q, &SyntaxError{MaxQueryLen, fmt.Sprintf("the query is longer than %d characters", MaxQueryLen)}
	}
	if !utf8.ValidString(s) {
		return q, &SyntaxError{0, "the query is not valid UTF-8"}
	}
	i := 0
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			i += n
			continue
		}
		start := i
		neg := false
		if s[i] == '-' {
			neg = true
			i++
		}
		if i < len(s) && s[i] == '"' {
			end := strings.IndexByte(s[i+1:], '"')
			if end < 0 {
				return q, &SyntaxError{i, "a phrase is missing its closing quote"}
			}
			phrase := strings.Join(strings.Fields(s[i+1:i+1+end]), " ")
			i += end + 2
			if phrase == "" {
				continue
			}
			if neg {
				q.Not = append(q.Not, phrase)
			} else {
				q.Phrases = append(q.Phrases, phrase)
			}
			continue
		}
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if unicode.IsSpace(r) {
				break
			}
			j += n
		}
		tok := s[i:j]
		i = j
		if key, val, ok := strings.Cut(tok, ":"); ok && !neg && isOperator(key) {
			if err := q.operator(strings.ToLower(key), val, start); err != nil {
				return q, err
			}
			continue
		}
		word := strings.Trim(tok, `"'`)
		if word == "" {
			continue
		}
		if neg {
			q.Not = append(q.Not, word)
		} else {
			q.Words = append(q.Words, word)
		}
	}
	if len(q.Words)+len(q.Phrases)+len(q.Not) > 30 {
		return q, &SyntaxError{0, "at most 30 words and phrases"}
	}
	return q, nil
}

func isOperator(k string) bool {
	switch strings.ToLower(k) {
	case "from", "in", "before", "after", "on", "has", "is":
		return true
	}
	return false
}

func (q *Query) operator(key, val string, pos int) error {
	if val == "" {
		return &SyntaxError{pos, key + ": needs a value, such as " + example(key)}
	}
	switch key {
	case "from":
		if !strings.HasPrefix(val, "@") && !strings.HasPrefix(val, "<@") {
			return &SyntaxError{pos, "from: takes @name, such as from:@ann"}
		}
		q.From = append(q.From, strings.Trim(strings.TrimPrefix(strings.TrimPrefix(val, "<"), "@"), "<>"))
	case "in":
		if !strings.HasPrefix(val, "#") && !strings.HasPrefix(val, "@") {
			return &SyntaxError{pos, "in: takes #channel or @name, such as in:#general"}
		}
		q.In = append(q.In, val)
	case "before", "after", "on":
		t, err := time.Parse("2006-01-02", val)
		if err != nil {
			return &SyntaxError{pos, key + ": takes a date such as " + example(key)}
		}
		switch key {
		case "before":
			q.Before = t
		case "after":
			q.After = t
		default:
			q.On = t
		}
	case "has":
		switch strings.ToLower(val) {
		case "link":
			q.HasLink = true
		case "reaction":
			q.HasReact = true
		case "file":
			q.HasFile = true
		default:
			return &SyntaxError{pos, "has: takes link, reaction or file"}
		}
	case "is":
		switch strings.ToLower(val) {
		case "thread":
			q.IsThread = true
		case "pinned":
			q.IsPinned = true
		default:
			return &SyntaxError{pos, "is: takes thread or pinned"}
		}
	}
	return nil
}

func example(key string) string {
	switch key {
	case "from":
		return "from:@ann"
	case "in":
		return "in:#general"
	case "has":
		return "has:link"
	case "is":
		return "is:thread"
	}
	return key + ":2026-01-31"
}
