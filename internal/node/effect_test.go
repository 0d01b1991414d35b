package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// steps records the order of the effects of one request and hangs the
// caller up (cancels its context) when a given step is reached.
type steps struct {
	mu     sync.Mutex
	order  []string
	at     string
	cancel context.CancelFunc
}

func (s *steps) step(name string) {
	s.mu.Lock()
	s.order = append(s.order, name)
	hang := s.at == name && s.cancel != nil
	s.mu.Unlock()
	if hang {
		s.cancel()
	}
}

type stepSink struct {
	audit.Sink
	s *steps
}

func (w stepSink) Write(ctx context.Context, r audit.Record) error {
	w.s.step("audit")
	if err := w.Sink.Write(ctx, r); err != nil {
		return err
	}
	w.s.step(fmt.Sprintf("audited %s %s", r.Event.Type, r.Event.Outcome))
	return nil
}

type stepOutbox struct {
	outbox.Store
	s        *steps
	accepted []string
}

func (w *stepOutbox) Accept(ctx context.Context, m outbox.Message) (outbox.Message, bool, error) {
	w.s.step("accept")
	got, inserted, err := w.Store.Accept(ctx, m)
	if err == nil && inserted {
		w.accepted = append(w.accepted, m.Key)
		w.s.step("accepted")
	}
	return got, inserted, err
}

func (w *stepOutbox) Dispense(ctx context.Context, m outbox.Message, r outbox.Reservation) (outbox.Message, outbox.Verdict, error) {
	w.s.step("accept")
	got, v, err := w.Store.Dispense(ctx, m, r)
	if err == nil && v == outbox.Accepted {
		w.accepted = append(w.accepted, m.Key)
		w.s.step("accepted")
	}
	return got, v, err
}

type stepNational struct {
	national.Source
	s *steps
}

func (w stepNational) ListDocuments(ctx context.Context, m, class string) ([]national.DocumentRef, error) {
	w.s.step("national")
	return w.Source.ListDocuments(ctx, m, class)
}

// xdrRequest builds a signed French eDispensation of rx-0003 (p08) as an
// HTTP request presenting the French TLS certificate.
func xdrRequest(t *testing.T, ctx context.Context, ph *pharmacist, doc, msgID string) *http.Request {
	t.Helper()
	const patient = "1971011007114"
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: doc},
		Patient:    pid, PatientGiven: "Thomas", PatientName: "Lefebvre",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
		ProductCode:  "3400930000001", ProductName: "Oméprazole 20 mg", ATC: "A02BC01", Quantity: 1,
		Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: clock.Now(),
	})
	sub := ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^" + doc,
		SubmissionSetID: "2.16.17.710.790.1000.990.1.99.1", SourceID: "2.16.17.710.790.1000.990.1", Document: ed}
	ctype, body, err := ph.client.Marshal(ncpclient.Request{Action: ehdsi.ActionXDR, Body: ncpclient.XDRBody(sub),
		Assertions: []*etree.Element{ph.hcp, ph.trc(patient)}, MessageID: msgID})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, ehdsi.PathXDR, strings.NewReader(string(body))).WithContext(ctx)
	r.Header.Set("Content-Type", ctype)
	r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{testkit.Credential(t, "fr", pki.KindTLS).Cert}}
	return r
}

