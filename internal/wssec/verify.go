package wssec

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/pki"
)

// Verifier checks eHDSI assertions against a trust store of seal
// certificates (or their CAs) at the time its clock gives.
type Verifier struct {
	Trust *pki.TrustStore
	// Now returns the current time; nil means the system clock.
	Now func() time.Time
	// Skew tolerated on NotBefore / NotOnOrAfter; zero means DefaultSkew.
	Skew time.Duration
	// NoAssertionCache validates every assertion's XML signature in full,
	// on every request (verifiedCache off; LUXNCP_ASSERTION_CACHE=off).
	// The outcome is the same either way; the switch is for operators who
	// want the pre-cache behaviour or to rule the cache out.
	NoAssertionCache bool

	// signers caches seal certificates already parsed and chained to the
	// trust store (by SHA-256 of their DER), for cacheTTL: partners sign
	// every request with the same few certificates.
	signers sync.Map // [32]byte → signerEntry

	// verified caches successful signature validations by assertion
	// content (verifiedCache): a session's assertion is validated once.
	verified verifiedCache
}

type signerEntry struct {
	cert     *x509.Certificate
	country  string
	verified time.Time
	gen      uint64 // the trust list's generation it was verified against
}

const cacheTTL = 5 * time.Minute

// signer parses and verifies a seal certificate, through the cache.
func (v *Verifier) signer(der []byte, now time.Time) (*x509.Certificate, string, error) {
	key := sha256.Sum256(der)
	if e, ok := v.signers.Load(key); ok {
		se := e.(signerEntry)
		if se.gen == v.Trust.Generation() && now.Sub(se.verified) < cacheTTL && se.verified.Sub(now) < cacheTTL &&
			!now.Before(se.cert.NotBefore) && !now.After(se.cert.NotAfter) {
			return se.cert, se.country, nil
		}
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signing certificate cannot be parsed", err)
	}
	gen := v.Trust.Generation()
	country, err := v.Trust.Verify(cert, nil, now, pki.UseSeal)
	if err != nil {
		return nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signing certificate "+pki.Reason(err), err)
	}
	v.signers.Store(key, signerEntry{cert: cert, country: country, verified: now, gen: gen})
	return cert, country, nil
}

func (v *Verifier) now() time.Time {
	return clock.Or(v.Now)()
}

func (v *Verifier) skew() time.Duration {
	if v.Skew > 0 {
		return v.Skew
	}
	return DefaultSkew
}

// AcceptedUntil is the instant from which an assertion whose Conditions
// end at notOnOrAfter is refused as expired (the skew tolerated past it):
// how long a replay guard must remember a message sent under it.
func (v *Verifier) AcceptedUntil(notOnOrAfter time.Time) time.Time {
	return notOnOrAfter.Add(v.skew())
}

// Fault constructors for assertion failures. The public text names what is
// wrong without echoing values from the assertion.
func secFault(code ehdsi.Code, public string, cause error) *ehdsi.Fault {
	return ehdsi.Sender(code, public, cause)
}

// selfContained reports whether every namespace prefix used in el's
// subtree — element and attribute names, xsi:type values, and the prefixes
// an exclusive-c14n InclusiveNamespaces PrefixList asks for — and the
// default namespace are declared inside the subtree. That is the usual
// case, since partners sign an assertion standalone before embedding it;
// then el needs no detaching. When in doubt it answers false.
func selfContained(el *etree.Element) bool {
	var walk func(e *etree.Element, declared map[string]bool) bool
	walk = func(e *etree.Element, declared map[string]bool) bool {
		local, copied := declared, false
		for _, a := range e.Attr {
			if a.Space == "xmlns" || (a.Space == "" && a.Key == "xmlns") {
				if !copied {
					local = make(map[string]bool, len(declared)+2)
					for k := range declared {
						local[k] = true
					}
					copied = true
				}
				if a.Space == "xmlns" {
					local[a.Key] = true
				} else {
					local[""] = true
				}
			}
		}
		used := []string{e.Space}
		for _, a := range e.Attr {
			switch {
			case a.Space == "xmlns" || a.Space == "xml" || (a.Space == "" && a.Key == "xmlns"):
			case a.Space != "":
				used = append(used, a.Space)
				if a.Key == "type" {
					if p, _, ok := strings.Cut(a.Value, ":"); ok {
						used = append(used, p)
					}
				}
			}
		}
		if e.Tag == "InclusiveNamespaces" {
			for _, p := range strings.Fields(e.SelectAttrValue("PrefixList", "")) {
				if p == "#default" {
					p = ""
				}
				used = append(used, p)
			}
		}
		for _, p := range used {
			if !local[p] {
				return false
			}
		}
		for _, c := range e.ChildElements() {
			if !walk(c, local) {
				return false
			}
		}
		return true
	}
	return walk(el, map[string]bool{})
}

