package soap

import (
	"bytes"
	"net/http"
	"regexp"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// xcpdSignedRequest is the DK XCPD envelope carrying the captured, signed
// DK HCP assertion: a typical XCPD request.
func xcpdSignedRequest(b testing.TB) []byte {
	hdr := readShared(b, "headers/XCA_query_header_HCP-TRC_DK-captured.xml")
	assertion := regexp.MustCompile(`(?s)<saml2:Assertion .*?</saml2:Assertion>`).Find(hdr)
	tmpl := readShared(b, "xcpd/request/XCPD_request_envelope_DK-template.xml")
	tmpl = bytes.Replace(tmpl, []byte("{{hcp-assertion|safe}}"), assertion, 1)
	return bytes.Replace(tmpl, []byte("{{message-id}}"), []byte("urn:uuid:0b5e2f2a-9c1e-4a53-8c6a-6a1c1f0d2e11"), 1)
}

func BenchmarkReadXCPD(b *testing.B) {
	data := xcpdSignedRequest(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
		r.Header.Set("Content-Type", ctPlain)
		if _, err := Read(r, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEtreeParseXCPD is the floor Read is compared with: etree
// parsing the same bytes with no checks and no HTTP.
func BenchmarkEtreeParseXCPD(b *testing.B) {
	data := xcpdSignedRequest(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil {
			b.Fatal(err)
		}
	}
}

// discard is a ResponseWriter that keeps nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func benchmarkWrite(b *testing.B, mtom bool) {
	doc := bytes.Repeat([]byte("<entry>synthetic pivot CDA content</entry>\n"), 100<<10/44)
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	w := &discard{h: http.Header{}}
	for b.Loop() {
		resp := retrieveResponse(mtom, doc)
		if err := (Writer{}).Write(w, resp, mtom); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteMTOM100K(b *testing.B)  { benchmarkWrite(b, true) }
func BenchmarkWritePlain100K(b *testing.B) { benchmarkWrite(b, false) }

func TestXCPDBenchInput(t *testing.T) {
	data := xcpdSignedRequest(t)
	r, _ := http.NewRequest(http.MethodPost, "/", bytes.NewReader(data))
	r.Header.Set("Content-Type", ctPlain)
	env, err := Read(r, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if env.Action != ehdsi.ActionXCPD || len(env.Security.ChildElements()) != 1 {
		t.Errorf("%q %d", env.Action, len(env.Security.ChildElements()))
	}
	t.Logf("typical XCPD request: %d bytes", len(data))
}
