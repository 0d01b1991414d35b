package countryb

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// claimsOf is a demo person's claims, adjusted.
func claimsOf(t *testing.T, kind, key string, adjust func(*idtoken.Claims)) idtoken.Claims {
	t.Helper()
	p, ok := idtoken.DemoPersonOf(kind, key)
	if !ok {
		t.Fatalf("no demo %s %q", kind, key)
	}
	c := p.Claims
	if adjust != nil {
		adjust(&c)
	}
	return c
}

// unsigned joins a header and claims with an empty or arbitrary signature.
func unsigned(t *testing.T, header map[string]any, c idtoken.Claims, sig []byte) string {
	t.Helper()
	h, _ := json.Marshal(header)
	b, _ := json.Marshal(c)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(b) + "." + enc(sig)
}

// TestIdentityRefusals attacks /api/v1/ over mutual TLS with a trusted
// Luxembourg client certificate and every kind of bad identity token: each
// is refused with its JSON error code, nothing reaches the foreign country,
// and the refusal is audited (EHDSI-91, failure, the code in the text).
func TestIdentityRefusals(t *testing.T) {
	e := newEnv(t, map[string]peer.Mode{"PT": peer.ModeNone})
	prof, _ := peer.Profile("PT")
	search := SearchRequest{Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: prof.Patients[0].ID}}}
	now := clock.Now()
	mint := func(c idtoken.Claims) string {
		tok, err := e.idp.Mint(c, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	weber := func(adjust func(*idtoken.Claims)) idtoken.Claims {
		return claimsOf(t, "professional", "lu-hcp-2001", adjust)
	}
	at := func(d time.Duration) *jwt.NumericDate { return jwt.NewNumericDate(now.Add(d)) }
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged, err := idtoken.Sign(weber(func(c *idtoken.Claims) {
		c.Issuer, c.Audience = e.idp.URL, jwt.Audience{idtoken.DevAudience}
		c.IssuedAt, c.Expiry = at(0), at(5*time.Minute)
	}),
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: otherKey, KeyID: e.idp.KeyID()}})
	if err != nil {
		t.Fatal(err)
	}
	unknownKid, _ := idtoken.Sign(weber(func(c *idtoken.Claims) {
		c.Issuer, c.Audience = e.idp.URL, jwt.Audience{idtoken.DevAudience}
		c.IssuedAt, c.Expiry = at(0), at(5*time.Minute)
	}),
		jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: otherKey, KeyID: "rotated-away"}})
	valid := weber(func(c *idtoken.Claims) {
		c.Issuer, c.Audience = e.idp.URL, jwt.Audience{idtoken.DevAudience}
		c.IssuedAt, c.Expiry = at(0), at(5*time.Minute)
	})
	noneTok := unsigned(t, map[string]any{"alg": "none", "typ": "JWT", "kid": e.idp.KeyID()}, valid, nil)
	// HS256 keyed with the issuer's public key (the classic key confusion).
	pub, _ := x509.MarshalPKIXPublicKey(e.idp.Signer().Public())
	hsTok, err := idtoken.Sign(valid, jose.SigningKey{Algorithm: jose.HS256, Key: jose.JSONWebKey{Key: pub, KeyID: e.idp.KeyID()}})
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsaTok, _ := idtoken.Sign(valid, jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: rsaKey, KeyID: e.idp.KeyID()}})
	cases := []struct {
		name   string
		token  string
		body   any
		status int
		code   string
	}{
		{"no token", "", search, 401, "token-missing"},
		{"not a JWT", "not.a.jwt", search, 401, "token-malformed"},
		{"expired", mint(weber(func(c *idtoken.Claims) {
			c.IssuedAt, c.NotBefore, c.Expiry = at(-2*time.Hour), at(-2*time.Hour), at(-time.Hour)
		})), search, 401, "token-expired"},
		{"not yet valid (nbf)", mint(weber(func(c *idtoken.Claims) { c.NotBefore, c.Expiry = at(time.Hour), at(2*time.Hour) })), search, 401, "token-not-yet-valid"},
		{"issued in the future (iat)", mint(weber(func(c *idtoken.Claims) {
			c.IssuedAt, c.NotBefore, c.Expiry = at(time.Hour), at(-time.Minute), at(2*time.Hour)
		})), search, 401, "token-not-yet-valid"},
		{"minted by an issuer whose clock is a year ahead", mint(weber(func(c *idtoken.Claims) {
			c.IssuedAt, c.NotBefore, c.Expiry = at(365*24*time.Hour), at(365*24*time.Hour), at(365*24*time.Hour+5*time.Minute)
		})), search, 401, "token-not-yet-valid"},
		{"another audience", mint(weber(func(c *idtoken.Claims) { c.Audience = jwt.Audience{"pharmacy-portal"} })), search, 401, "token-audience"},
		{"another issuer", mint(weber(func(c *idtoken.Claims) { c.Issuer = "https://idp.example.org" })), search, 401, "token-issuer"},
		{"forged signature (same kid, other key)", forged, search, 401, "token-signature"},
		{"RS256 by another key under the kid", rsaTok, search, 401, "token-signature"},
		{"unknown kid", unknownKid, search, 401, "token-unknown-key"},
		{"alg none", noneTok, search, 401, "token-malformed"},
		{"HS256 keyed with the public key", hsTok, search, 401, "token-malformed"},
		{"no multi-factor login", mint(claimsOf(t, "professional", "lu-hcp-2002", nil)), search, 401, "token-no-mfa"},
		{"a patient's token", mint(claimsOf(t, "patient", "1971011007114", nil)), search, 403, "token-not-professional"},
		{"unknown role", mint(weber(func(c *idtoken.Claims) { c.Role = "wizard" })), search, 403, "token-role"},
		{"token for A, body names B", e.token(t, "lu-hcp-2001"), SearchRequest{Professional: pharmacist(), Identifiers: search.Identifiers}, 403, "professional-mismatch"},
		{"token for A, body names A's id with another name", e.token(t, "lu-hcp-2001"),
			SearchRequest{Professional: Professional{ID: "lu-hcp-2001", Name: "Dr Someone Else"}, Identifiers: search.Identifiers}, 403, "professional-mismatch"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.audit.events)
			b, _ := json.Marshal(tc.body)
			st, h, out := e.postAs(t, "/api/v1/countries/PT/patients/search", tc.token, b)
			var ae apiErr
			if err := json.Unmarshal(out, &ae); err != nil || st != tc.status || ae.Error.Code != tc.code || ae.Error.Message == "" {
				t.Fatalf("got %d %s, want %d %s", st, out, tc.status, tc.code)
			}
			if st == 401 && !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge: %v", h)
			}
			for _, leak := range []string{"goroutine", ".go:", prof.Patients[0].ID, prof.Patients[0].Family} {
				if strings.Contains(string(out), leak) {
					t.Errorf("the refusal shows %q: %s", leak, out)
				}
			}
			e.audit.mu.Lock()
			evs := append([]audit.Event(nil), e.audit.events[before:]...)
			e.audit.mu.Unlock()
			if len(evs) != 1 || evs[0].Type != audit.EventHCPAssertion || evs[0].Outcome == audit.OutcomeSuccess ||
				!strings.HasPrefix(evs[0].ErrorText, tc.code+":") {
				t.Fatalf("audit %+v, want one refused EHDSI-91 naming %s", evs, tc.code)
			}
		})
	}
	if n := e.audit.count(audit.EventIdentification); n != 0 {
		t.Fatalf("%d identifications reached the country", n)
	}
}

