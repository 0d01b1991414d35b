package soap

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

const (
	actXCPD = ehdsi.ActionXCPD
	ctPlain = `application/soap+xml; charset=UTF-8; action="` + actXCPD + `"`
)

// envelope returns a minimal SOAP 1.2 envelope with the given header
// blocks and body content.
func envelope(header, body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>` +
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing">` +
		`<env:Header>` + header + `</env:Header><env:Body>` + body + `</env:Body></env:Envelope>`
}

const (
	hdrAction = `<wsa:Action env:mustUnderstand="1">` + actXCPD + `</wsa:Action>`
	hdrMsgID  = `<wsa:MessageID>urn:uuid:11111111-2222-4333-8444-555555555555</wsa:MessageID>`
	bodyXCPD  = `<PRPA_IN201305UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3"/></PRPA_IN201305UV02>`
)

var validEnvelope = envelope(hdrAction+hdrMsgID, bodyXCPD)

// nested returns depth nested elements.
func nested(depth int) string {
	return strings.Repeat("<a>", depth) + strings.Repeat("</a>", depth)
}

// mtomBody builds a multipart/related MTOM body from a root envelope and
// extra raw parts (already with their headers).
func mtomBody(boundary, rootCT, root string, parts ...string) string {
	var b strings.Builder
	b.WriteString("--" + boundary + "\r\nContent-Type: " + rootCT + "\r\nContent-Transfer-Encoding: binary\r\nContent-ID: <root@x>\r\n\r\n" + root + "\r\n")
	for _, p := range parts {
		b.WriteString("--" + boundary + "\r\n" + p + "\r\n")
	}
	b.WriteString("--" + boundary + "--\r\n")
	return b.String()
}

const (
	mtomCT     = `multipart/related; boundary="BB"; type="application/xop+xml"; start="<root@x>"; start-info="application/soap+xml"; action="` + actXCPD + `"`
	mtomRootCT = `application/xop+xml; charset=UTF-8; type="application/soap+xml"`
)

type readCase struct {
	name    string
	method  string // default POST
	ctype   string
	soapAct string
	body    string
	lim     Limits
	want    string // substring of the public fault message; "" = success
}

