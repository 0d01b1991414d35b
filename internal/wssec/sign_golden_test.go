package wssec

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// goldenSigner's "signature" is the digest it signs
// (testutil.FixedSigner): a signed element is a pure function of its input.
func goldenSigner() Signer {
	return Signer{Key: testutil.FixedSigner{}, Cert: testutil.FixedCert()}
}

// goldenTemplate is an assertion built elsewhere (Sign's input) with what
// exclusive c14n must handle: a comment, an unused and a redeclared
// namespace, a default namespace, attributes out of order, text to escape.
const goldenTemplate = `<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:unused="urn:x" Version="2.0" ID="_abc" IssueInstant="2026-11-24T10:00:00.000Z">` +
	`<saml:Issuer NameQualifier="urn:q">urn:idp:FR</saml:Issuer><!-- a comment -->` +
	`<saml:Subject xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:NameID b="2" a="1">x &amp; &lt;y&gt; "z"` + "\r\n\t" + `</saml:NameID></saml:Subject>` +
	`<Extra xmlns="urn:default" xmlns:u="urn:u" u:k="v &quot;q&quot;"><Inner/></Extra></saml:Assertion>`

// TestSignEnvelopedGolden: the assertions SignEnveloped signs (IssueHCP,
// IssueTRC, Sign over a template) are byte for byte what main's code wrote
// before SignEnveloped was sped up: each SHA-256 below was printed by this
// test at commit bd487bf (`go test ./internal/wssec -run
// TestSignEnvelopedGolden -v` logs them).
func TestSignEnvelopedGolden(t *testing.T) {
	want := map[string]string{
		"hcp":      "e16fae29a92c96d24a2b7588de1de861a0658a7819683b8ba1f035415528fe0a",
		"trc":      "cb4f6f7fab76c4c04a814dc1857cf81129c5a8203fe44ff171b285430143a02b",
		"template": "050438eb29ae7faac9ac4f462450fced3ca76e728ab274f5721dd597ae0b94f6",
	}
	s := goldenSigner()
	hcp, err := IssueHCP(func() HCPParams { p := hcpParams(); p.ID = "_hcp"; return p }(), s)
	if err != nil {
		t.Fatal(err)
	}
	trc, err := IssueTRC(TRCParams{ID: "_trc", Issuer: "urn:idp:FR:countryB", HCP: hcp,
		Patient: PatientID{Extension: "1990010112385", Root: "1.2.3"}, IssueInstant: t0}, s)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromString(goldenTemplate); err != nil {
		t.Fatal(err)
	}
	tpl := doc.Root()
	if err := Sign(tpl, s); err != nil {
		t.Fatal(err)
	}
	for name, el := range map[string]*etree.Element{"hcp": hcp, "trc": trc, "template": tpl} {
		b, err := Serialize(el)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(b)
		got := hex.EncodeToString(sum[:])
		t.Logf("%s: %s (%d bytes)", name, got, len(b))
		if got != want[name] {
			t.Errorf("%s: SHA-256 %s, want %s:\n%s", name, got, want[name], b)
		}
	}
}
