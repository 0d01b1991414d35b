package wssec

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/luxncp/luxncp/internal/dialect"
)

// HCPParams describe the health professional an HCP assertion vouches for.
type HCPParams struct {
	ID              string // assertion ID; generated when empty
	Issuer          string // e.g. urn:idp:FR:countryB
	NameID          string // professional id
	Name            string // professional name (XSPA subject-id)
	Role            Code
	Organisation    string
	OrganisationID  string
	FacilityType    string
	Locality        string
	HomeCommunityID string
	Purpose         string   // TREATMENT | EMERGENCY
	Permissions     []string // short codes
	AuthnContext    string   // default X509
	IssueInstant    time.Time
	Valid           time.Duration // NotOnOrAfter - IssueInstant; default 1h
	// NotBeforeSkew moves NotBefore back (default 1 minute), as partners do.
	NotBeforeSkew time.Duration
	// NoAudience leaves out the AudienceRestriction (some partners do).
	NoAudience bool
}

// TRCParams describe a treatment relationship confirmation.
type TRCParams struct {
	ID            string
	Issuer        string
	HCP           *etree.Element // the signed HCP assertion it refers to
	Patient       PatientID
	Purpose       string
	IssueInstant  time.Time
	Valid         time.Duration // default 1h
	NotBeforeSkew time.Duration
}

// Signer signs assertions with a seal credential (a file key or KMS).
type Signer struct {
	Key  crypto.Signer
	Cert *x509.Certificate
	// Method is the XML-DSig SignatureMethod ("": RSA-SHA256); tests use
	// others to see them refused.
	Method string
}

// NewID returns a fresh assertion or message id ("_" + 32 hex digits).
func NewID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return "_" + hex.EncodeToString(b[:])
}

// Roles luxncp's CLI and API know by name: ISCO-08 codes from OpenNCP's
// fixed list (dialect.Roles) only — an OpenNCP Country A refuses any other,
// so general practitioners and specialists are "Medical Doctors" (221).
var Roles = map[string]Code{
	"physician":  role("221"),
	"gp":         role("221"),
	"specialist": role("221"),
	"nurse":      role("2221"),
	"midwife":    role("2222"),
	"dentist":    role("2261"),
	"pharmacist": role("2262"),
}

func role(code string) Code {
	r, _ := dialect.RoleOf(code)
	return Code{Code: r.Code, System: ISCOSystem, SystemName: "ISCO", Display: r.Display}
}

func xsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

func newAssertion(id string, issue time.Time, qualifier, issuer string) (*etree.Element, error) {
	if id == "" {
		id = NewID()
	}
	if issue.IsZero() {
		return nil, errors.New("assertion: issue instant required")
	}
	a := etree.NewElement("saml:Assertion")
	a.CreateAttr("xmlns:saml", NSSAML)
	a.CreateAttr("ID", id)
	a.CreateAttr("IssueInstant", xsTime(issue))
	a.CreateAttr("Version", "2.0")
	iss := a.CreateElement("saml:Issuer")
	iss.CreateAttr("NameQualifier", qualifier)
	iss.SetText(issuer)
	return a, nil
}

func addConditions(a *etree.Element, issue time.Time, valid, skew time.Duration, audience bool) {
	if valid == 0 {
		valid = time.Hour
	}
	if skew == 0 {
		skew = time.Minute
	}
	c := a.CreateElement("saml:Conditions")
	c.CreateAttr("NotBefore", xsTime(issue.Add(-skew)))
	c.CreateAttr("NotOnOrAfter", xsTime(issue.Add(valid)))
	if audience {
		c.CreateElement("saml:AudienceRestriction").CreateElement("saml:Audience").SetText("urn:ehdsi:assertions.audience:x-border")
	}
}

func addAttr(st *etree.Element, friendly, name string, values ...string) *etree.Element {
	at := st.CreateElement("saml:Attribute")
	at.CreateAttr("FriendlyName", friendly)
	at.CreateAttr("Name", name)
	at.CreateAttr("NameFormat", AttrNameFormatURI)
	for _, v := range values {
		at.CreateElement("saml:AttributeValue").SetText(v)
	}
	return at
}

