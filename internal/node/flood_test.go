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
	"github.com/luxncp/luxncp/internal/testkit"
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
	var peakRSS, peakHeap atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if h := int64(ms.HeapInuse); h > peakHeap.Load() {
				peakHeap.Store(h)
			}
			if r := rss(t); r > peakRSS.Load() {
				peakRSS.Store(r)
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()

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
	close(stop)
	<-sampled
	t.Logf("peak RSS %d MiB, peak heap in use %d MiB, %d refused, %d served, %d audit records of refusals",
		peakRSS.Load()>>20, peakHeap.Load()>>20, refused.Load(), served, sink.unauthenticated.Load())
	if peakRSS.Load() > 256<<20 {
		t.Errorf("peak RSS %d MiB, want under 256 MiB", peakRSS.Load()>>20)
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
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.RateLimit = 1 }, nil)
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

	g = startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.MaxInFlight = 1 }, nil)
	// Hold the one slot: a request whose body never finishes.
	pr, pw := io.Pipe()
	defer pw.Close()
	held := make(chan struct{})
	go func() {
		defer close(held)
		req, _ := http.NewRequest("POST", g.url+ehdsi.PathXCPD, pr)
		req.Header.Set("Content-Type", "application/soap+xml")
		req.ContentLength = 1000
		if res, err := fr.client.HTTP.Do(req); err == nil {
			res.Body.Close()
		}
	}()
	pw.Write([]byte("<"))
	var res *http.Response
	for i := 0; i < 200; i++ { // until the slot is taken
		if res = post(be); res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
		t.Fatalf("with the only slot held: %d, Retry-After %q; want 503 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	pw.CloseWithError(io.ErrUnexpectedEOF)
	<-held
	for i := 0; i < 200; i++ { // until the server has let the slot go
		if res = post(be); res.StatusCode != http.StatusServiceUnavailable {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if res.StatusCode != 200 {
		t.Errorf("after the slot was freed: %d", res.StatusCode)
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