func readCases() []readCase {
	billion := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>` +
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><x>&lol2;</x></env:Body></env:Envelope>`
	return []readCase{
		{name: "valid plain", ctype: ctPlain, body: validEnvelope},
		{name: "valid no action param", ctype: "application/soap+xml", body: validEnvelope},
		{name: "valid SOAPAction header", ctype: "application/soap+xml", soapAct: `"` + actXCPD + `"`, body: validEnvelope},
		{name: "valid empty SOAPAction", ctype: "application/soap+xml", soapAct: `""`, body: validEnvelope},
		{name: "valid BOM", ctype: ctPlain, body: "\uFEFF" + validEnvelope},
		{name: "valid us-ascii decl", ctype: ctPlain, body: strings.Replace(validEnvelope, "UTF-8", "US-ASCII", 1)},
		{name: "valid comment", ctype: ctPlain, body: strings.Replace(validEnvelope, "<env:Body>", "<!-- c --><env:Body>", 1)},
		{name: "valid no header decl", ctype: ctPlain, body: strings.TrimPrefix(validEnvelope, `<?xml version="1.0" encoding="UTF-8"?>`)},
		{name: "valid MTOM", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope,
			"Content-Type: text/xml\r\nContent-ID: <doc1@x>\r\n\r\n<a/>")},

		{name: "GET", method: http.MethodGet, ctype: ctPlain, body: validEnvelope, want: "HTTP POST"},
		{name: "too large", ctype: ctPlain, body: validEnvelope, lim: Limits{MaxBytes: 100}, want: "larger than 100 bytes"},
		{name: "empty body", ctype: ctPlain, body: "", want: "empty request body"},
		{name: "not XML", ctype: ctPlain, body: "hello, world", want: "not well-formed XML"},
		{name: "truncated XML", ctype: ctPlain, body: validEnvelope[:len(validEnvelope)-10], want: "not well-formed XML"},
		{name: "mismatched tags", ctype: ctPlain, body: strings.Replace(validEnvelope, "</env:Body>", "</env:Bodx>", 1), want: "not well-formed XML"},
		{name: "two roots", ctype: ctPlain, body: validEnvelope + "<x/>", want: "not well-formed XML"},
		{name: "text after root", ctype: ctPlain, body: validEnvelope + "junk", want: "not well-formed XML"},
		{name: "DTD", ctype: ctPlain, body: `<?xml version="1.0"?><!DOCTYPE env:Envelope>` + strings.TrimPrefix(validEnvelope, `<?xml version="1.0" encoding="UTF-8"?>`), want: "DTDs and entity declarations"},
		{name: "billion laughs", ctype: ctPlain, body: billion, want: "DTDs and entity declarations"},
		{name: "undeclared entity", ctype: ctPlain, body: strings.Replace(validEnvelope, `root="1.2.3"`, `root="&x;"`, 1), want: "not well-formed XML"},
		{name: "processing instruction", ctype: ctPlain, body: strings.Replace(validEnvelope, "<env:Body>", `<env:Body><?php echo 1 ?>`, 1), want: "processing instructions"},
		{name: "late xml declaration", ctype: ctPlain, body: " " + validEnvelope, want: "processing instructions"},
		{name: "too deep", ctype: ctPlain, body: envelope(hdrAction, nested(10)), lim: Limits{MaxDepth: 8}, want: "nesting deeper than 8"},
		{name: "too deep default", ctype: ctPlain, body: envelope(hdrAction, nested(70)), want: "nesting deeper than 64"},
		{name: "too many elements", ctype: ctPlain, body: envelope(hdrAction, "<r>"+strings.Repeat("<a/>", 20)+"</r>"), lim: Limits{MaxElements: 10}, want: "more than 10 elements"},
		{name: "too many attributes", ctype: ctPlain, body: envelope(hdrAction, "<x"+manyAttrs(70)+"/>"), want: "more than 64 attributes"},
		{name: "wrong content type", ctype: "application/json", body: validEnvelope, want: "wrong Content-Type"},
		{name: "no content type", ctype: "", body: validEnvelope, want: "Content-Type"},
		{name: "SOAP 1.1 content type", ctype: "text/xml; charset=UTF-8", body: validEnvelope, want: "SOAP 1.1"},
		{name: "latin-1 content type", ctype: "application/soap+xml; charset=ISO-8859-1", body: validEnvelope, want: "UTF-8 is required"},
		{name: "latin-1 declaration", ctype: "application/soap+xml", body: strings.Replace(validEnvelope, "UTF-8", "ISO-8859-1", 1), want: "UTF-8 is required"},
		{name: "not an envelope", ctype: ctPlain, body: bodyXCPD, want: "not a SOAP 1.2 envelope"},
		{name: "SOAP 1.1 envelope", ctype: ctPlain, body: strings.ReplaceAll(validEnvelope, "http://www.w3.org/2003/05/soap-envelope", "http://schemas.xmlsoap.org/soap/envelope/"), want: "SOAP 1.1 envelope"},
		{name: "missing Body", ctype: ctPlain, body: `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:wsa="http://www.w3.org/2005/08/addressing"><env:Header>` + hdrAction + `</env:Header></env:Envelope>`, want: "soap:Body missing"},
		{name: "empty Body", ctype: ctPlain, body: envelope(hdrAction, " "), want: "soap:Body is empty"},
		{name: "two Body children", ctype: ctPlain, body: envelope(hdrAction, bodyXCPD+bodyXCPD), want: "more than one child"},
		{name: "text in Body", ctype: ctPlain, body: envelope(hdrAction, "x"+bodyXCPD), want: "text content directly in soap:Body"},
		{name: "Body before Header", ctype: ctPlain, body: `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + bodyXCPD + `</env:Body><env:Header/></env:Envelope>`, want: "expected Header then Body"},
		{name: "two Bodies", ctype: ctPlain, body: strings.Replace(validEnvelope, "</env:Envelope>", "<env:Body/></env:Envelope>", 1), want: "expected Header then Body"},
		{name: "foreign element in Envelope", ctype: ctPlain, body: strings.Replace(validEnvelope, "</env:Envelope>", "<x/></env:Envelope>", 1), want: "unexpected element"},
		{name: "missing Action", ctype: ctPlain, body: envelope(hdrMsgID, bodyXCPD), want: "Action header missing"},
		{name: "no Header", ctype: ctPlain, body: `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + bodyXCPD + `</env:Body></env:Envelope>`, want: "Action header missing"},
		{name: "empty Action", ctype: "application/soap+xml", body: envelope(`<wsa:Action> </wsa:Action>`, bodyXCPD), want: "Action header missing"},
		{name: "Action in wrong namespace", ctype: "application/soap+xml", body: envelope(`<a:Action xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing">`+actXCPD+`</a:Action>`, bodyXCPD), want: "Action header missing"},
		{name: "duplicate Action", ctype: ctPlain, body: envelope(hdrAction+hdrAction, bodyXCPD), want: "more than one WS-Addressing Action"},
		{name: "duplicate MessageID", ctype: ctPlain, body: envelope(hdrAction+hdrMsgID+hdrMsgID, bodyXCPD), want: "more than one WS-Addressing MessageID"},
		{name: "Action vs content type", ctype: `application/soap+xml; action="` + ehdsi.ActionXCAQuery + `"`, body: validEnvelope, want: "does not match the SOAP action"},
		{name: "Action vs SOAPAction", ctype: "application/soap+xml", soapAct: ehdsi.ActionXCAQuery, body: validEnvelope, want: "does not match the SOAP action"},
		{name: "unknown mustUnderstand header", ctype: ctPlain, body: envelope(hdrAction+`<x:Foo xmlns:x="urn:x" env:mustUnderstand="true"/>`, bodyXCPD), want: "mustUnderstand"},
		{name: "unknown optional header", ctype: ctPlain, body: envelope(hdrAction+`<x:Foo xmlns:x="urn:x" env:mustUnderstand="0"/>`, bodyXCPD)},
		{name: "two Security headers", ctype: ctPlain, body: envelope(hdrAction+security("")+security(""), bodyXCPD), want: "more than one wsse:Security"},
		{name: "unbound element prefix", ctype: ctPlain, body: envelope(hdrAction, `<q:x/>`), want: "ambiguous XML names"},
		{name: "unbound attribute prefix", ctype: ctPlain, body: envelope(hdrAction, `<x q:a="1"/>`), want: "ambiguous XML names"},
		{name: "name with two colons", ctype: ctPlain, body: envelope(hdrAction, `<env:x:y/>`), want: "not well-formed XML"},
		{name: "empty prefix", ctype: ctPlain, body: envelope(hdrAction, `<:y/>`), want: "ambiguous XML names"},
		{name: "empty local name", ctype: ctPlain, body: envelope(hdrAction, `<x a:="1"/>`), want: "ambiguous XML names"},
		{name: "attribute with two colons", ctype: ctPlain, body: envelope(hdrAction, `<x env:a:b="1"/>`), want: "not well-formed XML"},
		{name: "empty prefix declaration", ctype: ctPlain, body: envelope(hdrAction, `<x xmlns:p=""/>`), want: "ambiguous XML names"},
		{name: "duplicate attribute", ctype: ctPlain, body: envelope(hdrAction, `<x a="1" a="2"/>`), want: "not well-formed XML"},
		{name: "duplicate expanded attribute", ctype: ctPlain, body: envelope(hdrAction, `<x xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>`), want: "not well-formed XML"},
		{name: "invalid UTF-8", ctype: ctPlain, body: envelope(hdrAction, "<x>\xff\xfe</x>"), want: "not well-formed XML"},

		{name: "MTOM not XOP", ctype: `multipart/related; boundary="BB"; type="text/xml"`, body: mtomBody("BB", mtomRootCT, validEnvelope), want: "not MTOM/XOP"},
		{name: "MTOM no boundary", ctype: `multipart/related; type="application/xop+xml"`, body: mtomBody("BB", mtomRootCT, validEnvelope), want: "without boundary"},
		{name: "MTOM bad start-info", ctype: `multipart/related; boundary="BB"; type="application/xop+xml"; start-info="text/xml"`, body: mtomBody("BB", mtomRootCT, validEnvelope), want: "start-info"},
		{name: "MTOM root not found", ctype: `multipart/related; boundary="BB"; type="application/xop+xml"; start="<nope@x>"`, body: mtomBody("BB", mtomRootCT, validEnvelope), want: "root part (start) not found"},
		{name: "MTOM root wrong type", ctype: mtomCT, body: mtomBody("BB", "text/xml", validEnvelope), want: `root part must be "application/xop+xml"`},
		{name: "MTOM root type not SOAP 1.2", ctype: mtomCT, body: mtomBody("BB", `application/xop+xml; type="text/xml"`, validEnvelope), want: `type must be "application/soap+xml"`},
		{name: "MTOM root action mismatch", ctype: `multipart/related; boundary="BB"; type="application/xop+xml"; start="<root@x>"`, body: mtomBody("BB", `application/xop+xml; type="application/soap+xml; action=\"urn:other\""`, validEnvelope), want: "does not match the SOAP action"},
		{name: "MTOM malformed", ctype: mtomCT, body: "--BB\r\nContent-Type: x\r\n", want: "MTOM root part (start) not found"},
		{name: "MTOM part without Content-ID", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-Type: text/xml\r\n\r\n<a/>"), want: "without Content-ID"},
		{name: "MTOM duplicate Content-ID", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-ID: <a@x>\r\n\r\n1", "Content-ID: <a@x>\r\n\r\n2"), want: "same Content-ID"},
		{name: "MTOM part with root's Content-ID", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-ID: <root@x>\r\n\r\n1"), want: "same Content-ID"},
		{name: "MTOM too many parts", ctype: mtomCT, lim: Limits{MaxAttachments: 1}, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-ID: <a@x>\r\n\r\n1", "Content-ID: <b@x>\r\n\r\n2"), want: "more than 1 MIME attachments"},
		{name: "MTOM bad base64 part", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-ID: <a@x>\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!"), want: "not valid base64"},
		{name: "MTOM unknown transfer encoding", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, validEnvelope, "Content-ID: <a@x>\r\nContent-Transfer-Encoding: x-gzip\r\n\r\n1"), want: "unsupported Content-Transfer-Encoding"},
		{name: "MTOM root with DTD", ctype: mtomCT, body: mtomBody("BB", mtomRootCT, billion), want: "DTDs and entity declarations"},
		{name: "MTOM too large", ctype: mtomCT, lim: Limits{MaxBytes: 200}, body: mtomBody("BB", mtomRootCT, validEnvelope), want: "larger than 200 bytes"},
	}
}

func manyAttrs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, ` b%d="%d"`, i, i)
	}
	return b.String()
}

