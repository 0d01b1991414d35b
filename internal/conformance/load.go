package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Load steps, in iteration order.
const (
	StepXCPD      = "xcpd"
	StepList      = "xca-query-ep"
	StepRetrieve3 = "retrieve-l3"
	StepRetrieve1 = "retrieve-l1"
	StepIteration = "iteration"
)

var loadSteps = []string{StepXCPD, StepList, StepRetrieve3, StepRetrieve1, StepIteration}

// Load runs the pharmacist iteration at a fixed rate.
type Load struct {
	Target   string
	Client   *ncpclient.Client
	Identity *ncpclient.Identity
	Profile  *Profile
	// PatientKey is the profile patient with ePrescriptions (default "ep").
	PatientKey string
	SenderHCID string
	// Rate in iterations per second (default 10), Duration of the run
	// (default 10s), Concurrency the iterations in flight at most
	// (default 16). MaxIterations bounds the count (default Rate×Duration).
	Rate          float64
	Duration      time.Duration
	Concurrency   int
	MaxIterations int
	// Grace is how long iterations in flight may finish after Duration
	// (default 30s); then they are cancelled and count as failed.
	Grace time.Duration
	// Progress, when set, gets a line every ProgressEvery (default 5s):
	// iterations so far, achieved rate, errors, p50 of an iteration.
	Progress      io.Writer
	ProgressEvery time.Duration
	// Metrics, when set, is the target's Prometheus endpoint: sampled at
	// the start of the run, every MetricsEvery (default
	// DefaultMetricsEvery) during it and at its end, so the report shows
	// the gateway's own CPU and peak RSS beside the generator's — only
	// when its request counter shows it served the run (GatewayCheck).
	Metrics      string
	MetricsEvery time.Duration
	// Sessions. A partner NCP's portal signs a professional's HCP assertion
	// once, at login, and sends it with every request of the session; a TRC
	// is signed per patient visit. The load does the same: Professionals
	// (default DefaultProfessionals) simulated pharmacists take the
	// iterations in turn, each reusing one HCP assertion for Session
	// (default DefaultSession; the assertion is valid for the session plus
	// sessionMargin), and each iteration — a patient visit — signs its own
	// TRC. FreshAssertions signs a new HCP for every iteration instead: the
	// worst case for the target (every HCP validated in full).
	Professionals   int
	Session         time.Duration
	FreshAssertions bool

	sessions sessions
}

// Session defaults of the load mode.
const (
	DefaultProfessionals = 16
	DefaultSession       = time.Hour
	// sessionMargin is added to the HCP assertion's validity beyond the
	// session, so that an iteration started late in the session (and its
	// grace) never sends an expired assertion.
	sessionMargin = 5 * time.Minute
	// MaxSession keeps session plus margin within eHDSI's HCP lifetime.
	MaxSession = wssec.MaxHCPLifetime - sessionMargin
)

// sessions holds each simulated professional's HCP assertion and when its
// session ends.
type sessions struct {
	mu   sync.Mutex
	next int
	hcp  []*etree.Element
	ends []time.Time
}

// hcp returns the HCP assertion for the next iteration: the next
// professional's session assertion, signed anew when the session is over
// (or for every iteration when FreshAssertions is set). The element is
// shared read-only: requests copy it into their Security header.
func (l *Load) hcp() (*etree.Element, error) {
	s := &l.sessions
	s.mu.Lock()
	i := s.next
	s.next = (s.next + 1) % l.Professionals
	if s.hcp == nil {
		s.hcp = make([]*etree.Element, l.Professionals)
		s.ends = make([]time.Time, l.Professionals)
	}
	now := clock.Now()
	if !l.FreshAssertions && s.hcp[i] != nil && now.Before(s.ends[i]) {
		a := s.hcp[i]
		s.mu.Unlock()
		return a, nil
	}
	s.mu.Unlock()
	prof := ncpclient.DemoProfessional(l.Identity.Country, "pharmacist")
	prof.ID = fmt.Sprintf("%s-pharmacist-%04d", strings.ToLower(l.Identity.Country), i+1)
	a, err := l.Identity.HCP(prof, l.Session+sessionMargin)
	if err != nil || l.FreshAssertions {
		return a, err
	}
	s.mu.Lock()
	s.hcp[i], s.ends[i] = a, now.Add(l.Session)
	s.mu.Unlock()
	return a, nil
}

// RateTolerance is the share of the asked rate a load run must achieve:
// below it, the target did not hold the rate.
const RateTolerance = 0.95

