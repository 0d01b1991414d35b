package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
)

// Admission bounds what callers cost before they are served: requests in
// flight at once, request bodies held in memory at once, the share of both
// that one partner country may hold (so that one partner, however
// authenticated, cannot starve the others or push the process past its
// memory limit), requests per second per partner country, and the audit
// records of unauthenticated refusals (aggregated per address, cause and
// minute; the counts still pending are written by Config.FlushRefusals at
// shutdown).
// The zero value applies the defaults; nil in Config applies no bounds.
type Admission struct {
	// MaxInFlight bounds authenticated requests being read, parsed or
	// served at once (0: DefaultMaxInFlight). Beyond it: 503 with
	// Retry-After.
	MaxInFlight int
	// MaxBodyMemory bounds the request body bytes held in memory across
	// requests (0: DefaultMaxBodyMemory). A request reserves its declared
	// Content-Length before a byte is read, or without one, BodyGrain at a
	// time as it is read; the reservation is held until the request is
	// answered (the parsed envelope lives as long). Beyond it: 503 with
	// Retry-After, before the body is read or as soon as it would exceed.
	MaxBodyMemory int64
	// CountryShare is the fraction of MaxInFlight and of MaxBodyMemory one
	// partner country may hold at once (0: DefaultCountryShare; 1: no
	// per-country bound). A country's first request is always admitted
	// while the global bounds allow it.
	CountryShare float64
	// Rate is the requests per second each partner country may send (0: no
	// limit), with bursts of Burst (0: 2×Rate, at least 1). Beyond it: 429
	// with Retry-After.
	Rate  float64
	Burst int
	// Now is the clock (nil: the system clock).
	Now func() time.Time

	once     sync.Once
	mu       sync.Mutex
	inFlight int
	bytes    int64
	held     map[string]*holding // by country
	buckets  map[string]*bucket
	refused  map[string]*refusalWindow
}

// DefaultMaxInFlight is the default bound on requests in progress.
const DefaultMaxInFlight = 32

// DefaultMaxBodyMemory is the default bound on request bodies in memory:
// 64 MiB raw, a few times that once read into growing buffers and parsed,
// well under the default GOMEMLIMIT (768 MiB). Six 10 MiB bodies at once;
// partners' requests are usually a few kilobytes.
const DefaultMaxBodyMemory = 64 << 20

// DefaultCountryShare: no partner country holds more than half of the
// requests in progress or of the body memory.
const DefaultCountryShare = 0.5

// BodyGrain is what a body without Content-Length reserves at a time.
const BodyGrain = 256 << 10

// holding is what one country holds now.
type holding struct {
	slots int
	bytes int64
}

// ErrBodyMemory is a body refused because the memory for request bodies
// (or the country's share of it) is taken: a 503, not the caller's fault.
var ErrBodyMemory = errors.New("request body memory exhausted")

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
		a.held = map[string]*holding{}
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

func (a *Admission) maxInFlight() int { return cmp.Or(max(a.MaxInFlight, 0), DefaultMaxInFlight) }

func (a *Admission) maxBodyMemory() int64 {
	return cmp.Or(max(a.MaxBodyMemory, 0), DefaultMaxBodyMemory)
}

func (a *Admission) share() float64 {
	if a.CountryShare <= 0 || a.CountryShare > 1 {
		return DefaultCountryShare
	}
	return a.CountryShare
}

// countrySlots and countryBytes are one country's shares (at least one
// request).
func (a *Admission) countrySlots() int { return max(1, int(float64(a.maxInFlight())*a.share())) }
func (a *Admission) countryBytes() int64 {
	return max(1, int64(float64(a.maxBodyMemory())*a.share()))
}

// ticket is an admitted request: its slot and the body memory it holds;
// refused is set when its body needed more memory than it could have.
type ticket struct {
	a       *Admission
	country string
	bytes   int64
	refused *busy
}

