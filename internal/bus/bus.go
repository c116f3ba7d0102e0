// Package bus carries events between QuikApp's modules and between its nodes.
//
// Two kinds of delivery share one subject space:
//
//   - Subscribe is fan-out and at-most-once: every subscriber whose pattern
//     matches sees the message, on every node, best effort. It suits live
//     updates (typing indicators, presence, pushing a new message to open
//     websockets) where a lost event is healed by the next one or a reload.
//   - Consume is a durable work queue and at-least-once: each message is
//     handled successfully by one member of the named group, across nodes,
//     and a failing handler gets the message again later. It suits work that
//     must happen (search indexing, notifications, counters).
//
// Both deliver the message's ID, and consumers must be idempotent on it.
//
// Subjects are dot-separated tokens ("channel.c123.message"). Patterns use
// NATS semantics: "*" matches exactly one token and ">" matches one or more
// trailing tokens and must be the last token ("channel.*.message",
// "channel.>").
//
// Two implementations satisfy [Bus]: [Memory] (one process: tests and a
// single-node install) and [NATS] (NATS core for Subscribe, JetStream for
// Publish and Consume). The conformance suite in package bustest holds both to
// the same contract.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"unicode/utf8"
)

// Size limits. A whole message (data, headers, ID and the transport's own
// framing) fits in NATS's default max_payload of 1 MiB, so no server setting
// has to be raised: MaxDataSize is 1 MiB less 64 KiB kept for the rest.
const (
	MaxDataSize    = 1<<20 - 64<<10 // bytes of Message.Data
	MaxHeaderSize  = 16 << 10       // bytes of Message.Header, counted as encoded: len(key)+len(value)+4 per entry
	MaxIDSize      = 128            // bytes of Message.ID
	MaxSubjectSize = 256            // bytes of a subject or pattern
	MaxGroupSize   = 64             // bytes of a Consume group name
)

// Sentinel errors; test with errors.Is.
var (
	// ErrInvalidSubject: a subject, pattern or group name breaks the rules
	// in this package's documentation.
	ErrInvalidSubject = errors.New("invalid subject")
	// ErrInvalidMessage: the message can never be published as it is
	// (missing or malformed ID, data or headers too large, a reserved or
	// malformed header). Retrying will not help.
	ErrInvalidMessage = errors.New("invalid message")
	// ErrGroupConflict: a Consume group is already bound to another pattern.
	// A group has exactly one pattern; to change it, use a new group name.
	ErrGroupConflict = errors.New("consume group bound to another pattern")
	// ErrClosed: the bus has been closed.
	ErrClosed = errors.New("bus closed")
)

// Message is one event. ID is unique per event; consumers are idempotent on
// it (delivery is at-least-once for Consume, at-most-once for Subscribe).
type Message struct {
	// ID is required: 1 to MaxIDSize bytes of printable ASCII without spaces
	// (a UUID, a ULID, an outbox row key).
	ID string
	// Subject is dot-separated tokens, such as "channel.c123.message"; no
	// wildcards when publishing.
	Subject string
	// Data is at most MaxDataSize bytes. Handlers receive nil for no data,
	// and their own copy: they may keep it but should not expect others to
	// see changes to it.
	Data []byte
	// Header is optional metadata, at most MaxHeaderSize bytes. Keys are
	// HTTP-style tokens (letters, digits and !#$%&'*+-.^_`|~), matched
	// case-sensitively, and must not start with "Nats-" (reserved for the
	// transport, any case). Values are UTF-8 without control characters
	// with no space at either end. Handlers receive nil for none.
	Header map[string]string
}

// Handler handles one message. It may be called concurrently with itself
// (from concurrent publishers on the memory bus, or later by a NATS bus
// with parallel consumers), so it must be safe for concurrent use.
//
// ctx carries the values of the context given to Subscribe or Consume and
// is canceled when the subscription ends or the bus closes; for Consume it
// also has a deadline (the handler timeout), after which the message counts
// as failed.
type Handler func(ctx context.Context, m Message) error

// Subscription is the result of Subscribe or Consume.
type Subscription interface {
	// Unsubscribe stops delivery: once it returns no new handler call
	// starts, and the context of any call still running is canceled (that
	// call may still finish after Unsubscribe returns). It is idempotent,
	// safe to call from a handler, and returns nil after the bus is closed.
	// For Consume, the group itself stays (on NATS, the durable consumer
	// and its position); other members and later Consume calls go on.
	Unsubscribe() error
}

