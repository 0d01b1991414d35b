package xca_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/lurecords"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

type discardSink struct{}

func (discardSink) Write(context.Context, audit.Record) error { return nil }

// benchXCA is the XCA endpoint over the eP provider, the national client
// and the demo backend in process, with the audit sink discarding, and
// the HCP and TRC assertions of a French pharmacist for patient pid.
func benchXCA(b *testing.B, pid wssec.PatientID) (ep *gateway.Endpoint, assertions []*etree.Element, peer host.Peer) {
	be, err := demo.New("")
	if err != nil {
		b.Fatal(err)
	}
	nc, err := national.NewClient("http://national.invalid/fhir", national.WithHTTPClient(&http.Client{Transport: testutil.InProcess{Handler: be}}))
	if err != nil {
		b.Fatal(err)
	}
	terms, err := terminology.Load()
	if err != nil {
		b.Fatal(err)
	}
	prov := &lurecords.Provider{National: nc, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	svc := &xca.Service{Provider: prov, HomeCommunityID: ehdsi.HomeCommunityLU}
	cfg := &gateway.Config{TLSTrust: testkit.Trust(b), Assertions: &wssec.Verifier{Trust: testkit.Trust(b)},
		Audit: &audit.Recorder{Sink: discardSink{}}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ep = &gateway.Endpoint{Name: "XCA", Cfg: cfg, Ops: svc.Operations()}
	id := testkit.Identity(b, "fr", nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	trc, err := id.TRC(hcp, pid, "TREATMENT", time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	peer = host.Peer{Certs: []*x509.Certificate{testkit.Credential(b, "fr", pki.KindTLS).Cert}, RemoteAddr: "127.0.0.1:1234"}
	return ep, []*etree.Element{hcp, trc}, peer
}

// serveBench posts body to ep b.N times; every answer must be a success.
func serveBench(b *testing.B, ep *gateway.Endpoint, peer host.Peer, ctype string, body []byte) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest(http.MethodPost, ehdsi.PathXCA, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req = req.WithContext(host.WithPeer(req.Context(), peer))
		w := httptest.NewRecorder()
		ep.ServeHTTP(w, req)
		if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte("ResponseStatusType:Success")) {
			b.Fatalf("status %d: %.2000s", w.Code, w.Body.String())
		}
	}
}

var benchPatient = wssec.PatientID{Extension: "1971011007114", Root: ehdsi.OIDMatricule}

// BenchmarkXCARetrieve is one ePrescription retrieve (L3, then L1: the load
// mode's two retrieves) end to end inside the XCA handler — SOAP read, HCP
// and TRC assertions (validated once, then the cache's rules), TLS
// certificate check, the national reads (consent, document list, bundle)
// through the FHIR client against the demo backend in process, the eP
// document (built once, then the document cache), both audit messages
// built (sink discarding), response written — without evidence or the
// network. The request bodies are marshalled once, outside the loop.
func BenchmarkXCARetrieve(b *testing.B) {
	ep, as, peer := benchXCA(b, benchPatient)
	var c ncpclient.Client
	for _, level := range []string{"L3", "L1"} {
		ctype, body, err := c.Marshal(ncpclient.Request{Action: ehdsi.ActionXCARetrieve, Assertions: as,
			Body: ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: lurecords.RootEP, DocumentUniqueID: lurecords.RootEP + "^ep-0003." + level})})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(level, func(b *testing.B) { serveBench(b, ep, peer, ctype, body) })
	}
}

// BenchmarkXCAQuery is the load mode's eP list (the same patient) end to
// end in the handler, as BenchmarkXCARetrieve.
func BenchmarkXCAQuery(b *testing.B) {
	ep, as, peer := benchXCA(b, benchPatient)
	var c ncpclient.Client
	ctype, body, err := c.Marshal(ncpclient.Request{Action: ehdsi.ActionXCAQuery, Assertions: as, Body: ncpclient.XCAQueryBody(benchPatient, ehdsi.ClassEP)})
	if err != nil {
		b.Fatal(err)
	}
	serveBench(b, ep, peer, ctype, body)
}
