package routing

import (
	"sync"
	"time"
)

// BreakerConfig tunes the circuit breaker kept per country.
type BreakerConfig struct {
	// Failures is how many consecutive communication failures open the
	// circuit (default 5).
	Failures int
	// Cooldown is how long an open circuit refuses calls before letting one
	// trial call through (default 30 s).
	Cooldown time.Duration
}

func (c BreakerConfig) failures() int {
	if c.Failures > 0 {
		return c.Failures
	}
	return 5
}

func (c BreakerConfig) cooldown() time.Duration {
	if c.Cooldown > 0 {
		return c.Cooldown
	}
	return 30 * time.Second
}

// breaker is a consecutive-failure circuit breaker: closed → open after
// Failures communication failures in a row → half-open after Cooldown
// (one trial call) → closed on success, open again on failure.
type breaker struct {
	mu       sync.Mutex
	cfg      BreakerConfig
	fails    int
	openedAt time.Time
	open     bool
	trial    bool // a half-open trial call is in flight
}

// State names for reports.
const (
	StateClosed   = "closed"
	StateOpen     = "open"
	StateHalfOpen = "half-open"
)

// allow reports whether a call may go out now.
func (b *breaker) allow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.open {
		return true
	}
	if now.Sub(b.openedAt) < b.cfg.cooldown() || b.trial {
		return false
	}
	b.trial = true
	return true
}

// done records the outcome of an allowed call.
func (b *breaker) done(now time.Time, commFailure bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if !commFailure {
		b.fails, b.open = 0, false
		return
	}
	b.fails++
	if b.open || b.fails >= b.cfg.failures() {
		b.open, b.openedAt = true, now
	}
}

func (b *breaker) state(now time.Time) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case !b.open:
		return StateClosed
	case now.Sub(b.openedAt) >= b.cfg.cooldown():
		return StateHalfOpen
	}
	return StateOpen
}
