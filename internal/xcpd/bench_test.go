package xcpd_test

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
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xcpd"
)

type nopAudit struct{}

func (nopAudit) Record(context.Context, audit.Event) error { return nil }

// BenchmarkXCPDHandler is one patient discovery end to end inside the
// handler — SOAP parse, HCP assertion signature and rules, TLS certificate
// check, national lookup against an in-process fake, audit message built
// (sink discarding), response written — without the network.
//
// new-assertion: every request carries an HCP assertion the gateway has
// not seen (512 distinct ones, cycled: more than the verifier's cache of
// validated assertions holds, so each is validated in full — a partner's
// first request of a session). same-assertion: the same HCP assertion on
// every request, as a partner sends it for a professional's session (the
// signature is validated once; the rules run on each request).
func BenchmarkXCPDHandler(b *testing.B) {
	reg := *registry
	rec := &audit.Recorder{Sink: discardSink{}}
	cfg := &gateway.Config{TLSTrust: testkit.Trust(b), Assertions: &wssec.Verifier{Trust: testkit.Trust(b)}, Audit: rec,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	svc := &xcpd.Service{Patients: &reg, HomeCommunityID: ehdsi.HomeCommunityLU}
	ep := &gateway.Endpoint{Name: "XCPD", Cfg: cfg, Ops: []gateway.Operation{svc.Operation()}}
	id := testkit.Identity(b, "fr", nil)
	var c ncpclient.Client
	var ctype string
	request := func() []byte {
		hcp, err := id.HCP(ncpclient.DemoProfessional("FR", "pharmacist"), time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		ct, body, err := c.Marshal(ncpclient.Request{Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.2.3", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1990010112385", PatientRoot: ehdsi.OIDMatricule})})
		if err != nil {
			b.Fatal(err)
		}
		ctype = ct
		return body
	}
	fresh := make([][]byte, 512)
	for i := range fresh {
		fresh[i] = request()
	}
	peer := host.Peer{Certs: []*x509.Certificate{testkit.Credential(b, "fr", pki.KindTLS).Cert}, RemoteAddr: "127.0.0.1:1234"}
	for _, mode := range []string{"new-assertion", "same-assertion"} {
		b.Run(mode, func(b *testing.B) {
			b.SetBytes(int64(len(fresh[0])))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				body := fresh[0]
				if mode == "new-assertion" {
					body = fresh[i%len(fresh)]
				}
				req := httptest.NewRequest(http.MethodPost, ehdsi.PathXCPD, bytes.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req = req.WithContext(host.WithPeer(req.Context(), peer))
				w := httptest.NewRecorder()
				ep.ServeHTTP(w, req)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body.String())
				}
			}
		})
	}
}

type discardSink struct{}

func (discardSink) Write(context.Context, audit.Record) error { return nil }
