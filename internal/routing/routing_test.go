package routing

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testkit"
)

// server starts an HTTPS server with country cc's dev TLS certificate and
// returns it with a directory entry pinned to that certificate.
func server(t *testing.T, cc string, h http.HandlerFunc) (*httptest.Server, Country, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h(w, r)
	}))
	cred := testkit.Credential(t, cc, pki.KindTLS)
	srv.TLS = &tls.Config{Time: clock.System(), Certificates: []tls.Certificate{cred.TLSCertificate()}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	var eps []Endpoint
	for _, tx := range Transactions {
		eps = append(eps, Endpoint{Transaction: tx, URL: srv.URL + "/svc", Certificate: CertPEM(cred.Cert)})
	}
	return srv, Country{Code: cc, HomeCommunityID: "2.999", Endpoints: eps}, &hits
}

func client(t *testing.T, dir Directory, mod func(*Config)) *Client {
	t.Helper()
	cfg := Config{Directory: dir, TLS: testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate(), Trust: testkit.Trust(t),
		AttemptTimeout: 300 * time.Millisecond, CallTimeout: 3 * time.Second, RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond,
		Breaker: BreakerConfig{Failures: 100}, Log: slog.New(slog.DiscardHandler)}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func okSOAP(w http.ResponseWriter, _ *http.Request) {
	body := soap.NewElement("rs", "RegistryResponse", "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0")
	body.CreateAttr("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
	_ = soap.Write(w, soap.Response{Action: "urn:test:response", Body: body}, false)
}

func request() ncpclient.Request {
	return ncpclient.Request{Action: "urn:test", Body: etree.NewElement("Ping")}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name     string
		tx       Transaction
		idem     string
		handler  http.HandlerFunc
		kind     Kind
		attempts int32
		code     ehdsi.Code
	}{
		{"ok", ITI55, "", okSOAP, "", 1, ""},
		{"503 XCPD retried", ITI55, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) }, ErrDown, 3, ""},
		{"503 XCA retried", ITI39, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) }, ErrDown, 3, ""},
		{"503 XDR without key not retried", ITI41, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) }, ErrDown, 1, ""},
		{"503 XDR with key retried", ITI41, "doc-1", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) }, ErrDown, 3, ""},
		{"SOAP fault never resent", ITI55, "", func(w http.ResponseWriter, _ *http.Request) {
			_ = soap.WriteFault(w, ehdsi.Receiver(ehdsi.ErrPIRegistryNotAvailable, "registry down", nil), "")
		}, ErrRefused, 1, ehdsi.ErrPIRegistryNotAvailable},
		{"4xx never retried", ITI38, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", 403) }, ErrRefused, 1, ehdsi.ErrGeneric},
		{"501 not retried", ITI38, "", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "no", 501) }, ErrDown, 1, ""},
		{"slow retried then slow", ITI55, "", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(1500 * time.Millisecond):
			}
		}, ErrSlow, 3, ""},
		{"malformed", ITI55, "", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/soap+xml")
			_, _ = w.Write([]byte("<env:Envelope"))
		}, ErrInvalidReply, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, entry, hits := server(t, "fr", tc.handler)
			dir, err := NewStatic(entry)
			if err != nil {
				t.Fatal(err)
			}
			c := client(t, dir, nil)
			start := clock.Now()
			res, err := c.Do(context.Background(), Call{Country: "fr", Transaction: tc.tx, Request: request(), IdempotencyKey: tc.idem})
			if clock.Now().Sub(start) > 3*time.Second {
				t.Errorf("took %v", clock.Now().Sub(start))
			}
			if got := hits.Load(); got != tc.attempts {
				t.Errorf("server saw %d attempts, want %d", got, tc.attempts)
			}
			if tc.kind == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if res.Attempts != 1 {
					t.Errorf("attempts %d", res.Attempts)
				}
				return
			}
			re, ok := AsError(err)
			if !ok || !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want kind %s", err, tc.kind)
			}
			if re.Attempts != int(tc.attempts) {
				t.Errorf("error attempts %d, want %d", re.Attempts, tc.attempts)
			}
			if tc.code != "" && re.Code != tc.code {
				t.Errorf("code %s, want %s", re.Code, tc.code)
			}
		})
	}
}

func TestPinningAndCountry(t *testing.T) {
	// The server presents FR's certificate.
	_, entry, hits := server(t, "fr", okSOAP)
	be := testkit.Credential(t, "be", pki.KindTLS)
	tests := []struct {
		name string
		cc   string
		pin  string
		kind Kind
	}{
		{"pinned and right country", "FR", entry.Endpoints[0].Certificate, ""},
		{"certificate differs from the directory", "FR", CertPEM(be.Cert), ErrUntrusted},
		{"certificate of another country", "BE", entry.Endpoints[0].Certificate, ErrUntrusted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := entry
			e.Code = tc.cc
			e.Participant = ""
			e.Endpoints = append([]Endpoint(nil), entry.Endpoints...)
			for i := range e.Endpoints {
				e.Endpoints[i].Certificate = tc.pin
			}
			dir, err := NewStatic(e)
			if err != nil {
				t.Fatal(err)
			}
			before := hits.Load()
			_, err = client(t, dir, nil).Do(context.Background(), Call{Country: tc.cc, Transaction: ITI55, Request: request()})
			if tc.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tc.kind) {
				t.Fatalf("err = %v, want %s", err, tc.kind)
			}
			if hits.Load() != before {
				t.Errorf("request reached the server despite the certificate failure")
			}
			if re, _ := AsError(err); re.Attempts != 1 {
				t.Errorf("attempts %d, want 1 (no retry on certificate failures)", re.Attempts)
			}
		})
	}
}

