package node_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

// partner is a foreign NCP as a test makes it: a TLS credential and a seal.
type partner struct {
	country string
	tls     *pki.Credential
	seal    wssec.Signer
	role    string // ISCO code of the professional ("": physician)
}

// xcpd sends an XCPD query as the partner and returns the fault (nil when
// served).
func (p partner) xcpd(t *testing.T, url string) *ehdsi.Fault {
	t.Helper()
	id := &ncpclient.Identity{Country: p.country, Seal: p.seal}
	params, err := id.HCPParams(ncpclient.DemoProfessional(p.country, "physician"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if p.role != "" {
		params.Role = wssec.Code{Code: p.role, System: wssec.ISCOSystem}
	}
	hcp, err := wssec.IssueHCP(params, p.seal)
	if err != nil {
		t.Fatal(err)
	}
	hc := ncpclient.NewMTLSClient(p.tls.TLSCertificate(), testkit.CAPool(t), 30*time.Second)
	c := &ncpclient.Client{HTTP: hc}
	rep, err := c.Call(context.Background(), ncpclient.Request{URL: url + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{hcp},
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU, PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule})})
	if err != nil {
		t.Fatal(err)
	}
	return rep.Fault
}

func devSeal(t *testing.T, cc string) wssec.Signer {
	c := testkit.Credential(t, cc, pki.KindSeal)
	return wssec.Signer{Key: c.Signer, Cert: c.Cert}
}

// writeTrust writes a trust-list folder: the dev list plus entries.
func writeTrust(t *testing.T, dir string, extra ...pki.Entry) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dev.pem"), pki.FormatTrustList(testkit.Trust(t).Entries()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "partners.pem"), pki.FormatTrustList(extra), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPartnerTrustOverTheWire: the Country A edge as a foreign NCP sees it,
// with certificates and CAs made now: each refusal says its real cause.
func TestPartnerTrustOverTheWire(t *testing.T) {
	tlsEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	deCA := testkit.NewCA(t, testkit.Cert{CN: "DE NCP CA", Country: "DE"})
	deSub := deCA.Intermediate(t, testkit.Cert{CN: "DE NCP issuing CA", Country: "DE"})
	// Denmark publishes a self-signed TLS certificate without EKU.
	dkTLS := testkit.SelfSigned(t, testkit.Cert{CN: "ncpeh-test.dk", Country: "DK", RSABits: 2048})
	dkSeal := testkit.SelfSigned(t, testkit.Cert{CN: "ncpeh-seal.dk", Country: "DK", RSABits: 2048, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment})
	dir := filepath.Join(t.TempDir(), "trust")
	writeTrust(t, dir,
		pki.Entry{Country: "DE", Role: pki.RoleTLS, Cert: deCA.Cert},
		pki.Entry{Country: "DK", Role: pki.RoleTLS, Cert: dkTLS.Cert},
		pki.Entry{Country: "DK", Role: pki.RoleSeal, Cert: dkSeal.Cert},
	)
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.TrustBundle = dir }, nil)

	frTLS := testkit.Credential(t, "fr", pki.KindTLS)
	frSeal := devSeal(t, "fr")
	sha1 := devSeal(t, "fr")
	sha1.Method = dsig.RSASHA1SignatureMethod
	cases := []struct {
		name   string
		p      partner
		code   ehdsi.Code
		public string // in the fault's public text
	}{
		{"France, dev certificates", partner{country: "FR", tls: frTLS, seal: frSeal}, "", ""},
		{"Denmark: self-signed TLS without EKU, listed for TLS", partner{country: "DK", tls: dkTLS, seal: wssec.Signer{Key: dkSeal.Signer, Cert: dkSeal.Cert}}, "", ""},
		{"C=FR under Germany's intermediate", partner{country: "FR", tls: deSub.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), seal: frSeal},
			ehdsi.ErrSecGeneric, "does not belong to the country of its trust-list entry"},
		{"France's TLS key as seal", partner{country: "FR", tls: frTLS, seal: wssec.Signer{Key: frTLS.Signer, Cert: frTLS.Cert, Method: dsig.ECDSASHA256SignatureMethod}},
			ehdsi.ErrSecDataIntegrityNotEnsured, "not trusted for this role"},
		{"France's seal as TLS certificate", partner{country: "FR", tls: testkit.Credential(t, "fr", pki.KindSeal), seal: frSeal},
			ehdsi.ErrSecGeneric, "not trusted for this role"},
		{"RSA-SHA1 assertion signature", partner{country: "FR", tls: frTLS, seal: sha1}, ehdsi.ErrSecDataIntegrityNotEnsured, "algorithm is not allowed"},
		{"veterinarian (ISCO 2250)", partner{country: "FR", tls: frTLS, seal: frSeal, role: "2250"}, ehdsi.ErrInsufficientRights, "2250"},
		{"Luxembourg's own certificates on Country A", partner{country: "LU", tls: testkit.Credential(t, "lu", pki.KindTLS), seal: devSeal(t, "lu")},
			ehdsi.ErrSecGeneric, "foreign NCPs only"},
		{"expired TLS certificate", partner{country: "DE", tls: deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE", EKU: tlsEKU,
			NotBefore: clock.Now().Add(-48 * time.Hour), NotAfter: clock.Now().Add(-time.Hour)}), seal: devSeal(t, "de")},
			ehdsi.ErrSecGeneric, "expired"},
		{"TLS certificate whose keyUsage allows no signature (keyEncipherment only)", partner{country: "DE", tls: deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE",
			EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageKeyEncipherment}), seal: devSeal(t, "de")},
			ehdsi.ErrSecGeneric, "key usage does not allow digital signatures"},
		{"subject /C=DE/C=FR", partner{country: "DE", tls: deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE", MoreCountries: []string{"FR"}, EKU: tlsEKU}), seal: devSeal(t, "de")},
			ehdsi.ErrSecGeneric, "has more than one country (C=)"},
		{"unknown CA", partner{country: "FR", tls: testkit.NewCA(t, testkit.Cert{CN: "rogue", Country: "FR"}).Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), seal: frSeal},
			ehdsi.ErrSecGeneric, "no chain to an anchor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.p.xcpd(t, g.url)
			if tc.code == "" {
				if f != nil {
					t.Fatalf("refused: %s %s", f.Code, f.Public)
				}
				return
			}
			if f == nil {
				t.Fatal("served")
			}
			if f.Code != tc.code || !strings.Contains(f.Public, tc.public) {
				t.Errorf("fault %s %q; want %s containing %q", f.Code, f.Public, tc.code, tc.public)
			}
		})
	}
}