// Check returns why the run failed, or nil: an iteration failed, or the
// achieved throughput (successful iterations per second of the run) is
// below RateTolerance of the asked rate; or Metrics was given and the
// gateway's figures are unavailable (GatewayCheck says why).
func (r *LoadReport) Check() error {
	var why []string
	if r.Failed > 0 {
		why = append(why, fmt.Sprintf("%d of %d iterations failed", r.Failed, r.Iterations))
	} else if r.Throughput < RateTolerance*r.Rate {
		why = append(why, fmt.Sprintf("the target did not hold the rate: %.1f iterations/s achieved, below %.0f%% of the asked %g/s (%d dropped: all workers busy)",
			r.Throughput, RateTolerance*100, r.Rate, r.Dropped))
	}
	if g := r.Gateway; g != nil && !g.Measured {
		why = append(why, "gateway figures unavailable: "+g.Unavailable)
	}
	if len(why) == 0 {
		return nil
	}
	return errors.New(strings.Join(why, "; "))
}

// meter counts iterations as they complete, for the progress lines.
type meter struct {
	mu     sync.Mutex
	ok     int
	failed int
	times  []time.Duration // of the successful iterations
}

func (m *meter) add(r loadResult) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r.err != "" {
		m.failed++
		return
	}
	m.ok++
	m.times = append(m.times, r.times[StepIteration])
}

// line is one progress line, elapsed into a run asked at rate.
func (m *meter) line(elapsed time.Duration, rate float64) string {
	m.mu.Lock()
	ok, failed := m.ok, m.failed
	p50 := stats(StepIteration, slices.Clone(m.times)).P50
	m.mu.Unlock()
	return fmt.Sprintf("load: %.0f s, %d iterations (%d ok, %d failed), %.1f/s of %g/s asked, p50 %.0f ms\n",
		elapsed.Seconds(), ok+failed, ok, failed, float64(ok)/elapsed.Seconds(), rate, float64(p50))
}

// report writes a progress line every period until ctx ends.
func (m *meter) report(ctx context.Context, w io.Writer, period time.Duration, rate float64, start time.Time) {
	tickUntil(ctx, period, func() { io.WriteString(w, m.line(clock.Now().Sub(start), rate)) })
}

// tickUntil calls f every period until ctx ends.
func tickUntil(ctx context.Context, period time.Duration, f func()) {
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			f()
		}
	}
}

// background runs f in a goroutine until stop, which cancels f's context
// and waits for f to return (stop may be called more than once).
func background(ctx context.Context, f func(context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(ctx)
	}()
	return func() { cancel(); <-done }
}

// LoadReport is the outcome of a load run. Figures are measurements, never
// assertions.
type LoadReport struct {
	Target      string  `json:"target"`
	As          string  `json:"as"`
	Rate        float64 `json:"rate"`
	Duration    Millis  `json:"durationMs"`
	Concurrency int     `json:"concurrency"`
	// Professionals, SessionMs and FreshAssertions: how the HCP assertions
	// were reused (see Load).
	Professionals   int          `json:"professionals"`
	Session         Millis       `json:"sessionMs"`
	FreshAssertions bool         `json:"freshAssertions,omitempty"`
	Started         time.Time    `json:"started"`
	Elapsed         Millis       `json:"elapsedMs"`
	Iterations      int          `json:"iterations"`
	Succeeded       int          `json:"succeeded"`
	Failed          int          `json:"failed"`
	Dropped         int          `json:"dropped"` // ticks with every worker busy
	Throughput      float64      `json:"throughputPerSecond"`
	Steps           []StepStats  `json:"steps"`
	Errors          []ErrorCount `json:"errors,omitempty"`
	// RequestsSent are the run's requests, RequestsAnswered those that got
	// an HTTP answer (any status).
	RequestsSent     int `json:"requestsSent"`
	RequestsAnswered int `json:"requestsAnswered"`
	// ClientCPUPerIteration is the generator's CPU (user + system) per
	// iteration. GatewayCPUPerIteration and GatewayPeakRSSMB (the highest
	// RSS sampled during the run, MB of 10^6 bytes) come from the target's
	// metrics endpoint (--metrics) and are nil unless measured (a measured
	// 0 is kept); Gateway says whether they were, and if not why.
	ClientCPUPerIteration  Millis        `json:"clientCpuPerIterationMs"`
	GatewayCPUPerIteration *Millis       `json:"gatewayCpuPerIterationMs,omitempty"`
	GatewayPeakRSSMB       *float64      `json:"gatewayPeakRssMB,omitempty"`
	Gateway                *GatewayCheck `json:"gateway,omitempty"`
	// Samples: each successful iteration's start (ms into the run) and
	// duration, for the latency-over-time plot.
	Samples []Sample `json:"samples,omitempty"`
}

