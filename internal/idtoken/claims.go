package idtoken

import (
	"slices"

	"github.com/go-jose/go-jose/v4/jwt"
)

// Claims are what luxncp reads from a verified token.
type Claims struct {
	jwt.Claims
	// AuthTime: when the person authenticated (OIDC auth_time).
	AuthTime *jwt.NumericDate `json:"auth_time,omitempty"`
	// ACR: the authentication context class the login met (e.g. the eIDAS
	// levels http://eidas.europa.eu/LoA/substantial and …/high).
	ACR string `json:"acr,omitempty"`
	// AMR: the authentication methods used (RFC 8176: pwd, otp, sms, hwk,
	// sc, swk, mfa …).
	AMR []string `json:"amr,omitempty"`
	// Name: the person's display name (OIDC name).
	Name string `json:"name,omitempty"`

	// HCPID: the health professional's national identifier (the
	// professional register, OID 1.3.182.4.1). Set for professionals only.
	HCPID string `json:"hcp_id,omitempty"`
	// Role: physician, gp, specialist, nurse, midwife, dentist, pharmacist
	// (mapped to ISCO-08 in the HCP assertion).
	Role string `json:"hcp_role,omitempty"`
	// Organisation, OrganisationID, FacilityType (Hospital, Resident
	// Physician, Pharmacy, Other) and Locality: where the professional
	// works today.
	Organisation   string `json:"organisation,omitempty"`
	OrganisationID string `json:"organisation_id,omitempty"`
	FacilityType   string `json:"facility_type,omitempty"`
	Locality       string `json:"locality,omitempty"`

	// Matricule: the citizen's national identification number. Set for
	// patients (the national portal's login) only.
	Matricule string `json:"matricule,omitempty"`
	// Roles: supervisory roles (RoleDataProtection).
	Roles []string `json:"roles,omitempty"`
}

// RoleDataProtection: the data-protection officer may read any patient's
// access log (and every such read is audited in that patient's log).
const RoleDataProtection = "data-protection-officer"

// Default authentication context classes counted as multi-factor: the
// eIDAS levels of assurance substantial and high.
const (
	ACRSubstantial = "http://eidas.europa.eu/LoA/substantial"
	ACRHigh        = "http://eidas.europa.eu/LoA/high"
	ACRLow         = "http://eidas.europa.eu/LoA/low"
)

// SAML 2.0 authentication context classes the HCP assertion carries.
const (
	AuthnSmartcardPKI    = "urn:oasis:names:tc:SAML:2.0:ac:classes:SmartcardPKI"
	AuthnMobileTwoFactor = "urn:oasis:names:tc:SAML:2.0:ac:classes:MobileTwoFactorContract"
	AuthnTimeSyncToken   = "urn:oasis:names:tc:SAML:2.0:ac:classes:TimeSyncToken"
)

// IsProfessional: the token names a health professional.
func (c *Claims) IsProfessional() bool { return c.HCPID != "" }

// HasRole reports whether the token carries the supervisory role r.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// multiFactor reports whether the login was multi-factor: an accepted acr,
// or amr "mfa", or two methods of different kinds (RFC 8176).
func (c *Claims) multiFactor(acrs []string) bool {
	if c.ACR != "" && slices.Contains(acrs, c.ACR) {
		return true
	}
	if slices.Contains(c.AMR, "mfa") {
		return true
	}
	kinds := map[string]bool{}
	for _, m := range c.AMR {
		if k, ok := factorKind[m]; ok {
			kinds[k] = true
		}
	}
	return len(kinds) >= 2
}

// factorKind: what each RFC 8176 method proves (knowledge, possession,
// inherence).
var factorKind = map[string]string{
	"pwd": "know", "pin": "know", "kba": "know",
	"otp": "have", "sms": "have", "tel": "have", "hwk": "have", "swk": "have", "sc": "have",
	"fpt": "are", "face": "are", "iris": "are", "retina": "are", "vbm": "are", "bio": "are",
}

// AuthnContextClass is the SAML AuthnContextClassRef the HCP assertion
// carries for this login: SmartcardPKI for a smartcard or hardware key
// (sc, hwk), TimeSyncToken for a one-time code (otp), else
// MobileTwoFactorContract (a verified multi-factor login by another means).
func (c *Claims) AuthnContextClass() string {
	switch {
	case slices.Contains(c.AMR, "sc"), slices.Contains(c.AMR, "hwk"):
		return AuthnSmartcardPKI
	case slices.Contains(c.AMR, "otp"):
		return AuthnTimeSyncToken
	}
	return AuthnMobileTwoFactor
}