// TestRevokedPartnerOverTheWire: a partner's TLS certificate that its CA
// has revoked (OCSP responder on loopback) gets the SOAP fault naming the
// revocation; its unrevoked sibling is served.
func TestRevokedPartnerOverTheWire(t *testing.T) {
	tlsEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	deCA := testkit.NewCA(t, testkit.Cert{CN: "DE NCP CA", Country: "DE"})
	ocsp := testkit.NewResponder(t, deCA)
	good := deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE", EKU: tlsEKU, OCSP: ocsp.OCSPURL()})
	revoked := deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE", EKU: tlsEKU, OCSP: ocsp.OCSPURL()})
	ocsp.Revoke(revoked.Cert.SerialNumber)
	dir := filepath.Join(t.TempDir(), "trust")
	writeTrust(t, dir, pki.Entry{Country: "DE", Role: pki.RoleTLS, Cert: deCA.Cert})
	g := startConfig(t, slog.New(slog.NewTextHandler(io.Discard, nil)), t.TempDir(), func(c *node.Config) { c.TrustBundle = dir }, nil)

	if f := (partner{country: "DE", tls: good, seal: devSeal(t, "de")}).xcpd(t, g.url); f != nil {
		t.Fatalf("unrevoked certificate refused: %s %s", f.Code, f.Public)
	}
	f := (partner{country: "DE", tls: revoked, seal: devSeal(t, "de")}).xcpd(t, g.url)
	if f == nil {
		t.Fatal("revoked certificate served")
	}
	if f.Code != ehdsi.ErrSecGeneric || !strings.Contains(f.Public, "revoked") {
		t.Errorf("fault %s %q; want %s naming the revocation", f.Code, f.Public, ehdsi.ErrSecGeneric)
	}
	if n := ocsp.OCSPCalls.Load(); n != 2 {
		t.Errorf("responder asked %d times, want 2 (one per certificate)", n)
	}
}

// TestRevocationPolicyFromEnv: seals hard and TLS soft by default, each
// configurable, and a typo is an error rather than a silent default.
func TestRevocationPolicyFromEnv(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	c, err := node.FromEnv(env(nil))
	if err != nil || c.RevocationTLS != pki.FailSoft || c.RevocationSeal != pki.FailHard {
		t.Fatalf("defaults: tls %q seal %q (%v)", c.RevocationTLS, c.RevocationSeal, err)
	}
	c, err = node.FromEnv(env(map[string]string{"LUXNCP_REVOCATION_TLS": "hard", "LUXNCP_REVOCATION_SEAL": "soft"}))
	if err != nil || c.RevocationTLS != pki.FailHard || c.RevocationSeal != pki.FailSoft {
		t.Fatalf("configured: tls %q seal %q (%v)", c.RevocationTLS, c.RevocationSeal, err)
	}
	if _, err := node.FromEnv(env(map[string]string{"LUXNCP_REVOCATION_SEAL": "off"})); err == nil {
		t.Error("LUXNCP_REVOCATION_SEAL=off accepted")
	}
}

