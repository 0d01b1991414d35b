package node_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
)

// countingSink counts the audit records of refusals without a client
// certificate.
type countingSink struct {
	unauthenticated atomic.Int64
}

func (s *countingSink) Write(ctx context.Context, r audit.Record) error {
	if r.Event.Consumer.Country == "" && r.Event.Outcome != audit.OutcomeSuccess {
		s.unauthenticated.Add(1)
	}
	return nil
}

// rss is the process's resident set in bytes (Linux).
func rss(t *testing.T) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// sampleMemory samples the process's resident set and heap in use every
// 2 ms until the returned function is called, which returns the peaks.
func sampleMemory(t *testing.T) (stop func() (peakRSS, peakHeap int64)) {
	var pr, ph int64
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			ph = max(ph, int64(ms.HeapInuse))
			pr = max(pr, rss(t))
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return func() (int64, int64) {
		close(done)
		<-sampled
		return pr, ph
	}
}

// TestFloodOfUnauthenticatedBodies: 20 clients without a certificate post
// 10 MiB bodies at once. The gateway refuses them before reading a body,
// audits them in aggregate, stays under 256 MB resident and keeps serving
// a partner meanwhile.
func TestFloodOfUnauthenticatedBodies(t *testing.T) {
	sink := &countingSink{}
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), nil, func(o *node.Options) { o.AuditSink = sink })
	ph := newPharmacist(t, "fr", "physician")

	runtime.GC()
	debug.FreeOSMemory()
	peaks := sampleMemory(t)

	body := bytes.Repeat([]byte("<x>"), (10<<20)/3)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testkit.CAPool(t), Time: clock.System()}}}
	var wg sync.WaitGroup
	var refused atomic.Int64
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := anon.Post(g.url+ehdsi.PathXCPD, "application/soap+xml", bytes.NewReader(body))
			if err != nil {
				refused.Add(1) // the gateway answered and closed before the body was sent
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if strings.Contains(string(b), "client certificate is required") {
				refused.Add(1)
			} else {
				t.Errorf("flood request answered %d: %.200s", res.StatusCode, b)
			}
		}()
	}
	// Meanwhile a partner is served.
	served := 0
	for i := 0; i < 5; i++ {
		rep := ph.call(g.url+ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule}), false, ph.hcp)
		if rep.Fault == nil {
			served++
		}
	}
	wg.Wait()
	peakRSS, peakHeap := peaks()
	t.Logf("peak RSS %d MiB, peak heap in use %d MiB, %d refused, %d served, %d audit records of refusals",
		peakRSS>>20, peakHeap>>20, refused.Load(), served, sink.unauthenticated.Load())
	if peakRSS > 256<<20 {
		t.Errorf("peak RSS %d MiB, want under 256 MiB", peakRSS>>20)
	}
	if served != 5 || refused.Load() != 20 {
		t.Errorf("served %d of 5, refused %d of 20", served, refused.Load())
	}
	if n := sink.unauthenticated.Load(); n != 1 {
		t.Errorf("%d audit records for 20 refusals from one address in a minute, want 1", n)
	}
}

