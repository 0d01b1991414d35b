package countryb

import (
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/soap"
)

func cdaRoot(t *testing.T, inner string) string {
	t.Helper()
	return `<ClinicalDocument xmlns="urn:hl7-org:v3">` + inner + `</ClinicalDocument>`
}

func TestDocumentChecks(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	doc := func(inner string) *etree.Document {
		d, err := soap.ParseDocument([]byte(cdaRoot(t, inner)), soap.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for _, tc := range []struct{ name, inner, want string }{
		{"today", `<effectiveTime value="20260301"/>`, ""},
		{"with time and zone", `<effectiveTime value="20260301101500+0100"/>`, ""},
		{"tomorrow within skew", `<effectiveTime value="20260302"/>`, ""},
		{"future", `<effectiveTime value="20270101"/>`, "in the future"},
		{"ancient", `<effectiveTime value="18500101"/>`, "implausibly long ago"},
		{"not a date", `<effectiveTime value="2026-03-01"/>`, "is not a date"},
		{"garbage", `<effectiveTime value="20261399"/>`, "is not a date"},
	} {
		note, _ := implausibleDate(doc(tc.inner).Root(), now)
		got := ""
		if note.Key != "" {
			got = note.Text("en")
		}
		if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		id, asked string
		same      bool
	}{
		{`<id root="1.2.3"/>`, "1.2.3", true},
		{`<id root="1.2.3" extension="9"/>`, "1.2.3^9", true},
		{`<id root="1.2.3" extension="9"/>`, "9", true},
		{`<id root="1.2.3" extension="9"/>`, "1.2.3", false},
		{`<id root="1.2.3"/>`, "1.2.4", false},
		{``, "1.2.3", false},
	} {
		if got := sameDocument(doc(tc.id).Root(), tc.asked); got != tc.same {
			t.Errorf("sameDocument(%s, %s) = %v", tc.id, tc.asked, got)
		}
	}
	for _, tc := range []struct {
		inner  string
		active string
	}{
		{`<text><paragraph>fine</paragraph></text>`, ""},
		{`<text><h:p xmlns:h="http://www.w3.org/1999/xhtml">x</h:p></text>`, "XHTML"},
		{`<s:svg xmlns:s="http://www.w3.org/2000/svg"/>`, "SVG"},
		{`<text><script>x</script></text>`, "script"},
		{`<linkHtml xmlns:xl="http://www.w3.org/1999/xlink" xl:href="javascript:x"/>`, "XLink"},
		{`<text xml:base="https://attacker.example/"/>`, "xml:base"},
		{`<x:include xmlns:x="http://www.w3.org/2001/XInclude" href="file:///etc/passwd"/>`, "XInclude"},
	} {
		err := activeContent(doc(tc.inner))
		if (tc.active == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.active) {
			t.Errorf("activeContent(%s) = %v, want %q", tc.inner, err, tc.active)
		}
	}
	if strayedSignature(doc(`<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/>`).Root()) {
		t.Error("a root signature is not stray")
	}
	if !strayedSignature(doc(`<component><x><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/></x></component>`).Root()) {
		t.Error("a nested signature is stray")
	}
}
