package realtime_test

import (
	"sync"
	"testing"
	"time"

	"github.com/quikapp/quikapp/internal/realtime"
	"github.com/quikapp/quikapp/internal/realtime/historytest"
)

type recorder struct {
	mu       sync.Mutex
	presence []realtime.PresenceUpdate
	typing   []realtime.TypingUpdate
}

func (r *recorder) takePresence() []realtime.PresenceUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.presence
	r.presence = nil
	return out
}

func (r *recorder) takeTyping() []realtime.TypingUpdate {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.typing
	r.typing = nil
	return out
}

func newPresence(t *testing.T) (*realtime.Presence, *historytest.Clock, *recorder) {
	clock := historytest.NewClock()
	rec := &recorder{}
	p := realtime.NewPresence(realtime.PresenceConfig{Now: clock.Now,
		OnPresence: func(u realtime.PresenceUpdate) {
			rec.mu.Lock()
			rec.presence = append(rec.presence, u)
			rec.mu.Unlock()
		},
		OnTyping: func(u realtime.TypingUpdate) { rec.mu.Lock(); rec.typing = append(rec.typing, u); rec.mu.Unlock() },
	})
	return p, clock, rec
}

func statuses(ups []realtime.PresenceUpdate) []string {
	out := []string{}
	for _, u := range ups {
		out = append(out, u.UserID+":"+u.Status)
	}
	return out
}

func wantStatuses(t *testing.T, got []realtime.PresenceUpdate, want ...string) {
	t.Helper()
	g := statuses(got)
	if len(g) != len(want) {
		t.Fatalf("updates %v, want %v", g, want)
	}
	for i := range g {
		if g[i] != want[i] {
			t.Fatalf("updates %v, want %v", g, want)
		}
	}
}

// Online while any device is connected; offline 60 s after the last one
// closes, not before, and not at all if it comes back in time.
func TestPresenceAcrossDevicesAndGrace(t *testing.T) {
	p, clock, rec := newPresence(t)
	p.Connected("acme", "ada")
	p.Connected("acme", "ada") // a second device: no new update
	wantStatuses(t, rec.takePresence(), "ada:online")
	p.Disconnected("acme", "ada")
	clock.Advance(2 * time.Minute)
	p.Tick()
	wantStatuses(t, rec.takePresence()) // the other device is still there
	p.Disconnected("acme", "ada")
	clock.Advance(59 * time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence())
	if p.Get("acme", "ada").Status != realtime.StatusOnline {
		t.Fatal("offline before the grace period ended")
	}
	clock.Advance(time.Second)
	p.Tick()
	wantStatuses(t, rec.takePresence(), "ada:offline")

	p.Connected("acme", "ada")
	p.Disconnected("acme", "ada")
	clock.Advance(30 * time.Second)
	p.Connected("acme", "ada") // a reload: back within the grace period
	clock.Advance(2 * time.Minute)
	p.Tick()
	wantStatuses(t, rec.takePresence(), "ada:online")
	if p.Get("beta", "ada").Status != realtime.StatusOffline {
		t.Fatal("presence leaked to another tenant's user of the same id")
	}
}

func TestPresenceChoices(t *testing.T) {
	p, _, rec := newPresence(t)
	p.Connected("acme", "ada")
	for _, c := range []struct{ choice, shown string }{
		{realtime.ChoiceAway, "ada:away"}, {realtime.ChoiceDND, "ada:dnd"},
		{realtime.ChoiceInvisible, "ada:offline"}, {realtime.ChoiceAuto, "ada:online"},
	} {
		if err := p.SetStatus("acme", "ada", c.choice); err != nil {
			t.Fatal(err)
		}
		got := statuses(rec.takePresence())
		if len(got) == 0 || got[len(got)-1] != c.shown {
			t.Fatalf("after %s: %v, want %s", c.choice, got, c.shown)
		}
	}
	if err := p.SetStatus("acme", "ada", "busy"); err == nil {
		t.Fatal("unknown status accepted")
	}
	// Away while disconnected still shows offline.
	_ = p.SetStatus("acme", "bob", realtime.ChoiceAway)
	if p.Get("acme", "bob").Status != realtime.StatusOffline {
		t.Fatal("a disconnected user shown away")
	}
}

func TestCustomStatusClearsAfter(t *testing.T) {
	p, clock, rec := newPresence(t)
	p.Connected("acme", "ada")
	rec.takePresence()
	if err := p.SetCustom("acme", "ada", realtime.CustomStatus{Text: "In a meeting", Emoji: ":calendar:", ExpiresAt: clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if ups := rec.takePresence(); len(ups) != 1 || ups[0].Custom.Text != "In a meeting" {
		t.Fatalf("updates %+v", ups)
	}
	clock.Advance(time.Hour)
	p.Tick()
	if ups := rec.takePresence(); len(ups) != 1 || ups[0].Custom.Text != "" {
		t.Fatalf("custom status not cleared: %+v", ups)
	}
	long := make([]rune, realtime.MaxStatusText+1)
	for i := range long {
		long[i] = 'é'
	}
	if err := p.SetCustom("acme", "ada", realtime.CustomStatus{Text: string(long)}); err == nil {
		t.Fatal("over-long status accepted")
	}
	if err := p.SetCustom("acme", "ada", realtime.CustomStatus{Text: "x", ExpiresAt: clock.Now().Add(-time.Second)}); err == nil {
		t.Fatal("clearAfter in the past accepted")
	}
}

// Typing starts once, is extended by more signals, and ends 5 s after the
// last one (or at once when stopped).
func TestTypingExpires(t *testing.T) {
	p, clock, rec := newPresence(t)
	p.Typing("acme", "ada", "channel:1")
	clock.Advance(3 * time.Second)
	p.Typing("acme", "ada", "channel:1")
	p.Typing("acme", "ada", "channel:2")
	if got := rec.takeTyping(); len(got) != 2 || !got[0].Typing || got[0].Topic != "channel:1" || got[1].Topic != "channel:2" {
		t.Fatalf("starts %+v", got)
	}
	clock.Advance(4 * time.Second) // 4 s after the last channel:1 signal
	p.Tick()
	if got := rec.takeTyping(); len(got) != 0 {
		t.Fatalf("ended early: %+v", got)
	}
	clock.Advance(time.Second)
	p.Tick()
	got := rec.takeTyping()
	if len(got) != 2 || got[0].Typing || got[1].Typing {
		t.Fatalf("after 5 s: %+v", got)
	}
	p.Typing("acme", "ada", "channel:1")
	p.StopTyping("acme", "ada", "channel:1")
	p.StopTyping("acme", "ada", "channel:1") // twice: one stop only
	if got := rec.takeTyping(); len(got) != 2 || got[1].Typing {
		t.Fatalf("start/stop %+v", got)
	}
}
