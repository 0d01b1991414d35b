package countryb

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testkit"
)

type memAudit struct {
	mu     sync.Mutex
	events []audit.Event
	full   atomic.Bool // every write fails, as on a full disk
}

// Write implements audit.Sink: records are built by a real audit.Recorder.
func (m *memAudit) Write(_ context.Context, r audit.Record) error {
	if r.Message == "" {
		return errors.New("no audit message")
	}
	if m.full.Load() {
		return errors.New("no space left on device")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, r.Event)
	return nil
}

func (m *memAudit) count(t audit.EventType) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.events {
		if e.Type == t {
			n++
		}
	}
	return n
}

var (
	catOnce sync.Once
	cat     *terminology.Catalogue
	catErr  error
)

func catalogue(t testing.TB) *terminology.Catalogue {
	catOnce.Do(func() { cat, catErr = terminology.Load() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

// env is luxncp's Country B API in front of simulated peers.
type env struct {
	api    *httptest.Server
	client *http.Client
	audit  *memAudit
	peers  map[string]*peer.Peer
	svc    *Service
	// idp is the national identity provider the API trusts.
	idp *idtoken.DevIssuer
}

func startPeer(t testing.TB, cc string, mode peer.Mode, opts ...func(*peer.Options)) (*peer.Peer, routing.Country) {
	t.Helper()
	o := peer.Options{Country: cc, PKIDir: testkit.PKIDir(t), Fail: mode, SlowDelay: 10 * time.Second}
	for _, f := range opts {
		f(&o)
	}
	p, err := peer.New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(host.WithTLSPeer(p.Handler()))
	srv.TLS = p.TLSConfig()
	srv.Config.ErrorLog = nil
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return p, p.DirectoryEntry(srv.URL)
}

func newEnv(t testing.TB, modes map[string]peer.Mode) *env {
	t.Helper()
	return newEnvWith(t, modes, envOptions{})
}

// envOptions adjust the peers, their directory entries and the service.
type envOptions struct {
	peer   func(*peer.Options)
	entry  func(*routing.Country)
	router func(*routing.Config)
	config func(*Config)
}

func newEnvWith(t testing.TB, modes map[string]peer.Mode, opt envOptions) *env {
	t.Helper()
	e := &env{audit: &memAudit{}, peers: map[string]*peer.Peer{}}
	var entries []routing.Country
	for cc, m := range modes {
		p, entry := startPeer(t, cc, m, func(o *peer.Options) {
			if opt.peer != nil {
				opt.peer(o)
			}
		})
		if opt.entry != nil {
			opt.entry(&entry)
		}
		e.peers[cc] = p
		entries = append(entries, entry)
	}
	dir, err := routing.NewStatic(entries...)
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.DiscardHandler)
	rcfg := routing.Config{Directory: dir, TLS: testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate(), Trust: testkit.Trust(t),
		AttemptTimeout: 400 * time.Millisecond, CallTimeout: 3 * time.Second, RetryWaitMin: 5 * time.Millisecond, RetryWaitMax: 20 * time.Millisecond, Log: quiet}
	if opt.router != nil {
		opt.router(&rcfg)
	}
	rc, err := routing.New(rcfg)
	if err != nil {
		t.Fatal(err)
	}
	e.idp, err = idtoken.NewDevIssuer("https://idp.example.lu")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Router: rc, Identity: testkit.Identity(t, "lu", nil), Trust: testkit.Trust(t), ClientTrust: testkit.Trust(t),
		Translator: catalogue(t), Audit: &audit.Recorder{Sink: e.audit, Self: audit.NCP{Country: "LU", Host: "luxncp"}}, Log: quiet,
		Tokens:  &idtoken.Verifier{Issuer: e.idp.URL, Audience: idtoken.DevAudience, Keys: idtoken.StaticKeys{Set: e.idp.KeySet()}},
		Callers: Callers{devSystem: {"*"}}}
	if opt.config != nil {
		opt.config(&cfg)
	}
	svc, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	e.api = testkit.Server(t, svc.Handler())
	e.client = &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Time: clock.System(),
		RootCAs: testkit.Trust(t).Pool(), Certificates: []tls.Certificate{testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate()}}}}
	return e
}

