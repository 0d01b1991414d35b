package soap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testutil"
)

// fixedWriter is deterministic: a constant random source and a fixed boundary.
func fixedWriter() Writer {
	return Writer{Rand: bytes.NewReader(bytes.Repeat([]byte{0x5a}, 1024)), Boundary: "MIMEBoundary_test"}
}

// retrieveResponse builds an XCA RetrieveDocumentSetResponse with docs.
func retrieveResponse(mtom bool, docs ...[]byte) Response {
	resp := Response{Action: ehdsi.ActionXCARetrieveResp, RelatesTo: "urn:uuid:11111111-2222-4333-8444-555555555555", MessageID: "urn:uuid:aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"}
	body := NewElement("xdsb", "RetrieveDocumentSetResponse", "urn:ihe:iti:xds-b:2007")
	rr := body.CreateElement("rs:RegistryResponse")
	rr.CreateAttr("xmlns:rs", NSRS)
	rr.CreateAttr("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
	for i, d := range docs {
		dr := body.CreateElement("xdsb:DocumentResponse")
		dr.CreateElement("xdsb:HomeCommunityId").SetText("urn:oid:" + ehdsi.HomeCommunityLU)
		dr.CreateElement("xdsb:RepositoryUniqueId").SetText("1.3.182.2.12.10000734.6.1")
		dr.CreateElement("xdsb:DocumentUniqueId").SetText("1.3.182.9^" + string(rune('a'+i)))
		dr.CreateElement("xdsb:mimeType").SetText("text/xml")
		resp.Attach(dr.CreateElement("xdsb:Document"), "text/xml", d, mtom)
	}
	resp.Body = body
	return resp
}

func TestWriteGolden(t *testing.T) {
	doc := []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Synthetic ePrescription</title></ClinicalDocument>`)
	for _, tc := range []struct {
		name string
		mtom bool
	}{{"TestWrite_plain.txt", false}, {"TestWrite_mtom.txt", true}} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := fixedWriter().Write(rec, retrieveResponse(tc.mtom, doc, []byte("%PDF-1.4 synthetic")), tc.mtom); err != nil {
				t.Fatal(err)
			}
			if rec.Code != http.StatusOK {
				t.Errorf("status %d", rec.Code)
			}
			got := "Content-Type: " + rec.Header().Get("Content-Type") + "\n\n" + rec.Body.String()
			testutil.Golden(t, tc.name, []byte(got))
			env, err := ReadResponse(rec.Result(), Limits{})
			if err != nil || env.MTOM != tc.mtom || env.Action != ehdsi.ActionXCARetrieveResp || len(env.Body.SelectElements("DocumentResponse")) != 2 {
				t.Errorf("ReadResponse: %v", err)
			}
			// Deterministic: the same input gives the same bytes.
			rec2 := httptest.NewRecorder()
			fixedWriter().Write(rec2, retrieveResponse(tc.mtom, doc, []byte("%PDF-1.4 synthetic")), tc.mtom)
			if !bytes.Equal(rec.Body.Bytes(), rec2.Body.Bytes()) {
				t.Error("output differs between two runs")
			}
		})
	}
}

// TestWriteReadRoundTrip writes responses and reads them back as
// request-shaped messages; the documents come back byte for byte.
func TestWriteReadRoundTrip(t *testing.T) {
	docs := [][]byte{
		bytes.Repeat([]byte("<x>synthetic CDA</x>\r\n"), 5000),
		{0, 1, 2, 0xff, '\r', '\n', '-', '-'},
		[]byte("--MIMEBoundary_test\r\n"), // boundary-looking content
	}
	for _, mtom := range []bool{false, true} {
		for _, w := range []Writer{fixedWriter(), {}} {
			want := docs
			resp := retrieveResponse(mtom, want...)
			ctype, data, err := w.Marshal(resp, mtom)
			if mtom && w.Boundary != "" {
				// The fixed boundary occurs in the third document.
				if err == nil {
					t.Error("Marshal accepted a boundary that occurs in the content")
				}
				want = docs[:2]
				resp = retrieveResponse(mtom, want...)
				ctype, data, err = w.Marshal(resp, mtom)
			}
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
			r.Header.Set("Content-Type", ctype)
			env, err := Read(r, Limits{})
			if err != nil {
				t.Fatalf("mtom=%v: Read: %v", mtom, err)
			}
			if env.MTOM != mtom || env.Action != ehdsi.ActionXCARetrieveResp {
				t.Errorf("MTOM %v Action %q", env.MTOM, env.Action)
			}
			if env.MessageID == "" || !strings.HasPrefix(env.MessageID, "urn:uuid:") {
				t.Errorf("MessageID %q", env.MessageID)
			}
			rel := env.Header.SelectElement("RelatesTo")
			if rel == nil || rel.Text() != resp.RelatesTo {
				t.Errorf("RelatesTo %v", rel)
			}
			if a := env.Header.SelectElement("Action"); a == nil || a.SelectAttrValue("env:mustUnderstand", "") != "1" {
				t.Errorf("Action without mustUnderstand")
			}
			got := env.Body.SelectElements("DocumentResponse")
			if len(got) != len(want) {
				t.Fatalf("%d documents", len(got))
			}
			for i, dr := range got {
				data, err := env.Content(dr.SelectElement("Document"))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(data, want[i]) {
					t.Errorf("mtom=%v doc %d differs", mtom, i)
				}
			}
		}
	}
}

func TestMarshalErrors(t *testing.T) {
	body := NewElement("x", "R", "urn:x")
	inc := Response{Action: "a", Body: NewElement("x", "R", "urn:x")}
	inc.Body.CreateElement("xop:Include").CreateAttr("href", "cid:nope")
	inc.Body.SelectElement("Include").CreateAttr("xmlns:xop", NSXOP)
	unused := Response{Action: "a", Body: body, Attachments: []Attachment{{ContentID: "a@x", Data: []byte("1")}}}
	for name, tc := range map[string]struct {
		resp Response
		mtom bool
	}{
		"no action":           {Response{Body: body}, false},
		"no body":             {Response{Action: "a"}, false},
		"attachments plain":   {unused, false},
		"unresolved include":  {inc, true},
		"unused attachment":   {unused, true},
		"bad content id":      {Response{Action: "a", Body: body, Attachments: []Attachment{{ContentID: "<a>"}}}, true},
		"action with newline": {Response{Action: "a\nb", Body: body}, false},
	} {
		if _, _, err := fixedWriter().Marshal(tc.resp, tc.mtom); err == nil {
			t.Errorf("%s: Marshal succeeded", name)
		}
	}
}

func TestWriteFault(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fault  *ehdsi.Fault
		status int
		value  string
		sub    string
	}{
		{"TestWriteFault_sender.txt", &ehdsi.Fault{Kind: ehdsi.KindSender, Code: ehdsi.ErrSecGeneric, Public: "assertion signature invalid", Location: "wsse:Security", Cause: errors.New("SECRET patient 1234567890123")}, 400, "env:Sender", "ehdsi:ERROR_SEC_GENERIC"},
		{"TestWriteFault_receiver.txt", ehdsi.Receiver(ehdsi.ErrPIRegistryNotAvailable, "", errors.New("SECRET dial tcp")), 500, "env:Receiver", "ehdsi:ERROR_PI_REGISTRY_NOT_AVAILABLE"},
		{"TestWriteFault_numeric.txt", ehdsi.Sender(ehdsi.ErrInsufficientRights, "", nil), 400, "env:Sender", ""},
		{"TestWriteFault_application.txt", ehdsi.App(ehdsi.WarnPINoConsent, "", nil), 500, "env:Receiver", "ehdsi:WARNING_PI_NO_CONSENT"},
		{"TestWriteFault_nil.txt", nil, 500, "env:Receiver", "ehdsi:ERROR_GENERIC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			if err := fixedWriter().WriteFault(rec, tc.fault, "urn:uuid:11111111-2222-4333-8444-555555555555"); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
			out := rec.Body.String()
			if strings.Contains(out, "SECRET") {
				t.Error("fault leaks its private cause")
			}
			testutil.Golden(t, tc.name, []byte("Content-Type: "+rec.Header().Get("Content-Type")+"\n\n"+out))

			// Parse it back and check the parts partners read.
			doc := etree.NewDocument()
			if err := doc.ReadFromString(out); err != nil {
				t.Fatal(err)
			}
			f := doc.FindElement("/Envelope/Body/Fault")
			if f == nil {
				t.Fatal("no Fault")
			}
			if v := f.FindElement("Code/Value"); v == nil || v.Text() != tc.value {
				t.Errorf("Code/Value %v", v)
			}
			sub := f.FindElement("Code/Subcode/Value")
			if tc.sub == "" {
				if sub != nil {
					t.Errorf("Subcode %q for a code that is not a QName", sub.Text())
				}
			} else if sub == nil || sub.Text() != tc.sub {
				t.Errorf("Subcode %v, want %q", sub, tc.sub)
			}
			wantMsg := "Internal Server Error - Please retry or contact the server administrator and inform them of the time the error occurred"
			wantCode := string(ehdsi.ErrGeneric)
			if tc.fault != nil {
				wantMsg, wantCode = tc.fault.Message(), string(tc.fault.Code)
			}
			if r := f.FindElement("Reason/Text"); r == nil || r.Text() != wantMsg || r.SelectAttrValue("xml:lang", "") != "en" {
				t.Errorf("Reason %v", r)
			}
			re := f.FindElement("Detail/RegistryErrorList/RegistryError")
			if re == nil || re.SelectAttrValue("errorCode", "") != wantCode || re.SelectAttrValue("codeContext", "") != wantMsg {
				t.Errorf("Detail RegistryError %v", re)
			}
			if a := doc.FindElement("/Envelope/Header/Action"); a == nil || a.Text() != ActionFault {
				t.Errorf("fault Action %v", a)
			}
			if a := doc.FindElement("/Envelope/Header/RelatesTo"); a == nil || a.Text() != "urn:uuid:11111111-2222-4333-8444-555555555555" {
				t.Errorf("RelatesTo %v", a)
			}
		})
	}
}

func TestWriterUUID(t *testing.T) {
	a, _ := Writer{}.uuid()
	b, _ := Writer{}.uuid()
	if a == b || len(a) != len("urn:uuid:")+36 || a[len("urn:uuid:")+14] != '4' {
		t.Errorf("uuids %q %q", a, b)
	}
}

// TestWriteEscaping writes text and attribute values a parser would
// normalise if written raw, and reads them back unchanged.
func TestWriteEscaping(t *testing.T) {
	text := "line1\r\nline2\t<&>]]> é \u2028 ü"
	attr := "a\tb\nc\rd\"e'f<g&h>"
	body := NewElement("x", "R", "urn:x")
	body.CreateElement("x:T").SetText(text)
	body.CreateElement("x:A").CreateAttr("v", attr)
	body.CreateElement("x:C").CreateCData("cdata ]]> inside")
	body.CreateElement("x:Bad").SetText("nul\x00 and \xff")
	body.CreateComment(" comment ")
	ctype, data, err := fixedWriter().Marshal(Response{Action: "urn:a", Body: body}, false)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.Header.Set("Content-Type", ctype)
	env, err := Read(r, Limits{})
	if err != nil {
		t.Fatalf("Read: %v\n%s", err, data)
	}
	if got := env.Body.SelectElement("T").Text(); got != text {
		t.Errorf("text %q, want %q", got, text)
	}
	if got := env.Body.SelectElement("A").SelectAttrValue("v", ""); got != attr {
		t.Errorf("attr %q, want %q", got, attr)
	}
	if got := env.Body.SelectElement("C").Text(); got != "cdata ]]> inside" {
		t.Errorf("cdata %q", got)
	}
	if got := env.Body.SelectElement("Bad").Text(); got != "nul\uFFFD and \uFFFD" {
		t.Errorf("invalid chars %q", got)
	}
}

// TestReadResponseFault writes faults and reads them back as a client
// would, from an http.Response.
func TestReadResponseFault(t *testing.T) {
	for _, f := range []*ehdsi.Fault{
		{Kind: ehdsi.KindSender, Code: ehdsi.ErrSecGeneric, Public: "assertion expired", Location: "wsse:Security"},
		ehdsi.Receiver(ehdsi.ErrPIRegistryNotAvailable, "", nil),
		ehdsi.Sender(ehdsi.ErrInsufficientRights, "", nil),
	} {
		rec := httptest.NewRecorder()
		if err := WriteFault(rec, f, "urn:uuid:1"); err != nil {
			t.Fatal(err)
		}
		env, err := ReadResponse(rec.Result(), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		got := env.Fault()
		if got == nil || got.Kind != f.Kind || got.Code != f.Code || got.Public != f.Message() || got.Location != f.Location {
			t.Errorf("read back %+v, wrote %+v", got, f)
		}
	}
	// A normal response is no fault; a response without Action is accepted.
	body := envelope("", bodyXCPD)
	resp := &http.Response{Header: http.Header{"Content-Type": {"application/soap+xml"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
	env, err := ReadResponse(resp, Limits{})
	if err != nil || env.Fault() != nil || env.Action != "" {
		t.Errorf("plain response: %v %v", err, env)
	}
	// A bare OpenNCP-style fault: Reason only, Receiver.
	body = `<soapenv:Envelope xmlns:soapenv="http://www.w3.org/2003/05/soap-envelope"><soapenv:Body><soapenv:Fault><soapenv:Code><soapenv:Value>soapenv:Receiver</soapenv:Value></soapenv:Code><soapenv:Reason><soapenv:Text xml:lang="en-US">Policy violation</soapenv:Text></soapenv:Reason></soapenv:Fault></soapenv:Body></soapenv:Envelope>`
	resp = &http.Response{Header: http.Header{"Content-Type": {"application/soap+xml; charset=UTF-8"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: -1}
	env, err = ReadResponse(resp, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if f := env.Fault(); f == nil || f.Kind != ehdsi.KindReceiver || f.Public != "Policy violation" || f.Code != "" {
		t.Errorf("OpenNCP fault %+v", f)
	}
}

func TestWriteError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   ehdsi.Code
	}{
		{errors.New("SECRET dial tcp 10.0.0.1"), 500, ehdsi.ErrGeneric},
		{wrapErr(ehdsi.Sender(ehdsi.ErrSecGeneric, "bad assertion", errors.New("SECRET"))), 400, ehdsi.ErrSecGeneric},
	} {
		rec := httptest.NewRecorder()
		f, err := WriteError(rec, tc.err, "")
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != tc.status || f.Code != tc.code || strings.Contains(rec.Body.String(), "SECRET") {
			t.Errorf("status %d code %s body %s", rec.Code, f.Code, rec.Body)
		}
	}
}

func wrapErr(err error) error { return errors.Join(errors.New("verify HCP assertion"), err) }

// TestOutputSchemaValid validates what Write and WriteFault produce
// against the W3C SOAP 1.2 envelope schema (Fault structure included) with
// xmllint, in one call.
func TestOutputSchemaValid(t *testing.T) {
	xmllint := testutil.Tool(t, "xmllint")
	dir := t.TempDir()
	var files []string
	var details [][]byte
	write := func(name string, body []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	for i, f := range []*ehdsi.Fault{
		ehdsi.Sender(ehdsi.ErrSecGeneric, "assertion expired", nil),
		ehdsi.Receiver(ehdsi.ErrPIRegistryNotAvailable, "", nil),
		ehdsi.Sender(ehdsi.ErrInsufficientRights, "", nil),
		{Kind: ehdsi.KindSender, Code: ehdsi.ErrPIIncorrectFormatting, Location: "livingSubjectId"},
	} {
		rec := httptest.NewRecorder()
		if err := fixedWriter().WriteFault(rec, f, "urn:uuid:1"); err != nil {
			t.Fatal(err)
		}
		write("fault"+string(rune('a'+i))+".xml", rec.Body.Bytes())
		_, fault := FaultBody(f)
		var b bytes.Buffer
		writeXML(&b, fault.FindElement("Detail/RegistryErrorList"))
		details = append(details, b.Bytes())
	}
	_, plain, err := fixedWriter().Marshal(retrieveResponse(false, []byte("<a/>")), false)
	if err != nil {
		t.Fatal(err)
	}
	write("plain.xml", plain)
	schema := testutil.Shared(t, "reference/wire/xsd/soap12/soap-envelope-1.2.xsd")
	out, err := exec.Command(xmllint, append([]string{"--noout", "--nonet", "--schema", schema}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	// The Detail's RegistryErrorList against ebRS 3.0 (via IHEXDS.xsd).
	files = nil
	for i, d := range details {
		write("detail"+string(rune('a'+i))+".xml", d)
	}
	schema = testutil.Shared(t, "reference/wire/xsd/xds-b-ebrs30/schema/IHEXDS.xsd")
	out, err = exec.Command(xmllint, append([]string{"--noout", "--nonet", "--schema", schema}, files...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// A handler reads the request, answers in the form the request used, and
// turns any failure into a SOAP fault.
func Example() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		env, err := Read(r, DefaultLimits())
		if err != nil {
			f, _ := WriteError(w, err, "")
			_ = f.Cause // log it once, without patient data above debug
			return
		}
		body := NewElement("xdsb", "RetrieveDocumentSetResponse", "urn:ihe:iti:xds-b:2007")
		resp := Response{Action: ehdsi.ActionXCARetrieveResp, RelatesTo: env.MessageID, Body: body}
		doc := body.CreateElement("xdsb:DocumentResponse").CreateElement("xdsb:Document")
		resp.Attach(doc, "text/xml", []byte("<ClinicalDocument/>"), env.MTOM)
		Write(w, resp, env.MTOM)
	})

	req := httptest.NewRequest(http.MethodPost, ehdsi.PathXCA, strings.NewReader(
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header>`+
			`<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:ihe:iti:2007:CrossGatewayRetrieve</wsa:Action>`+
			`<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing">urn:uuid:1</wsa:MessageID>`+
			`</env:Header><env:Body><xdsb:RetrieveDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"/></env:Body></env:Envelope>`))
	req.Header.Set("Content-Type", "application/soap+xml; charset=UTF-8")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))

	req = httptest.NewRequest(http.MethodPost, ehdsi.PathXCA, strings.NewReader(`<!DOCTYPE x><x/>`))
	req.Header.Set("Content-Type", "application/soap+xml")
	rec = httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(rec.Code, strings.Contains(rec.Body.String(), "DTDs and entity declarations are not allowed"))
	// Output:
	// 200 application/soap+xml; action="urn:ihe:iti:2007:CrossGatewayRetrieveResponse"; charset=UTF-8
	// 400 true
}