// TestTokenWithLuxncpAYearAhead: an honest token, checked by a luxncp whose
// clock runs a year ahead, has expired.
func TestTokenWithLuxncpAYearAhead(t *testing.T) {
	ahead := func() time.Time { return clock.Now().Add(365 * 24 * time.Hour) }
	e := newEnvWith(t, map[string]peer.Mode{}, envOptions{config: func(c *Config) {
		c.Tokens.(*idtoken.Verifier).Now = ahead
	}})
	st, _, out := e.postAs(t, "/api/v1/countries/PT/patients/search", e.token(t, "lu-hcp-2001"), []byte(`{"family":"A","birthDate":"2000-01-01"}`))
	if st != 401 || !strings.Contains(string(out), `"token-expired"`) {
		t.Fatalf("got %d %s", st, out)
	}
}

// recordingRouter keeps the verified HCP assertion of every routed call.
type recordingRouter struct {
	Router
	hcps []*wssec.Caller
	t    *testing.T
}

func (r *recordingRouter) Do(ctx context.Context, call routing.Call) (*routing.Result, error) {
	c, err := (&wssec.Verifier{Trust: testkit.Trust(r.t)}).VerifyHCP(call.Request.Assertions[0])
	if err != nil {
		r.t.Errorf("luxncp's HCP assertion does not verify: %v", err)
	} else {
		r.hcps = append(r.hcps, c)
	}
	return r.Router.Do(ctx, call)
}