// verifySignature checks the enveloped signature of the assertion el (which
// may sit inside a larger document) and returns the verified element, read
// back from the canonical bytes that were digested, plus the signer.
func (v *Verifier) verifySignature(el *etree.Element) (*etree.Element, *x509.Certificate, string, error) {
	if v.Trust == nil {
		return nil, nil, "", secFault(ehdsi.ErrSecGeneric, "no trust store configured", errors.New("verifier without trust store"))
	}
	// The same assertion (same content, same namespace context) already
	// validated: only its certificate is checked again, at this time and
	// against the current trust list.
	gen, now := v.Trust.Generation(), v.now()
	var key [32]byte
	cacheable := false
	if !v.NoAssertionCache {
		var size int
		key, size = assertionKey(el)
		cacheable = size <= maxCachedAssertion
	}
	if cacheable {
		if e, ok := v.verified.get(key, gen, now); ok {
			cert, country, err := v.signer(e.der, now)
			if err != nil {
				return nil, nil, "", err
			}
			return e.a, cert, country, nil
		}
	}
	detached := el
	if !selfContained(el) {
		// The assertion uses namespaces declared by the envelope: copy it
		// with those declarations, as it was when it was signed.
		nsctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			return nil, nil, "", secFault(ehdsi.ErrNotValidAssertion, "assertion namespaces cannot be resolved", err)
		}
		if detached, err = etreeutils.NSDetatch(nsctx, el); err != nil {
			return nil, nil, "", secFault(ehdsi.ErrNotValidAssertion, "assertion namespaces cannot be resolved", err)
		}
	}
	// Exactly one signature, with exactly one certificate. Partners'
	// gateways indent SignatureValue (line breaks, spaces): it is outside
	// the signed content, so the copy we verify drops that whitespace.
	sigs := 0
	var certEl *etree.Element
	for _, c := range detached.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
			sigs++
			if sv := c.SelectElement("SignatureValue"); sv != nil {
				sv.SetText(strings.Join(strings.Fields(sv.Text()), ""))
			}
			for _, x := range c.FindElements(".//X509Certificate") {
				if certEl != nil {
					return nil, nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signature must carry exactly one certificate", nil)
				}
				certEl = x
			}
		}
	}
	if sigs != 1 {
		return nil, nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion must carry exactly one enveloped signature", fmt.Errorf("%d signatures", sigs))
	}
	if certEl == nil {
		return nil, nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signature carries no X.509 certificate", nil)
	}
	if err := checkAlgorithms(detached); err != nil {
		return nil, nil, "", err
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certEl.Text()), ""))
	if err != nil {
		return nil, nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signing certificate is not valid base64", err)
	}
	cert, country, err := v.signer(der, now)
	if err != nil {
		return nil, nil, "", err
	}
	// The certificate now is trusted: pin it for goxmldsig, which checks
	// the signature, the digest and that the reference points at el's ID.
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vctx.Clock = dsig.NewFakeClockAt(now)
	verified, err := vctx.Validate(detached)
	if err != nil {
		return nil, nil, "", secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signature is not valid", err)
	}
	if cacheable {
		v.verified.put(key, verifiedEntry{a: verified, der: der, gen: gen, at: now})
	}
	return verified, cert, country, nil
}