func security(content string) string {
	return `<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">` + content + `</wsse:Security>`
}

func newRequest(method, ctype, soapAction, body string) *http.Request {
	if method == "" {
		method = http.MethodPost
	}
	r := httptest.NewRequest(method, "/openncp-ws-server/services/XCPD_Service", strings.NewReader(body))
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	if soapAction != "" {
		r.Header.Set("SOAPAction", soapAction)
	}
	return r
}

func TestRead(t *testing.T) {
	for _, tc := range readCases() {
		t.Run(tc.name, func(t *testing.T) {
			env, err := Read(newRequest(tc.method, tc.ctype, tc.soapAct, tc.body), tc.lim)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				if env.Action != actXCPD {
					t.Errorf("Action = %q", env.Action)
				}
				if env.Body == nil || env.Body.Tag != "PRPA_IN201305UV02" || env.Body.NamespaceURI() != "urn:hl7-org:v3" {
					t.Errorf("Body = %v", env.Body)
				}
				return
			}
			if err == nil {
				t.Fatalf("Read succeeded, want fault %q", tc.want)
			}
			var f *ehdsi.Fault
			if !errors.As(err, &f) {
				t.Fatalf("error %T %v is not an *ehdsi.Fault", err, err)
			}
			if f.Kind != ehdsi.KindSender || f.Code != ReadFaultCode {
				t.Errorf("fault kind %v code %q, want Sender %q", f.Kind, f.Code, ReadFaultCode)
			}
			if !strings.Contains(f.Message(), tc.want) {
				t.Errorf("fault message %q, want it to contain %q", f.Message(), tc.want)
			}
			rec := httptest.NewRecorder()
			if err := WriteFault(rec, f, ""); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusBadRequest {
				t.Errorf("HTTP status %d, want 400", rec.Code)
			}
		})
	}
}

