package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// Memory is an in-process Limiter. It keeps at most MaxKeys counters per
// shard; when full it drops counters of finished windows first and, if
// still full, the oldest one, so a flood of distinct keys cannot grow
// memory without bound.
type Memory struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [32]memShard
	max    int
}

type memShard struct {
	mu   sync.Mutex
	keys map[string]memCount
}

type memCount struct {
	start time.Time
	n     int
	end   time.Time
}

// NewMemory returns a Memory limiter reading time from now (time.Now when
// nil) that keeps about maxKeys counters (100 000 when 0).
func NewMemory(now func() time.Time, maxKeys int) *Memory {
	if now == nil {
		now = time.Now
	}
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	m := &Memory{now: now, seed: maphash.MakeSeed(), max: maxKeys/len(Memory{}.shards) + 1}
	for i := range m.shards {
		m.shards[i].keys = map[string]memCount{}
	}
	return m
}

// Take implements Limiter.
func (m *Memory) Take(_ context.Context, rule Rule, key string) (Result, error) {
	now := m.now()
	start := window(rule, now)
	k := rule.Name + "\x00" + key
	s := &m.shards[maphash.String(m.seed, k)%uint64(len(m.shards))]
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.keys[k]
	if !ok || !c.start.Equal(start) {
		if !ok && len(s.keys) >= m.max {
			s.evict(now)
		}
		c = memCount{start: start, end: start.Add(rule.Window)}
	}
	c.n++
	s.keys[k] = c
	return result(rule, c.n, start), nil
}

func (s *memShard) evict(now time.Time) {
	var oldestKey string
	var oldest time.Time
	for k, c := range s.keys {
		if !c.end.After(now) {
			delete(s.keys, k)
			continue
		}
		if oldestKey == "" || c.start.Before(oldest) {
			oldestKey, oldest = k, c.start
		}
	}
	if len(s.keys) >= 1 && oldestKey != "" {
		delete(s.keys, oldestKey)
	}
}

// Len is how many counters are held (for tests and metrics).
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		m.shards[i].mu.Lock()
		n += len(m.shards[i].keys)
		m.shards[i].mu.Unlock()
	}
	return n
}