// Bus is publish/subscribe between modules and between nodes. All methods are
// safe for concurrent use, and a handler may call any of them except Close.
type Bus interface {
	// Publish hands m to every Subscribe subscriber whose pattern matches
	// (on every node, best effort) and to every Consume group whose pattern
	// matches (durably). It returns nil only when the message is durably
	// accepted: on NATS, JetStream acknowledged it; in memory, every
	// matching Consume group's handler returned nil (after a few immediate
	// retries). On error the caller — an outbox relay — publishes the same
	// message again later; that is what makes Consume at-least-once.
	//
	// Publishing the same ID twice may deliver it twice to Subscribe
	// handlers and, on the memory bus, to Consume groups; JetStream drops
	// the second copy for Consume groups within its duplicate window.
	// An invalid message returns an error wrapping ErrInvalidSubject or
	// ErrInvalidMessage.
	Publish(ctx context.Context, m Message) error

	// Subscribe is fan-out: h sees every message published after Subscribe
	// returns whose subject matches pattern, in publish order per
	// publisher. The handler must not block for long: on the memory bus it
	// runs inside Publish; on NATS a slow subscriber drops messages. Its
	// error is only logged.
	Subscribe(ctx context.Context, pattern string, h Handler) (Subscription, error)

	// Consume is a durable work queue: each message published after the
	// group was first created and matching pattern is handled successfully
	// by one member of the named group (the members may be on different
	// nodes). A handler error, panic or timeout means the message is
	// delivered again later, with backoff and a bounded number of attempts
	// (on NATS; the memory bus retries a few times inside Publish and then
	// fails the Publish). All members of a group must use the same pattern;
	// otherwise ErrGroupConflict.
	//
	// Group names are 1 to MaxGroupSize bytes of letters, digits, '_' and
	// '-'.
	Consume(ctx context.Context, pattern, group string, h Handler) (Subscription, error)

	// Ping reports whether the bus is connected and can accept messages
	// (for health checks). After Close it returns ErrClosed.
	Ping(ctx context.Context) error

	// Close stops every subscription and releases the connection. Later
	// calls to Publish, Subscribe, Consume and Ping return ErrClosed;
	// Close itself is idempotent.
	Close() error
}

// ValidateSubject reports whether subject can be published to: 1 to
// MaxSubjectSize bytes of tokens separated by '.', each token non-empty and
// made of ASCII letters, digits, '_', '-' and ':'. The error wraps
// ErrInvalidSubject.
func ValidateSubject(subject string) error {
	return validateSubject(subject, false)
}

// ValidatePattern reports whether pattern can be subscribed to: a subject
// whose tokens may also be "*" (exactly one token) or, as the last token
// only, ">" (one or more tokens). The error wraps ErrInvalidSubject.
func ValidatePattern(pattern string) error {
	return validateSubject(pattern, true)
}

// ValidateGroup reports whether group can name a Consume group: 1 to
// MaxGroupSize bytes of ASCII letters, digits, '_' and '-' (so it is a valid
// JetStream durable name as it is). The error wraps ErrInvalidSubject.
func ValidateGroup(group string) error {
	if group == "" {
		return fmt.Errorf("%w: empty group name", ErrInvalidSubject)
	}
	if len(group) > MaxGroupSize {
		return fmt.Errorf("%w: group name %s is %d bytes, over %d", ErrInvalidSubject, quote(group), len(group), MaxGroupSize)
	}
	for i := 0; i < len(group); i++ {
		if c := group[i]; c == ':' || !isTokenChar(c) {
			return fmt.Errorf("%w: group name %s: character %q not allowed", ErrInvalidSubject, quote(group), c)
		}
	}
	return nil
}

// Match reports whether subject matches pattern. The result is meaningful
// only for a valid pattern and a valid subject (see ValidatePattern and
// ValidateSubject); Match itself does not validate.
func Match(pattern, subject string) bool {
	p, s := pattern, subject
	for {
		pt, prest, pmore := strings.Cut(p, ".")
		if pt == ">" {
			return s != ""
		}
		st, srest, smore := strings.Cut(s, ".")
		if pt != "*" && pt != st {
			return false
		}
		if pmore != smore {
			return false
		}
		if !pmore {
			return true
		}
		p, s = prest, srest
	}
}

