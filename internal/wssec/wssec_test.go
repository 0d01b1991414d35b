package wssec

import (
	"errors"
	dsig "github.com/russellhaering/goxmldsig"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/pki"
)

var (
	pkiOnce sync.Once
	pkiDir  string
	pkiErr  error
)

// testPKI generates one dev PKI per test binary (RSA key generation is slow).
func testPKI(t testing.TB) string {
	t.Helper()
	pkiOnce.Do(func() {
		pkiDir, pkiErr = os.MkdirTemp("", "wssec-pki")
		if pkiErr == nil {
			_, pkiErr = pki.EnsureDev(pkiDir, pki.DevOptions{Countries: []string{"fr", "de"}, Now: t0.Add(-24 * time.Hour)})
		}
	})
	if pkiErr != nil {
		t.Fatal(pkiErr)
	}
	return pkiDir
}

var t0 = time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)

func seal(t testing.TB, cc string) Signer {
	cred, err := pki.LoadCredential(testPKI(t), cc, pki.KindSeal)
	if err != nil {
		t.Fatal(err)
	}
	return Signer{Key: cred.Signer, Cert: cred.Cert}
}

func verifier(t testing.TB, now time.Time) *Verifier {
	trust, err := pki.LoadTrustStore(filepath.Join(testPKI(t), pki.TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	return &Verifier{Trust: trust, Now: func() time.Time { return now }}
}

func hcpParams() HCPParams {
	return HCPParams{
		Issuer: "urn:idp:FR:countryB", NameID: "pharm-42", Name: "Claire Martin",
		Role: Roles["pharmacist"], Organisation: "Pharmacie du Centre, Thionville", OrganisationID: "urn:oid:1.2.250.1.71.4.2.2.123",
		FacilityType: "Pharmacy", Locality: "Thionville", HomeCommunityID: "2.16.17.710.790.1000.990.1",
		Purpose: "TREATMENT", Permissions: []string{"PRD-006", "PRD-004", "PRD-010", "PPD-046"},
		IssueInstant: t0, Valid: time.Hour,
	}
}

func roundTrip(t testing.TB, el *etree.Element) *etree.Element {
	b, err := Serialize(el)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	return doc.Root()
}

func TestHCPRoundTrip(t *testing.T) {
	a, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := verifier(t, t0.Add(5*time.Minute)).VerifyHCP(roundTrip(t, a))
	if err != nil {
		t.Fatal(err)
	}
	if c.SignerCountry != "FR" || c.Role.Code != "2262" || c.Purpose != "TREATMENT" || !c.HasPermission("PRD-006") || c.Name != "Claire Martin" {
		t.Errorf("caller = %+v", c)
	}
	// The signature sits right after Issuer, as the SAML schema requires.
	kids := a.ChildElements()
	if kids[0].Tag != "Issuer" || kids[1].Tag != "Signature" {
		t.Errorf("children order: %s, %s", kids[0].Tag, kids[1].Tag)
	}
}

func TestHCPEmbeddedInEnvelope(t *testing.T) {
	a, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Serialize(a)
	env := `<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header><wsse:Security xmlns:wsse="` + NSWSSE + `">` + string(b) + `</wsse:Security></soap:Header><soap:Body/></soap:Envelope>`
	doc := etree.NewDocument()
	if err := doc.ReadFromString(env); err != nil {
		t.Fatal(err)
	}
	hcp, trc, err := FindAssertions(doc.FindElement("//Security"))
	if err != nil || hcp == nil || trc != nil {
		t.Fatalf("FindAssertions = %v, %v, %v", hcp, trc, err)
	}
	if _, err := verifier(t, t0).VerifyHCP(hcp); err != nil {
		t.Fatal(err)
	}
}

func TestHCPFaults(t *testing.T) {
	good := func(mod func(*HCPParams)) func(t *testing.T) *etree.Element {
		return func(t *testing.T) *etree.Element {
			p := hcpParams()
			if mod != nil {
				mod(&p)
			}
			a, err := IssueHCP(p, seal(t, "fr"))
			if err != nil {
				t.Fatal(err)
			}
			return roundTrip(t, a)
		}
	}
	tamper := func(mod func(a *etree.Element)) func(t *testing.T) *etree.Element {
		return func(t *testing.T) *etree.Element {
			a := good(nil)(t)
			mod(a)
			return a
		}
	}
	// resign changes a signed assertion and signs it again (with method).
	resign := func(method string, mod func(a *etree.Element)) func(t *testing.T) *etree.Element {
		return func(t *testing.T) *etree.Element {
			a := good(nil)(t)
			a.RemoveChild(a.FindElement("./Signature"))
			mod(a)
			s := seal(t, "fr")
			s.Method = method
			if err := Sign(a, s); err != nil {
				t.Fatal(err)
			}
			return roundTrip(t, a)
		}
	}
	cases := []struct {
		name string
		make func(t *testing.T) *etree.Element
		now  time.Time
		code ehdsi.Code
	}{
		{"re-signed as issued is fine", resign("", func(*etree.Element) {}), t0, ""},
		{"RSA-SHA1 signature", resign(dsig.RSASHA1SignatureMethod, func(*etree.Element) {}), t0, ehdsi.ErrSecDataIntegrityNotEnsured},
		{"IssueInstant older than the lifetime", resign("", func(a *etree.Element) {
			a.CreateAttr("IssueInstant", t0.Add(-5*time.Hour).Format(time.RFC3339))
		}), t0.Add(time.Minute), ehdsi.ErrNotValidAssertion},
		{"veterinarian (ISCO 2250)", good(func(p *HCPParams) { p.Role = Code{Code: "2250", System: ISCOSystem} }), t0, ehdsi.ErrInsufficientRights},
		{"missing", func(*testing.T) *etree.Element { return nil }, t0, ehdsi.ErrHPIAuthenticationNotReceived},
		{"expired", good(nil), t0.Add(2 * time.Hour), ehdsi.ErrNotValidAssertion},
		{"not yet valid", good(nil), t0.Add(-10 * time.Minute), ehdsi.ErrNotValidAssertion},
		{"within skew after expiry", good(nil), t0.Add(time.Hour + 30*time.Second), ""},
		{"lifetime over 4h", good(func(p *HCPParams) { p.Valid = 5 * time.Hour }), t0, ehdsi.ErrNotValidAssertion},
		{"role not health", good(func(p *HCPParams) { p.Role = Code{Code: "2411", System: ISCOSystem} }), t0, ehdsi.ErrInsufficientRights},
		{"purpose other", good(func(p *HCPParams) { p.Purpose = "RESEARCH" }), t0, ehdsi.ErrInsufficientRights},
		{"no facility", good(func(p *HCPParams) { p.FacilityType = "" }), t0, ehdsi.ErrHPIInsufficientInformation},
		{"no audience is fine", good(func(p *HCPParams) { p.NoAudience = true }), t0, ""},
		{"altered after signing", tamper(func(a *etree.Element) {
			a.FindElement(".//NameID").SetText("someone-else")
		}), t0, ehdsi.ErrSecDataIntegrityNotEnsured},
		{"signature removed", tamper(func(a *etree.Element) {
			a.RemoveChild(a.FindElement("./Signature"))
		}), t0, ehdsi.ErrSecDataIntegrityNotEnsured},
		{"wrapping: unsigned permission added", tamper(func(a *etree.Element) {
			st := a.FindElement("./AttributeStatement")
			at := st.CreateElement("saml:Attribute")
			at.CreateAttr("Name", AttrPermission)
			at.CreateElement("saml:AttributeValue").SetText(ehdsi.PermissionPrefix + "PRD-003")
		}), t0, ehdsi.ErrSecDataIntegrityNotEnsured},
		{"wrong qualifier", tamper(func(a *etree.Element) {
			a.FindElement("./Issuer").CreateAttr("NameQualifier", "urn:ehdsi:assertions:trc")
		}), t0, ehdsi.ErrSecDataIntegrityNotEnsured},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := verifier(t, tc.now).VerifyHCP(tc.make(t))
			if tc.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			var f *ehdsi.Fault
			if !errors.As(err, &f) {
				t.Fatalf("err = %v, want fault %s", err, tc.code)
			}
			if f.Code != tc.code {
				t.Errorf("code = %s (%s), want %s", f.Code, f.Error(), tc.code)
			}
		})
	}
}