// StepStats are latency percentiles of one step (successful calls only).
type StepStats struct {
	Step  string `json:"step"`
	Count int    `json:"count"`
	P50   Millis `json:"p50Ms"`
	P95   Millis `json:"p95Ms"`
	P99   Millis `json:"p99Ms"`
	Max   Millis `json:"maxMs"`
}

// ErrorCount counts failures of one kind.
type ErrorCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// IsLoopback reports whether a target URL names this machine.
func IsLoopback(target string) bool {
	u, err := url.Parse(target)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

type loadResult struct {
	at    time.Duration // start, into the run
	times map[string]time.Duration
	err   string
	// sent requests, and answered: those that got an HTTP answer.
	sent, answered int
}

// Sample is one successful iteration: when it started into the run, and
// how long it took.
type Sample struct {
	At       Millis `json:"atMs"`
	Duration Millis `json:"ms"`
}

// Run executes the load and returns its report.
func (l *Load) Run(ctx context.Context) (*LoadReport, error) {
	if l.Rate <= 0 {
		l.Rate = 10
	}
	if l.Duration <= 0 {
		l.Duration = 10 * time.Second
	}
	if l.Concurrency <= 0 {
		l.Concurrency = 16
	}
	if l.MaxIterations <= 0 {
		l.MaxIterations = int(math.Ceil(l.Rate * l.Duration.Seconds()))
	}
	if l.PatientKey == "" {
		l.PatientKey = "ep"
	}
	if l.Grace <= 0 {
		l.Grace = 30 * time.Second
	}
	if l.ProgressEvery <= 0 {
		l.ProgressEvery = 5 * time.Second
	}
	if l.Professionals <= 0 {
		l.Professionals = DefaultProfessionals
	}
	if l.Session <= 0 {
		l.Session = DefaultSession
	}
	if l.Session > MaxSession {
		return nil, fmt.Errorf("session %s: more than %s (eHDSI's HCP lifetime less a %s margin)", l.Session, MaxSession, sessionMargin)
	}
	if l.MetricsEvery <= 0 {
		l.MetricsEvery = DefaultMetricsEvery
	}
	// parent outlives the run's deadline: the sample at the end is taken
	// even when the grace ran out.
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, l.Duration+l.Grace)
	defer cancel()
	p, ok := l.Profile.Patient(l.PatientKey)
	if !ok {
		return nil, fmt.Errorf("profile %s has no patient %q", l.Profile.Name, l.PatientKey)
	}
	var watch *gatewayWatch
	stopWatch := func() {}
	if l.Metrics != "" {
		var err error
		if watch, err = watchGateway(ctx, l.Metrics, l.MetricsEvery); err != nil {
			return nil, err
		}
		stopWatch = background(ctx, watch.sample)
		defer stopWatch()
	}
	cpu0 := selfCPU()
	rep := &LoadReport{Target: l.Target, As: l.Identity.Country, Rate: l.Rate, Duration: Ms(l.Duration), Concurrency: l.Concurrency, Started: clock.Now().UTC(),
		Professionals: l.Professionals, Session: Ms(l.Session), FreshAssertions: l.FreshAssertions}
	results := make(chan loadResult, l.MaxIterations)
	sem := make(chan struct{}, l.Concurrency)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / l.Rate)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	start := clock.Now()
	deadline := time.NewTimer(l.Duration)
	defer deadline.Stop()
	var m meter
	if l.Progress != nil {
		defer background(ctx, func(ctx context.Context) { m.report(ctx, l.Progress, l.ProgressEvery, l.Rate, start) })()
	}
	started := 0
