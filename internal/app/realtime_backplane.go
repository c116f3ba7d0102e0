package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/quikapp/quikapp/internal/realtime"
)

// backplane is where the realtime hub keeps topic history and how it
// reaches the other nodes: in memory alone, or JetStream history and a
// NATS relay when QUIKAPP_NATS_URL is set, so a client can resume on any
// node and every node delivers every topic in one order.
type backplane struct {
	history realtime.History
	relay   *realtime.NATSRelay // nil on a single node
	nc      *nats.Conn
}

// realtimePrefix keeps realtime subjects out of the event bus's stream
// (which holds <prefix>.>).
func realtimePrefix(cfg Config) string { return cfg.NATSPrefix + "_rt" }

func openBackplane(d *Deps) (*backplane, error) {
	if d.Config.NATSURL == "" {
		return &backplane{history: realtime.NewMemoryHistory(realtime.HistoryConfig{})}, nil
	}
	nc, err := nats.Connect(d.Config.NATSURL, nats.Name("quikapp-realtime"), nats.MaxReconnects(-1),
		nats.ReconnectWait(500*time.Millisecond), nats.Timeout(5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("realtime: connect to NATS: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("realtime: JetStream: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	history, err := realtime.NewJetStreamHistory(ctx, js, realtime.JetStreamConfig{Prefix: realtimePrefix(d.Config),
		Stream: strings.ToUpper(d.Config.NATSPrefix) + "_REALTIME"})
	if err != nil {
		nc.Close()
		return nil, err
	}
	d.Health.AddCheck("realtime-nats", func(context.Context) error {
		if !nc.IsConnected() {
			return errors.New("not connected to NATS")
		}
		return nil
	})
	return &backplane{history: history, relay: realtime.NewNATSRelay(nc, realtimePrefix(d.Config), d.Log), nc: nc}, nil
}

// onLoss calls lost whenever announcements may have been lost: the
// connection came back after a drop (what was published meanwhile never
// reached us) or a subscription fell behind and NATS discarded messages.
func (b *backplane) onLoss(log *slog.Logger, lost func()) {
	if b.nc == nil {
		return
	}
	b.nc.SetReconnectHandler(func(*nats.Conn) { lost() })
	b.nc.SetErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
		subject := ""
		if sub != nil {
			subject = sub.Subject
		}
		log.Warn("realtime: NATS", "subject", subject, "err", err)
		if errors.Is(err, nats.ErrSlowConsumer) {
			lost()
		}
	})
}

func (b *backplane) close() {
	if b.relay != nil {
		b.relay.Close()
	}
	if b.nc != nil {
		b.nc.Close()
	}
}