// devSystem is the subject CN of Luxembourg's dev TLS certificate: the
// calling system of the tests.
const devSystem = "ncp-lu tls (dev)"

// post sends body with the token of the demo professional it names
// (default: the physician lu-hcp-2001).
func (e *env) post(t testing.TB, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	var named struct {
		Professional Professional `json:"professional"`
	}
	_ = json.Unmarshal(b, &named)
	id := named.Professional.ID
	if id == "" {
		id = "lu-hcp-2001"
	}
	return e.postAs(t, path, e.token(t, id), b)
}

// token mints a valid token of the demo professional id.
func (e *env) token(t testing.TB, id string) string {
	t.Helper()
	p, ok := idtoken.DemoPersonOf("professional", id)
	if !ok {
		t.Fatalf("no demo professional %q", id)
	}
	tok, err := e.idp.Mint(p.Claims, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// asDemo is a context authenticated as the demo professional id (calls
// of the service's methods that bypass the HTTP layer).
func asDemo(t testing.TB, id string) context.Context {
	t.Helper()
	p, ok := idtoken.DemoPersonOf("professional", id)
	if !ok {
		t.Fatalf("no demo professional %q", id)
	}
	c := p.Claims
	return context.WithValue(context.Background(), principalKey{}, principal{system: devSystem, claims: &c})
}

// postAs sends the JSON body b with the bearer token tok ("": none).
func (e *env) postAs(t testing.TB, path, tok string, b []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.api.URL+path, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, out
}

func physician() Professional {
	return Professional{ID: "lu-hcp-2001", Name: "Dr Marc Weber", Role: "physician", Organisation: "Centre Hospitalier Emile Mayrisch",
		FacilityType: "Hospital", Locality: "Esch-sur-Alzette"}
}

func pharmacist() Professional {
	return Professional{ID: "lu-pharm-3001", Name: "Sophie Muller", Role: "pharmacist", Organisation: "Pharmacie de la Gare",
		FacilityType: "Pharmacy", Locality: "Luxembourg"}
}

type apiErr struct {
	Error APIError `json:"error"`
}

func TestEndToEndEachPeer(t *testing.T) {
	modes := map[string]peer.Mode{}
	for _, cc := range peer.CountryCodes {
		modes[cc] = peer.ModeNone
	}
	e := newEnv(t, modes)
	for _, cc := range peer.CountryCodes {
		t.Run(cc, func(t *testing.T) {
			prof, _ := peer.Profile(cc)
			pt := prof.Patients[0]
			// Search by national identifier (the root from the search mask).
			st, _, b := e.post(t, "/api/v1/countries/"+cc+"/patients/search", SearchRequest{Professional: physician(),
				Identifiers: []Identifier{{Extension: pt.ID}}})
			if st != 200 {
				t.Fatalf("search: %d %s", st, b)
			}
			var sr SearchResponse
			_ = json.Unmarshal(b, &sr)
			if len(sr.Patients) != 1 || sr.Patients[0].Family != pt.Family || sr.Patients[0].ID.Root != prof.PatientRoot {
				t.Fatalf("search: %s", b)
			}
			// Search by demographics.
			st, _, b = e.post(t, "/api/v1/countries/"+strings.ToLower(cc)+"/patients/search", SearchRequest{Professional: physician(),
				Family: pt.Family, BirthDate: pt.BirthDate})
			if st != 200 {
				t.Fatalf("demographic search: %d %s", st, b)
			}
			patient := sr.Patients[0].ID
			// List.
			st, _, b = e.post(t, "/api/v1/countries/"+cc+"/documents/list", ListRequest{Professional: physician(), Patient: patient, Classes: []string{"PS", "eP", "OrCD"}})
			if st != 200 {
				t.Fatalf("list: %d %s", st, b)
			}
			var lr ListResponse
			_ = json.Unmarshal(b, &lr)
			var ps, ep *Document
			for i := range lr.Documents {
				if lr.Documents[i].PDF {
					continue // the L1 (PDF) forms are listed beside each L3
				}
				switch lr.Documents[i].Class {
				case "PS":
					ps = &lr.Documents[i]
				case "eP":
					ep = &lr.Documents[i]
				}
			}
			if ps == nil || ep == nil {
				t.Fatalf("list: %s", b)
			}
			ref := DocumentRef{ID: ps.ID, RepositoryID: ps.RepositoryID, HomeCommunityID: ps.HomeCommunityID, Class: "PS"}
			// Retrieve original, translated, html.
			st, h, orig := e.post(t, "/api/v1/countries/"+cc+"/documents/retrieve", RetrieveRequest{Professional: physician(), Patient: patient, Document: ref, Format: "original"})
			if st != 200 || !bytes.Contains(orig, []byte(pt.Family)) || h.Get("X-Luxncp-Signed") != "true" {
				t.Fatalf("original: %d %v %.300s", st, h, orig)
			}
			st, h, tr := e.post(t, "/api/v1/countries/"+cc+"/documents/retrieve", RetrieveRequest{Professional: physician(), Patient: patient, Document: ref, Format: "translated", Lang: "de"})
			if st != 200 || h.Get("X-Luxncp-Translated") == "0" || !bytes.Contains(tr, []byte("<translation")) {
				t.Fatalf("translated: %d %v", st, h)
			}
			st, h, page := e.post(t, "/api/v1/countries/"+cc+"/documents/retrieve", RetrieveRequest{Professional: physician(), Patient: patient, Document: ref, Format: "html", Lang: "fr"})
			if st != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(page, []byte(pt.Family)) || !bytes.Contains(page, []byte(`lang="fr"`)) {
				t.Fatalf("html: %d %v", st, h)
			}
			// Dispense and discard (pharmacist).
			epRef := DocumentRef{ID: ep.ID, RepositoryID: ep.RepositoryID, HomeCommunityID: ep.HomeCommunityID}
			st, _, b = e.post(t, "/api/v1/countries/"+cc+"/dispensations", DispenseRequest{Professional: pharmacist(), Patient: patient, Prescription: epRef,
				Item: DispenseItem{Packages: 1}})
			if st != 200 {
				t.Fatalf("dispense: %d %s", st, b)
			}
			var dr DispenseResponse
			_ = json.Unmarshal(b, &dr)
			got := e.peers[cc].Dispensations()[dr.DispensationID]
			if got.Submits != 1 || got.Discarded {
				t.Fatalf("peer received %+v", got)
			}
			st, _, b = e.post(t, "/api/v1/countries/"+cc+"/dispensations/discard", DiscardRequest{Professional: pharmacist(), Patient: patient, DispensationID: dr.DispensationID})
			if st != 200 || !e.peers[cc].Dispensations()[dr.DispensationID].Discarded {
				t.Fatalf("discard: %d %s", st, b)
			}
			// A physician may not dispense.
			st, _, _ = e.post(t, "/api/v1/countries/"+cc+"/dispensations", DispenseRequest{Professional: physician(), Patient: patient, Prescription: epRef, Item: DispenseItem{Packages: 1}})
			if st != 403 {
				t.Fatalf("physician dispense: %d", st)
			}
		})
	}
	for _, ev := range []audit.EventType{audit.EventHCPAssertion, audit.EventIdentification, audit.EventPSList, audit.EventEPList, audit.EventOrCDList, audit.EventPSRetrieve,
		audit.EventEPRetrieve, audit.EventDispensationSubmit, audit.EventDispensationDiscard, audit.EventPivotTranslation} {
		if e.audit.count(ev) == 0 {
			t.Errorf("no %s audit record", ev)
		}
	}
	for _, ev := range e.audit.events {
		if ev.Side != audit.SideB {
			t.Errorf("audit %s on side %v", ev.Type, ev.Side)
		}
	}
}

func TestPatientOutcomes(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"PT": peer.ModeNone})
	prof, _ := peer.Profile("PT")
	tests := []struct {
		name   string
		req    SearchRequest
		status int
		code   string
		ehdsi  ehdsi.Code
	}{
		{"no match", SearchRequest{Professional: physician(), Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: "000000000"}}}, 404, "no-match", ehdsi.ErrPINoMatch},
		{"no consent", SearchRequest{Professional: physician(), Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: prof.Patients[1].ID}}}, 403, "no-consent", ehdsi.WarnPINoConsent},
		// The token names the professional: the body need not.
		{"no professional in the body", SearchRequest{Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: "000000000"}}}, 404, "no-match", ehdsi.ErrPINoMatch},
		{"body claims another role", SearchRequest{Professional: Professional{ID: "lu-hcp-2001", Role: "pharmacist"}, Family: "F", BirthDate: "2000-01-01"}, 403, "professional-mismatch", ""},
		{"bad purpose", SearchRequest{Professional: Professional{Purpose: "CURIOSITY"}, Family: "F", BirthDate: "2000-01-01"}, 400, "bad-request", ""},
		{"nothing to search by", SearchRequest{Professional: physician()}, 400, "bad-request", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, _, b := e.post(t, "/api/v1/countries/PT/patients/search", tc.req)
			var ae apiErr
			_ = json.Unmarshal(b, &ae)
			if st != tc.status || ae.Error.Code != tc.code || ae.Error.EHDSI != tc.ehdsi {
				t.Fatalf("got %d %s", st, b)
			}
		})
	}
	st, _, b := e.post(t, "/api/v1/countries/XX/patients/search", SearchRequest{Professional: physician(), Family: "A", BirthDate: "2000-01-01"})
	if st != 404 || !bytes.Contains(b, []byte("country-unknown-country")) {
		t.Fatalf("unknown country: %d %s", st, b)
	}
}

