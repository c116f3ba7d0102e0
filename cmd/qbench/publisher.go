package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// publisher sends events through the server's POST /publish?topic= and
// remembers each topic's head (the offset the server gave the newest
// event), against which clients' positions are checked. The send time is
// stamped into the event's data (data.ts, this process's clock), so a
// client's latency is stamp → decoded, on one clock.
type publisher struct {
	base   string
	client *http.Client
	pad    string

	mu    sync.Mutex
	heads map[string]uint64

	seq    atomic.Int64
	sent   atomic.Int64
	errs   atomic.Int64
	lat    hist // HTTP round trip of one publish
	lastEr atomic.Value
}

func newPublisher(base string, workers, pad int) *publisher {
	return &publisher{
		base:   base,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}},
		pad:    strings.Repeat("x", pad),
		heads:  map[string]uint64{},
	}
}

// head is the offset of the newest event published on topic (0: none).
func (p *publisher) head(topic string) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.heads[topic]
}

// publish sends one event to topic and records the head it got.
func (p *publisher) publish(ctx context.Context, topic string) error {
	seq := p.seq.Add(1)
	start := time.Now()
	body := fmt.Appendf(nil, `{"ts":%d,"seq":%d,"pad":"%s"}`, start.UnixNano(), seq, p.pad)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.base+"/publish?topic="+url.QueryEscape(topic), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return p.failed(err)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if err != nil {
		return p.failed(err)
	}
	if resp.StatusCode != http.StatusOK {
		return p.failed(fmt.Errorf("publish %s: %s: %s", topic, resp.Status, b))
	}
	p.lat.add(time.Since(start))
	var off uint64
	if err := jsonMembers(b, func(k, v []byte) error {
		if string(k) == "offset" {
			var e error
			off, e = strconv.ParseUint(string(v), 10, 64)
			return e
		}
		return nil
	}); err != nil {
		return p.failed(fmt.Errorf("publish %s: answer %q: %w", topic, b, err))
	}
	p.mu.Lock()
	p.heads[topic] = max(p.heads[topic], off)
	p.mu.Unlock()
	p.sent.Add(1)
	return nil
}

func (p *publisher) failed(err error) error {
	p.errs.Add(1)
	p.lastEr.Store(err.Error())
	return err
}

// run publishes at rate per second for d (open loop: a token every
// 1/rate s, taken by whichever of workers is free, so a slow server shows
// up as latency), or as fast as workers can when rate is 0 (closed loop).
// topicFor names the topic of the n-th publish.
func (p *publisher) run(ctx context.Context, rate float64, d time.Duration, workers int, topicFor func(n int64) string) time.Duration {
	// In-flight publishes finish under the parent context: cutting them
	// at the deadline would count as errors.
	reqCtx := ctx
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	tokens := make(chan int64, workers*4)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for n := range tokens {
				_ = p.publish(reqCtx, topicFor(n))
			}
		})
	}
	start := time.Now()
	var issued int64
	for ctx.Err() == nil {
		due := int64(1 << 62)
		if rate > 0 {
			due = int64(rate * time.Since(start).Seconds())
		}
		for issued < due && ctx.Err() == nil {
			select {
			case tokens <- issued:
				issued++
			case <-ctx.Done():
			}
		}
		if rate > 0 {
			time.Sleep(time.Millisecond)
		}
	}
	close(tokens)
	wg.Wait()
	return time.Since(start)
}
