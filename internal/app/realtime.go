package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quikapp/quikapp/internal/access"
	"github.com/quikapp/quikapp/internal/bus"
	"github.com/quikapp/quikapp/internal/channel"
	"github.com/quikapp/quikapp/internal/gateway"
	"github.com/quikapp/quikapp/internal/realtime"
)

func init() {
	moduleDefs["realtime"] = moduleDef{build: newRealtimeModule}
}

// realtimeModule serves the live streams (SSE and WebSocket) and feeds
// the hub from the bus: workspace.<id>.* events go to topic
// workspace:<id>, user.<id>.* to user:<id>, channel.<id>.* to
// channel:<id>, and a ban closes the user's connections. Presence and
// typing are signals: they reach subscribers on every node but take no
// place in history.
type realtimeModule struct {
	d        *Deps
	back     *backplane
	hub      *realtime.Hub
	presence *realtime.Presence
	gossip   *realtime.PresenceGossip // nil on a single node
	// reconcile asks Run to bring every followed topic up to History's
	// head (announcements may have been lost); one pending ask is enough.
	reconcile chan struct{}
}

func newRealtimeModule(d *Deps) (Module, error) {
	back, err := openBackplane(d)
	if err != nil {
		return nil, err
	}
	cfg := realtime.HubConfig{
		History:    back.history,
		Authorizer: topicRules{access: d.Identity.Access, channels: d.Identity.Channels},
		Logger:     d.Log,
	}
	if back.relay != nil {
		cfg.Relay = back.relay
	}
	hub, err := realtime.NewHub(cfg)
	if err != nil {
		back.close()
		return nil, err
	}
	m := &realtimeModule{d: d, back: back, hub: hub, reconcile: make(chan struct{}, 1)}
	back.onLoss(d.Log, func() {
		select {
		case m.reconcile <- struct{}{}:
		default:
		}
	})
	pcfg := realtime.PresenceConfig{Now: d.Identity.Now, OnPresence: m.presenceChanged, OnTyping: m.typingChanged}
	if back.nc != nil {
		pcfg.OnLocal = func(st realtime.PeerState) { m.gossip.Share(st) }
	}
	m.presence = realtime.NewPresence(pcfg)
	if back.nc != nil {
		m.gossip = realtime.NewPresenceGossip(back.nc, realtimePrefix(d.Config), m.presence, d.Log)
	}
	if err := d.Metrics.Registry.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "quikapp_realtime_connections",
		Help: "Open realtime connections (WebSocket and SSE) on this process; the realtime HPA scales on it.",
	}, func() float64 { return float64(hub.Connections()) })); err != nil {
		back.close()
		return nil, fmt.Errorf("realtime: metrics: %w", err)
	}
	return m, nil
}

// topicRules say who may follow which topic, through access.Checker.
type topicRules struct {
	access   *access.Checker
	channels *channel.Service
}

func (t topicRules) CanSubscribe(ctx context.Context, p realtime.Principal, topic string) error {
	kind, id, ok := strings.Cut(topic, ":")
	if !ok || id == "" {
		return realtime.ErrForbidden
	}
	switch kind {
	case "user":
		if id == p.UserID {
			return nil
		}
	case "channel":
		err := t.channels.CanFollow(ctx, p.UserID, id)
		if err == nil {
			return nil
		}
		if _, public := httpAPIError(err); !public {
			return err
		}
	case "workspace":
		err := t.access.Can(ctx, access.Actor{UserID: p.UserID}, access.WorkspaceRead, access.Resource{Kind: "workspace", ID: id, WorkspaceID: id})
		if err == nil {
			return nil
		}
		if _, public := httpAPIError(err); !public {
			return err // a database failure, not a refusal
		}
	}
	return realtime.ErrForbidden
}

func (m *realtimeModule) principal(r *http.Request) (realtime.Principal, error) {
	a, ok := access.ActorFrom(r.Context())
	if !ok {
		return realtime.Principal{}, errors.New("not signed in")
	}
	return realtime.Principal{UserID: a.UserID}, nil
}