// admit takes a slot for an authenticated request of country and, when it
// declares its length (declared >= 0, up to limit), reserves that much
// body memory before a byte is read; the ticket's release gives both back.
// A nil Admission admits everything.
func (a *Admission) admit(country string, declared, limit int64) (*ticket, *busy) {
	if a == nil {
		return &ticket{}, nil
	}
	a.init()
	if a.Rate > 0 {
		if wait := a.take(country); wait > 0 {
			return nil, &busy{status: 429, retryAfter: wait, reason: fmt.Sprintf("more than %g requests per second from %s", a.Rate, country)}
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.held[country]
	if h == nil {
		h = &holding{}
	}
	switch {
	case a.inFlight >= a.maxInFlight():
		return nil, &busy{status: 503, retryAfter: time.Second, reason: fmt.Sprintf("more than %d requests in progress", a.maxInFlight())}
	case h.slots >= a.countrySlots():
		return nil, &busy{status: 503, retryAfter: time.Second, reason: fmt.Sprintf("%s has %d requests in progress, its share of %d", country, h.slots, a.maxInFlight())}
	}
	t := &ticket{a: a, country: country}
	if declared > 0 && declared <= limit {
		if b := a.reserveLocked(h, country, declared); b != nil {
			return nil, b
		}
		t.bytes = declared
	}
	a.inFlight++
	h.slots++
	a.held[country] = h
	return t, nil
}

// reserveLocked takes n bytes of body memory for country, within the
// global bound and the country's share; a country holding none, in a
// process holding none, may always take one body (up to the size limit).
func (a *Admission) reserveLocked(h *holding, country string, n int64) *busy {
	switch {
	case a.bytes > 0 && a.bytes+n > a.maxBodyMemory():
		return &busy{status: 503, retryAfter: time.Second, reason: fmt.Sprintf("more than %d MiB of request bodies in memory", a.maxBodyMemory()>>20)}
	case h.bytes > 0 && h.bytes+n > a.countryBytes():
		return &busy{status: 503, retryAfter: time.Second, reason: fmt.Sprintf("%s holds %d MiB of request bodies in memory, its share of %d MiB", country, h.bytes>>20, a.maxBodyMemory()>>20)}
	}
	a.bytes += n
	h.bytes += n
	return nil
}

// forget drops a country that holds nothing (the map stays bounded by the
// countries in progress).
func (a *Admission) forget(country string, h *holding) {
	if h.slots == 0 && h.bytes == 0 {
		delete(a.held, country)
	}
}

// reserve takes n more bytes of body memory for the ticket.
func (t *ticket) reserve(n int64) *busy {
	if t.a == nil {
		return nil
	}
	t.a.mu.Lock()
	defer t.a.mu.Unlock()
	if b := t.a.reserveLocked(t.a.held[t.country], t.country, n); b != nil {
		return b
	}
	t.bytes += n
	return nil
}

// release gives the slot and the body memory back.
func (t *ticket) release() {
	a := t.a
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	h := a.held[t.country]
	a.inFlight--
	a.bytes -= t.bytes
	h.slots--
	h.bytes -= t.bytes
	a.forget(t.country, h)
}

// body wraps a request body so that no byte is read beyond what the
// ticket holds: reads draw on the declared length reserved at admission,
// then reserve BodyGrain at a time. The first byte past a reservation is
// read before reserving more, so a body that ends exactly there needs no
// more memory. A reservation refused ends the read with ErrBodyMemory
// (wrapping the busy reason).
func (t *ticket) body(rc io.ReadCloser) io.ReadCloser {
	if t.a == nil || rc == nil {
		return rc
	}
	return &budgetBody{ReadCloser: rc, t: t, avail: t.bytes}
}

type budgetBody struct {
	io.ReadCloser
	t     *ticket
	avail int64
}

func (b *budgetBody) Read(p []byte) (int, error) {
	if b.t.refused != nil {
		return 0, fmt.Errorf("%w: %s", ErrBodyMemory, b.t.refused.reason)
	}
	if len(p) == 0 {
		return 0, nil
	}
	if b.avail > 0 {
		n, err := b.ReadCloser.Read(p[:min(int64(len(p)), b.avail)])
		b.avail -= int64(n)
		return n, err
	}
	n, err := b.ReadCloser.Read(p[:1])
	if n == 0 {
		return 0, err
	}
	if b.t.refused = b.t.reserve(BodyGrain); b.t.refused != nil {
		return n, fmt.Errorf("%w: %s", ErrBodyMemory, b.t.refused.reason)
	}
	b.avail = BodyGrain - int64(n)
	return n, err
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
