package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	gw "github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// gateway is a luxncp node over the demo national backend, served over
// mutual TLS exactly as the local host serves it.
type gateway struct {
	node    *node.Node
	url     string
	fhir    string
	backend *demo.Backend
	state   string
	// idp is the national identity provider the gateway trusts (served
	// over HTTP: the gateway reads its discovery document and keys).
	idp *idtoken.DevIssuer
}

// startIDP serves a development identity provider for one test.
func startIDP(t *testing.T) (*idtoken.DevIssuer, string) {
	t.Helper()
	var idp *idtoken.DevIssuer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { idp.Handler().ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	idp, err := idtoken.NewDevIssuer(srv.URL + "/idp")
	if err != nil {
		t.Fatal(err)
	}
	return idp, idp.URL
}

// token mints a valid token of a demo person (kind professional, patient
// or supervisor).
func (g *gateway) token(t *testing.T, kind, key string) string {
	t.Helper()
	p, ok := idtoken.DemoPersonOf(kind, key)
	if !ok {
		t.Fatalf("no demo %s %q", kind, key)
	}
	tok, err := g.idp.Mint(p.Claims, 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func start(t *testing.T) *gateway {
	return startWithLog(t, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

func startWithLog(t *testing.T, log *slog.Logger) *gateway {
	return startWith(t, log, 5*time.Second)
}

func startWith(t *testing.T, log *slog.Logger, nationalTimeout time.Duration) *gateway {
	t.Helper()
	return startOpts(t, log, nationalTimeout, nil)
}

// startOpts is startWith with the node's options adjusted by opt (called
// with the national client set).
func startOpts(t *testing.T, log *slog.Logger, nationalTimeout time.Duration, opt func(*node.Options)) *gateway {
	t.Helper()
	return startConfig(t, log, t.TempDir(), func(c *node.Config) { c.NationalTimeout = nationalTimeout }, opt)
}

// startConfig starts a node on state (kept across restarts) with its
// configuration adjusted by conf.
func startConfig(t *testing.T, log *slog.Logger, state string, conf func(*node.Config), opt func(*node.Options)) *gateway {
	t.Helper()
	b, err := demo.New(filepath.Join(state, "national"), demo.WithLogger(log.With("component", "demo")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fhir := httptest.NewServer(b)
	t.Cleanup(fhir.Close)
	idp, idpURL := startIDP(t)
	cfg := node.Config{StateDir: state, TrustBundle: filepath.Join(testkit.PKIDir(t), pki.TrustDir), NationalTimeout: 5 * time.Second, IDIssuer: idpURL}
	if conf != nil {
		conf(&cfg)
	}
	nc, err := national.NewClient(fhir.URL+"/fhir", national.WithTimeout(cfg.NationalTimeout), national.WithClientLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	o := node.Options{National: nc}
	if opt != nil {
		opt(&o)
	}
	n, err := node.New(cfg, log, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	srv := testkit.Server(t, n.Handler())
	return &gateway{node: n, url: srv.URL, fhir: fhir.URL + "/fhir", backend: b, state: state, idp: idp}
}

type pharmacist struct {
	t      *testing.T
	id     *ncpclient.Identity
	client *ncpclient.Client
	hcp    *etree.Element
	cc     string
}

func newPharmacist(t *testing.T, cc, role string) *pharmacist {
	id := testkit.Identity(t, cc, nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional(id.Country, role), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return &pharmacist{t: t, id: id, client: testkit.Client(t, cc), hcp: hcp, cc: cc}
}

func (p *pharmacist) trc(patient string) *etree.Element {
	trc, err := p.id.TRC(p.hcp, wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}, "TREATMENT", time.Hour)
	if err != nil {
		p.t.Fatal(err)
	}
	return trc
}

func (p *pharmacist) call(url, action string, body *etree.Element, mtom bool, as ...*etree.Element) *ncpclient.Reply {
	p.t.Helper()
	rep, err := p.client.Call(context.Background(), ncpclient.Request{URL: url, Action: action, Body: body, MTOM: mtom, Assertions: as})
	if err != nil {
		p.t.Fatal(err)
	}
	if rep.Fault != nil {
		p.t.Fatalf("%s: fault %s: %s", action, rep.Fault.Code, rep.Fault.Public)
	}
	return rep
}

func effects(t *testing.T, base, rx string) int {
	t.Helper()
	res, err := http.Get(base + "/MedicationDispense?prescription=" + rx)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Status string `json:"status"`
			} `json:"resource"`
		} `json:"entry"`
	}
	json.NewDecoder(res.Body).Decode(&b)
	n := 0
	for _, e := range b.Entry {
		if e.Resource.Status != "entered-in-error" {
			n++
		}
	}
	return n
}

// TestPharmacistJourney is the cross-border pharmacy case end to end: a
// French pharmacy identifies a Luxembourg patient, lists and retrieves an
// ePrescription (L3 and L1, inline and MTOM), dispenses it, resubmits, and
// discards; the national record sees exactly one effect, then none.
func TestPharmacistJourney(t *testing.T) {
	g := start(t)
	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114" // p08 Thomas Lefebvre, Metz: prescriptions ep-0003, ep-0004
	trc, docs := identifyAndListEP(t, g, ph, patient)
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	var rep *ncpclient.Reply
	var l3, l1 *ncpclient.ListedDocument
	for i := range docs {
		if strings.Contains(docs[i].UniqueID, "ep-0003") {
			if docs[i].L1 {
				l1 = &docs[i]
			} else {
				l3 = &docs[i]
			}
		}
	}
	if l3 == nil || l1 == nil || l1.TransformOf != l3.UniqueID {
		t.Fatalf("ep-0003 L3/L1 not listed and linked: %+v", docs)
	}
	var files []string
	dir := t.TempDir()
	for i, mtom := range []bool{false, true} {
		rep = ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
			ncpclient.DocRef{HomeCommunityID: l3.HomeCommunityID, RepositoryUniqueID: l3.RepositoryUniqueID, DocumentUniqueID: l3.UniqueID},
			ncpclient.DocRef{HomeCommunityID: l1.HomeCommunityID, RepositoryUniqueID: l1.RepositoryUniqueID, DocumentUniqueID: l1.UniqueID}), mtom, ph.hcp, trc)
		st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil || !ncpclient.IsSuccess(st) || len(got) != 2 {
			t.Fatalf("retrieve (mtom=%v): %s %d %+v %v", mtom, st, len(got), errs, err)
		}
		for j, d := range got {
			if !strings.Contains(string(d.Data), "ClinicalDocument") {
				t.Fatalf("retrieved document %d is not CDA", j)
			}
			f := filepath.Join(dir, fmt.Sprintf("ep-%d-%d.xml", i, j))
			os.WriteFile(f, d.Data, 0o644)
			files = append(files, f)
		}
	}
	// The retrieved pivot documents pass the eHDSI XSD and schematron.
	testutil.ValidateCDA(t, files[0], files[1])

	// Dispense: an eD for item rx-0003.
	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: "ed-fr-0001"},
		Patient:    pid, PatientGiven: "Thomas", PatientName: "Lefebvre",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
		ProductCode:  "3400930000001", ProductName: "Oméprazole 20 mg", ATC: "A02BC01", Quantity: 1,
		Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: clock.Now(),
	})
	sub := ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^ed-fr-0001", SubmissionSetID: "2.16.17.710.790.1000.990.1.99.1", SourceID: "2.16.17.710.790.1000.990.1", Document: ed}
	for i := 0; i < 2; i++ { // the second is a resubmission
		rep = ph.call(g.url+ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(sub), false, ph.hcp, trc)
		if st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body); !ncpclient.IsSuccess(st) {
			t.Fatalf("submit %d: %s %+v", i, st, errs)
		}
	}
	if _, err := g.node.Dispatcher().RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := effects(t, g.fhir, "rx-0003"); n != 1 {
		t.Fatalf("national effects after submit+resubmit = %d, want 1", n)
	}
	// Discard, twice: reversed exactly once.
	sub.Discard = true
	for i := 0; i < 2; i++ {
		rep = ph.call(g.url+ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(sub), false, ph.hcp, trc)
		if st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body); !ncpclient.IsSuccess(st) {
			t.Fatalf("discard %d: %s %+v", i, st, errs)
		}
	}
	g.node.Dispatcher().RunOnce(context.Background())
	if n := effects(t, g.fhir, "rx-0003"); n != 0 {
		t.Fatalf("national effects after discard = %d, want 0", n)
	}
	// Every transaction was audited, in a verifiable chain.
	rep2, err := audit.Verify(filepath.Join(g.state, "audit"))
	if err != nil || !rep2.OK() {
		t.Fatalf("audit chain: %v %+v", err, rep2)
	}
}

