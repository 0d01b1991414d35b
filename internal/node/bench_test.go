package node_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// benchNode is a node whose national source is the demo backend called in
// process, with the production audit chain (fsync) under a temp dir.
func benchNode(b *testing.B) http.Handler {
	b.Helper()
	be, err := demo.New("")
	if err != nil {
		b.Fatal(err)
	}
	nc, err := national.NewClient("http://national.invalid/fhir", national.WithHTTPClient(&http.Client{Transport: testutil.InProcess{Handler: be}}))
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.New(node.Config{StateDir: b.TempDir(), TrustBundle: filepath.Join(testkit.PKIDir(b), pki.TrustDir)},
		slog.New(slog.NewTextHandler(io.Discard, nil)), node.Options{National: nc})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Close() })
	return n.Handler()
}

func serve(b *testing.B, h http.Handler, peer *x509.Certificate, path string, c *ncpclient.Client, r ncpclient.Request) int {
	ctype, body, err := c.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	req = req.WithContext(host.WithPeer(req.Context(), host.Peer{Certs: []*x509.Certificate{peer}, RemoteAddr: "127.0.0.1:1"}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s: status %d %s", path, w.Code, w.Body.String())
	}
	return w.Body.Len()
}

// BenchmarkXCARetrieveEP is one ePrescription L3 retrieve end to end in
// the handler: SOAP, both assertions, TLS check, national reads (in
// process), the eP transform, the audit records (fsync'd), the response.
func BenchmarkXCARetrieveEP(b *testing.B) {
	h := benchNode(b)
	id := testkit.Identity(b, "fr", nil)
	peer := testkit.Credential(b, "fr", pki.KindTLS).Cert
	hcp, _ := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
	pid := wssec.PatientID{Extension: "1971011007114", Root: ehdsi.OIDMatricule}
	trc, _ := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	var c ncpclient.Client
	body := ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: "1.3.182.2.12.10000734.6.1.1", DocumentUniqueID: "1.3.182.2.12.10000734.6.1.1^ep-0003.L3"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve(b, h, peer, ehdsi.PathXCA, &c, ncpclient.Request{Action: ehdsi.ActionXCARetrieve, Body: body, Assertions: []*etree.Element{hcp, trc}})
	}
}

// BenchmarkXCARetrievePS is the same for a Patient Summary (FHIR IPS input).
func BenchmarkXCARetrievePS(b *testing.B) {
	h := benchNode(b)
	id := testkit.Identity(b, "be", nil)
	peer := testkit.Credential(b, "be", pki.KindTLS).Cert
	hcp, _ := id.HCP(ncpclient.DemoProfessional("BE", "physician"), time.Hour)
	pid := wssec.PatientID{Extension: "1962031411774", Root: ehdsi.OIDMatricule}
	trc, _ := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	var c ncpclient.Client
	// Find the PS id once.
	ctype, qb, _ := c.Marshal(ncpclient.Request{Action: ehdsi.ActionXCAQuery, Body: ncpclient.XCAQueryBody(pid, ehdsi.ClassPS), Assertions: []*etree.Element{hcp, trc}})
	req := httptest.NewRequest(http.MethodPost, ehdsi.PathXCA, bytes.NewReader(qb))
	req.Header.Set("Content-Type", ctype)
	req = req.WithContext(host.WithPeer(req.Context(), host.Peer{Certs: []*x509.Certificate{peer}}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := &http.Response{StatusCode: w.Code, Header: w.Header(), Body: io.NopCloser(w.Body)}
	rep, err := (&ncpclient.Client{HTTP: &http.Client{Transport: fixed{res}}}).Send(context.Background(), "http://x/", ctype, qb)
	if err != nil || rep.Env == nil {
		b.Fatalf("query: %v", err)
	}
	_, docs, _ := ncpclient.ParseQueryResponse(rep.Env.Body)
	if len(docs) == 0 {
		b.Fatal("no PS listed")
	}
	body := ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: docs[0].RepositoryUniqueID, DocumentUniqueID: docs[0].UniqueID})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		serve(b, h, peer, ehdsi.PathXCA, &c, ncpclient.Request{Action: ehdsi.ActionXCARetrieve, Body: body, Assertions: []*etree.Element{hcp, trc}})
	}
}

type fixed struct{ r *http.Response }

func (f fixed) RoundTrip(*http.Request) (*http.Response, error) { return f.r, nil }

// BenchmarkXDRSubmit is one eDispensation accepted end to end, including
// the durable (fsync'd) outbox write and the audit records. Every
// iteration dispenses a new eDispensation id against a long-term
// prescription; resubmissions beyond the allowed repeats are answered too.
func BenchmarkXDRSubmit(b *testing.B) {
	h := benchNode(b)
	id := testkit.Identity(b, "fr", nil)
	peer := testkit.Credential(b, "fr", pki.KindTLS).Cert
	hcp, _ := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
	pid := wssec.PatientID{Extension: "1971011007114", Root: ehdsi.OIDMatricule}
	trc, _ := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	var c ncpclient.Client
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ext := "ed-bench-" + clock.Now().Format("150405.000000000")
		ed := ncpclient.EDocument(ncpclient.Dispensed{DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: ext}, Patient: pid, PatientName: "Lefebvre",
			Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"}, Item: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
			ProductCode: "1", ProductName: "Oméprazole", ATC: "A02BC01", Quantity: 1, Pharmacist: "P", Pharmacy: "Ph", Country: "FR", Time: clock.Now()})
		serve(b, h, peer, ehdsi.PathXDR, &c, ncpclient.Request{Action: ehdsi.ActionXDR, Assertions: []*etree.Element{hcp, trc},
			Body: ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^" + ext, SubmissionSetID: "1.2.3", SourceID: "1.2.3", Document: ed})})
	}
}