func TestFailureModes(t *testing.T) {
	tests := []struct {
		mode     peer.Mode
		status   int
		code     string
		ehdsi    ehdsi.Code
		attempts int
		onFetch  bool // the failure shows on retrieve (search succeeds)
	}{
		{peer.ModeSlow, 504, "country-slow", "", 3, false},
		{peer.Mode5xx, 503, "country-down", "", 3, false},
		{peer.ModeFault, 502, "country-refused", ehdsi.ErrPIRegistryNotAvailable, 1, false},
		{peer.ModeBadSig, 502, "country-invalid-reply", "", 1, true},
		{peer.ModeExpired, 502, "country-untrusted", "", 1, false},
		{peer.ModeUntrusted, 502, "country-untrusted", "", 1, false},
		{peer.ModeWrongCountry, 502, "country-untrusted", "", 1, false},
		{peer.ModeMalformed, 502, "country-invalid-reply", "", 1, false},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode), func(t *testing.T) {
			e := newEnv(t, map[string]peer.Mode{"FR": tc.mode})
			prof, _ := peer.Profile("FR")
			pt := prof.Patients[0]
			start := clock.Now()
			st, _, b := e.post(t, "/api/v1/countries/FR/patients/search", SearchRequest{Professional: physician(),
				Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: pt.ID}}})
			if tc.onFetch {
				if st != 200 {
					t.Fatalf("search: %d %s", st, b)
				}
				id := Identifier{Root: prof.PatientRoot, Extension: pt.ID}
				docs := e.peers["FR"].Documents(pt.ID, ehdsi.ClassPS)
				st, _, b = e.post(t, "/api/v1/countries/FR/documents/retrieve", RetrieveRequest{Professional: physician(), Patient: id,
					Document: DocumentRef{ID: docs[0], RepositoryID: prof.HomeCommunityID + ".7", HomeCommunityID: prof.HomeCommunityID, Class: "PS"}, Format: "html"})
			}
			if d := clock.Now().Sub(start); d > 5*time.Second {
				t.Errorf("took %v", d)
			}
			var ae apiErr
			if err := json.Unmarshal(b, &ae); err != nil {
				t.Fatalf("not a JSON error: %d %s", st, b)
			}
			if st != tc.status || ae.Error.Code != tc.code || ae.Error.EHDSI != tc.ehdsi || ae.Error.Attempts != tc.attempts {
				t.Fatalf("got %d %s", st, b)
			}
			if ae.Error.Message == "" || ae.Error.Country != "FR" {
				t.Errorf("error without message or country: %s", b)
			}
			cf := e.audit.count(audit.EventCommunicationFailure)
			if tc.mode == peer.ModeFault {
				if cf != 0 {
					t.Errorf("a refusal is not a communication failure (%d EHDSI-CF)", cf)
				}
			} else if cf != 1 {
				t.Errorf("%d EHDSI-CF records, want 1", cf)
			}
		})
	}
}

