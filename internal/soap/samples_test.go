package soap

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testutil"
)

const samples = "reference/wire/soap-samples"

var (
	xmlDecl     = regexp.MustCompile(`^\s*<\?xml[^>]*\?>\s*`)
	placeholder = regexp.MustCompile(`\{\{[^}]*\}\}`)
)

func readShared(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(testutil.Shared(t, samples, rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fillTemplate replaces the DK test tool's {{…}} placeholders: the
// assertions by the DK assertion templates (filled in turn), the rest by
// plausible values.
func fillTemplate(t testing.TB, tmpl []byte, hcpTemplate string) []byte {
	t.Helper()
	return placeholder.ReplaceAllFunc(tmpl, func(m []byte) []byte {
		switch string(m) {
		case "{{message-id}}":
			return []byte("urn:uuid:0b5e2f2a-9c1e-4a53-8c6a-6a1c1f0d2e11")
		case "{{hcp-assertion|safe}}":
			return fillTemplate(t, xmlDecl.ReplaceAll(readShared(t, "headers/"+hcpTemplate), nil), hcpTemplate)
		case "{{trc-assertion|safe}}":
			return fillTemplate(t, xmlDecl.ReplaceAll(readShared(t, "headers/TRC_assertion_XCA_DK-template.xml"), nil), hcpTemplate)
		case "{{assertion-id}}":
			return []byte("_6c1f0d2e-0b5e-4a53-8c6a-2f2a9c1e6a11")
		case "{{hcp-assertion-id}}":
			return []byte("_hcp-assertion")
		case "{{issue-instant}}", "{{authn-instant}}", "{{not-before}}":
			return []byte("2026-11-24T00:00:00Z")
		case "{{not-on-or-after}}":
			return []byte("2026-11-24T02:00:00Z")
		}
		t.Fatalf("unknown placeholder %s", m)
		return nil
	})
}

func TestReadDKSamples(t *testing.T) {
	for _, tc := range []struct {
		file, hcp, action, body string
		assertions              int
	}{
		{"xcpd/request/XCPD_request_envelope_DK-template.xml", "HCP_assertion_XCPD_DK-template.xml", ehdsi.ActionXCPD, "PRPA_IN201305UV02", 1},
		{"xca/query-request/XCA_query_PS_envelope_DK-template.xml", "HCP_assertion_XCA_DK-template.xml", ehdsi.ActionXCAQuery, "AdhocQueryRequest", 2},
		{"xca/query-request/XCA_query_eP_envelope_DK-template.xml", "HCP_assertion_XCA_DK-template.xml", ehdsi.ActionXCAQuery, "AdhocQueryRequest", 2},
		{"xca/retrieve-request/XCA_retrieve_PS_envelope_DK-template.xml", "HCP_assertion_XCA_DK-template.xml", ehdsi.ActionXCARetrieve, "RetrieveDocumentSetRequest", 2},
		{"xca/retrieve-request/XCA_retrieve_eP_envelope_DK-template.xml", "HCP_assertion_XCA_DK-template.xml", ehdsi.ActionXCARetrieve, "RetrieveDocumentSetRequest", 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data := fillTemplate(t, readShared(t, tc.file), tc.hcp)
			for _, ct := range []string{
				`application/soap+xml; charset=utf-8; action="` + tc.action + `"`,
				`application/soap+xml`,
			} {
				env, err := Read(newRequest("", ct, "", string(data)), DefaultLimits())
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if env.Action != tc.action || env.MessageID != "urn:uuid:0b5e2f2a-9c1e-4a53-8c6a-6a1c1f0d2e11" || env.MTOM {
					t.Errorf("Action %q MessageID %q MTOM %v", env.Action, env.MessageID, env.MTOM)
				}
				if env.Body.Tag != tc.body {
					t.Errorf("Body %s", env.Body.Tag)
				}
				if env.Security == nil {
					t.Fatal("no Security")
				}
				if n := len(env.Security.SelectElements("Assertion")); n != tc.assertions {
					t.Errorf("%d assertions, want %d", n, tc.assertions)
				}
			}
			// The same envelope as the root of an MTOM request.
			body := mtomBody("BB", mtomRootCT, string(data))
			env, err := Read(newRequest("", `multipart/related; boundary=BB; type="application/xop+xml"; start="<root@x>"; start-info="application/soap+xml"; action="`+tc.action+`"`, "", body), Limits{})
			if err != nil || !env.MTOM || env.Body.Tag != tc.body {
				t.Fatalf("MTOM: %v", err)
			}
		})
	}
}

// TestReadBodySamples wraps the bare request bodies of the shared samples
// in an envelope; the big XDR one carries its CDA inline as base64.
func TestReadBodySamples(t *testing.T) {
	for _, tc := range []struct{ file, action string }{
		{"xcpd/request/PRPA_IN201305UV02_DE-mock_298.xml", ehdsi.ActionXCPD},
		{"xcpd/request/PRPA_IN201305UV02_OpenNCP-test_PT_CLIENT_XCPD_0.xml", ehdsi.ActionXCPD},
		{"xca/query-request/AdhocQueryRequest_PS_DE-mock.xml", ehdsi.ActionXCAQuery},
		{"xca/retrieve-request/RetrieveDocumentSetRequest_PS_L3-L1_DE-mock.xml", ehdsi.ActionXCARetrieve},
		{"xdr/request/ProvideAndRegisterDocumentSetRequest_eD_DE-mock.xml", ehdsi.ActionXDR},
		{"xdr/request/ProvideAndRegisterDocumentSetRequest_eD_OpenNCP-test.xml", ehdsi.ActionXDR},
	} {
		t.Run(tc.file, func(t *testing.T) {
			body := xmlDecl.ReplaceAll(readShared(t, tc.file), nil)
			data := envelope(`<wsa:Action env:mustUnderstand="1">`+tc.action+`</wsa:Action>`, string(body))
			env, err := Read(newRequest("", `application/soap+xml; action="`+tc.action+`"`, "", data), DefaultLimits())
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if tc.action == ehdsi.ActionXDR {
				var doc *etree.Element
				for _, e := range env.Body.ChildElements() {
					if e.Tag == "Document" {
						doc = e
					}
				}
				got, err := env.Content(doc)
				if err != nil {
					t.Fatalf("Content: %v", err)
				}
				if !bytes.Contains(got, []byte("ClinicalDocument")) {
					t.Errorf("decoded document is not a CDA: %.60q", got)
				}
			}
		})
	}
}

// capturedEnvelope wraps the captured DK header (signed HCP and TRC
// assertions, 2025-07) in an envelope.
func capturedEnvelope(t testing.TB) []byte {
	hdr := readShared(t, "headers/XCA_query_header_HCP-TRC_DK-captured.xml")
	return []byte(`<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope">` + string(hdr) +
		`<soapenv:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/></soapenv:Body></soapenv:Envelope>`)
}

// TestSecurityHeaderUntouched checks that the security header Read returns
// is what the partner signed: each captured assertion's digest, computed
// from the tree Read returns with exclusive c14n, equals its DigestValue,
// and the tree gives the same canonical bytes as a plain etree parse.
func TestSecurityHeaderUntouched(t *testing.T) {
	env, err := Read(newRequest("", "application/soap+xml", "", string(capturedEnvelope(t))), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if env.Action != ehdsi.ActionXCAQuery || env.To == "" || env.ReplyTo != "http://www.w3.org/2005/08/addressing/anonymous" {
		t.Errorf("addressing: %q %q %q", env.Action, env.To, env.ReplyTo)
	}
	assertions := env.Security.SelectElements("Assertion")
	if len(assertions) != 2 {
		t.Fatalf("%d assertions", len(assertions))
	}
	// The same assertions parsed by etree alone from the raw bytes.
	raw := etree.NewDocument()
	if err := raw.ReadFromBytes(capturedEnvelope(t)); err != nil {
		t.Fatal(err)
	}
	rawAssertions := raw.FindElements("//Assertion")
	for i, a := range assertions {
		canon := func(el *etree.Element) []byte {
			ctx, err := etreeutils.NSBuildParentContext(el)
			if err != nil {
				t.Fatal(err)
			}
			det, err := etreeutils.NSDetatch(ctx, el)
			if err != nil {
				t.Fatal(err)
			}
			// enveloped-signature transform, then exclusive c14n with the
			// InclusiveNamespaces PrefixList the signer used.
			prefixes := ""
			if in := det.FindElement(".//Transform/InclusiveNamespaces"); in != nil {
				prefixes = in.SelectAttrValue("PrefixList", "")
			}
			if sig := det.SelectElement("Signature"); sig != nil {
				det.RemoveChild(sig)
			}
			out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixes).Canonicalize(det)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		got := canon(a)
		if want := canon(rawAssertions[i]); !bytes.Equal(got, want) {
			t.Errorf("assertion %d: canonical form differs from the raw parse", i)
		}
		sum := sha256.Sum256(got)
		digest := strings.TrimSpace(a.FindElement(".//DigestValue").Text())
		if base64.StdEncoding.EncodeToString(sum[:]) != digest {
			t.Errorf("assertion %d: digest of the returned tree %s, signed %s", i, base64.StdEncoding.EncodeToString(sum[:]), digest)
		}

		// The RSA SignatureValue of this capture does not verify, with
		// goxmldsig or with xmlsec1 on the raw file ("SignedInfo References
		// ok 1/1", then "data do not match"): only the reference digest can
		// prove the tree is intact.
	}
}

// TestReadRejectsSOAP11Sample makes sure a real-looking SOAP 1.1 request is
// refused with the right status.
func TestReadRejectsSOAP11Sample(t *testing.T) {
	data := strings.ReplaceAll(string(capturedEnvelope(t)), "http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/")
	_, err := Read(newRequest("", "application/soap+xml", "", data), Limits{})
	rec := httptest.NewRecorder()
	f, ok := err.(*ehdsi.Fault)
	if !ok {
		t.Fatalf("err %v", err)
	}
	WriteFault(rec, f, "")
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "SOAP 1.1 envelope") {
		t.Errorf("status %d body %s", rec.Code, rec.Body)
	}
}

// TestReadIndentedCapture reads the re-indented 2026-03 capture, whose
// WS-Addressing values are padded with whitespace and whose HCP assertion
// uses a default namespace.
func TestReadIndentedCapture(t *testing.T) {
	hdr := readShared(t, "headers/XCA_query_header_HCP-TRC_DK-captured_2026-03.xml")
	data := `<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope">` + string(hdr) +
		`<soapenv:Body><query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/></soapenv:Body></soapenv:Envelope>`
	env, err := Read(newRequest("", `application/soap+xml; action="urn:ihe:iti:2007:CrossGatewayQuery"`, "", data), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if env.Action != ehdsi.ActionXCAQuery || env.MessageID != "urn:uuid:67e2f278-6f1c-4dcf-9c21-c1d0392f079e" ||
		env.To != "https://ncp-training.ehdsi.sundhedsdata.dk:8443/openncp-ws-server/services/XCA_Service" {
		t.Errorf("%q %q %q", env.Action, env.MessageID, env.To)
	}
	if n := len(env.Security.SelectElements("Assertion")); n != 2 {
		t.Errorf("%d assertions", n)
	}
}

// TestTreeMatchesEtree checks that the tree Read builds in its single
// checking pass serialises exactly like etree's own parse of the same bytes
// (same tokens, prefixes, attribute order, whitespace).
func TestTreeMatchesEtree(t *testing.T) {
	inputs := map[string][]byte{
		"captured":   capturedEnvelope(t),
		"xcpd":       fillTemplate(t, readShared(t, "xcpd/request/XCPD_request_envelope_DK-template.xml"), "HCP_assertion_XCPD_DK-template.xml"),
		"retrieve":   fillTemplate(t, readShared(t, "xca/retrieve-request/XCA_retrieve_eP_envelope_DK-template.xml"), "HCP_assertion_XCA_DK-template.xml"),
		"comments":   []byte(strings.Replace(validEnvelope, "<env:Body>", "<!-- a comment --><env:Body>\n\t", 1)),
		"entities":   []byte(envelope(hdrAction, `<x a="&lt;&amp;&quot;&#x41;">t&gt;&#10;<![CDATA[<raw>]]></x>`)),
		"benchInput": xcpdSignedRequest(t),
	}
	for name, data := range inputs {
		env, err := ParseEnvelope(data, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ref := etree.NewDocument()
		if err := ref.ReadFromBytes(data); err != nil {
			t.Fatal(err)
		}
		got, _ := env.Doc.WriteToString()
		want, _ := ref.WriteToString()
		if got != want {
			t.Errorf("%s: tree differs from etree's parse\ngot  %.300s\nwant %.300s", name, got, want)
		}
	}
}