// Allowed XML-DSig algorithms: RSA and ECDSA with SHA-256 or stronger;
// SHA-1 is refused (signature and digest alike).
var (
	allowedSignature = map[string]bool{
		dsig.RSASHA256SignatureMethod: true, dsig.RSASHA384SignatureMethod: true, dsig.RSASHA512SignatureMethod: true,
		dsig.ECDSASHA256SignatureMethod: true, dsig.ECDSASHA384SignatureMethod: true, dsig.ECDSASHA512SignatureMethod: true,
	}
	allowedDigest = map[string]bool{
		"http://www.w3.org/2001/04/xmlenc#sha256":       true,
		"http://www.w3.org/2001/04/xmldsig-more#sha384": true,
		"http://www.w3.org/2001/04/xmlenc#sha512":       true,
	}
)

// checkAlgorithms refuses a signature whose SignatureMethod or any
// DigestMethod is not on the allow-list (the one Signature of el).
func checkAlgorithms(el *etree.Element) error {
	for _, c := range el.ChildElements() {
		if c.Tag != "Signature" || c.NamespaceURI() != NSDSig {
			continue
		}
		si := c.SelectElement("SignedInfo")
		if si == nil {
			return secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signature has no SignedInfo", nil)
		}
		sm := si.SelectElement("SignatureMethod")
		if sm == nil || !allowedSignature[sm.SelectAttrValue("Algorithm", "")] {
			return secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion signature algorithm is not allowed (RSA or ECDSA with SHA-256 or stronger)", nil)
		}
		for _, ref := range si.SelectElements("Reference") {
			dm := ref.SelectElement("DigestMethod")
			if dm == nil || !allowedDigest[dm.SelectAttrValue("Algorithm", "")] {
				return secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "assertion digest algorithm is not allowed (SHA-256 or stronger)", nil)
			}
		}
	}
	return nil
}

// child returns the first child element of el in the SAML namespace with
// the given local name.
func child(el *etree.Element, local string) *etree.Element {
	if el == nil {
		return nil
	}
	for _, c := range el.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == NSSAML {
			return c
		}
	}
	return nil
}

func text(el *etree.Element) string {
	if el == nil {
		return ""
	}
	return strings.TrimSpace(el.Text())
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", s)
}

// common holds what both assertion kinds check the same way.
type common struct {
	id, issuer, nameID, confirmation string
	notBefore, notOnOrAfter          time.Time
	attrs                            map[string][]*etree.Element // Attribute Name → AttributeValue elements
}