// TestBusyAndRateLimited: beyond its rate a country gets 429 with
// Retry-After, another country is still served; beyond the requests in
// flight every caller gets 503 with Retry-After.
func TestBusyAndRateLimited(t *testing.T) {
	tel := telemetry.New(telemetry.Options{})
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.RateLimit = 1 },
		func(o *node.Options) { o.Telemetry = tel })
	post := func(ph *pharmacist) *http.Response {
		t.Helper()
		ctype, body, err := ph.client.Marshal(ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule})})
		if err != nil {
			t.Fatal(err)
		}
		res, err := ph.client.HTTP.Post(g.url+ehdsi.PathXCPD, ctype, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	fr, be := newPharmacist(t, "fr", "physician"), newPharmacist(t, "be", "physician")
	var codes []int
	for i := 0; i < 3; i++ {
		codes = append(codes, post(fr).StatusCode)
	}
	if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("France's statuses %v, want 200 200 429 (1/s, bursts of 2)", codes)
	}
	if res := post(be); res.StatusCode != 200 {
		t.Errorf("Belgium limited by France's rate: %d", res.StatusCode)
	}
	// The refusal is counted as one, not as a success.
	rec := httptest.NewRecorder()
	tel.AdminHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, want := range []string{
		`luxncp_requests_total{code="ERROR_GENERIC",country="FR",outcome="serious failure",transaction="XCPD"} 1`,
		`luxncp_requests_total{code="none",country="FR",outcome="success",transaction="EHDSI-11"} 2`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, rec.Body.String())
		}
	}

	// The in-flight bound (503 with Retry-After) is asserted over the wire
	// by TestFloodFromOneAuthenticatedPartner and exactly by the gateway's
	// TestAdmissionCountryShare: a slot held by a half-sent body proved
	// nondeterministic to set up here when the whole suite loads the machine.
}

// TestFloodFromOneAuthenticatedPartner: France, with its valid TLS
// certificate, posts 10 MiB envelopes from 40 connections at once, again
// and again. It may hold no more than its share of the requests in
// progress and of the body memory, so the process stays far below its
// memory limit and Belgium, meanwhile, is served every time.
func TestFloodFromOneAuthenticatedPartner(t *testing.T) {
	if testutil.Race {
		t.Skip("memory bounds are asserted in make test's run without -race")
	}
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), nil, func(o *node.Options) { o.AuditSink = &countingSink{} })
	fr, be := newPharmacist(t, "fr", "physician"), newPharmacist(t, "be", "physician")

	runtime.GC()
	debug.FreeOSMemory()
	base := rss(t)
	peaks := sampleMemory(t)
	stop := make(chan struct{})

	// A well-formed envelope of 10 MiB (just under the limit): read whole
	// and parsed before its missing assertion is refused.
	var env bytes.Buffer
	env.WriteString(`<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>` +
		`<a:Action>` + ehdsi.ActionXCPD + `</a:Action><a:MessageID>urn:uuid:6a1f4f6e-1b7e-4b5e-9f31-3f1e0c2b9d10</a:MessageID></s:Header><s:Body><x>`)
	env.Write(bytes.Repeat([]byte("A"), 10<<20-env.Len()-100))
	env.WriteString(`</x></s:Body></s:Envelope>`)
	body := env.Bytes()
	var busy, read, failed atomic.Int64
	flooding := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res, err := fr.client.HTTP.Post(g.url+ehdsi.PathXCPD, "application/soap+xml", bytes.NewReader(body))
				if err != nil {
					failed.Add(1) // answered 503 and closed before the body was sent
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusServiceUnavailable {
					if res.Header.Get("Retry-After") == "" {
						t.Error("503 without Retry-After")
					}
					busy.Add(1)
					once.Do(func() { close(flooding) })
				} else {
					read.Add(1)
				}
			}
		}()
	}
	<-flooding // France is beyond its share
	served := 0
	const calls = 8
	for i := 0; i < calls; i++ {
		rep, err := be.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{be.hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule})})
		if err != nil {
			t.Errorf("Belgium, call %d: %v", i, err)
		} else if rep.Fault != nil {
			t.Errorf("Belgium, call %d: %s %s", i, rep.Fault.Code, rep.Fault.Public)
		} else {
			served++
		}
	}
	close(stop)
	wg.Wait()
	peakRSS, peakHeap := peaks()
	t.Logf("peak RSS %d MiB (%d MiB before), peak heap in use %d MiB; France: %d read, %d answered 503, %d cut off; Belgium: %d of %d served",
		peakRSS>>20, base>>20, peakHeap>>20, read.Load(), busy.Load(), failed.Load(), served, calls)
	if served != calls {
		t.Errorf("Belgium served %d of %d while France flooded", served, calls)
	}
	// France's share is 32 MiB of bodies: three 10 MiB bodies at once, each
	// costing about 75 MiB of heap while buffered and parsed. Half of the
	// default GOMEMLIMIT (768 MiB) is the bound.
	if grew := peakRSS - base; grew > node.DefaultMemoryLimit/2 {
		t.Errorf("RSS grew by %d MiB under one partner's flood, want under %d MiB", grew>>20, node.DefaultMemoryLimit/2>>20)
	}
}