// TestXDRFaults covers the refusals of an eDispensation.
func TestXDRFaults(t *testing.T) {
	g := start(t)
	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114"
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	mk := func(docExt, presc, item, pat string) []byte {
		return ncpclient.EDocument(ncpclient.Dispensed{
			DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: docExt},
			Patient:    wssec.PatientID{Extension: pat, Root: ehdsi.OIDMatricule}, PatientName: "X",
			Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: presc},
			Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: item},
			ProductCode:  "1", ProductName: "Product", Quantity: 1, Pharmacist: "P", Pharmacy: "Ph", Country: "FR", Time: clock.Now(),
		})
	}
	submit := func(doc []byte, discard bool, as ...*etree.Element) *ncpclient.Reply {
		sp := pid
		if d, err := etreeRead(doc); err == nil {
			if e := d.FindElement("//recordTarget/patientRole/id"); e != nil {
				sp.Extension = e.SelectAttrValue("extension", "")
			}
		}
		rep, err := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXDR, Action: ehdsi.ActionXDR, Assertions: as,
			Body: ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: discard, Patient: sp, DocumentUID: "x^y", SubmissionSetID: "1.2.3", SourceID: "1.2.3", Document: doc})})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	trc := ph.trc(patient)
	cases := []struct {
		name    string
		rep     func() *ncpclient.Reply
		fault   ehdsi.Code
		regCode ehdsi.Code
	}{
		{"unknown prescription", func() *ncpclient.Reply { return submit(mk("e1", "ep-9999", "rx-9999", patient), false, ph.hcp, trc) }, "", ehdsi.ErrEPNotMatching},
		{"prescription of another patient", func() *ncpclient.Reply { return submit(mk("e2", "ep-0001", "rx-0001", patient), false, ph.hcp, trc) }, "", ehdsi.ErrEPNotMatching},
		{"already dispensed", func() *ncpclient.Reply {
			return submit(mk("e3", "ep-0008", "rx-0008", "1985093013982"), false, ph.hcp, ph.trc("1985093013982"))
		}, "", ehdsi.ErrEPAlreadyDispensed},
		{"cancelled prescription", func() *ncpclient.Reply {
			return submit(mk("e4", "ep-0010", "rx-0010", "1987031419966"), false, ph.hcp, ph.trc("1987031419966"))
		}, "", ehdsi.ErrEDNotDispensable},
		{"TRC for another patient", func() *ncpclient.Reply {
			return submit(mk("e5", "ep-0003", "rx-0003", patient), false, ph.hcp, ph.trc("1983030506626"))
		}, "", ehdsi.ErrUnknownPatientIdentifier}, // in the RegistryErrorList, as OpenNCP
		{"missing PPD-046", func() *ncpclient.Reply {
			doc := newPharmacist(t, "fr", "physician")
			return submit(mk("e6", "ep-0003", "rx-0003", patient), false, doc.hcp, doc.trc(patient))
		}, "", ehdsi.ErrInsufficientRights}, // in the RegistryErrorList, as OpenNCP
		{"malformed CDA", func() *ncpclient.Reply { return submit([]byte("<ClinicalDocument"), false, ph.hcp, trc) }, "", ehdsi.ErrEDIncorrectFormatting},
		{"not an eDispensation", func() *ncpclient.Reply {
			return submit([]byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"/>`), false, ph.hcp, trc)
		}, "", ehdsi.ErrEDIncorrectFormatting},
		{"discard of unknown dispensation", func() *ncpclient.Reply { return submit(mk("e7", "ep-0003", "rx-0003", patient), true, ph.hcp, trc) }, "", ehdsi.ErrEDDiscardFailed},
		{"no TRC", func() *ncpclient.Reply { return submit(mk("e8", "ep-0003", "rx-0003", patient), false, ph.hcp) }, ehdsi.ErrNotValidTRCAssertion, ""},
		{"expired HCP assertion", func() *ncpclient.Reply {
			old := testkit.Identity(t, "fr", func() time.Time { return clock.Now().Add(-3 * time.Hour) })
			hcp, _ := old.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
			trc, _ := old.TRC(hcp, pid, "TREATMENT", time.Hour)
			return submit(mk("e9", "ep-0003", "rx-0003", patient), false, hcp, trc)
		}, ehdsi.ErrNotValidAssertion, ""},
		{"oversized eDispensation", func() *ncpclient.Reply {
			doc := mk("e10", "ep-0003", "rx-0003", patient)
			pad := "<!--" + strings.Repeat("x", 5<<20) + "-->"
			return submit(append(doc, []byte(pad)...), false, ph.hcp, trc)
		}, "", ehdsi.ErrEDIncorrectFormatting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := tc.rep()
			if tc.fault != "" {
				if rep.Fault == nil || rep.Fault.Code != tc.fault {
					t.Fatalf("fault %+v, want %s\n%s", rep.Fault, tc.fault, rep.Raw)
				}
				return
			}
			if rep.Fault != nil {
				t.Fatalf("unexpected fault %+v", rep.Fault)
			}
			st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body)
			if ncpclient.IsSuccess(st) || len(errs) != 1 || errs[0].Code != string(tc.regCode) {
				t.Fatalf("status %s errors %+v, want %s", st, errs, tc.regCode)
			}
		})
	}
}

