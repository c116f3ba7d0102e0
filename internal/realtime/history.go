// Package realtime is the connection hub under chat and notifications:
// topics with offsets and bounded history so a reconnecting client gets
// exactly what it missed, or is told to resync.
//
// This file holds the history contract; transports (WebSocket, SSE),
// presence and multi-node fan-out build on it.
package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// Event is one event on a topic, as clients receive it.
type Event struct {
	Topic  string          `json:"topic"`
	Offset uint64          `json:"offset"` // 1 for a topic's first event, +1 per event
	Epoch  string          `json:"epoch"`  // changes whenever a topic's offsets restart
	ID     string          `json:"id"`     // the producer's event id, for idempotent consumers
	Type   string          `json:"type"`
	Data   json.RawMessage `json:"data,omitempty"`
	At     time.Time       `json:"-"` // when it was appended; bounds its age in history
}

// Position is where a client is in one topic: the epoch it saw and the
// last offset it received.
type Position struct {
	Epoch  string `json:"epoch"`
	Offset uint64 `json:"offset"`
}

// ErrResync says a topic's history no longer covers a position (too old,
// evicted, another epoch, or an offset this topic never reached): the
// client must reload the topic's state through the API and continue from
// the head.
var ErrResync = errors.New("realtime: resync")

// History assigns offsets and keeps each topic's recent events. Every
// implementation passes the suite in package historytest.
type History interface {
	// Append gives ev the topic's next offset and current epoch, stores it
	// and returns it as stored.
	Append(ctx context.Context, topic string, ev Event) (Event, error)
	// Since returns, oldest first, at most limit events after pos, or
	// ErrResync. A position at the head returns no events.
	Since(ctx context.Context, topic string, pos Position, limit int) ([]Event, error)
	// Head is the topic's current position (offset 0 before any event).
	Head(ctx context.Context, topic string) (Position, error)
}

// HistoryConfig bounds what a history keeps per topic.
type HistoryConfig struct {
	MaxEvents int              // per topic (default 1,000)
	MaxAge    time.Duration    // per event (default 10 minutes)
	Now       func() time.Time // clock (tests); time.Now when nil
}

func (c HistoryConfig) withDefaults() HistoryConfig {
	if c.MaxEvents <= 0 {
		c.MaxEvents = 1000
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 10 * time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}
