// Package ratelimit counts requests per key in fixed windows and answers
// with the standard headers. Memory counts in the process (the default);
// SQL counts in the shared database so every node enforces one limit.
// Both implement Limiter and pass the same conformance suite.
package ratelimit

import (
	"context"
	"time"
)

// Rule is "at most Limit requests per Window".
type Rule struct {
	Name   string // part of the key, so two rules never share a counter
	Limit  int
	Window time.Duration
}

// Result is one decision.
type Result struct {
	Allowed   bool
	Limit     int
	Remaining int
	// Reset is when the current window ends (and, when refused, when to
	// try again).
	Reset time.Time
}

// Limiter takes one request for key under rule.
type Limiter interface {
	Take(ctx context.Context, rule Rule, key string) (Result, error)
}

// window returns the start of the window holding now.
func window(rule Rule, now time.Time) time.Time {
	return now.Truncate(rule.Window)
}

func result(rule Rule, count int, start time.Time) Result {
	rem := rule.Limit - count
	if rem < 0 {
		rem = 0
	}
	return Result{Allowed: count <= rule.Limit, Limit: rule.Limit, Remaining: rem, Reset: start.Add(rule.Window)}
}