func TestReadFields(t *testing.T) {
	hdr := `<wsa:To env:mustUnderstand="1">
	   https://lu.example/openncp-ws-server/services/XCPD_Service </wsa:To>` + hdrAction + hdrMsgID +
		`<wsa:ReplyTo><wsa:Address>http://www.w3.org/2005/08/addressing/anonymous</wsa:Address></wsa:ReplyTo>` +
		security(`<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a"/>`)
	env, err := Read(newRequest("", ctPlain, "", envelope(hdr, bodyXCPD)), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s|%s|%s|%s|%v|%v", env.Action, env.MessageID, env.To, env.ReplyTo, env.MTOM, env.Attachments == nil)
	want := actXCPD + "|urn:uuid:11111111-2222-4333-8444-555555555555|https://lu.example/openncp-ws-server/services/XCPD_Service|http://www.w3.org/2005/08/addressing/anonymous|false|true"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if env.Security == nil || len(env.Security.ChildElements()) != 1 || env.Security.ChildElements()[0].Tag != "Assertion" {
		t.Errorf("Security = %v", env.Security)
	}
	if env.Header == nil || env.Header.Tag != "Header" {
		t.Errorf("Header = %v", env.Header)
	}
}

func TestReadMTOMParts(t *testing.T) {
	root := envelope(hdrAction, `<x:Doc xmlns:x="urn:x"><x:A><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:a%40x"/></x:A>`+
		`<x:B><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:b@x"/></x:B>`+
		`<x:C><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:c@x"/></x:C>`+
		`<x:D>aGVs
bG8=</x:D><x:E><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:missing@x"/></x:E><x:F>!!</x:F><x:G>aGVs<xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" href="cid:b@x"/></x:G></x:Doc>`)
	body := mtomBody("BB", mtomRootCT, root,
		"Content-ID: <a@x>\r\nContent-Type: application/octet-stream\r\n\r\nbinary\x00\xff",
		"Content-ID: b@x\r\nContent-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=",
		"Content-ID: <c@x>\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db")
	env, err := Read(newRequest("", mtomCT, "", body), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if !env.MTOM || len(env.Attachments) != 3 {
		t.Fatalf("MTOM %v, %d attachments", env.MTOM, len(env.Attachments))
	}
	if ct := env.Attachments["a@x"].ContentType; ct != "application/octet-stream" {
		t.Errorf("content type %q", ct)
	}
	for _, tc := range []struct {
		tag, want, fault string
	}{
		{"A", "binary\x00\xff", ""},
		{"B", "hello", ""},
		{"C", "a=b", ""},
		{"D", "hello", ""},
		{"E", "", "not in the message"},
		{"F", "", "not valid base64"},
		{"G", "", "beside an xop:Include"},
	} {
		got, err := env.Content(env.Body.SelectElement(tc.tag))
		if tc.fault != "" {
			var f *ehdsi.Fault
			if !errors.As(err, &f) || !strings.Contains(f.Message(), tc.fault) {
				t.Errorf("%s: err %v, want fault %q", tc.tag, err, tc.fault)
			}
			continue
		}
		if err != nil || string(got) != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.tag, got, err, tc.want)
		}
	}
	// The xop:Include element itself resolves too.
	inc := env.Body.SelectElement("A").ChildElements()[0]
	if got, err := env.Content(inc); err != nil || string(got) != "binary\x00\xff" {
		t.Errorf("Include: %q %v", got, err)
	}
}

// TestReadMaxBytesReader checks a body already capped by the host with
// http.MaxBytesReader gives the same public fault.
func TestReadMaxBytesReader(t *testing.T) {
	r := newRequest("", ctPlain, "", validEnvelope)
	r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, 50)
	_, err := Read(r, Limits{})
	var f *ehdsi.Fault
	if !errors.As(err, &f) || !strings.Contains(f.Message(), "larger than") {
		t.Fatalf("err %v", err)
	}
}

// TestReadUndeclaredLength covers a chunked body (no Content-Length) larger
// than the limit.
func TestReadUndeclaredLength(t *testing.T) {
	r := newRequest("", ctPlain, "", validEnvelope)
	r.ContentLength = -1
	_, err := Read(r, Limits{MaxBytes: 100})
	var f *ehdsi.Fault
	if !errors.As(err, &f) || f.Message() != "request body larger than 100 bytes" {
		t.Fatalf("err %v", err)
	}
	r = newRequest("", ctPlain, "", validEnvelope)
	r.ContentLength = -1
	if _, err := Read(r, Limits{}); err != nil {
		t.Fatal(err)
	}
}