func etreeRead(b []byte) (*etree.Document, error) {
	d := etree.NewDocument()
	return d, d.ReadFromBytes(b)
}

// TestReplayRefused: the same message sent twice is refused the second time.
func TestReplayRefused(t *testing.T) {
	state := t.TempDir()
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), state, nil, nil)
	ph := newPharmacist(t, "be", "physician")
	ctype, body, err := ph.client.Marshal(ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp},
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule})})
	if err != nil {
		t.Fatal(err)
	}
	first, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, ctype, body)
	if err != nil || first.Fault != nil {
		t.Fatalf("first: %v %+v", err, first.Fault)
	}
	again, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fault == nil || again.Fault.Code != ehdsi.ErrSecGeneric || !strings.Contains(again.Fault.Public, "replay") {
		t.Fatalf("replay: fault %+v", again.Fault)
	}
	// The very same bytes after a restart of the gateway on its state.
	g.node.Close()
	g = startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), state, nil, nil)
	after, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	if after.Fault == nil || !strings.Contains(after.Fault.Public, "replay") {
		t.Fatalf("replay after a restart: fault %+v", after.Fault)
	}
}

// expiryRecorder is a ReplayGuard that notes the expiry it is asked to
// hold each id until.
type expiryRecorder struct {
	gw.ReplayGuard
	mu       sync.Mutex
	expiries []time.Time
}