func (m *realtimeModule) Mount(rt *gateway.Router) {
	rt.Authed("GET /api/v1/realtime/sse", realtime.SSEHandler(realtime.SSEConfig{Hub: m.hub, Authenticate: m.principal,
		Draining: m.d.Server.Draining()}), gateway.TokenInQuery(),
		gateway.Summary("Live events as Server-Sent Events: ?topics=user:<id>,workspace:<id>; resume with Last-Event-ID"))
	rt.Authed("GET /api/v1/realtime/ws", realtime.WSHandler(realtime.WSConfig{Hub: m.hub, Authenticate: m.principal,
		Presence: m.presence, Draining: m.d.Server.Draining()}), gateway.TokenInQuery(),
		gateway.Summary("Live events over WebSocket: ?topics=…&resume=<positions>"))
	m.mountPresence(rt)
}

// Run relays bus events into the hub until ctx ends.
func (m *realtimeModule) Run(ctx context.Context) error {
	defer m.back.close()
	go m.presence.Run(ctx, time.Second)
	if m.gossip != nil {
		go func() {
			if err := m.gossip.Run(ctx); err != nil {
				m.d.Log.Error("realtime: presence across nodes stopped", "err", err)
			}
		}()
	}
	bans, err := realtime.FollowBans(ctx, m.d.Bus, m.hub, m.d.Log)
	if err != nil {
		return err
	}
	defer bans.Unsubscribe()
	var subs []bus.Subscription
	defer func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	}()
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-m.reconcile:
				if n := m.hub.Reconcile(ctx); n > 0 {
					m.d.Log.Info("realtime_reconciled", "events", n)
				}
			}
		}
	}()
	// Someone who leaves a private channel stops receiving it at once.
	left, err := m.d.Bus.Subscribe(ctx, "channel.*.member_left", m.unsubscribeLeaver)
	if err != nil {
		return fmt.Errorf("realtime: follow channel departures: %w", err)
	}
	subs = append(subs, left)
	// A work queue, not fan-out: one node appends each event to the
	// shared history and the relay takes it to the others. A failed
	// append is retried by the bus; clients drop a repeat by its id.
	for _, prefix := range []string{"workspace", "user", "channel"} {
		s, err := m.d.Bus.Consume(ctx, prefix+".*.>", "realtime-"+prefix, m.relay(prefix))
		if err != nil {
			return fmt.Errorf("realtime: consume %s events: %w", prefix, err)
		}
		subs = append(subs, s)
	}
	<-ctx.Done()
	return nil
}

// relay turns <prefix>.<id>.<kind> bus messages into events on topic
// <prefix>:<id>.
func (m *realtimeModule) relay(prefix string) bus.Handler {
	return func(ctx context.Context, msg bus.Message) error {
		parts := strings.SplitN(msg.Subject, ".", 3)
		if len(parts) != 3 {
			return nil
		}
		var body struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(msg.Data, &body); err != nil || body.Type == "" {
			return fmt.Errorf("realtime: event %s on %s is not an event envelope", msg.ID, msg.Subject)
		}
		_, err := m.hub.Publish(ctx, prefix+":"+parts[1], realtime.Event{ID: msg.ID, Type: body.Type, Data: body.Data})
		return err
	}
}

func (m *realtimeModule) unsubscribeLeaver(ctx context.Context, msg bus.Message) error {
	var body struct {
		Data struct {
			ChannelID string `json:"channelId"`
			UserID    string `json:"userId"`
		} `json:"data"`
	}
	if err := json.Unmarshal(msg.Data, &body); err != nil || body.Data.UserID == "" {
		return fmt.Errorf("realtime: member_left event %s has no user", msg.ID)
	}
	// Public channels stay readable to workspace members; only a channel
	// they may no longer see is cut.
	if m.d.Identity.Channels.CanFollow(ctx, body.Data.UserID, body.Data.ChannelID) != nil {
		m.hub.UnsubscribeUser(body.Data.UserID, "channel:"+body.Data.ChannelID)
	}
	return nil
}