loop:
	for started < l.MaxIterations {
		select {
		case <-ctx.Done():
			break loop
		case <-deadline.C:
			break loop
		default:
		}
		select {
		case sem <- struct{}{}:
			started++
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				at := clock.Now().Sub(start)
				r := l.iteration(ctx, p)
				r.at = at
				m.add(r)
				results <- r
			}()
		default:
			rep.Dropped++
		}
		select {
		case <-ctx.Done():
			break loop
		case <-deadline.C:
			break loop
		case <-tick.C:
		}
	}
	wg.Wait()
	close(results)
	rep.Elapsed = Ms(clock.Now().Sub(start))
	times := map[string][]time.Duration{}
	errs := map[string]int{}
	for r := range results {
		rep.Iterations++
		rep.RequestsSent += r.sent
		rep.RequestsAnswered += r.answered
		if r.err != "" {
			rep.Failed++
			errs[r.err]++
		} else {
			rep.Succeeded++
			rep.Samples = append(rep.Samples, Sample{At: Ms(r.at), Duration: Ms(r.times[StepIteration])})
		}
		for s, d := range r.times {
			times[s] = append(times[s], d)
		}
	}
	if secs := time.Duration(rep.Elapsed * Millis(time.Millisecond)).Seconds(); secs > 0 {
		rep.Throughput = math.Round(float64(rep.Succeeded)/secs*10) / 10
	}
	sort.Slice(rep.Samples, func(i, j int) bool { return rep.Samples[i].At < rep.Samples[j].At })
	if rep.Iterations > 0 {
		rep.ClientCPUPerIteration = Ms((selfCPU() - cpu0) / time.Duration(rep.Iterations))
	}
	if watch != nil {
		stopWatch()
		watch.finish(parent, rep)
	}
	for _, s := range loadSteps {
		rep.Steps = append(rep.Steps, stats(s, times[s]))
	}
	for k, n := range errs {
		rep.Errors = append(rep.Errors, ErrorCount{Kind: k, Count: n})
	}
	sort.Slice(rep.Errors, func(i, j int) bool {
		if rep.Errors[i].Count != rep.Errors[j].Count {
			return rep.Errors[i].Count > rep.Errors[j].Count
		}
		return rep.Errors[i].Kind < rep.Errors[j].Kind
	})
	return rep, nil
}

func stats(step string, ds []time.Duration) StepStats {
	s := StepStats{Step: step, Count: len(ds)}
	if len(ds) == 0 {
		return s
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	pct := func(p float64) Millis {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return Ms(ds[max(0, min(i, len(ds)-1))])
	}
	s.P50, s.P95, s.P99, s.Max = pct(0.50), pct(0.95), pct(0.99), Ms(ds[len(ds)-1])
	return s
}

// iteration is one pharmacist visit: identify the patient, list the
// ePrescriptions, retrieve the first one as L3 and as L1, with the next
// professional's HCP assertion and a TRC signed for this visit.
func (l *Load) iteration(ctx context.Context, p Patient) loadResult {
	res := loadResult{times: map[string]time.Duration{}}
	start := clock.Now()
	fail := func(step, kind string) loadResult {
		res.err = step + ": " + kind
		return res
	}
	hcp, err := l.hcp()
	if err != nil {
		return fail("assertion", err.Error())
	}
	pid := wssec.PatientID{Extension: p.ID, Root: p.Root}
	call := func(step string, req ncpclient.Request) (*ncpclient.Reply, string) {
		t := clock.Now()
		res.sent++
		rep, err := l.Client.Call(ctx, req)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, "timeout or cancelled"
			}
			return nil, "transport error"
		}
		res.answered++
		if rep.Fault != nil {
			return nil, "fault " + string(rep.Fault.Code)
		}
		if rep.Status != 200 || rep.Env == nil {
			return nil, fmt.Sprintf("HTTP %d", rep.Status)
		}
		res.times[step] = clock.Now().Sub(t)
		return rep, ""
	}
	base := strings.TrimSuffix(l.Target, "/")
	rep, kind := call(StepXCPD, ncpclient.Request{URL: base + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{hcp},
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: l.SenderHCID, ReceiverHCID: l.Profile.HomeCommunityID, PatientID: p.ID, PatientRoot: p.Root})})
	if kind != "" {
		return fail(StepXCPD, kind)
	}
	var o observed
	xr := readXCPD(rep.Env.Body, &o)
	if xr.queryResponseCode != "OK" {
		return fail(StepXCPD, "queryResponseCode "+xr.queryResponseCode+" "+strings.Join(o.codes, ","))
	}
	if len(xr.subjectIDs) != 1 || xr.subjectIDs[0] != [2]string{p.Root, p.ID} {
		return fail(StepXCPD, "another patient returned")
	}
	trc, err := l.Identity.TRC(hcp, pid, "TREATMENT", time.Hour)
	if err != nil {
		return fail("assertion", err.Error())
	}
	as := []*etree.Element{hcp, trc}
	rep, kind = call(StepList, ncpclient.Request{URL: base + ehdsi.PathXCA, Action: ehdsi.ActionXCAQuery, Assertions: as, Body: ncpclient.XCAQueryBody(pid, ehdsi.ClassEP)})
	if kind != "" {
		return fail(StepList, kind)
	}
	_, docs, _ := ncpclient.ParseQueryResponse(rep.Env.Body)
	refs, err := selectDocs(docs, "pair", l.Profile.HomeCommunityID)
	if err != nil {
		return fail(StepList, err.Error())
	}
	for i, step := range []string{StepRetrieve3, StepRetrieve1} {
		rep, kind = call(step, ncpclient.Request{URL: base + ehdsi.PathXCA, Action: ehdsi.ActionXCARetrieve, Assertions: as, Body: ncpclient.XCARetrieveBody(refs[i])})
		if kind != "" {
			return fail(step, kind)
		}
		_, got, _, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil || len(got) != 1 || len(got[0].Data) == 0 {
			return fail(step, "no document returned")
		}
		if got[0].UniqueID != refs[i].DocumentUniqueID {
			return fail(step, "another document returned")
		}
	}
	res.times[StepIteration] = clock.Now().Sub(start)
	return res
}