func validateSubject(s string, wildcards bool) error {
	kind := "subject"
	if wildcards {
		kind = "pattern"
	}
	if s == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidSubject, kind)
	}
	if len(s) > MaxSubjectSize {
		return fmt.Errorf("%w: %s %s is %d bytes, over %d", ErrInvalidSubject, kind, quote(s), len(s), MaxSubjectSize)
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			continue
		}
		tok := s[start:i]
		switch {
		case tok == "":
			return fmt.Errorf("%w: %s %s has an empty token", ErrInvalidSubject, kind, quote(s))
		case wildcards && tok == "*":
		case wildcards && tok == ">":
			if i != len(s) {
				return fmt.Errorf("%w: %s %s: '>' must be the last token", ErrInvalidSubject, kind, quote(s))
			}
		default:
			for j := 0; j < len(tok); j++ {
				if !isTokenChar(tok[j]) {
					return fmt.Errorf("%w: %s %s: character %q not allowed", ErrInvalidSubject, kind, quote(s), tok[j])
				}
			}
		}
		start = i + 1
	}
	return nil
}

func isTokenChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == ':'
}

// validateMessage checks everything about m that does not depend on the
// implementation.
func validateMessage(m Message) error {
	if err := ValidateSubject(m.Subject); err != nil {
		return err
	}
	if m.ID == "" {
		return fmt.Errorf("%w: empty ID", ErrInvalidMessage)
	}
	if len(m.ID) > MaxIDSize {
		return fmt.Errorf("%w: ID %s is %d bytes, over %d", ErrInvalidMessage, quote(m.ID), len(m.ID), MaxIDSize)
	}
	for i := 0; i < len(m.ID); i++ {
		if c := m.ID[i]; c <= ' ' || c > '~' {
			return fmt.Errorf("%w: ID %s: character %q not allowed", ErrInvalidMessage, quote(m.ID), c)
		}
	}
	if len(m.Data) > MaxDataSize {
		return fmt.Errorf("%w: data is %d bytes, over %d", ErrInvalidMessage, len(m.Data), MaxDataSize)
	}
	size := 0
	for k, v := range m.Header {
		if err := validateHeader(k, v); err != nil {
			return err
		}
		size += len(k) + len(v) + 4
	}
	if size > MaxHeaderSize {
		return fmt.Errorf("%w: header is %d bytes, over %d", ErrInvalidMessage, size, MaxHeaderSize)
	}
	return nil
}

func validateHeader(k, v string) error {
	if k == "" {
		return fmt.Errorf("%w: empty header key", ErrInvalidMessage)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return fmt.Errorf("%w: header key %s: character %q not allowed", ErrInvalidMessage, quote(k), c)
		}
	}
	if len(k) >= len(reservedHeaderPrefix) && strings.EqualFold(k[:len(reservedHeaderPrefix)], reservedHeaderPrefix) {
		return fmt.Errorf("%w: header key %s: the %q prefix is reserved", ErrInvalidMessage, quote(k), reservedHeaderPrefix)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%w: header %s: value is not UTF-8", ErrInvalidMessage, quote(k))
	}
	if v != "" && (v[0] == ' ' || v[len(v)-1] == ' ') {
		// NATS trims them.
		return fmt.Errorf("%w: header %s: value starts or ends with a space", ErrInvalidMessage, quote(k))
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%w: header %s: value has control character %q", ErrInvalidMessage, quote(k), r)
		}
	}
	return nil
}

// reservedHeaderPrefix starts the headers NATS and JetStream interpret
// (Nats-Msg-Id, Nats-Expected-Stream, ...).
const reservedHeaderPrefix = "Nats-"

// quote formats s for an error message, cut short so that a huge invalid
// input does not make a huge error.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q...", s[:max])
	}
	return fmt.Sprintf("%q", s)
}

// deliveryCopy is the copy of m a handler receives: its own Data and
// Header, nil when empty.
func deliveryCopy(m Message) Message {
	out := Message{ID: m.ID, Subject: m.Subject}
	if len(m.Data) > 0 {
		out.Data = append([]byte(nil), m.Data...)
	}
	if len(m.Header) > 0 {
		out.Header = make(map[string]string, len(m.Header))
		for k, v := range m.Header {
			out.Header[k] = v
		}
	}
	return out
}

// callHandler runs h, turning a panic into an error so that one bad
// handler cannot take the process down.
// The stack of a panic is logged, since the error cannot carry it usefully.
func callHandler(ctx context.Context, log *slog.Logger, h Handler, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
			log.Error("bus: handler panicked", "subject", m.Subject, "message_id", m.ID, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	return h(ctx, m)
}

// subscriptionContext returns the context for a subscription's handler
// calls: the values of ctx (the one given to Subscribe or Consume, whose
// cancellation only bounds that call), canceled by the returned func or
// when base (the bus's own context) is canceled.
func subscriptionContext(base, ctx context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(base, cancel)
	return sctx, func() {
		stop()
		cancel()
	}
}