// TestDocumentBytesAsEtree: DocumentBytes and ElementBytes write exactly
// what etree's WriteToBytes writes (indented or not, with a processing
// instruction, escaping), so swapping them in changes no byte on the wire,
// in an audit message or under a signature.
func TestDocumentBytesAsEtree(t *testing.T) {
	src := `<?xml version="1.0" encoding="UTF-8"?><a:r xmlns:a="urn:a" k="v &amp; &quot;q&quot;"><a:c>t &lt; u</a:c><!--c--><e/>x&#xD;y</a:r>`
	for _, indent := range []int{-1, 0, 4} {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(src); err != nil {
			t.Fatal(err)
		}
		if indent >= 0 {
			doc.Indent(indent)
		}
		want, err := doc.WriteToBytes()
		if err != nil {
			t.Fatal(err)
		}
		if got := DocumentBytes(doc, 0); !bytes.Equal(got, want) {
			t.Errorf("indent %d: DocumentBytes\n%s\nwant\n%s", indent, got, want)
		}
		el := doc.Root().SelectElement("c")
		alone := etree.NewDocument()
		alone.SetRoot(el.Copy())
		want, _ = alone.WriteToBytes()
		if got := ElementBytes(el); !bytes.Equal(got, want) {
			t.Errorf("indent %d: ElementBytes %s, want %s", indent, got, want)
		}
	}
}
