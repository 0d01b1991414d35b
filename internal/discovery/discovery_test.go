package discovery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/smp"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testkit"
)

type memAudit struct {
	mu  sync.Mutex
	evs []audit.Event
}

func (m *memAudit) Record(_ context.Context, e audit.Event) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := (&audit.Recorder{Sink: nil}).Prepare(e); err != nil {
		return err // the message must build
	}
	m.evs = append(m.evs, e)
	return nil
}

func (m *memAudit) count(o audit.Outcome) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.evs {
		if e.Type == audit.EventSMPQuery && e.Outcome == o {
			n++
		}
	}
	return n
}

// tlsServer is a contact point answering one SOAP response, presenting
// country cc's dev TLS certificate.
func tlsServer(t *testing.T, cc string) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		body := soap.NewElement("rs", "RegistryResponse", "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0")
		body.CreateAttr("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
		_ = soap.Write(w, soap.Response{Action: "urn:test:response", Body: body}, false)
	}))
	srv.TLS = &tls.Config{Time: clock.System(), Certificates: []tls.Certificate{testkit.Credential(t, cc, pki.KindTLS).TLSCertificate()}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// country is cc's entry at base with cc's own TLS certificate pinned.
func country(t *testing.T, cc, base string) routing.Country {
	t.Helper()
	pemCert := routing.CertPEM(testkit.Credential(t, cc, pki.KindTLS).Cert)
	c := routing.Country{Code: cc, HomeCommunityID: "2.999." + cc, Name: cc + " (test)",
		SearchMask: []routing.IdentifierType{{Root: "1.2.250.1.213.1.4.8", Name: "INS-NIR"}}}
	for _, tx := range routing.Transactions {
		c.Endpoints = append(c.Endpoints, routing.Endpoint{Transaction: tx, URL: base + "/svc", Certificate: pemCert})
	}
	st, err := routing.NewStatic(c) // parses the certificates
	if err != nil {
		t.Fatal(err)
	}
	c, _ = st.Lookup(context.Background(), cc)
	return c
}

type fixture struct {
	local *smp.Local
	audit *memAudit
	now   *clock.Fake
	cache string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	local, err := smp.StartLocal("sml.luxncp.test", "127.0.0.1:0", "127.0.0.1:0", smp.Verifier{Trust: testkit.Trust(t)}, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = local.Close() })
	return &fixture{local: local, audit: &memAudit{}, now: clock.NewFake(clock.Now()), cache: filepath.Join(t.TempDir(), "directory.json")}
}

func (f *fixture) publish(t *testing.T, c routing.Country, signer string, from, until time.Time) {
	t.Helper()
	seal := testkit.Credential(t, signer, pki.KindSeal)
	participant := smp.Participant(c.Code)
	for _, m := range smp.Publication(c, from, until, "") {
		b, err := smp.Sign(m, seal.Signer, seal.Cert)
		if err != nil {
			t.Fatal(err)
		}
		f.local.SMP.Store(participant, m.DocumentID, b) // unchecked: the client must check
	}
	f.local.SML.Register(participant, f.local.URL)
}