// records returns the chain's records of one request.
func records(t *testing.T, dir, msgID string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	if err := audit.Scan(dir, func(e audit.Entry) error {
		if e.Record.Event.RequestMessageID == msgID {
			out = append(out, e)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNoEffectWithoutRecord hangs the pharmacy up at every step of an
// eDispensation (on arrival, during the national lookup, before and after
// the audit write, before and after the outbox acceptance) and checks the
// invariant: an accepted eDispensation has its success record, written
// before the acceptance; every request, refused or not, has a record.
func TestNoEffectWithoutRecord(t *testing.T) {
	for i, at := range []string{"arrival", "national", "audit", "audited EHDSI-41 success", "accept", "accepted"} {
		t.Run(strings.ReplaceAll(at, " ", "_"), func(t *testing.T) {
			st := &steps{at: at}
			fs, ob := sinkAndOutbox(t, st, audit.FileOptions{})
			g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) {
				o.National = stepNational{Source: o.National, s: st}
				o.AuditSink, o.AuditReader, o.Outbox = stepSink{Sink: fs, s: st}, fs, ob
			})
			ph := newPharmacist(t, "fr", "pharmacist")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st.cancel = cancel
			msgID := fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i+1)
			req := xdrRequest(t, ctx, ph, fmt.Sprintf("ed-hang-%d", i), msgID)
			if at == "arrival" {
				cancel()
			}
			w := httptest.NewRecorder()
			host.WithTLSPeer(g.node.Handler()).ServeHTTP(w, req)
			recs := records(t, fs.Dir(), msgID)
			if len(recs) == 0 {
				t.Fatalf("no audit record of the request (steps %v)", st.order)
			}
			if len(ob.accepted) > 0 {
				ai := slices.Index(st.order, "accept")
				ri := slices.Index(st.order, "audited EHDSI-41 success")
				if ri < 0 || ri > ai {
					t.Fatalf("eDispensation accepted without its record first: steps %v", st.order)
				}
			}
			t.Logf("hang-up at %q: steps %v, %d record(s), %d accepted, HTTP %d", at, st.order, len(recs), len(ob.accepted), w.Code)
		})
	}
}

// fullFile fails writes with ENOSPC while the disk is "full".
type fullFile struct {
	audit.File
	full *atomic.Bool
}

func (f fullFile) Write(p []byte) (int, error) {
	if f.full.Load() {
		n := len(p) / 2 // a partial write, as a real full disk does
		f.File.Write(p[:n])
		return n, &pathError{syscall.ENOSPC}
	}
	return f.File.Write(p)
}

type pathError struct{ err error }

func (e *pathError) Error() string { return "write audit: " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// TestDiskFullRefusesAndRecovers fills the audit disk: while it fills,
// /healthz turns 503 before any transaction fails (the sink reads the free
// space); full, the eDispensation is refused with the documented eHDSI
// fault and not accepted, /healthz says 503 with the reason; when space
// returns the sink recovers without a restart, /healthz is ok, the next
// eDispensation is accepted with its record and the chain verifies.
func TestDiskFullRefusesAndRecovers(t *testing.T) {
	var full atomic.Bool
	var free atomic.Uint64
	free.Store(1 << 30)
	fs, ob := sinkAndOutbox(t, &steps{}, audit.FileOptions{
		WrapFile:  func(f audit.File) audit.File { return fullFile{File: f, full: &full} },
		FreeSpace: func(string) (uint64, error) { return free.Load(), nil },
	})
	dir := fs.Dir()
	g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) {
		o.AuditSink, o.AuditReader, o.Outbox = fs, fs, ob
	})
	ph := newPharmacist(t, "fr", "pharmacist")
	h := host.WithTLSPeer(g.node.Handler())
	health := func() (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return w.Code, w.Body.String()
	}
	if code, body := health(); code != http.StatusOK {
		t.Fatalf("healthz with 1 GiB free: %d %s", code, body)
	}
	free.Store(64 << 10) // filling up: no write has failed yet
	if code, body := health(); code != http.StatusServiceUnavailable || !strings.Contains(body, "almost full") {
		t.Fatalf("healthz with 64 KiB free: %d %s", code, body)
	}
	full.Store(true)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, xdrRequest(t, context.Background(), ph, "ed-full-1", "urn:uuid:00000000-0000-4000-8000-0000000000f1"))
	if len(ob.accepted) != 0 {
		t.Fatalf("disk full: accepted %v", ob.accepted)
	}
	// docs/audit.md and the dialect table: not stored, in the XDR response.
	if b := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(b, string(ehdsi.ErrEDNotStored)) ||
		!strings.Contains(b, dialect.StatusFailure) || strings.Contains(b, string(ehdsi.ErrGeneric)) || strings.Contains(b, "Fault") {
		t.Fatalf("disk full: HTTP %d, want 200 with %s in the RegistryErrorList: %s", w.Code, ehdsi.ErrEDNotStored, b)
	}
	if code, body := health(); code != http.StatusServiceUnavailable || !strings.Contains(body, "no space left") {
		t.Fatalf("healthz while the disk is full: %d %s", code, body)
	}
	full.Store(false)
	free.Store(1 << 30)
	if code, body := health(); code != http.StatusOK {
		t.Fatalf("healthz after space returned: %d %s", code, body)
	}
	w = httptest.NewRecorder()
	msgID := "urn:uuid:00000000-0000-4000-8000-0000000000f2"
	h.ServeHTTP(w, xdrRequest(t, context.Background(), ph, "ed-full-2", msgID))
	if strings.Contains(w.Body.String(), "Fault") || len(ob.accepted) != 1 {
		t.Fatalf("after recovery: HTTP %d, accepted %v: %s", w.Code, ob.accepted, w.Body)
	}
	if recs := records(t, dir, msgID); len(recs) != 1 || recs[0].Record.Event.Outcome != audit.OutcomeSuccess {
		t.Fatalf("records of the accepted eDispensation: %+v", recs)
	}
	if rep, err := audit.Verify(dir); err != nil || !rep.OK() {
		t.Fatalf("chain after recovery: %v %+v", err, rep)
	}
}

// sinkAndOutbox opens a local audit chain and outbox for a node under test.
func sinkAndOutbox(t *testing.T, st *steps, opts audit.FileOptions) (*audit.FileSink, *stepOutbox) {
	t.Helper()
	dir := t.TempDir()
	fs, err := audit.OpenFile(filepath.Join(dir, "audit"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	store, err := outbox.OpenFile(filepath.Join(dir, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	return fs, &stepOutbox{Store: store, s: st}
}
