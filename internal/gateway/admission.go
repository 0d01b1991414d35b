package gateway

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
)

// Admission bounds what callers cost before they are served: requests in
// flight at once (each may hold a body of up to the size limit in memory),
// requests per second per partner country, and the audit records of
// unauthenticated refusals (aggregated per address, cause and minute; the
// counts still pending are written by Config.FlushRefusals at shutdown).
// The zero value applies the defaults; nil in Config applies no bounds.
type Admission struct {
	// MaxInFlight bounds authenticated requests being read, parsed or
	// served at once (0: DefaultMaxInFlight). Beyond it: 503 with
	// Retry-After.
	MaxInFlight int
	// Rate is the requests per second each partner country may send (0: no
	// limit), with bursts of Burst (0: 2×Rate, at least 1). Beyond it: 429
	// with Retry-After.
	Rate  float64
	Burst int
	// Now is the clock (nil: the system clock).
	Now func() time.Time

	once    sync.Once
	slots   chan struct{}
	mu      sync.Mutex
	buckets map[string]*bucket
	refused map[string]*refusalWindow
}

// DefaultMaxInFlight: with the default 10 MiB body limit, at most 32 bodies
// (320 MiB raw) are in memory at once.
const DefaultMaxInFlight = 32

// RefusalWindow is how long one audit record covers the unauthenticated
// refusals of one address.
const RefusalWindow = time.Minute

type bucket struct {
	tokens float64
	last   time.Time
}

type refusalWindow struct {
	start time.Time
	more  int         // refusals after the audited one
	ev    audit.Event // the audited one: address and cause of the bucket
}

// refusalKey is the bucket of an unauthenticated refusal: the caller's
// address and the cause (code and public reason), so that the count of a
// bucket says what was refused and why.
func refusalKey(ev audit.Event) string {
	return ev.Consumer.IP + "\x00" + ev.ErrorCode + "\x00" + ev.ErrorText
}

func (a *Admission) init() {
	a.once.Do(func() {
		n := a.MaxInFlight
		if n <= 0 {
			n = DefaultMaxInFlight
		}
		a.slots = make(chan struct{}, n)
		a.buckets = map[string]*bucket{}
		a.refused = map[string]*refusalWindow{}
	})
}

// busy is why a request was not admitted: the HTTP status and how long the
// caller should wait.
type busy struct {
	status     int
	retryAfter time.Duration
	reason     string
}

// admit takes a slot for an authenticated request of country; release
// gives it back. A nil Admission admits everything.
func (a *Admission) admit(country string) (release func(), b *busy) {
	if a == nil {
		return func() {}, nil
	}
	a.init()
	if a.Rate > 0 {
		if wait := a.take(country); wait > 0 {
			return nil, &busy{status: 429, retryAfter: wait, reason: fmt.Sprintf("more than %g requests per second from %s", a.Rate, country)}
		}
	}
	select {
	case a.slots <- struct{}{}:
		return func() { <-a.slots }, nil
	default:
		return nil, &busy{status: 503, retryAfter: time.Second, reason: fmt.Sprintf("more than %d requests in progress", cap(a.slots))}
	}
}

// take draws a token from country's bucket; it returns how long to wait
// when there is none.
func (a *Admission) take(country string) time.Duration {
	now := clock.Or(a.Now)()
	burst := float64(a.Burst)
	if burst <= 0 {
		burst = math.Max(1, 2*a.Rate)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.buckets[country]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		a.buckets[country] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(burst, b.tokens+d.Seconds()*a.Rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	return time.Duration(math.Ceil((1-b.tokens)/a.Rate*1000)) * time.Millisecond
}

// maxRefusalKeys bounds the addresses remembered for aggregation.
const maxRefusalKeys = 10000

// refusal decides whether an unauthenticated refusal ev gets its own audit
// record: the first of its bucket (address and cause) in each window does,
// carrying the count of the previous window's further refusals; the others
// are counted. A nil Admission audits every refusal.
func (a *Admission) refusal(ev audit.Event) (record bool, previous int) {
	if a == nil {
		return true, 0
	}
	a.init()
	key := refusalKey(ev)
	now := clock.Or(a.Now)()
	a.mu.Lock()
	defer a.mu.Unlock()
	w := a.refused[key]
	if w != nil && now.Sub(w.start) < RefusalWindow && now.Sub(w.start) >= 0 {
		w.more++
		return false, 0
	}
	if w != nil {
		previous = w.more
	}
	if len(a.refused) >= maxRefusalKeys {
		for k, old := range a.refused {
			if now.Sub(old.start) >= RefusalWindow && old.more == 0 { // counts pending wait for the flush
				delete(a.refused, k)
			}
		}
	}
	if len(a.refused) < maxRefusalKeys || w != nil {
		a.refused[key] = &refusalWindow{start: now, ev: ev}
	}
	return true, previous
}

// pendingRefusal is a bucket's count of refusals not yet in any record.
type pendingRefusal struct {
	ev    audit.Event
	count int
	since time.Time
}

// takePending returns the counts no record carries yet, per bucket, and
// clears them.
func (a *Admission) takePending() []pendingRefusal {
	if a == nil {
		return nil
	}
	a.init()
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []pendingRefusal
	for _, w := range a.refused {
		if w.more > 0 {
			out = append(out, pendingRefusal{ev: w.ev, count: w.more, since: w.start})
			w.more = 0
		}
	}
	sort.Slice(out, func(i, j int) bool { return refusalKey(out[i].ev) < refusalKey(out[j].ev) })
	return out
}

// FlushRefusals writes one audit record per bucket (address and cause) of
// unauthenticated refusals counted but not yet carried by a record, so
// that none is lost at shutdown: call it before closing the audit sink.
func (c *Config) FlushRefusals(ctx context.Context) error {
	if c.Audit == nil {
		return nil
	}
	ctx, cancel := audit.Detach(ctx, 0)
	defer cancel()
	var errs []error
	for _, p := range c.Admission.takePending() {
		ev := p.ev
		ev.Time = c.now()
		ev.ErrorText += fmt.Sprintf(" (%d further refusals of this address for this cause since %s, counted, not audited one by one)",
			p.count, p.since.UTC().Format(time.RFC3339))
		errs = append(errs, c.Audit.Record(ctx, ev))
	}
	return errors.Join(errs...)
}

// auditRefusal writes the record of an unauthenticated refusal when its
// bucket's window needs one.
func (e *Endpoint) auditRefusal(ctx context.Context, ev audit.Event) error {
	record, previous := e.Cfg.Admission.refusal(ev)
	if !record {
		return nil
	}
	if previous > 0 {
		ev.ErrorText += fmt.Sprintf(" (and %d further refusals of this address for this cause in the previous minute)", previous)
	}
	return e.audit(ctx, ev, nil)
}