func (r *expiryRecorder) Seen(ctx context.Context, id string, expiry time.Time) (bool, error) {
	r.mu.Lock()
	r.expiries = append(r.expiries, expiry)
	r.mu.Unlock()
	return r.ReplayGuard.Seen(ctx, id, expiry)
}

// TestReplayWindowAndFullGuard: a MessageID is held exactly while its HCP
// assertion would still be accepted (NotOnOrAfter plus the clock skew,
// and a second for the DynamoDB guard's whole seconds), and a full guard
// refuses a new message with a receiver ERROR_GENERIC fault instead of
// forgetting a held id (which would let that message be replayed).
func TestReplayWindowAndFullGuard(t *testing.T) {
	guard := &expiryRecorder{ReplayGuard: &gw.MemoryReplayGuard{Max: 1}}
	var logs syncBuffer
	g := startOpts(t, node.NewLogger("info", &logs), 5*time.Second, func(o *node.Options) { o.Replay = guard })
	ph := newPharmacist(t, "be", "physician")
	call := func() (*ncpclient.Reply, []byte, string) {
		ctype, body, err := ph.client.Marshal(ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule})})
		if err != nil {
			t.Fatal(err)
		}
		rep, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		return rep, body, ctype
	}
	first, body, ctype := call()
	if first.Fault != nil {
		t.Fatalf("first: %+v", first.Fault)
	}
	cond := ph.hcp.FindElement("./Conditions")
	notOnOrAfter, err := time.Parse(time.RFC3339Nano, cond.SelectAttrValue("NotOnOrAfter", ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := notOnOrAfter.Add(wssec.DefaultSkew + time.Second); len(guard.expiries) != 1 || !guard.expiries[0].Equal(want) {
		t.Fatalf("held until %v, want %v (NotOnOrAfter %v + skew %v + 1 s)", guard.expiries, want, notOnOrAfter, wssec.DefaultSkew)
	}
	second, _, _ := call() // a new MessageID: the guard (Max 1) is full
	if second.Fault == nil || second.Fault.Code != ehdsi.ErrGeneric || second.Fault.Kind == ehdsi.KindSender {
		t.Fatalf("a new message on a full guard: fault %+v, want a receiver ERROR_GENERIC", second.Fault)
	}
	// The operator sees why, at WARN, with the request's id.
	var warned bool
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, `"level":"WARN"`) && strings.Contains(line, "replay guard full") && strings.Contains(line, `"request_id"`) {
			warned = true
		}
	}
	if !warned {
		t.Errorf("no WARN line names the full replay guard:\n%.2000s", logs.String())
	}
	again, err := ph.client.Send(context.Background(), g.url+ehdsi.PathXCPD, ctype, body)
	if err != nil {
		t.Fatal(err)
	}
	if again.Fault == nil || again.Fault.Code != ehdsi.ErrSecGeneric || !strings.Contains(again.Fault.Public, "replay") {
		t.Fatalf("the first message replayed on a full guard: fault %+v, want the replay refusal", again.Fault)
	}
	// LUXNCP_REPLAY_MAX sizes the local guard.
	getenv := func(k string) string { return map[string]string{"LUXNCP_REPLAY_MAX": "5000"}[k] }
	if c, err := node.FromEnv(getenv); err != nil || c.ReplayMax != 5000 {
		t.Errorf("LUXNCP_REPLAY_MAX=5000: %d, %v", c.ReplayMax, err)
	}
	if _, err := node.FromEnv(func(k string) string { return map[string]string{"LUXNCP_REPLAY_MAX": "-1"}[k] }); err == nil {
		t.Error("LUXNCP_REPLAY_MAX=-1 accepted")
	}
}

