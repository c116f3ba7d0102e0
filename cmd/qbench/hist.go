package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// hist is a lock-free latency histogram in microseconds: exact below 64 µs,
// then 32 buckets per power of two (≤ 3 % error). Millions of samples cost
// no memory and no sort, which keeps the generator cheap.
type hist struct {
	n       atomic.Int64
	buckets [histBuckets]atomic.Int64
}

const histBuckets = 64 + 40*32

func histIndex(us uint64) int {
	if us < 64 {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us>>e is in [32, 64)
	i := 64 + (e-1)*32 + int(us>>e) - 32
	return min(i, histBuckets-1)
}

// histValue is the middle of bucket i, in microseconds.
func histValue(i int) float64 {
	if i < 64 {
		return float64(i)
	}
	e := (i-64)/32 + 1
	lo := uint64((i-64)%32+32) << e
	return float64(lo) + float64(uint64(1)<<e)/2
}

func (h *hist) add(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.buckets[histIndex(uint64(d/time.Microsecond))].Add(1)
	h.n.Add(1)
}

// quantileMs is the q-quantile (0 < q ≤ 1) in milliseconds; 0 when empty.
func (h *hist) quantileMs(q float64) float64 {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := int64(q*float64(n) + 0.5)
	rank = max(1, min(rank, n))
	var seen int64
	for i := range h.buckets {
		seen += h.buckets[i].Load()
		if seen >= rank {
			return histValue(i) / 1000
		}
	}
	return histValue(histBuckets-1) / 1000
}

func (h *hist) maxMs() float64 {
	for i := histBuckets - 1; i >= 0; i-- {
		if h.buckets[i].Load() > 0 {
			return histValue(i) / 1000
		}
	}
	return 0
}
