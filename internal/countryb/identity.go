package countryb

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
)

// TokenVerifier verifies the national identity provider's bearer tokens
// (*idtoken.Verifier).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*idtoken.Claims, error)
}

// Callers says which calling systems may act for which organisations: the
// subject common name of a system's TLS client certificate → the
// organisation ids (the token's organisation_id) its users may work for;
// "*" is any organisation. A system not listed may not call: a pharmacy
// package cannot act for a hospital.
type Callers map[string][]string

// LoadCallers reads Callers JSON ({"<certificate CN>": ["<org id>", …]})
// from a file, or from the value itself when it is a JSON object (the
// Lambda environment).
func LoadCallers(path string) (Callers, error) {
	b := []byte(strings.TrimSpace(path))
	if !strings.HasPrefix(string(b), "{") {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("API callers: %w", err)
		}
	}
	var c Callers
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("API callers: %s: %w", path, err)
	}
	return c, nil
}

// Allows reports whether system may act for organisation org.
func (c Callers) Allows(system, org string) bool {
	orgs, ok := c[system]
	return ok && org != "" && (slices.Contains(orgs, "*") || slices.Contains(orgs, org))
}

// principal is who a request acts for: the calling system (its TLS
// certificate) and the person (the verified token).
type principal struct {
	system string
	claims *idtoken.Claims
}

type principalKey struct{}

func principalFrom(ctx context.Context) (principal, bool) {
	p, ok := ctx.Value(principalKey{}).(principal)
	return p, ok && p.claims != nil
}

// identify checks the person behind a request whose system is already
// authenticated: a national identity token of a health professional with
// a known role, working for an organisation the system may act for. A
// refusal is audited and answered as JSON.
func (s *Service) identify(w http.ResponseWriter, r *http.Request, next http.Handler) {
	peer, _ := host.PeerFrom(r.Context())
	system := peer.Certs[0].Subject.CommonName
	refuse := func(c *idtoken.Claims, ae *APIError) {
		if ae.Status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", idtoken.Challenge)
		}
		s.auditRefusal(r.Context(), c, ae)
		s.writeError(w, r, ae)
	}
	if s.cfg.Tokens == nil {
		refuse(nil, &APIError{Status: 503, Code: "identity-provider-unconfigured", Message: "luxncp has no national identity provider configured; contact the operator"})
		return
	}
	c, err := s.cfg.Tokens.Verify(r.Context(), idtoken.Bearer(r.Header.Get("Authorization")))
	if err != nil {
		te := idtoken.AsError(err)
		refuse(nil, &APIError{Status: te.HTTPStatus(), Code: te.Code, Message: te.Message, Cause: te})
		return
	}
	switch {
	case !c.IsProfessional():
		refuse(c, &APIError{Status: 403, Code: "token-not-professional", Message: "the token does not name a health professional"})
		return
	case !knownRole(c.Role):
		refuse(c, &APIError{Status: 403, Code: "token-role", Message: "the professional's role (hcp_role) is not one luxncp can vouch for: physician, gp, specialist, nurse, midwife, dentist, pharmacist"})
		return
	case strings.TrimSpace(c.Name) == "" || strings.TrimSpace(c.Organisation) == "" || strings.TrimSpace(c.FacilityType) == "":
		refuse(c, &APIError{Status: 403, Code: "token-incomplete", Message: "the token lacks the professional's name, organisation or facility type"})
		return
	case !s.cfg.Callers.Allows(system, c.OrganisationID):
		refuse(c, &APIError{Status: 403, Code: "system-not-allowed", Message: "this calling system may not act for the professional's organisation"})
		return
	}
	next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, principal{system: system, claims: c})))
}

func knownRole(r string) bool {
	_, ok := wssec.Roles[strings.ToLower(r)]
	return ok
}

// professional is the professional an assertion is issued for: from the
// token, never from the body. body may repeat the token's values and adds
// the purpose of use; a body naming anyone or anything else is refused.
func (p principal) professional(body Professional) (ncpclient.Professional, error) {
	c := p.claims
	orgID := c.OrganisationID
	loc := c.Locality
	if loc == "" {
		loc = c.Organisation
	}
	prof := ncpclient.Professional{ID: c.HCPID, Name: c.Name, Role: strings.ToLower(c.Role), Organisation: c.Organisation,
		OrganisationID: orgID, FacilityType: c.FacilityType, Locality: loc, AuthnContext: c.AuthnContextClass()}
	for _, f := range []struct{ name, body, token string }{
		{"id", body.ID, prof.ID}, {"name", body.Name, prof.Name}, {"role", body.Role, prof.Role},
		{"organisation", body.Organisation, prof.Organisation}, {"organisationId", body.OrganisationID, prof.OrganisationID},
		{"facilityType", body.FacilityType, prof.FacilityType}, {"locality", body.Locality, prof.Locality},
	} {
		if b := strings.TrimSpace(f.body); b != "" && !strings.EqualFold(b, f.token) {
			return ncpclient.Professional{}, &APIError{Status: 403, Code: "professional-mismatch",
				Message: "professional." + f.name + " differs from the authenticated professional's token; leave it out or send the token's value"}
		}
	}
	purpose := strings.ToUpper(strings.TrimSpace(body.Purpose))
	if purpose == "" {
		purpose = "TREATMENT"
	}
	if purpose != "TREATMENT" && purpose != "EMERGENCY" {
		return ncpclient.Professional{}, badRequest("professional.purpose must be TREATMENT or EMERGENCY")
	}
	prof.Purpose = purpose
	return prof, nil
}

// auditRefusal records a refused API request as a failed HCP
// authentication (EHDSI-91): who the token said (when it verified), the
// luxncp code and the message.
func (s *Service) auditRefusal(ctx context.Context, c *idtoken.Claims, ae *APIError) {
	if s.cfg.Audit == nil {
		return
	}
	hcp := audit.HCP{ID: "unauthenticated", Issuer: "urn:idp:" + s.cfg.Identity.Country + ":countryB", Country: s.cfg.Identity.Country}
	if c != nil {
		hcp.ID, hcp.Name, hcp.Organisation, hcp.OrganisationID, hcp.FacilityType = c.HCPID, c.Name, c.Organisation, c.OrganisationID, c.FacilityType
		if hcp.ID == "" {
			hcp.ID = c.Subject
		}
		if role, ok := wssec.Roles[strings.ToLower(c.Role)]; ok {
			hcp.RoleCode, hcp.RoleDisplay, hcp.RoleSystem = role.Code, role.Display, role.System
		}
	}
	code := ehdsi.ErrHPIAuthenticationNotReceived
	switch ae.Code {
	case "token-no-mfa", "token-incomplete", "token-role", "token-not-professional":
		code = ehdsi.ErrHPIInsufficientInformation
	case "professional-mismatch", "system-not-allowed":
		code = ehdsi.ErrHPIGeneric
	}
	ev := audit.Event{Type: audit.EventHCPAssertion, Side: audit.SideB, Time: s.now(), HCP: hcp}
	ev.SetOutcome(ehdsi.Sender(code, ae.Code+": "+ae.Message, nil))
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log().ErrorContext(ctx, "audit write failed", "event", string(ev.Type), "error", err.Error())
	}
}