// syncBuffer is a concurrency-safe log sink.
type syncBuffer = testutil.SyncBuffer

// TestNoPatientDataInLogs runs identification, listing, retrieval, a
// dispensation and refusals with the production JSON logger at info level,
// then searches every log line for the patients' matricules, names and
// birth dates. Audit records are the only place that holds them.
func TestNoPatientDataInLogs(t *testing.T) {
	var logs syncBuffer
	g := startWithLog(t, node.NewLogger("info", &logs))
	ph := newPharmacist(t, "fr", "pharmacist")
	patients := []struct{ matricule, family, given, birth string }{
		{"1971011007114", "Lefebvre", "Thomas", "1971-01-10"},
		{"1991071114454", "Gonçalves", "Rui", "1991-07-11"}, // consent withdrawn
		{"1983030506626", "Dubois", "Claire", "1983-03-05"},
	}
	for _, p := range patients {
		ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.2.3", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: p.matricule, PatientRoot: ehdsi.OIDMatricule})})
		ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{ph.hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.2.3", ReceiverHCID: ehdsi.HomeCommunityLU, Family: p.family, BirthDate: p.birth})})
		trc := ph.trc(p.matricule)
		pid := wssec.PatientID{Extension: p.matricule, Root: ehdsi.OIDMatricule}
		rep, _ := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCA, Action: ehdsi.ActionXCAQuery, Assertions: []*etree.Element{ph.hcp, trc},
			Body: ncpclient.XCAQueryBody(pid, ehdsi.ClassEP)})
		if rep != nil && rep.Env != nil {
			_, docs, _ := ncpclient.ParseQueryResponse(rep.Env.Body)
			for _, d := range docs {
				ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCA, Action: ehdsi.ActionXCARetrieve, Assertions: []*etree.Element{ph.hcp, trc},
					Body: ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID})})
			}
		}
		// A TRC for someone else, and a malformed id.
		ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCA, Action: ehdsi.ActionXCAQuery, Assertions: []*etree.Element{ph.hcp, ph.trc("1987031419966")},
			Body: ncpclient.XCAQueryBody(pid, ehdsi.ClassEP)})
	}
	g.node.Dispatcher().RunOnce(context.Background())
	out := logs.String()
	if !strings.Contains(out, `"msg":"request served"`) {
		t.Fatalf("no request logs captured:\n%.500s", out)
	}
	for _, p := range patients {
		compact := strings.ReplaceAll(p.birth, "-", "")
		for _, needle := range []string{p.matricule, p.family, strings.ToUpper(p.family), p.given + " ", p.birth, compact} {
			if strings.Contains(out, needle) {
				i := strings.Index(out, needle)
				t.Errorf("patient data %q in the logs: …%s…", needle, out[max(0, i-200):min(len(out), i+100)])
			}
		}
	}
}

