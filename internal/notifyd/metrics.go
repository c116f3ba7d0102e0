package notifyd

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/quikapp/quikapp/internal/notify"
)

// metrics holds the series upstream planned (contract §7), with no tenant
// labels so cardinality stays bounded whatever the traffic.
type metrics struct {
	live          *prometheus.GaugeVec
	requests      *prometheus.CounterVec
	sends         *prometheus.CounterVec
	sendDuration  *prometheus.HistogramVec
	storeOps      *prometheus.CounterVec
	storeDuration *prometheus.HistogramVec
	streamEvents  *prometheus.CounterVec
	dropped       *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		live: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "notify_live_connections", Help: "Open StreamEvents sessions by device type.",
		}, []string{"device_type"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notify_notify_requests_total", Help: "Notify calls by result code.",
		}, []string{"code"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notify_send_total", Help: "Finished sends (after retries) by channel, provider and outcome.",
		}, []string{"channel", "provider", "status"}),
		sendDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "notify_send_duration_seconds", Help: "Time to deliver on one channel, retries included.",
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"channel", "provider"}),
		storeOps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notify_store_op_total", Help: "Store operations by operation and result code.",
		}, []string{"op", "code"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "notify_store_op_duration_seconds", Help: "Store operation latency.",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
		}, []string{"op"}),
		streamEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notify_stream_events_total", Help: "Events written to live streams by kind.",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "notify_stream_events_dropped_total", Help: "Events dropped because a session's queue was full, by kind.",
		}, []string{"kind"}),
	}
	reg.MustRegister(m.live, m.requests, m.sends, m.sendDuration, m.storeOps, m.storeDuration, m.streamEvents, m.dropped)
	// Show every device type from the start, so dashboards see zeros
	// rather than missing series.
	for _, dt := range []string{notify.DeviceBrowser, notify.DeviceAndroid, notify.DeviceIOS, "unspecified"} {
		m.live.WithLabelValues(dt)
	}
	return m
}

// SessionsChanged implements notify.HubObserver.
func (m *metrics) SessionsChanged(deviceType string, delta int) {
	if deviceType == "" {
		deviceType = "unspecified"
	}
	m.live.WithLabelValues(deviceType).Add(float64(delta))
}

// EventQueued implements notify.HubObserver; sends are counted when
// written (StreamEventSent).
func (m *metrics) EventQueued(notify.EventKind) {}

// EventDropped implements notify.HubObserver.
func (m *metrics) EventDropped(kind notify.EventKind) { m.dropped.WithLabelValues(string(kind)).Inc() }

// SendObserved implements notify.EngineObserver.
func (m *metrics) SendObserved(channel, provider, status string, d time.Duration) {
	m.sends.WithLabelValues(channel, provider, status).Inc()
	m.sendDuration.WithLabelValues(channel, provider).Observe(d.Seconds())
}

// NotifyRequest implements notifyrpc.Observer.
func (m *metrics) NotifyRequest(code string) { m.requests.WithLabelValues(code).Inc() }

// StreamEventSent implements notifyrpc.Observer.
func (m *metrics) StreamEventSent(kind string) { m.streamEvents.WithLabelValues(kind).Inc() }

// storeOp records one store call.
func (m *metrics) storeOp(op string, start time.Time, err error) {
	code := "ok"
	switch {
	case err == nil:
	case errors.Is(err, notify.ErrNotFound):
		code = "not_found"
	default:
		code = "error"
	}
	m.storeOps.WithLabelValues(op, code).Inc()
	m.storeDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
}