func addCodedAttr(st *etree.Element, friendly, name, tag string, c Code) {
	at := addAttr(st, friendly, name)
	el := at.CreateElement("saml:AttributeValue").CreateElement(tag)
	el.CreateAttr("xmlns", NSHL7)
	el.CreateAttr("code", c.Code)
	el.CreateAttr("codeSystem", c.System)
	if c.SystemName != "" {
		el.CreateAttr("codeSystemName", c.SystemName)
	}
	if c.Display != "" {
		el.CreateAttr("displayName", c.Display)
	}
}

func purposeCode(p string) Code {
	return Code{Code: p, System: PurposeSystem, SystemName: "eHDSI XSPA PurposeOfUse", Display: p}
}

// IssueHCP builds and signs an eHDSI HCP identity assertion.
func IssueHCP(p HCPParams, s Signer) (*etree.Element, error) {
	a, err := newAssertion(p.ID, p.IssueInstant, "urn:ehdsi:assertions:hcp", p.Issuer)
	if err != nil {
		return nil, err
	}
	sub := a.CreateElement("saml:Subject")
	nid := sub.CreateElement("saml:NameID")
	nid.CreateAttr("Format", NameIDUnspecified)
	nid.SetText(p.NameID)
	sub.CreateElement("saml:SubjectConfirmation").CreateAttr("Method", SenderVouches)
	addConditions(a, p.IssueInstant, p.Valid, p.NotBeforeSkew, !p.NoAudience)
	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", xsTime(p.IssueInstant))
	ac := p.AuthnContext
	if ac == "" {
		ac = AuthnX509
	}
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(ac)
	st := a.CreateElement("saml:AttributeStatement")
	if p.HomeCommunityID != "" {
		addAttr(st, "HCI Identifier", AttrHomeCommunity, p.HomeCommunityID)
	}
	addAttr(st, "XSPA Subject", AttrSubjectID, p.Name)
	addCodedAttr(st, "XSPA Role", AttrRole, "Role", p.Role)
	if p.Organisation != "" {
		addAttr(st, "XSPA Organization", AttrOrganisation, p.Organisation)
	}
	if p.OrganisationID != "" {
		addAttr(st, "XSPA Organization ID", AttrOrgID, p.OrganisationID)
	}
	addAttr(st, "eHealth DSI Healthcare Facility Type", AttrFacilityType, p.FacilityType)
	addCodedAttr(st, "XSPA Purpose Of Use", AttrPurpose, "PurposeOfUse", purposeCode(p.Purpose))
	if p.Locality != "" {
		addAttr(st, "XSPA Locality", AttrLocality, p.Locality)
	}
	perms := make([]string, len(p.Permissions))
	for i, pm := range p.Permissions {
		perms[i] = "urn:oasis:names:tc:xspa:1.0:subject:hl7:permission:" + pm
	}
	addAttr(st, "Hl7 Permissions", AttrPermission, perms...)
	if err := sign(a, s); err != nil {
		return nil, fmt.Errorf("sign HCP assertion: %w", err)
	}
	return a, nil
}

// IssueTRC builds and signs a TRC assertion for p.Patient, referring to p.HCP.
func IssueTRC(p TRCParams, s Signer) (*etree.Element, error) {
	if p.HCP == nil {
		return nil, errors.New("TRC assertion: HCP assertion required")
	}
	hcpID := p.HCP.SelectAttrValue("ID", "")
	nameID := ""
	if n := p.HCP.FindElement("./Subject/NameID"); n != nil {
		nameID = strings.TrimSpace(n.Text())
	}
	a, err := newAssertion(p.ID, p.IssueInstant, "urn:ehdsi:assertions:trc", p.Issuer)
	if err != nil {
		return nil, err
	}
	sub := a.CreateElement("saml:Subject")
	nid := sub.CreateElement("saml:NameID")
	nid.CreateAttr("Format", NameIDUnspecified)
	nid.SetText(nameID)
	sub.CreateElement("saml:SubjectConfirmation").CreateAttr("Method", SenderVouches)
	addConditions(a, p.IssueInstant, p.Valid, p.NotBeforeSkew, true)
	a.CreateElement("saml:Advice").CreateElement("saml:AssertionIDRef").SetText(hcpID)
	authn := a.CreateElement("saml:AuthnStatement")
	authn.CreateAttr("AuthnInstant", xsTime(p.IssueInstant))
	authn.CreateElement("saml:AuthnContext").CreateElement("saml:AuthnContextClassRef").SetText(AuthnPreviousSession)
	st := a.CreateElement("saml:AttributeStatement")
	addAttr(st, "XSPA Subject", AttrSubjectID, p.Patient.String())
	purpose := p.Purpose
	if purpose == "" {
		purpose = "TREATMENT"
	}
	addCodedAttr(st, "XSPA Purpose Of Use", AttrPurpose, "PurposeOfUse", purposeCode(purpose))
	if err := sign(a, s); err != nil {
		return nil, fmt.Errorf("sign TRC assertion: %w", err)
	}
	return a, nil
}