// TestClinicianJourney: a Belgian clinician reads a Luxembourg patient's
// Patient Summary (L3 and L1) and original clinical documents; the PS of a
// patient who withdrew consent is refused.
func TestClinicianJourney(t *testing.T) {
	g := start(t)
	dr := newPharmacist(t, "be", "physician")
	dir := t.TempDir()
	var files []string
	for _, patient := range []string{"1962031411774", "1990010112385"} { // FHIR IPS, LU national CDA
		pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
		trc := dr.trc(patient)
		rep := dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassPS), false, dr.hcp, trc)
		status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
		if !ncpclient.IsSuccess(status) || len(docs) != 2 {
			t.Fatalf("%s PS list: %s %d %+v", patient, status, len(docs), errs)
		}
		var refs []ncpclient.DocRef
		for _, d := range docs {
			refs = append(refs, ncpclient.DocRef{RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID})
		}
		rep = dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(refs...), true, dr.hcp, trc)
		st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil || !ncpclient.IsSuccess(st) || len(got) != 2 {
			t.Fatalf("%s PS retrieve: %s %d %+v %v", patient, st, len(got), errs, err)
		}
		for i, d := range got {
			f := filepath.Join(dir, fmt.Sprintf("ps-%s-%d.xml", patient, i))
			os.WriteFile(f, d.Data, 0o644)
			files = append(files, f)
		}
	}
	testutil.ValidateCDA(t, files...)

	// Original clinical documents of p12: lab, imaging, discharge.
	patient := "1962031411774"
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	trc := dr.trc(patient)
	for _, class := range []string{ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge} {
		rep := dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, class), false, dr.hcp, trc)
		status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
		if !ncpclient.IsSuccess(status) || len(docs) < 1 {
			t.Fatalf("%s list: %s %d %+v", class, status, len(docs), errs)
		}
		rep = dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: docs[0].RepositoryUniqueID, DocumentUniqueID: docs[0].UniqueID}), false, dr.hcp, trc)
		st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil || !ncpclient.IsSuccess(st) || len(got) != 1 || !strings.Contains(string(got[0].Data), "nonXMLBody") {
			t.Fatalf("%s retrieve: %s %+v %v", class, st, errs, err)
		}
	}

	// Consent withdrawn: the PS exists but is refused with the eHDSI code.
	withdrawn := "1977021815655"
	rep := dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(wssec.PatientID{Extension: withdrawn, Root: ehdsi.OIDMatricule}, ehdsi.ClassPS), false, dr.hcp, dr.trc(withdrawn))
	status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
	if ncpclient.IsSuccess(status) || len(docs) != 0 || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrPSNoConsent) {
		t.Fatalf("withdrawn consent: %s %d %+v", status, len(docs), errs)
	}
}