func (v *Verifier) checkCommon(a *etree.Element, qualifier string, maxLife time.Duration, invalid ehdsi.Code) (*common, error) {
	bad := func(public string, cause error) error { return secFault(invalid, public, cause) }
	if a.Tag != "Assertion" || a.NamespaceURI() != NSSAML {
		return nil, bad("not a SAML 2.0 assertion", nil)
	}
	if a.SelectAttrValue("Version", "") != "2.0" {
		return nil, bad("assertion Version must be 2.0", nil)
	}
	c := &common{id: a.SelectAttrValue("ID", ""), attrs: map[string][]*etree.Element{}}
	if c.id == "" {
		return nil, bad("assertion ID missing", nil)
	}
	now, skew := v.now(), v.skew()
	issue, err := parseTime(a.SelectAttrValue("IssueInstant", ""))
	if err != nil {
		return nil, bad("assertion IssueInstant missing or malformed", err)
	}
	if issue.After(now.Add(skew)) {
		return nil, bad("assertion issued in the future", nil)
	}
	if now.Sub(issue) > maxLife+skew {
		return nil, bad(fmt.Sprintf("assertion issued too long ago (IssueInstant older than its maximum lifetime, %s)", maxLife), fmt.Errorf("issued %s", issue.UTC().Format(time.RFC3339)))
	}
	iss := child(a, "Issuer")
	if iss == nil || text(iss) == "" {
		return nil, bad("assertion Issuer missing", nil)
	}
	if q := strings.TrimSpace(iss.SelectAttrValue("NameQualifier", "")); q != qualifier {
		return nil, bad("assertion Issuer NameQualifier must be "+qualifier, fmt.Errorf("got %q", q))
	}
	c.issuer = text(iss)
	sub := child(a, "Subject")
	if sub == nil || text(child(sub, "NameID")) == "" {
		return nil, bad("assertion Subject/NameID missing", nil)
	}
	c.nameID = text(child(sub, "NameID"))
	sc := child(sub, "SubjectConfirmation")
	if sc == nil {
		return nil, bad("assertion SubjectConfirmation missing", nil)
	}
	c.confirmation = strings.TrimSpace(sc.SelectAttrValue("Method", ""))
	cond := child(a, "Conditions")
	if cond == nil {
		return nil, bad("assertion Conditions missing", nil)
	}
	if c.notBefore, err = parseTime(cond.SelectAttrValue("NotBefore", "")); err != nil {
		return nil, bad("assertion Conditions/@NotBefore missing or malformed", err)
	}
	if c.notOnOrAfter, err = parseTime(cond.SelectAttrValue("NotOnOrAfter", "")); err != nil {
		return nil, bad("assertion Conditions/@NotOnOrAfter missing or malformed", err)
	}
	if now.Add(skew).Before(c.notBefore) {
		return nil, bad("assertion not yet valid (NotBefore)", nil)
	}
	if !now.Add(-skew).Before(c.notOnOrAfter) {
		return nil, bad("assertion expired (NotOnOrAfter)", nil)
	}
	if life := c.notOnOrAfter.Sub(c.notBefore); life > maxLife || life <= 0 {
		return nil, bad(fmt.Sprintf("assertion validity window must be positive and at most %s", maxLife), fmt.Errorf("window %s", life))
	}
	if ar := child(cond, "AudienceRestriction"); ar != nil {
		ok := false
		for _, au := range ar.ChildElements() {
			if au.Tag == "Audience" && text(au) == ehdsi.AudienceXBorder {
				ok = true
			}
		}
		if !ok {
			return nil, bad("assertion audience is not "+ehdsi.AudienceXBorder, nil)
		}
	}
	c.attrs = attributes(a)
	return c, nil
}

// attributes maps each Attribute Name of the assertion's AttributeStatement
// to its AttributeValue elements.
func attributes(a *etree.Element) map[string][]*etree.Element {
	attrs := map[string][]*etree.Element{}
	if st := child(a, "AttributeStatement"); st != nil {
		for _, at := range st.ChildElements() {
			if at.Tag != "Attribute" {
				continue
			}
			name := strings.TrimSpace(at.SelectAttrValue("Name", ""))
			for _, av := range at.ChildElements() {
				if av.Tag == "AttributeValue" {
					attrs[name] = append(attrs[name], av)
				}
			}
		}
	}
	return attrs
}

// TRCPatientAsSent reads the patient id (XSPA subject) of a TRC assertion
// element WITHOUT verifying it: only for the audit record of a request
// refused before its TRC assertion was verified, which names the patient
// as sent. Never a basis for access.
func TRCPatientAsSent(el *etree.Element) (PatientID, bool) {
	if el == nil || el.Tag != "Assertion" || el.NamespaceURI() != NSSAML {
		return PatientID{}, false
	}
	vs := attributes(el)[AttrSubjectID]
	if len(vs) == 0 {
		return PatientID{}, false
	}
	p := ParseCX(text(vs[0]))
	return p, p.Extension != ""
}

func (c *common) value(name string) string {
	if vs := c.attrs[name]; len(vs) > 0 {
		return text(vs[0])
	}
	return ""
}