func TestUnknownCountry(t *testing.T) {
	dir, _ := NewStatic()
	_, err := client(t, dir, nil).Do(context.Background(), Call{Country: "XX", Transaction: ITI55, Request: request()})
	if !errors.Is(err, ErrUnknownCountry) {
		t.Fatalf("err = %v", err)
	}
}

func TestBreakerOpensAndRecovers(t *testing.T) {
	fail := atomic.Bool{}
	fail.Store(true)
	_, entry, hits := server(t, "fr", func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", 503)
			return
		}
		okSOAP(w, r)
	})
	dir, _ := NewStatic(entry)
	now := clock.Now()
	c := client(t, dir, func(cfg *Config) {
		cfg.Retries = -1
		cfg.Breaker = BreakerConfig{Failures: 3, Cooldown: time.Minute}
		cfg.Now = func() time.Time { return now }
	})
	call := Call{Country: "FR", Transaction: ITI55, Request: request()}
	for i := 0; i < 3; i++ {
		if _, err := c.Do(context.Background(), call); !errors.Is(err, ErrDown) {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if c.BreakerState("FR") != StateOpen {
		t.Fatalf("state %s", c.BreakerState("FR"))
	}
	_, err := c.Do(context.Background(), call)
	if re, _ := AsError(err); re == nil || re.Kind != ErrDown || re.Attempts != 0 {
		t.Fatalf("open circuit: %v", err)
	}
	if hits.Load() != 3 {
		t.Fatalf("hits %d, want 3", hits.Load())
	}
	now = now.Add(2 * time.Minute)
	fail.Store(false)
	if _, err := c.Do(context.Background(), call); err != nil {
		t.Fatalf("half-open trial: %v", err)
	}
	if c.BreakerState("FR") != StateClosed {
		t.Fatalf("state %s", c.BreakerState("FR"))
	}
}

func TestDirectoryFile(t *testing.T) {
	_, entry, _ := server(t, "fr", okSOAP)
	dir, err := NewStatic(entry)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "directory.json")
	if err := dir.WriteFile(p); err != nil {
		t.Fatal(err)
	}
	back, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := dir.Marshal()
	b, _ := back.Marshal()
	if string(a) != string(b) {
		t.Fatal("directory does not round-trip")
	}
	c, err := back.Lookup(context.Background(), "fr")
	if err != nil || c.Participant != "urn:ehealth:fr:ncp-idp" || len(c.Endpoints) != 4 {
		t.Fatalf("%+v %v", c, err)
	}
	for _, bad := range []string{`{"version":2,"countries":[]}`, `{"version":1,"countries":[{"country":"FRA"}]}`, `{"version":1,"countries":[{"country":"FR","endpoints":[{"transaction":"ITI-55","url":"http://x","certificate":""}]}]}`, `{`} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted", bad)
		}
	}
	_ = os.Remove(p)
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"version":1,"countries":[]}`))
	f.Add([]byte(`{"version":1,"countries":[{"country":"FR","endpoints":[{"transaction":"ITI-55","url":"https://x","certificate":"-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = Parse(b)
	})
}

// TestRetryHasFreshMessageID: every attempt of a retried call carries its
// own RFC 4122 v4 wsa:MessageID (a replay-guarding partner refuses a
// retry whose first attempt arrived); the result names the last one.
func TestRetryHasFreshMessageID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	_, entry, _ := server(t, "fr", func(w http.ResponseWriter, r *http.Request) {
		env, err := soap.Read(r, soap.Limits{})
		if err != nil {
			t.Error(err)
		}
		mu.Lock()
		ids = append(ids, env.MessageID)
		n := len(ids)
		mu.Unlock()
		if n < 3 {
			http.Error(w, "down", 503)
			return
		}
		okSOAP(w, r)
	})
	dir, err := NewStatic(entry)
	if err != nil {
		t.Fatal(err)
	}
	req := request()
	req.MessageID = soap.NewMessageID()
	res, err := client(t, dir, nil).Do(context.Background(), Call{Country: "fr", Transaction: ITI55, Request: req})
	if err != nil {
		t.Fatal(err)
	}
	v4 := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] || !v4.MatchString(id) {
			t.Errorf("message ids %v: repeated or not RFC 4122 v4", ids)
		}
		seen[id] = true
	}
	if len(ids) != 3 || ids[0] != req.MessageID || res.MessageID != ids[2] {
		t.Errorf("ids %v, first %s, result %s", ids, req.MessageID, res.MessageID)
	}
}