func (f *fixture) dir(t *testing.T, mod func(*Config)) *Directory {
	t.Helper()
	cfg := Config{Countries: []string{"FR"}, Locator: f.local.Locator(), Verifier: smp.Verifier{Trust: testkit.Trust(t)},
		CacheFile: f.cache, Audit: f.audit, Now: f.now.Now, Log: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func call(t *testing.T, d routing.Directory) error {
	t.Helper()
	rc, err := routing.New(routing.Config{Directory: d, TLS: testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate(), Trust: testkit.Trust(t),
		AttemptTimeout: time.Second, CallTimeout: 3 * time.Second, Retries: -1, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = rc.Do(context.Background(), routing.Call{Country: "FR", Transaction: routing.ITI55,
		Request: ncpclient.Request{Action: "urn:test", Body: etree.NewElement("Ping")}})
	return err
}

func TestRoutesThroughDiscovery(t *testing.T) {
	f := newFixture(t)
	srv := tlsServer(t, "fr")
	now := f.now.Now()
	f.publish(t, country(t, "FR", srv.URL), "fr", now.Add(-time.Hour), now.Add(24*time.Hour))
	d := f.dir(t, nil)
	c, err := d.Lookup(context.Background(), "fr")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Endpoints) != 4 || c.HomeCommunityID != "2.999.FR" || len(c.SearchMask) != 1 || c.SearchMask[0].Root != "1.2.250.1.213.1.4.8" {
		t.Fatalf("discovered %+v", c)
	}
	if !bytes.Equal(c.Endpoints[0].Cert().Raw, testkit.Credential(t, "fr", pki.KindTLS).Cert.Raw) {
		t.Error("the endpoint certificate is not the published one")
	}
	if got := f.audit.count(audit.OutcomeSuccess); got != 5 {
		t.Errorf("%d SMP queries audited as successes, want 5 (4 transactions and the ISM)", got)
	}
	if err := call(t, d); err != nil {
		t.Fatalf("call through discovery: %v", err)
	}
	// The cache file now holds the result: a directory that starts with the
	// SML gone still routes.
	f.local.SML.SetDown(true)
	if err := call(t, f.dir(t, nil)); err != nil {
		t.Fatalf("SML down, cache present: %v", err)
	}
}

func TestRefusedMetadata(t *testing.T) {
	srvURL := "https://127.0.0.1:1"
	tests := []struct {
		name    string
		publish func(t *testing.T, f *fixture)
		kind    routing.Kind
	}{
		{"expired", func(t *testing.T, f *fixture) {
			now := f.now.Now()
			f.publish(t, country(t, "FR", srvURL), "fr", now.Add(-48*time.Hour), now.Add(-time.Hour))
		}, routing.ErrUnknownCountry},
		{"not yet active", func(t *testing.T, f *fixture) {
			now := f.now.Now()
			f.publish(t, country(t, "FR", srvURL), "fr", now.Add(time.Hour), now.Add(48*time.Hour))
		}, routing.ErrUnknownCountry},
		{"unsigned", func(t *testing.T, f *fixture) {
			f.publish(t, country(t, "FR", srvURL), "fr", time.Time{}, time.Time{})
			m := smp.Publication(country(t, "FR", srvURL), time.Time{}, time.Time{}, "")[0]
			root := etree.NewElement("SignedServiceMetadata")
			root.CreateAttr("xmlns", smp.NS)
			el := m.Element()
			el.RemoveAttr("xmlns")
			root.AddChild(el)
			doc := etree.NewDocument()
			doc.SetRoot(root)
			b, _ := doc.WriteToBytes()
			f.local.SMP.Store(smp.Participant("FR"), m.DocumentID, b)
		}, routing.ErrUntrusted},
		{"tampered", func(t *testing.T, f *fixture) {
			f.publish(t, country(t, "FR", srvURL), "fr", time.Time{}, time.Time{})
			doc := routing.ITI55.DocumentID()
			b, _ := f.local.SMP.Get(smp.Participant("FR"), doc)
			f.local.SMP.Store(smp.Participant("FR"), doc, bytes.Replace(b, []byte("127.0.0.1:1/svc"), []byte("evil.example/svc"), 1))
		}, routing.ErrUntrusted},
		{"signed by another country", func(t *testing.T, f *fixture) {
			f.publish(t, country(t, "FR", srvURL), "be", time.Time{}, time.Time{})
		}, routing.ErrUntrusted},
		{"another participant's metadata", func(t *testing.T, f *fixture) {
			// Belgium's genuine metadata served under France's name.
			f.publish(t, country(t, "BE", srvURL), "be", time.Time{}, time.Time{})
			for _, id := range smp.DocumentIDs() {
				b, _ := f.local.SMP.Get(smp.Participant("BE"), id)
				f.local.SMP.Store(smp.Participant("FR"), id, b)
			}
			f.local.SML.Register(smp.Participant("FR"), f.local.URL)
		}, routing.ErrUntrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.publish(t, f)
			_, err := f.dir(t, nil).Lookup(context.Background(), "FR")
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err %v, want %s", err, tc.kind)
			}
		})
	}
}

// A pinned SMP signer (a central publisher's key) is accepted for any
// participant; without the pin the same metadata is refused (above).
func TestPinnedSMPSigner(t *testing.T) {
	f := newFixture(t)
	f.publish(t, country(t, "FR", "https://127.0.0.1:1"), "be", time.Time{}, time.Time{})
	d := f.dir(t, func(c *Config) {
		c.Verifier.Signers = append(c.Verifier.Signers, testkit.Credential(t, "be", pki.KindSeal).Cert)
	})
	if _, err := d.Lookup(context.Background(), "FR"); err != nil {
		t.Fatal(err)
	}
}

// Two endpoints for a transaction: the expired one is skipped, and of two
// active ones the one activated last (a certificate rollover) is used.
func TestTwoEndpoints(t *testing.T) {
	f := newFixture(t)
	now := f.now.Now()
	old, cur := tlsServer(t, "fr"), tlsServer(t, "fr")
	seal := testkit.Credential(t, "fr", pki.KindSeal)
	frTLS := testkit.Credential(t, "fr", pki.KindTLS).Cert
	participant := smp.Participant("FR")
	for _, tx := range routing.Transactions {
		m := smp.ServiceMetadata{Participant: participant, DocumentID: tx.DocumentID(), ProcessID: "p", Endpoints: []smp.Endpoint{
			{TransportProfile: transport(tx), URL: "https://127.0.0.1:1/expired", Expiration: now.Add(-time.Minute), Certificate: frTLS},
			{TransportProfile: transport(tx), URL: old.URL + "/svc", Activation: now.Add(-48 * time.Hour), Certificate: frTLS},
			{TransportProfile: transport(tx), URL: cur.URL + "/svc", Activation: now.Add(-time.Hour), Certificate: frTLS},
		}}
		b, err := smp.Sign(m, seal.Signer, seal.Cert)
		if err != nil {
			t.Fatal(err)
		}
		f.local.SMP.Store(participant, tx.DocumentID(), b)
	}
	f.local.SML.Register(participant, f.local.URL)
	c, err := f.dir(t, nil).Lookup(context.Background(), "FR")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range c.Endpoints {
		if e.URL != cur.URL+"/svc" {
			t.Errorf("%s: %s, want the endpoint activated last", e.Transaction, e.URL)
		}
	}
}

func transport(tx routing.Transaction) string {
	m := smp.Publication(routing.Country{Code: "FR", Endpoints: []routing.Endpoint{{Transaction: tx}}}, time.Time{}, time.Time{}, "")
	return m[0].Endpoints[0].TransportProfile
}

// The metadata names France's certificate; the server presents Belgium's:
// the TLS handshake is refused (pinning), nothing is sent.
func TestEndpointCertificateMismatch(t *testing.T) {
	f := newFixture(t)
	srv := tlsServer(t, "be")
	f.publish(t, country(t, "FR", srv.URL), "fr", time.Time{}, time.Time{})
	if err := call(t, f.dir(t, nil)); !errors.Is(err, routing.ErrUntrusted) {
		t.Fatalf("err %v, want untrusted", err)
	}
}

func TestDNSDown(t *testing.T) {
	f := newFixture(t)
	srv := tlsServer(t, "fr")
	f.publish(t, country(t, "FR", srv.URL), "fr", time.Time{}, time.Time{})
	d := f.dir(t, func(c *Config) { c.CacheFile = "" })
	if _, err := d.Lookup(context.Background(), "FR"); err != nil {
		t.Fatal(err)
	}
	f.local.SML.SetDown(true)
	f.now.Advance(2 * time.Hour) // the result is stale: Lookup asks again, fails, keeps it
	if err := call(t, d); err != nil {
		t.Fatalf("SML down, last good result in memory: %v", err)
	}
	if f.audit.count(audit.OutcomeSuccess) != 5 {
		t.Error("a failed SML lookup fetched metadata")
	}
	// Without any cache, the country cannot be routed: down, not unknown.
	_, err := f.dir(t, func(c *Config) { c.CacheFile = "" }).Lookup(context.Background(), "FR")
	if !errors.Is(err, routing.ErrDown) {
		t.Fatalf("no cache: err %v, want down", err)
	}
	if !strings.Contains(err.Error(), "SML") {
		t.Errorf("error %q does not name the SML", err)
	}
}

// An override entry is used as written; discovery is not asked.
func TestOverride(t *testing.T) {
	f := newFixture(t)
	st, err := routing.NewStatic(country(t, "FR", "https://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	f.local.SML.SetDown(true)
	c, err := f.dir(t, func(c *Config) { c.Override = st }).Lookup(context.Background(), "FR")
	if err != nil || c.Endpoints[0].URL != "https://127.0.0.1:1/svc" {
		t.Fatalf("%v %+v", err, c)
	}
}
