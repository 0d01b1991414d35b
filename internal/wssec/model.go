package wssec

import (
	"crypto/x509"
	"strings"
	"time"
)

// XML namespaces and fixed values of eHDSI assertions.
const (
	NSSAML = "urn:oasis:names:tc:SAML:2.0:assertion"
	NSHL7  = "urn:hl7-org:v3"
	NSDSig = "http://www.w3.org/2000/09/xmldsig#"
	NSWSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"

	AttrHomeCommunity = "urn:ihe:iti:xca:2010:homeCommunityId"
	AttrSubjectID     = "urn:oasis:names:tc:xspa:1.0:subject:subject-id"
	AttrRole          = "urn:oasis:names:tc:xacml:2.0:subject:role"
	AttrOrganisation  = "urn:oasis:names:tc:xspa:1.0:subject:organization"
	AttrOrgID         = "urn:oasis:names:tc:xspa:1.0:subject:organization-id"
	AttrPurpose       = "urn:oasis:names:tc:xspa:1.0:subject:purposeofuse"
	AttrFacilityType  = "urn:ehdsi:names:subject:healthcare-facility-type"
	AttrLocality      = "urn:oasis:names:tc:xspa:1.0:environment:locality"
	AttrPermission    = "urn:oasis:names:tc:xspa:1.0:subject:hl7:permission"
	AttrNPI           = "urn:oasis:names:tc:xspa:1.0:subject:npi"

	AttrNameFormatURI = "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
	NameIDUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	SenderVouches     = "urn:oasis:names:tc:SAML:2.0:cm:sender-vouches"
	ISCOSystem        = "2.16.840.1.113883.2.9.6.2.7"
	PurposeSystem     = "3bc18518-d305-46c2-a8d6-94bd59856e9e"

	AuthnX509            = "urn:oasis:names:tc:SAML:2.0:ac:classes:X509"
	AuthnPreviousSession = "urn:oasis:names:tc:SAML:2.0:ac:classes:PreviousSession"
)

// Limits of the eHDSI assertion profile.
const (
	MaxHCPLifetime = 4 * time.Hour
	MaxTRCLifetime = 2 * time.Hour
	DefaultSkew    = 60 * time.Second
)

// Code is an HL7-style coded value (role, purpose of use).
type Code struct {
	Code, System, SystemName, Display string
}

// Caller is a verified HCP identity assertion: who asks, for what.
type Caller struct {
	AssertionID     string
	Issuer          string
	NameID          string // Subject/NameID: the professional's id
	Name            string // XSPA subject-id: the professional's name
	Role            Code   // ISCO-08
	Organisation    string
	OrganisationID  string
	FacilityType    string // Hospital, Resident Physician, Pharmacy, Other
	Locality        string
	HomeCommunityID string
	Purpose         string   // TREATMENT or EMERGENCY
	Permissions     []string // short codes: PRD-006, PPD-046, …
	AuthnContext    string
	NotBefore       time.Time
	NotOnOrAfter    time.Time
	// SignerCountry is the C= of the certificate that signed the assertion.
	SignerCountry string
	SignerCert    *x509.Certificate
}

// HasPermission reports whether the caller holds permission p (e.g. "PRD-006").
func (c *Caller) HasPermission(p string) bool {
	for _, have := range c.Permissions {
		if have == p {
			return true
		}
	}
	return false
}

// PatientID is an identifier with its assigning authority (OID).
type PatientID struct {
	Extension string
	Root      string
}

// String formats the id as HL7 v2 CX, the form TRC assertions carry:
// ext^^^&root&ISO.
func (p PatientID) String() string { return p.Extension + "^^^&" + p.Root + "&ISO" }

// ParseCX parses "ext^^^&root&ISO" (a bare "ext" yields an empty root).
func ParseCX(s string) PatientID {
	s = strings.TrimSpace(s)
	ext, rest, ok := strings.Cut(s, "^^^")
	if !ok {
		return PatientID{Extension: s}
	}
	rest = strings.TrimPrefix(rest, "&")
	root, _, _ := strings.Cut(rest, "&")
	return PatientID{Extension: ext, Root: root}
}

// TRC is a verified treatment relationship confirmation assertion.
type TRC struct {
	AssertionID    string
	HCPAssertionID string // Advice/AssertionIDRef
	Patient        PatientID
	Purpose        string
	NotBefore      time.Time
	NotOnOrAfter   time.Time
	SignerCountry  string
}