// TestAdmissionFromEnv: the body memory and the country share have
// defaults, are configurable, and a wrong value stops the start.
func TestAdmissionFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := node.FromEnv(env(nil))
	if err != nil || c.MaxBodyMemory != 64<<20 || c.CountryShare != 0.5 {
		t.Fatalf("defaults: %d bytes, share %g (%v)", c.MaxBodyMemory, c.CountryShare, err)
	}
	c, err = node.FromEnv(env(map[string]string{"LUXNCP_MAX_BODY_MEMORY": "1048576", "LUXNCP_COUNTRY_SHARE": "0.25"}))
	if err != nil || c.MaxBodyMemory != 1<<20 || c.CountryShare != 0.25 {
		t.Fatalf("configured: %d bytes, share %g (%v)", c.MaxBodyMemory, c.CountryShare, err)
	}
	for _, kv := range []map[string]string{{"LUXNCP_COUNTRY_SHARE": "50"}, {"LUXNCP_COUNTRY_SHARE": "0"}, {"LUXNCP_MAX_BODY_MEMORY": "64MiB"}} {
		if _, err := node.FromEnv(env(kv)); err == nil {
			t.Errorf("%v accepted", kv)
		}
	}
}

// eventSink keeps the events of the records written.
type eventSink struct {
	mu     sync.Mutex
	events []audit.Event
}

func (s *eventSink) Write(ctx context.Context, r audit.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, r.Event)
	return nil
}

func (s *eventSink) texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.ErrorText)
	}
	return out
}

// TestUnauthenticatedRefusalCountsSurviveShutdown: refusals of one address
// are counted per cause (no certificate, an untrusted one), each cause with
// its own record, and the counts no record carries yet are written when the
// gateway shuts down.
func TestUnauthenticatedRefusalCountsSurviveShutdown(t *testing.T) {
	sink := &eventSink{}
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), nil, func(o *node.Options) { o.AuditSink = sink })
	rogue := testkit.NewCA(t, testkit.Cert{CN: "rogue", Country: "FR"}).Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"})
	h := host.WithTLSPeer(g.node.Handler())
	send := func(cert *x509.Certificate) {
		r := httptest.NewRequest(http.MethodPost, ehdsi.PathXCPD, strings.NewReader("<x/>")) // one address: 192.0.2.1
		if cert != nil {
			r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{cert}}
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code == http.StatusOK {
			t.Fatalf("unauthenticated request served: %s", w.Body)
		}
	}
	for range 3 {
		send(nil)
	}
	for range 2 {
		send(rogue.Cert)
	}
	if got := sink.texts(); len(got) != 2 || got[0] == got[1] {
		t.Fatalf("records before shutdown %q: want one per cause", got)
	}
	if err := g.node.Close(); err != nil {
		t.Fatal(err)
	}
	got := sink.texts()
	if len(got) != 4 {
		t.Fatalf("records after shutdown %q: want the two counts flushed", got)
	}
	for i, want := range []string{"2 further refusals", "1 further refusals"} {
		cause := got[i]
		if j := slices.IndexFunc(got[2:], func(s string) bool { return strings.HasPrefix(s, cause) }); j < 0 || !strings.Contains(got[2+j], want) {
			t.Errorf("no flushed count %q for cause %q in %q", want, cause, got[2:])
		}
	}
}