// WriteLoadText writes the load table.
func WriteLoadText(w io.Writer, r *LoadReport) error {
	var b strings.Builder
	fmt.Fprintf(&b, "load against %s as %s: %.0f iterations/s for %.0f s, concurrency %d\n", r.Target, r.As, r.Rate, float64(r.Duration)/1000, r.Concurrency)
	if r.FreshAssertions {
		b.WriteString("assertions: a fresh HCP and TRC every iteration\n")
	} else if r.Professionals > 0 {
		fmt.Fprintf(&b, "assertions: %d professionals, each reusing an HCP for %s; a TRC per iteration\n", r.Professionals, time.Duration(r.Session*Millis(time.Millisecond)))
	}
	fmt.Fprintf(&b, "%d iterations (%d ok, %d failed, %d dropped: all workers busy) in %.1f s; throughput %.1f iterations/s\n\n",
		r.Iterations, r.Succeeded, r.Failed, r.Dropped, float64(r.Elapsed)/1000, r.Throughput)
	fmt.Fprintf(&b, "%-14s %7s %9s %9s %9s %9s\n", "step", "count", "p50 ms", "p95 ms", "p99 ms", "max ms")
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "%-14s %7d %9.1f %9.1f %9.1f %9.1f\n", s.Step, s.Count, float64(s.P50), float64(s.P95), float64(s.P99), float64(s.Max))
	}
	fmt.Fprintf(&b, "\nCPU per iteration: generator %.2f ms", float64(r.ClientCPUPerIteration))
	writeGateway(&b, r)
	if len(r.Errors) > 0 {
		b.WriteString("\nerrors by kind:\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "%7d  %s\n", e.Count, e.Kind)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeGateway ends the CPU line with the gateway's figures and says how
// they were checked, or why there are none.
func writeGateway(b *strings.Builder, r *LoadReport) {
	g := r.Gateway
	switch {
	case r.GatewayCPUPerIteration != nil && r.GatewayPeakRSSMB != nil:
		fmt.Fprintf(b, ", gateway %.2f ms; gateway peak RSS %.1f MB\n", float64(*r.GatewayCPUPerIteration), *r.GatewayPeakRSSMB)
	case g != nil:
		fmt.Fprintf(b, " (gateway: unavailable, see below)\ngateway figures unavailable: %s\n", g.Unavailable)
		return
	default:
		b.WriteString(" (gateway: pass --metrics URL)\n")
		return
	}
	if g == nil || g.Requests == nil {
		return
	}
	fmt.Fprintf(b, "gateway checked: its %s rose by %d during the run, this run had %d requests answered of %d sent",
		requestsSeries, *g.Requests, r.RequestsAnswered, r.RequestsSent)
	if others := *g.Requests - int64(r.RequestsSent); others > 0 {
		fmt.Fprintf(b, " (%d more than it sent: others', whose cost is in the figures)", others)
	}
	fmt.Fprintf(b, "; peak RSS of %d samples, every %s", g.Samples, time.Duration(g.SampleEvery*Millis(time.Millisecond)))
	if g.Missed > 0 {
		fmt.Fprintf(b, " (%d missed)", g.Missed)
	}
	if g.PeakRSSSinceStartMB != nil {
		fmt.Fprintf(b, "; %.1f MB since its start", *g.PeakRSSSinceStartMB)
	}
	b.WriteString(" (1 MB = 10^6 bytes)\n")
}

// WriteLoadJSON writes the load report as JSON.
func WriteLoadJSON(w io.Writer, r *LoadReport) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