// sign inserts an enveloped RSA-SHA256 / exclusive-c14n signature right after
// Issuer, as the SAML schema requires.
func sign(a *etree.Element, s Signer) error { return SignEnveloped(a, s, 1) }

// SignEnveloped is luxncp's one builder of enveloped XML signatures: it
// signs el (URI="" or #ID when el has an ID attribute) with RSA-SHA256 and
// exclusive c14n under the seal s, and inserts the ds:Signature as el's
// child at index at (a negative index appends it, as schemas that put the
// Signature last want). The canonicaliser mutates what it digests, so it
// works on a copy (xml-signing.md, traps 1–3).
func SignEnveloped(el *etree.Element, s Signer, at int) error {
	if s.Key == nil || s.Cert == nil {
		return errors.New("no seal key or certificate")
	}
	ctx, err := dsig.NewSigningContext(s.Key, [][]byte{s.Cert.Raw})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = excC14N{}
	method := s.Method
	if method == "" {
		method = dsig.RSASHA256SignatureMethod
	}
	if err := ctx.SetSignatureMethod(method); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(el.Copy(), true)
	if err != nil {
		return err
	}
	if at < 0 {
		el.AddChild(sig)
	} else {
		el.InsertChildAt(at, sig)
	}
	return nil
}

// WriteExcC14N writes el in exclusive canonical form (XML-EXC-C14N 1.0, no
// comments, no inclusive prefixes) as goxmldsig's canonicaliser computes
// it: the same transform (etreeutils.TransformExcC14n), applied to el in
// place — pass an element of your own (a copy, a detached subtree) — and
// the same serialisation settings, written straight into w, without the
// canonicaliser's further copy of the element and its own buffer.
func WriteExcC14N(w etree.Writer, el *etree.Element) error {
	if err := etreeutils.TransformExcC14n(el, "", false); err != nil {
		return err
	}
	// goxmldsig's canonicalSerialize settings.
	settings := etree.WriteSettings{CanonicalAttrVal: true, CanonicalEndTags: true, CanonicalText: true}
	el.WriteTo(w, &settings)
	return nil
}

// excC14N is SignEnveloped's canonicaliser: goxmldsig's exclusive one
// (MakeC14N10ExclusiveCanonicalizerWithPrefixList("")), byte for byte
// (TestSignEnvelopedGolden), through WriteExcC14N. goxmldsig hands it only
// elements it owns (the signed element's copy, the detached SignedInfo),
// which its own canonicaliser transforms in place as well.
type excC14N struct{}

func (excC14N) Algorithm() dsig.AlgorithmID { return dsig.CanonicalXML10ExclusiveAlgorithmId }

func (excC14N) Canonicalize(el *etree.Element) ([]byte, error) {
	var b bytes.Buffer
	b.Grow(2 << 10)
	if err := WriteExcC14N(&b, el); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Serialize writes an element as compact XML, exactly once, as signed.
func Serialize(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	doc.WriteSettings.CanonicalEndTags = false
	return doc.WriteToBytes()
}

// Sign signs an assertion built elsewhere (a partner's template, a test
// variant) the way IssueHCP and IssueTRC sign: enveloped, RSA-SHA256,
// exclusive c14n, the Signature right after Issuer. The assertion must
// have an ID attribute and Issuer as its first child.
func Sign(a *etree.Element, s Signer) error { return sign(a, s) }