func (c *common) code(name string) (Code, bool) {
	vs := c.attrs[name]
	if len(vs) == 0 {
		return Code{}, false
	}
	el := vs[0].ChildElements()
	if len(el) == 0 {
		// Some partners send the bare code as text.
		if t := text(vs[0]); t != "" {
			return Code{Code: t}, true
		}
		return Code{}, false
	}
	e := el[0]
	return Code{
		Code:       strings.TrimSpace(e.SelectAttrValue("code", "")),
		System:     strings.TrimSpace(e.SelectAttrValue("codeSystem", "")),
		SystemName: strings.TrimSpace(e.SelectAttrValue("codeSystemName", "")),
		Display:    strings.TrimSpace(e.SelectAttrValue("displayName", "")),
	}, true
}

// VerifyHCP verifies an HCP identity assertion and returns the caller.
func (v *Verifier) VerifyHCP(el *etree.Element) (*Caller, error) {
	if el == nil {
		return nil, secFault(ehdsi.ErrHPIAuthenticationNotReceived, "no HCP identity assertion in the WS-Security header", nil)
	}
	a, cert, country, err := v.verifySignature(el)
	if err != nil {
		return nil, err
	}
	c, err := v.checkCommon(a, ehdsi.AssertionHCPQualifier, MaxHCPLifetime, ehdsi.ErrNotValidAssertion)
	if err != nil {
		return nil, err
	}
	authn := child(a, "AuthnStatement")
	if authn == nil || text(child(child(authn, "AuthnContext"), "AuthnContextClassRef")) == "" {
		return nil, secFault(ehdsi.ErrHPIAuthenticationNotReceived, "HCP assertion has no AuthnStatement/AuthnContext", nil)
	}
	caller := &Caller{
		AssertionID:     c.id,
		Issuer:          c.issuer,
		NameID:          c.nameID,
		Name:            c.value(AttrSubjectID),
		Organisation:    c.value(AttrOrganisation),
		OrganisationID:  c.value(AttrOrgID),
		FacilityType:    c.value(AttrFacilityType),
		Locality:        c.value(AttrLocality),
		HomeCommunityID: c.value(AttrHomeCommunity),
		AuthnContext:    text(child(child(authn, "AuthnContext"), "AuthnContextClassRef")),
		NotBefore:       c.notBefore,
		NotOnOrAfter:    c.notOnOrAfter,
		SignerCountry:   country,
		SignerCert:      cert,
	}
	insufficient := func(what string) error {
		return secFault(ehdsi.ErrHPIInsufficientInformation, "HCP assertion lacks "+what, nil)
	}
	if caller.Name == "" {
		return nil, insufficient("the XSPA subject (professional's name)")
	}
	role, ok := c.code(AttrRole)
	if !ok || role.Code == "" {
		return nil, insufficient("the XSPA role")
	}
	if role.System != "" && role.System != ISCOSystem {
		return nil, secFault(ehdsi.ErrInsufficientRights, "HCP role must be an ISCO-08 code", fmt.Errorf("system %q", role.System))
	}
	if _, ok := dialect.RoleOf(role.Code); !ok {
		return nil, secFault(ehdsi.ErrInsufficientRights, "HCP role "+role.Code+" is not one of the ISCO-08 roles MyHealth@EU gateways accept (OpenNCP's XSPARole list)", nil)
	}
	caller.Role = role
	if caller.Organisation == "" && caller.OrganisationID == "" {
		return nil, secFault(ehdsi.ErrHPIInsufficientInformation, "HCP assertion lacks the organisation (XSPA organization or organization-id)", nil)
	}
	if caller.FacilityType == "" {
		return nil, insufficient("the healthcare facility type")
	}
	purpose, ok := c.code(AttrPurpose)
	if !ok {
		return nil, insufficient("the purpose of use")
	}
	caller.Purpose = strings.ToUpper(purpose.Code)
	if caller.Purpose != "TREATMENT" && caller.Purpose != "EMERGENCY" {
		return nil, secFault(ehdsi.ErrInsufficientRights, "purpose of use must be TREATMENT or EMERGENCY", nil)
	}
	for _, pv := range c.attrs[AttrPermission] {
		p := strings.TrimPrefix(text(pv), ehdsi.PermissionPrefix)
		if p != "" {
			caller.Permissions = append(caller.Permissions, p)
		}
	}
	if len(caller.Permissions) == 0 {
		return nil, insufficient("HL7 permissions")
	}
	return caller, nil
}