// TestFailedTrustReloadIsLoud: the operator removes Germany's CA and, in
// the same change, adds a malformed file. The last good list stays in force
// (Germany is still served), but not silently: every failed reload is
// logged at ERROR with the file and the cause, /healthz says "degraded"
// with the reason, and luxncp_trust_list_reload_failing is 1. Once the file
// is fixed, the removal takes effect and all three clear.
func TestFailedTrustReloadIsLoud(t *testing.T) {
	tlsEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	deCA := testkit.NewCA(t, testkit.Cert{CN: "DE NCP CA", Country: "DE"})
	dir := filepath.Join(t.TempDir(), "trust")
	writeTrust(t, dir, pki.Entry{Country: "DE", Role: pki.RoleTLS, Cert: deCA.Cert})
	var logs syncBuffer
	tel := telemetry.New(telemetry.Options{})
	g := startConfig(t, slog.New(slog.NewTextHandler(&logs, nil)), t.TempDir(), func(c *node.Config) {
		c.TrustBundle, c.TrustRefresh = dir, time.Nanosecond // every check reloads
	}, func(o *node.Options) { o.Telemetry = tel })
	admin := httptest.NewServer(tel.AdminHandler())
	t.Cleanup(admin.Close)
	de := partner{country: "DE", tls: deCA.Issue(t, testkit.Cert{CN: "ncp.de", Country: "DE", EKU: tlsEKU}), seal: devSeal(t, "de")}
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testkit.CAPool(t), Time: clock.System()}}}
	get := func(c *http.Client, url string) (int, string) {
		t.Helper()
		res, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	failing := func() string {
		_, m := get(http.DefaultClient, admin.URL+"/metrics")
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "luxncp_trust_list_reload_failing ") {
				return strings.TrimPrefix(l, "luxncp_trust_list_reload_failing ")
			}
		}
		return "absent"
	}
	if f := de.xcpd(t, g.url); f != nil {
		t.Fatalf("Germany before the change: %s %s", f.Code, f.Public)
	}

	// One change: Germany's block removed, a malformed file added.
	if err := os.WriteFile(filepath.Join(dir, "partners.pem"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "ie-tls.pem")
	if err := os.WriteFile(broken, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	status, body := get(anon, g.url+"/healthz")
	var h struct{ Status, Reason string }
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatalf("/healthz %d %q: %v", status, body, err)
	}
	if h.Status != "degraded" || !strings.Contains(h.Reason, "ie-tls.pem") || !strings.Contains(h.Reason, "malformed PEM") {
		t.Errorf("/healthz after a broken change: %d %s; want status degraded naming the file and the cause", status, body)
	}
	if f := de.xcpd(t, g.url); f != nil {
		t.Errorf("Germany refused while the change does not parse (the last good list must stay): %s %s", f.Code, f.Public)
	}
	var errLines []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "level=ERROR") && strings.Contains(l, "trust list reload failed") {
			errLines = append(errLines, l)
		}
	}
	if len(errLines) < 2 || !strings.Contains(errLines[0], "file="+broken) || !strings.Contains(errLines[0], "malformed PEM") {
		t.Errorf("want an ERROR line with the file and the cause for each failed reload (healthz and the request each reloaded), got %q", errLines)
	}
	if v := failing(); v != "1" {
		t.Errorf("luxncp_trust_list_reload_failing = %s, want 1", v)
	}

	// Fixed: the removal takes effect, the alarms clear.
	if err := os.Remove(broken); err != nil {
		t.Fatal(err)
	}
	if status, body := get(anon, g.url+"/healthz"); status != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("/healthz after the fix: %d %s", status, body)
	}
	if f := de.xcpd(t, g.url); f == nil || !strings.Contains(f.Public, "no chain to an anchor") {
		t.Errorf("Germany after its CA was removed: %+v", f)
	}
	if v := failing(); v != "0" {
		t.Errorf("luxncp_trust_list_reload_failing = %s after the fix, want 0", v)
	}
}

// TestAssertionCacheSwitch: LUXNCP_ASSERTION_CACHE=off reaches the
// gateway's assertion verifier (every signature validated in full); on by
// default; anything else is an error, not a silent default.
func TestAssertionCacheSwitch(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, tc := range []struct {
		value string
		off   bool
	}{{"", false}, {"on", false}, {"off", true}} {
		c, err := node.FromEnv(env(map[string]string{"LUXNCP_ASSERTION_CACHE": tc.value,
			"LUXNCP_STATE_DIR": t.TempDir(), "LUXNCP_TRUST_BUNDLE": filepath.Join(testkit.PKIDir(t), pki.TrustDir)}))
		if err != nil || c.NoAssertionCache != tc.off {
			t.Fatalf("LUXNCP_ASSERTION_CACHE=%q: NoAssertionCache %v (%v)", tc.value, c.NoAssertionCache, err)
		}
		n, err := node.New(c, quietLog(), node.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Gateway.Assertions.NoAssertionCache; got != tc.off {
			t.Errorf("LUXNCP_ASSERTION_CACHE=%q: the gateway's verifier has NoAssertionCache %v", tc.value, got)
		}
		n.Close()
	}
	if _, err := node.FromEnv(env(map[string]string{"LUXNCP_ASSERTION_CACHE": "false"})); err == nil {
		t.Error("LUXNCP_ASSERTION_CACHE=false accepted")
	}
}