func TestUntrustedSigner(t *testing.T) {
	other := t.TempDir()
	if _, err := pki.EnsureDev(other, pki.DevOptions{Countries: []string{"fr"}, Now: t0.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	cred, _ := pki.LoadCredential(other, "fr", pki.KindSeal)
	a, err := IssueHCP(hcpParams(), Signer{Key: cred.Signer, Cert: cred.Cert})
	if err != nil {
		t.Fatal(err)
	}
	_, err = verifier(t, t0).VerifyHCP(roundTrip(t, a))
	var f *ehdsi.Fault
	if !errors.As(err, &f) || f.Code != ehdsi.ErrSecDataIntegrityNotEnsured || !strings.Contains(f.Public, "not trusted") {
		t.Fatalf("err = %v", err)
	}
}

func TestTRC(t *testing.T) {
	hcp, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	v := verifier(t, t0)
	caller, err := v.VerifyHCP(roundTrip(t, hcp))
	if err != nil {
		t.Fatal(err)
	}
	pid := PatientID{Extension: "1990010112385", Root: ehdsi.OIDMatricule}
	trc, err := IssueTRC(TRCParams{Issuer: "urn:idp:FR:countryB", HCP: hcp, Patient: pid, IssueInstant: t0}, seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.VerifyTRC(roundTrip(t, trc), caller)
	if err != nil {
		t.Fatal(err)
	}
	if got.Patient != pid || got.HCPAssertionID != caller.AssertionID {
		t.Errorf("trc = %+v", got)
	}
	// A TRC for another HCP assertion is refused.
	other := *caller
	other.AssertionID = "_other"
	if _, err := v.VerifyTRC(roundTrip(t, trc), &other); err == nil {
		t.Error("TRC for another HCP assertion accepted")
	}
	// A TRC signed by another country is refused.
	trcDE, _ := IssueTRC(TRCParams{Issuer: "urn:idp:DE:countryB", HCP: hcp, Patient: pid, IssueInstant: t0}, seal(t, "de"))
	if _, err := v.VerifyTRC(roundTrip(t, trcDE), caller); err == nil {
		t.Error("TRC signed by DE accepted for a FR HCP")
	}
	// Lifetime above 2 h.
	trcLong, _ := IssueTRC(TRCParams{Issuer: "x", HCP: hcp, Patient: pid, IssueInstant: t0, Valid: 3 * time.Hour}, seal(t, "fr"))
	if _, err := v.VerifyTRC(roundTrip(t, trcLong), caller); err == nil {
		t.Error("TRC valid 3h accepted")
	}
}

func TestParseCX(t *testing.T) {
	for in, want := range map[string]PatientID{
		"0410009234^^^&1.2.208.176.1.2&ISO":  {"0410009234", "1.2.208.176.1.2"},
		" 1990010112385^^^&1.3.182.4.4&ISO ": {"1990010112385", "1.3.182.4.4"},
		"1990010112385":                      {Extension: "1990010112385"},
	} {
		if got := ParseCX(in); got != want {
			t.Errorf("ParseCX(%q) = %+v, want %+v", in, got, want)
		}
	}
}

// TestIndentedSignatureValue: partners' gateways wrap SignatureValue over
// indented lines; that whitespace is outside the signed content.
func TestIndentedSignatureValue(t *testing.T) {
	a, err := IssueHCP(hcpParams(), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	sv := a.FindElement("./Signature/SignatureValue")
	v := sv.Text()
	var wrapped strings.Builder
	for i := 0; i < len(v); i += 76 {
		wrapped.WriteString("\n                    ")
		wrapped.WriteString(v[i:min(i+76, len(v))])
		wrapped.WriteString("&#xD;")
	}
	sv.SetText(strings.ReplaceAll(wrapped.String(), "&#xD;", "\r"))
	if _, err := verifier(t, t0).VerifyHCP(roundTrip(t, a)); err != nil {
		t.Fatal(err)
	}
}

func TestSelfContained(t *testing.T) {
	cases := map[string]bool{
		`<a:A xmlns:a="urn:a"><a:B/></a:A>`:                                                                        true,
		`<E xmlns:a="urn:a"><a:A><a:B/></a:A></E>`:                                                                 false, // prefix from the envelope
		`<a:A xmlns:a="urn:a"><b:B xmlns:b="urn:b"/><b:C/></a:A>`:                                                  false, // sibling's declaration does not count
		`<a:A xmlns:a="urn:a" xmlns:xsi="urn:xsi"><a:V xsi:type="xs:string"/></a:A>`:                               false, // xs only in a value
		`<a:A xmlns:a="urn:a"><ec:InclusiveNamespaces xmlns:ec="urn:ec" PrefixList="xs"/></a:A>`:                   false,
		`<a:A xmlns:a="urn:a" xmlns:xs="urn:xs"><ec:InclusiveNamespaces xmlns:ec="urn:ec" PrefixList="xs"/></a:A>`: true,
		`<E xmlns="urn:e"><a:A xmlns:a="urn:a"><Role/></a:A></E>`:                                                  false, // default namespace from the envelope
	}
	for in, want := range cases {
		doc := etree.NewDocument()
		if err := doc.ReadFromString(in); err != nil {
			t.Fatal(err)
		}
		el := doc.Root()
		if el.Tag == "E" {
			el = el.ChildElements()[0]
		}
		if got := selfContained(el); got != want {
			t.Errorf("selfContained(%s) = %v, want %v", in, got, want)
		}
	}
}

// TestRolesAreOpenNCPs: as Country A luxncp accepts exactly OpenNCP's 13
// ISCO-08 roles (44 included, 2211/2212 and other 22xx/32xx not); as
// Country B it issues only roles from that list.
func TestRolesAreOpenNCPs(t *testing.T) {
	for _, c := range []struct {
		code string
		ok   bool
	}{{"221", true}, {"2262", true}, {"44", true}, {"3213", true}, {"2211", false}, {"2212", false}, {"3221", false}, {"2230", false}} {
		p := hcpParams()
		p.Role = Code{Code: c.code, System: ISCOSystem, SystemName: "ISCO", Display: "x"}
		a, err := IssueHCP(p, seal(t, "fr"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = verifier(t, t0.Add(5*time.Minute)).VerifyHCP(roundTrip(t, a))
		if (err == nil) != c.ok {
			t.Errorf("role %s: err %v, want accepted %v", c.code, err, c.ok)
		}
	}
	for name, r := range Roles {
		if got, ok := dialect.RoleOf(r.Code); !ok || got.Display != r.Display {
			t.Errorf("Roles[%q] = %+v: not in OpenNCP's list", name, r)
		}
	}
}
