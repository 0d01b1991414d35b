package wssec

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// TestPartnerTemplateAccepted signs Denmark's HCP assertion template (as its
// NCPeH sends them to OpenNCP nodes) and checks luxncp accepts it unchanged:
// default-namespace Role, whitespace around values, no audience.
func TestPartnerTemplateAccepted(t *testing.T) {
	raw, err := os.ReadFile(testutil.Shared(t, "reference", "wire", "soap-samples", "headers", "HCP_assertion_XCPD_DK-template.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(
		"{{assertion-id}}", "_dk-template-1",
		"{{issue-instant}}", xsTime(t0),
		"{{not-before}}", xsTime(t0.Add(-time.Minute)),
		"{{not-on-or-after}}", xsTime(t0.Add(time.Hour)),
		"{{authn-instant}}", xsTime(t0),
	).Replace(string(raw))
	doc := etree.NewDocument()
	if err := doc.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	a := doc.Root()
	if err := sign(a, seal(t, "fr")); err != nil {
		t.Fatal(err)
	}
	c, err := verifier(t, t0).VerifyHCP(roundTrip(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if c.Organisation != "eHealth OpenNCP EU Portal" || c.OrganisationID != "urn:hl7ii:1.2.3.4:ABCD" || c.Role.Code != "221" || !c.HasPermission("PRD-006") {
		t.Errorf("caller = %+v", c)
	}
}

func xmlsec1(t *testing.T) string {
	p, err := exec.LookPath("xmlsec1")
	if err != nil {
		t.Fatal("xmlsec1 not installed: run scripts/install-test-tools (make test does)")
	}
	return p
}

// TestXmlsec1VerifiesOurAssertion: an independent implementation accepts
// what luxncp signs.
func TestXmlsec1VerifiesOurAssertion(t *testing.T) {
	bin := xmlsec1(t)
	a, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Serialize(a)
	f := filepath.Join(t.TempDir(), "hcp.xml")
	os.WriteFile(f, b, 0o644)
	out, err := exec.Command(bin, "--verify", "--enabled-reference-uris", "same-doc",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--trusted-pem", filepath.Join(testPKI(t), "ca.pem"),
		"--verification-time", t0.Format("2006-01-02 15:04:05"), f).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 rejected our assertion: %v\n%s", err, out)
	}
	// And rejects it once altered.
	os.WriteFile(f, []byte(strings.Replace(string(b), "Claire Martin", "Claire Martine", 1)), 0o644)
	if out, err := exec.Command(bin, "--verify", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"--trusted-pem", filepath.Join(testPKI(t), "ca.pem"), "--verification-time", t0.Format("2006-01-02 15:04:05"), f).CombinedOutput(); err == nil {
		t.Fatalf("xmlsec1 accepted an altered assertion:\n%s", out)
	}
}

// TestWeVerifyXmlsec1Assertion: luxncp accepts an assertion xmlsec1 signed.
func TestWeVerifyXmlsec1Assertion(t *testing.T) {
	bin := xmlsec1(t)
	a, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	// Turn our signature into an xmlsec1 template: empty digest and value.
	sig := a.FindElement("./Signature")
	sig.FindElement(".//DigestValue").SetText("")
	sig.FindElement("./SignatureValue").SetText("")
	x509data := sig.FindElement(".//X509Data")
	for _, c := range x509data.ChildElements() {
		x509data.RemoveChild(c)
	}
	b, _ := Serialize(a)
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "template.xml")
	out := filepath.Join(dir, "signed.xml")
	os.WriteFile(tmpl, b, 0o644)
	key := filepath.Join(testPKI(t), "fr-seal.key") + "," + filepath.Join(testPKI(t), "fr-seal.pem")
	if o, err := exec.Command(bin, "--sign", "--privkey-pem", key,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion", "--output", out, tmpl).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, o)
	}
	signed, _ := os.ReadFile(out)
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(signed); err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t, t0).VerifyHCP(doc.Root()); err != nil {
		t.Fatalf("luxncp rejected an xmlsec1-signed assertion: %v", err)
	}
}
