package node_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/countryb"
	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// TestAccessLogIdentity attacks the patient access log over mutual TLS with
// a trusted Luxembourg certificate: only the patient's own token (or a
// data-protection officer's) reads it, every bad token is refused with a
// JSON error, and every read and refusal is in the patient's own log.
func TestAccessLogIdentity(t *testing.T) {
	g := start(t)
	const thomas, paul = "1971011007114", "1962031411774"
	mint := func(kind, key string, adjust func(*idtoken.Claims)) string {
		p, _ := idtoken.DemoPersonOf(kind, key)
		c := p.Claims
		if adjust != nil {
			adjust(&c)
		}
		tok, err := g.idp.Mint(c, 5*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := clock.Now()
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, _ := idtoken.DemoPersonOf("patient", thomas)
	fc := p.Claims
	fc.Issuer, fc.Audience, fc.IssuedAt, fc.Expiry = g.idp.URL, jwt.Audience{idtoken.DevAudience}, jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Minute))
	forged, _ := idtoken.Sign(fc, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: otherKey, KeyID: g.idp.KeyID()}})

	for _, tc := range []struct {
		name, patient, token string
		status               int
	}{
		{"no token", thomas, "", 401},
		{"expired", thomas, mint("patient", thomas, func(c *idtoken.Claims) {
			c.IssuedAt, c.NotBefore, c.Expiry = jwt.NewNumericDate(now.Add(-2*time.Hour)), nil, jwt.NewNumericDate(now.Add(-time.Hour))
		}), 401},
		{"another audience", thomas, mint("patient", thomas, func(c *idtoken.Claims) { c.Audience = jwt.Audience{"someone-else"} }), 401},
		{"forged signature", thomas, forged, 401},
		{"no second factor", thomas, mint("patient", thomas, func(c *idtoken.Claims) { c.ACR, c.AMR = idtoken.ACRLow, []string{"pwd"} }), 401},
		{"another patient's log", paul, mint("patient", thomas, nil), 403},
		{"a professional", thomas, mint("professional", "lu-hcp-2001", nil), 403},
		{"own log", thomas, mint("patient", thomas, nil), 200},
		{"own log, matricule with separators", thomas, mint("patient", thomas, func(c *idtoken.Claims) { c.Matricule = "1971 0110 07114" }), 200},
		{"data-protection officer", paul, mint("supervisor", "lu-dpo-0001", nil), 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := accessLogAs(t, g, tc.patient, tc.token, "")
			if code != tc.status {
				t.Fatalf("HTTP %d, want %d", code, tc.status)
			}
		})
	}
	// The refusal's body is a JSON error, without data.
	req, _ := http.NewRequest(http.MethodGet, g.url+"/api/v1/audit/patients/"+paul, nil)
	req.Header.Set("Authorization", "Bearer "+mint("patient", thomas, nil))
	res, err := testkit.Client(t, "lu").HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	res.Body.Close()
	if res.StatusCode != 403 || body.Error.Code != "not-your-log" || body.Error.Message == "" {
		t.Fatalf("refusal: %d %+v", res.StatusCode, body)
	}

	// Paul's log (read by the DPO) shows the refused reads by Thomas and
	// the DPO's own read; Thomas's, in French, shows his reads and the
	// unauthenticated attempts.
	code, log := accessLogAs(t, g, paul, mint("supervisor", "lu-dpo-0001", nil), "de")
	reads := map[string]int{}
	for _, a := range log.Accesses {
		if a.Event == audit.EventAccessLogRead {
			reads[a.Role+"|"+a.Outcome]++
		}
	}
	if code != 200 || log.Lang != "de" || reads["patient|abgelehnt oder fehlgeschlagen"] != 2 || reads["data-protection officer|erfolgreich"] != 2 {
		t.Fatalf("Paul's log: %d %+v", code, reads)
	}
	code, log = accessLogAs(t, g, thomas, mint("patient", thomas, nil), "fr-LU,fr;q=0.9")
	reads = map[string]int{}
	for _, a := range log.Accesses {
		if a.Event == audit.EventAccessLogRead {
			reads[a.What+"|"+a.Role+"|"+a.Outcome]++
		}
	}
	if code != 200 || log.Lang != "fr" || reads["a lu ce journal des accès|patient|réussi"] != 3 || reads["a lu ce journal des accès||refusé ou échoué"] != 5 {
		t.Fatalf("Thomas's log: %d %+v", code, reads)
	}
}

// TestIdentityConfigFromLambdaEnvironment: the API function reads the
// issuer, audience, MFA classes and the callers (inline JSON, as Terraform
// sets them) from its environment, and with them refuses a token of
// another issuer and serves the issuer's own.
func TestIdentityConfigFromLambdaEnvironment(t *testing.T) {
	idp, issuer := startIDP(t)
	cfg, err := node.ConfigFromEnv(envOf(map[string]string{"LUXNCP_ID_ISSUER": issuer, "LUXNCP_ID_AUDIENCE": "luxncp-prod",
		"LUXNCP_ID_ACR": "urn:lu:acr:mfa, " + idtoken.ACRHigh, "LUXNCP_API_CALLERS": `{"ehr.chem.example.lu":["urn:oid:1.3.182.4.2.1001"]}`,
		"LUXNCP_STATE_DIR": t.TempDir(), "LUXNCP_TRUST_BUNDLE": filepath.Join(testkit.PKIDir(t), pki.TrustDir)}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.IDIssuer != issuer || cfg.IDAudience != "luxncp-prod" || len(cfg.IDACR) != 2 || cfg.IDACR[0] != "urn:lu:acr:mfa" {
		t.Fatalf("config %+v", cfg)
	}
	callers, err := countryb.LoadCallers(cfg.APICallers)
	if err != nil || !callers.Allows("ehr.chem.example.lu", "urn:oid:1.3.182.4.2.1001") || callers.Allows("ehr.chem.example.lu", "urn:oid:1.3.182.4.2.3001") {
		t.Fatalf("callers %v %v", callers, err)
	}
	n, err := node.New(cfg, quietLog(), node.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	p, _ := idtoken.DemoPersonOf("patient", "1971011007114")
	c := p.Claims
	c.Audience = jwt.Audience{"luxncp-prod"}
	tok, _ := idp.Mint(c, time.Minute)
	if _, err := n.Tokens.Verify(context.Background(), tok); err != nil {
		t.Fatalf("the issuer's own token: %v", err)
	}
	other, _ := idtoken.NewDevIssuer("https://idp.example.org")
	tok, _ = other.Mint(c, time.Minute)
	if _, err := n.Tokens.Verify(context.Background(), tok); err == nil {
		t.Fatal("a token of another issuer verified")
	}
}