// TestDocumentFaults: nothing to offer, and a national backend that is
// down or slow, each with its eHDSI code, quickly.
func TestDocumentFaults(t *testing.T) {
	g := startWith(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 700*time.Millisecond)
	dr := newPharmacist(t, "de", "physician")
	list := func(patient, class string) (string, []ncpclient.RegistryError, time.Duration) {
		start := clock.Now()
		rep := dr.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}, class), false, dr.hcp, dr.trc(patient))
		st, _, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
		return st, errs, clock.Now().Sub(start)
	}
	const nothing = "2001010118116" // p26: no documents of any kind
	// As OpenNCP: the class's not-found code as a Warning (PS and OrCD with
	// Success, eP with Failure).
	for _, tc := range []struct {
		class   string
		code    ehdsi.Code
		success bool
	}{{ehdsi.ClassPS, ehdsi.ErrPSNotFound, true}, {ehdsi.ClassEP, ehdsi.ErrEPNotFound, false}, {ehdsi.ClassLab, ehdsi.ErrORCDNotFound, true}} {
		st, errs, _ := list(nothing, tc.class)
		if ncpclient.IsSuccess(st) != tc.success || len(errs) != 1 || errs[0].Code != string(tc.code) || errs[0].Severity != string(ehdsi.SeverityWarning) {
			t.Errorf("%s for a patient without documents: %s %+v, want %s", tc.class, st, errs, tc.code)
		}
	}
	g.backend.SetFaults(demo.Faults{Unavailable: true})
	if st, errs, _ := list("1962031411774", ehdsi.ClassPS); ncpclient.IsSuccess(st) || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrPSRegistryNotAvailable) {
		t.Errorf("backend down: %s %+v", st, errs)
	}
	g.backend.SetFaults(demo.Faults{Delay: 30 * time.Second})
	st, errs, took := list("1962031411774", ehdsi.ClassPS)
	if ncpclient.IsSuccess(st) || len(errs) != 1 || errs[0].Code != string(ehdsi.ErrPSRegistryNotAvailable) {
		t.Errorf("backend slow: %s %+v", st, errs)
	}
	if took > 10*time.Second {
		t.Errorf("a slow backend held the request %v", took)
	}
	g.backend.SetFaults(demo.Faults{})
	// Nothing wrong was cached: the PS is served again.
	if st, errs, _ := list("1962031411774", ehdsi.ClassPS); !ncpclient.IsSuccess(st) {
		t.Errorf("after recovery: %s %+v", st, errs)
	}
}

// TestConcurrentSubmitFromTwoClients: the same eDispensation sent at the
// same time over two connections has one effect at the national side.
func TestConcurrentSubmitFromTwoClients(t *testing.T) {
	g := start(t)
	const patient = "1985093013982" // p14: rx-0007 allows 4 dispensations
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.803.1000.990.1.16", Extension: "ed-de-concurrent"}, Patient: pid, PatientName: "Schneider",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0007"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0007"},
		ProductCode:  "1", ProductName: "Losartan", ATC: "C09DA01", Quantity: 1, Pharmacist: "P", Pharmacy: "Apotheke", Country: "DE", Time: clock.Now(),
	})
	var wg sync.WaitGroup
	statuses := make(chan string, 2)
	for i := 0; i < 2; i++ {
		ph := newPharmacist(t, "de", "pharmacist") // its own client and connection
		trc := ph.trc(patient)
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXDR, Action: ehdsi.ActionXDR, Assertions: []*etree.Element{ph.hcp, trc},
				Body: ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.803.1000.990.1.16^ed-de-concurrent", SubmissionSetID: "1.2.3", SourceID: "1.2.3", Document: ed})})
			if err != nil || rep.Env == nil {
				statuses <- fmt.Sprint("error ", err)
				return
			}
			st, _ := ncpclient.ParseRegistryResponse(rep.Env.Body)
			statuses <- st
		}()
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if !ncpclient.IsSuccess(st) {
			t.Errorf("a concurrent submit got %s", st)
		}
	}
	g.node.Dispatcher().RunOnce(context.Background())
	if n := effects(t, g.fhir, "rx-0007"); n != 1 {
		t.Fatalf("national effects = %d, want 1", n)
	}
}

// identifyAndListEP is the start of the pharmacist's journey: XCPD for
// patient (OK), then the list of their ePrescriptions (at least two).
func identifyAndListEP(t *testing.T, g *gateway, ph *pharmacist, patient string) (*etree.Element, []ncpclient.ListedDocument) {
	t.Helper()
	rep := ph.call(g.url+ehdsi.PathXCPD, ehdsi.ActionXCPD, ncpclient.XCPDBody(ncpclient.XCPDQuery{
		SenderHCID: "2.16.17.710.790.1000.990.1", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: patient, PatientRoot: ehdsi.OIDMatricule}), false, ph.hcp)
	if code := rep.Env.Body.FindElement(".//queryResponseCode").SelectAttrValue("code", ""); code != "OK" {
		t.Fatalf("XCPD queryResponseCode %s", code)
	}
	trc := ph.trc(patient)
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	rep = ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassEP), false, ph.hcp, trc)
	status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
	if !ncpclient.IsSuccess(status) || len(docs) < 2 {
		t.Fatalf("eP list: status %s, %d docs, errors %+v", status, len(docs), errs)
	}
	return trc, docs
}