// VerifyTRC verifies a TRC assertion issued for the caller's HCP assertion.
func (v *Verifier) VerifyTRC(el *etree.Element, hcp *Caller) (*TRC, error) {
	if el == nil {
		return nil, secFault(ehdsi.ErrNotValidTRCAssertion, "no TRC assertion in the WS-Security header", nil)
	}
	a, _, country, err := v.verifySignature(el)
	if err != nil {
		return nil, err
	}
	c, err := v.checkCommon(a, ehdsi.AssertionTRCQualifier, MaxTRCLifetime, ehdsi.ErrNotValidTRCAssertion)
	if err != nil {
		return nil, err
	}
	bad := func(public string) error { return secFault(ehdsi.ErrNotValidTRCAssertion, public, nil) }
	if c.confirmation != SenderVouches {
		return nil, bad("TRC assertion must use the sender-vouches confirmation method")
	}
	adv := child(a, "Advice")
	ref := text(child(adv, "AssertionIDRef"))
	if ref == "" {
		return nil, bad("TRC assertion lacks Advice/AssertionIDRef")
	}
	if hcp != nil && ref != hcp.AssertionID {
		return nil, bad("TRC assertion does not refer to the HCP assertion of this request")
	}
	if hcp != nil && country != hcp.SignerCountry {
		return nil, secFault(ehdsi.ErrSecDataIntegrityNotEnsured, "TRC and HCP assertions are signed by different countries", nil)
	}
	pid := ParseCX(c.value(AttrSubjectID))
	if pid.Extension == "" {
		return nil, bad("TRC assertion lacks the patient id (XSPA subject)")
	}
	trc := &TRC{
		AssertionID: c.id, HCPAssertionID: ref, Patient: pid,
		NotBefore: c.notBefore, NotOnOrAfter: c.notOnOrAfter, SignerCountry: country,
	}
	if p, ok := c.code(AttrPurpose); ok {
		trc.Purpose = strings.ToUpper(p.Code)
		if trc.Purpose != "TREATMENT" && trc.Purpose != "EMERGENCY" {
			return nil, secFault(ehdsi.ErrInsufficientRights, "purpose of use must be TREATMENT or EMERGENCY", nil)
		}
	}
	return trc, nil
}

// FindAssertions returns the HCP and TRC assertions in a wsse:Security
// header element (nil when absent). More than one of a kind is an error.
func FindAssertions(sec *etree.Element) (hcp, trc *etree.Element, err error) {
	if sec == nil {
		return nil, nil, nil
	}
	for _, a := range sec.ChildElements() {
		if a.Tag != "Assertion" || a.NamespaceURI() != NSSAML {
			continue
		}
		q := ""
		for _, c := range a.ChildElements() {
			if c.Tag == "Issuer" {
				q = strings.TrimSpace(c.SelectAttrValue("NameQualifier", ""))
				break
			}
		}
		switch q {
		case ehdsi.AssertionHCPQualifier:
			if hcp != nil {
				return nil, nil, secFault(ehdsi.ErrNotValidAssertion, "more than one HCP assertion in the WS-Security header", nil)
			}
			hcp = a
		case ehdsi.AssertionTRCQualifier:
			if trc != nil {
				return nil, nil, secFault(ehdsi.ErrNotValidTRCAssertion, "more than one TRC assertion in the WS-Security header", nil)
			}
			trc = a
		}
	}
	return hcp, trc, nil
}