func TestClientCertificateRequired(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{})
	for _, tc := range []struct {
		name   string
		cc     string
		status int
	}{{"no certificate", "", 401}, {"foreign system", "fr", 403}, {"luxembourg system", "lu", 200}} {
		// The certificate is checked first: the token cannot stand in for it.
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{RootCAs: testkit.Trust(t).Pool(), Time: clock.System()}
			if tc.cc != "" {
				cfg.Certificates = []tls.Certificate{testkit.Credential(t, tc.cc, pki.KindTLS).TLSCertificate()}
			}
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
			req, _ := http.NewRequest(http.MethodGet, e.api.URL+"/api/v1/countries", nil)
			req.Header.Set("Authorization", "Bearer "+e.token(t, "lu-hcp-2001"))
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
		})
	}
}

// TestDispenseIdempotent: the same eDispensation sent twice (a retry) is
// recorded once by the partner, which deduplicates by document id.
func TestDispenseIdempotent(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"PT": peer.ModeNone})
	prof, _ := peer.Profile("PT")
	pt := prof.Patients[0]
	id := Identifier{Root: prof.PatientRoot, Extension: pt.ID}
	docs := e.peers["PT"].Documents(pt.ID, ehdsi.ClassEP)
	ctx := asDemo(t, "lu-pharm-3001")
	res, err := e.svc.Dispense(ctx, "PT", DispenseRequest{Professional: pharmacist(), Patient: id,
		Prescription: DocumentRef{ID: docs[0], RepositoryID: prof.HomeCommunityID + ".7", HomeCommunityID: prof.HomeCommunityID}, Item: DispenseItem{Packages: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ss, err := e.svc.session(ctx, pharmacist())
	if err != nil {
		t.Fatal(err)
	}
	sub, ok, _ := e.svc.submitted.Get(ctx, res.DispensationID)
	if !ok {
		t.Fatal("the sent eDispensation was not kept")
	}
	if _, err := e.svc.submit(ctx, "PT", ss, sub.Patient, res.DispensationID, sub.Data, ehdsi.ClassED); err != nil {
		t.Fatal(err)
	}
	got := e.peers["PT"].Dispensations()
	if len(got) != 1 || got[res.DispensationID].Submits != 2 {
		t.Fatalf("peer state %+v", got)
	}
	// Discarding an unknown dispensation is refused by luxncp itself.
	_, err = e.svc.Discard(ctx, "PT", DiscardRequest{Professional: pharmacist(), Patient: id, DispensationID: "1.2.3"})
	if ae, ok := err.(*APIError); !ok || ae.Status != 404 {
		t.Fatalf("discard unknown: %v", err)
	}
}

// TestNoDataWithoutItsRecord: while the audit trail cannot be written (a
// full disk), no foreign patient's data reaches a Luxembourg professional —
// not a search result, not a list, not a document — and once it can, the
// same requests are served.
func TestNoDataWithoutItsRecord(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"FR": peer.ModeNone})
	prof, _ := peer.Profile("FR")
	pt := prof.Patients[0]
	search := SearchRequest{Professional: physician(), Identifiers: []Identifier{{Extension: pt.ID}}}
	e.audit.full.Store(true)
	for _, tc := range []struct {
		path string
		body any
	}{
		{"/api/v1/countries/FR/patients/search", search},
		{"/api/v1/countries/FR/documents/list", ListRequest{Professional: physician(), Patient: Identifier{Root: prof.PatientRoot, Extension: pt.ID}, Classes: []string{"PS"}}},
	} {
		st, _, b := e.post(t, tc.path, tc.body)
		if st != 503 || !strings.Contains(string(b), `"audit-unavailable"`) || strings.Contains(string(b), pt.Family) {
			t.Errorf("%s with the audit trail down: %d %s", tc.path, st, b)
		}
	}
	e.audit.full.Store(false)
	if st, _, b := e.post(t, "/api/v1/countries/FR/patients/search", search); st != 200 || !strings.Contains(string(b), pt.Family) {
		t.Fatalf("search once the audit trail is back: %d %s", st, b)
	}
}
