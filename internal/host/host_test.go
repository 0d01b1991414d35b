package host_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// echo reports what the handler saw: method, path, query, a header, the
// body and the peer's country.
func echo(t *testing.T) http.Handler {
	trust := testkit.Trust(t)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		p, _ := host.PeerFrom(r.Context())
		country, err := p.Verify(trust, testNow())
		if err != nil {
			country = "none"
		}
		w.Header().Set("Content-Type", r.URL.Query().Get("ct"))
		w.Header().Set("X-Seen", r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")+" "+country+" "+p.Host)
		w.WriteHeader(201)
		w.Write(body)
	})
}

func TestLambdaHandlerEvents(t *testing.T) {
	cert := testkit.Credential(t, "nl", pki.KindTLS).Cert
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	binary := []byte{0, 1, 2, 0xff, 'x'}
	cases := []struct {
		name      string
		ev        events.APIGatewayV2HTTPRequest
		seen      string
		body      []byte
		base64Out bool
	}{
		{
			name: "SOAP text with client certificate",
			ev: events.APIGatewayV2HTTPRequest{RawPath: "/openncp-ws-server/services/XCPD_Service", RawQueryString: "ct=application/soap%2Bxml",
				Headers: map[string]string{"content-type": "application/soap+xml"}, Body: "<env/>",
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"},
					Authentication: events.APIGatewayV2HTTPRequestContextAuthentication{ClientCert: events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{ClientCertPem: certPEM}}}},
			seen: "POST /openncp-ws-server/services/XCPD_Service application/soap+xml NL lambda", body: []byte("<env/>"),
		},
		{
			name: "binary body base64 both ways, no certificate",
			ev: events.APIGatewayV2HTTPRequest{RawPath: "/x", RawQueryString: "ct=multipart/related", Headers: map[string]string{"content-type": "multipart/related"},
				Body: base64.StdEncoding.EncodeToString(binary), IsBase64Encoded: true,
				RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST"}}},
			seen: "POST /x multipart/related none lambda", body: binary, base64Out: true,
		},
	}
	h := host.LambdaHandler(echo(t))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, err := h(context.Background(), tc.ev)
			if err != nil {
				t.Fatal(err)
			}
			if out.StatusCode != 201 || out.Headers["X-Seen"] != tc.seen {
				t.Fatalf("status %d seen %q, want %q", out.StatusCode, out.Headers["X-Seen"], tc.seen)
			}
			if out.IsBase64Encoded != tc.base64Out {
				t.Errorf("isBase64Encoded = %v", out.IsBase64Encoded)
			}
			got := []byte(out.Body)
			if out.IsBase64Encoded {
				got, _ = base64.StdEncoding.DecodeString(out.Body)
			}
			if string(got) != string(tc.body) {
				t.Errorf("body %q, want %q", got, tc.body)
			}
		})
	}
	// A garbled certificate is a 400, not a crash.
	bad := cases[0].ev
	bad.RequestContext.Authentication.ClientCert.ClientCertPem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
	out, err := h(context.Background(), bad)
	if err != nil || out.StatusCode != 400 || !strings.Contains(out.Body, "bad request") {
		t.Fatalf("garbled certificate: %d %q %v", out.StatusCode, out.Body, err)
	}
}