// TestAssertionFromToken: the HCP assertion luxncp signs names the
// professional of the token — id, name, role (ISCO-08), organisation,
// facility — and carries the token's authentication context, whatever the
// body leaves out.
func TestAssertionFromToken(t *testing.T) {
	var rec *recordingRouter
	e := newEnvWith(t, map[string]peer.Mode{"PT": peer.ModeNone}, envOptions{config: func(c *Config) {
		rec = &recordingRouter{Router: c.Router, t: t}
		c.Router = rec
	}})
	prof, _ := peer.Profile("PT")
	for _, tc := range []struct {
		id, authn, role string
	}{{"lu-hcp-2001", idtoken.AuthnSmartcardPKI, "221"}, {"lu-pharm-3001", idtoken.AuthnTimeSyncToken, "2262"}, {"lu-nurse-4001", idtoken.AuthnMobileTwoFactor, "2221"}} {
		body, _ := json.Marshal(SearchRequest{Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: prof.Patients[0].ID}}})
		st, _, out := e.postAs(t, "/api/v1/countries/PT/patients/search", e.token(t, tc.id), body)
		if st != 200 {
			t.Fatalf("%s: %d %s", tc.id, st, out)
		}
		want := claimsOf(t, "professional", tc.id, nil)
		got := rec.hcps[len(rec.hcps)-1]
		if got.NameID != want.HCPID || got.Name != want.Name || got.Role.Code != tc.role || got.Organisation != want.Organisation ||
			got.OrganisationID != want.OrganisationID || got.FacilityType != want.FacilityType || got.AuthnContext != tc.authn {
			t.Fatalf("%s: assertion %+v", tc.id, got)
		}
	}
}

// TestCallerMayActForItsOrganisations: a pharmacy's software (its own
// Luxembourg certificate) may act for its pharmacy, not for a hospital.
func TestCallerMayActForItsOrganisations(t *testing.T) {
	const pharmacySystem = "Pharmacie de la Gare — officine software"
	// Luxembourg's systems get their certificates from the national CA: the
	// client trust list names it for LU's TLS role.
	entries, err := pki.LoadTrustList(filepath.Join(testkit.PKIDir(t), pki.TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ReadCertificate(filepath.Join(testkit.PKIDir(t), pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	clients := pki.NewTrustStore(append(entries, pki.Entry{Country: "LU", Role: pki.RoleTLS, Cert: ca})...)
	e := newEnvWith(t, map[string]peer.Mode{"PT": peer.ModeNone}, envOptions{config: func(c *Config) {
		c.Callers = Callers{devSystem: {"*"}, pharmacySystem: {"urn:oid:1.3.182.4.2.3001"}}
		c.ClientTrust = clients
	}})
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{Time: clock.System(),
		RootCAs: testkit.Trust(t).Pool(), Certificates: []tls.Certificate{luClientCert(t, pharmacySystem)}}}}
	e.client = client
	prof, _ := peer.Profile("PT")
	body, _ := json.Marshal(SearchRequest{Identifiers: []Identifier{{Root: prof.PatientRoot, Extension: prof.Patients[0].ID}}})
	if st, _, out := e.postAs(t, "/api/v1/countries/PT/patients/search", e.token(t, "lu-pharm-3001"), body); st != 200 {
		t.Fatalf("pharmacist through the pharmacy's software: %d %s", st, out)
	}
	st, _, out := e.postAs(t, "/api/v1/countries/PT/patients/search", e.token(t, "lu-hcp-2001"), body)
	if st != 403 || !strings.Contains(string(out), `"system-not-allowed"`) {
		t.Fatalf("hospital physician through the pharmacy's software: %d %s", st, out)
	}
}

// luClientCert issues a Luxembourg TLS client certificate named cn by the
// test PKI's CA.
func luClientCert(t *testing.T, cn string) tls.Certificate {
	t.Helper()
	dir := testkit.PKIDir(t)
	ca, err := pki.ReadCertificate(filepath.Join(dir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	caKey, err := pki.ReadKey(filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn, Country: []string{"LU"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
