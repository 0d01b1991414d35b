package pki_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

var tlsEKU = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}

// TestTrustListRolesAndCountries: the country is the entry's, the role is
// the list's, and every refusal names its real cause.
func TestTrustListRolesAndCountries(t *testing.T) {
	now := clock.Now()
	frCA := testkit.NewCA(t, testkit.Cert{CN: "FR CA", Country: "FR"})
	deCA := testkit.NewCA(t, testkit.Cert{CN: "DE CA", Country: "DE"})
	deSub := deCA.Intermediate(t, testkit.Cert{CN: "DE issuing CA", Country: "DE"})
	frSealCA := testkit.NewCA(t, testkit.Cert{CN: "FR seal CA", Country: "FR"})
	dk := testkit.SelfSigned(t, testkit.Cert{CN: "ncpeh.dk", Country: "DK", RSABits: 2048}) // no EKU, as Denmark's
	ts := pki.NewTrustStore(
		pki.Entry{Country: "FR", Role: pki.RoleTLS, Cert: frCA.Cert},
		pki.Entry{Country: "FR", Role: pki.RoleSeal, Cert: frSealCA.Cert},
		pki.Entry{Country: "DE", Role: pki.RoleTLS, Cert: deCA.Cert},
		pki.Entry{Country: "DK", Role: pki.RoleTLS, Cert: dk.Cert},
	)
	// A CA that lists every role for France does not make TLS keys seals.
	frBoth := testkit.NewCA(t, testkit.Cert{CN: "FR both", Country: "FR"})
	both := pki.NewTrustStore(pki.Anchors(frBoth.Cert, "FR")...)

	cases := []struct {
		name  string
		ts    *pki.TrustStore
		cred  *pki.Credential
		use   pki.Use
		at    time.Time
		want  error
		wantC string
	}{
		{"FR TLS", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), pki.UseTLSClient, now, nil, "FR"},
		{"FR TLS without EKU", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"}), pki.UseTLSClient, now, nil, "FR"},
		{"DK self-signed, no EKU, listed for TLS", ts, dk, pki.UseTLSClient, now, nil, "DK"},
		{"C=FR under a DE intermediate", ts, deSub.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), pki.UseTLSClient, now, pki.ErrCountryMismatch, ""},
		{"C=FR under the DE CA", ts, deCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), pki.UseTLSClient, now, pki.ErrCountryMismatch, ""},
		{"no C=", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", EKU: tlsEKU}), pki.UseTLSClient, now, pki.ErrNoCountry, ""},
		{"C=DE and C=FR", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "DE", MoreCountries: []string{"FR"}, EKU: tlsEKU}), pki.UseTLSClient, now, pki.ErrManyCountries, ""},
		{"TLS, keyUsage keyEncipherment only", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageKeyEncipherment}), pki.UseTLSClient, now, pki.ErrNoSignatureUsage, ""},
		{"TLS server, keyUsage keyEncipherment only", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", KeyUsage: x509.KeyUsageKeyEncipherment}), pki.UseTLSServer, now, pki.ErrNoSignatureUsage, ""},
		{"TLS, keyUsage contentCommitment only", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", KeyUsage: x509.KeyUsageContentCommitment}), pki.UseTLSClient, now, pki.ErrNoSignatureUsage, ""},
		{"TLS, keyUsage digitalSignature and keyEncipherment", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment}), pki.UseTLSClient, now, nil, "FR"},
		{"seal, keyUsage keyEncipherment only", ts, frSealCA.Issue(t, testkit.Cert{CN: "seal.fr", Country: "FR", KeyUsage: x509.KeyUsageKeyEncipherment}), pki.UseSeal, now, pki.ErrNoSignatureUsage, ""},
		{"seal, keyUsage contentCommitment only", ts, frSealCA.Issue(t, testkit.Cert{CN: "seal.fr", Country: "FR", KeyUsage: x509.KeyUsageContentCommitment}), pki.UseSeal, now, nil, "FR"},
		{"seal, keyUsage digitalSignature only", ts, frSealCA.Issue(t, testkit.Cert{CN: "seal.fr", Country: "FR", KeyUsage: x509.KeyUsageDigitalSignature}), pki.UseSeal, now, nil, "FR"},
		{"FR TLS cert as seal", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"}), pki.UseSeal, now, pki.ErrWrongRole, ""},
		{"FR seal cert as TLS", ts, frSealCA.Issue(t, testkit.Cert{CN: "seal.fr", Country: "FR"}), pki.UseTLSClient, now, pki.ErrWrongRole, ""},
		{"TLS EKU used as seal under a both-roles CA", both, frBoth.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: tlsEKU}), pki.UseSeal, now, pki.ErrWrongRole, ""},
		{"server-only EKU as TLS client", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", EKU: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}), pki.UseTLSClient, now, pki.ErrWrongRole, ""},
		{"seal without EKU under a both-roles CA", both, frBoth.Issue(t, testkit.Cert{CN: "seal.fr", Country: "FR"}), pki.UseSeal, now, nil, "FR"},
		{"expired", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"}), pki.UseTLSClient, now.Add(2 * 365 * 24 * time.Hour), pki.ErrExpired, ""},
		{"unknown CA", ts, testkit.NewCA(t, testkit.Cert{CN: "rogue", Country: "FR"}).Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR"}), pki.UseTLSClient, now, pki.ErrUntrusted, ""},
		{"SHA-1 signature", ts, testkit.NewCA(t, testkit.Cert{CN: "FR RSA", Country: "FR", RSABits: 2048}).Issue(t, testkit.Cert{CN: "x", Country: "FR", RSABits: 2048, SigAlg: x509.SHA1WithRSA}), pki.UseTLSClient, now, pki.ErrWeakAlgorithm, ""},
		{"RSA-1024 key", ts, frCA.Issue(t, testkit.Cert{CN: "ncp.fr", Country: "FR", RSABits: 1024}), pki.UseTLSClient, now, pki.ErrWeakAlgorithm, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc, err := tc.ts.Verify(tc.cred.Cert, tc.cred.Chain, tc.at, tc.use)
			if tc.want == nil {
				if err != nil || cc != tc.wantC {
					t.Fatalf("Verify = %q, %v; want %s", cc, err, tc.wantC)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %q, %v; want %v", cc, err, tc.want)
			}
			if pki.Reason(err) == pki.Reason(pki.ErrUntrusted) && tc.want != pki.ErrUntrusted {
				t.Errorf("public reason %q hides the cause %v", pki.Reason(err), tc.want)
			}
			if pki.Reason(err) != pki.Reason(tc.want) {
				t.Errorf("public reason %q, want %q", pki.Reason(err), pki.Reason(tc.want))
			}
		})
	}
}

// TestTrustListReload: a folder edited while the store is in use is picked
// up at the next check, without a restart; a broken edit keeps the last
// good list.
func TestTrustListReload(t *testing.T) {
	dir := t.TempDir()
	now := clock.Now()
	fr := testkit.NewCA(t, testkit.Cert{CN: "FR CA", Country: "FR"})
	be := testkit.NewCA(t, testkit.Cert{CN: "BE CA", Country: "BE"})
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fr-tls.pem", pki.FormatTrustList([]pki.Entry{{Country: "FR", Role: pki.RoleTLS, Cert: fr.Cert}}))
	ts, err := pki.OpenTrustStore(context.Background(), pki.FileSource{Path: dir}, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	ts.Log = slog.New(slog.NewTextHandler(&logs, nil))
	beCert := be.Issue(t, testkit.Cert{CN: "ncp.be", Country: "BE"})
	if _, err := ts.Verify(beCert.Cert, nil, now, pki.UseTLSClient); !errors.Is(err, pki.ErrUntrusted) {
		t.Fatalf("BE before onboarding: %v", err)
	}
	write("be-tls.pem", pki.FormatTrustList([]pki.Entry{{Country: "BE", Role: pki.RoleTLS, Cert: be.Cert}}))
	if _, err := ts.Verify(beCert.Cert, nil, now.Add(30*time.Second), pki.UseTLSClient); err == nil {
		t.Fatal("reloaded before the refresh interval")
	}
	if cc, err := ts.Verify(beCert.Cert, nil, now.Add(2*time.Minute), pki.UseTLSClient); err != nil || cc != "BE" {
		t.Fatalf("BE after onboarding: %q %v", cc, err)
	}
	write("broken.pem", []byte("Country: X\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	if cc, err := ts.Verify(beCert.Cert, nil, now.Add(4*time.Minute), pki.UseTLSClient); err != nil || cc != "BE" {
		t.Fatalf("after a broken edit: %q %v", cc, err)
	}
	if ts.Err() == nil {
		t.Error("broken edit not reported")
	}
	// Loud: each failed reload is an ERROR naming the file and the cause.
	ts.Verify(beCert.Cert, nil, now.Add(5*time.Minute), pki.UseTLSClient)
	st := ts.Check(now.Add(5 * time.Minute))
	if st.Err == nil || st.Failures != 2 || !st.FailingSince.Equal(now.Add(4*time.Minute)) {
		t.Errorf("status after two failed reloads: %+v", st)
	}
	if n := strings.Count(logs.String(), "level=ERROR msg=\"trust list reload failed"); n != 2 || !strings.Contains(logs.String(), "file="+filepath.Join(dir, "broken.pem")) {
		t.Errorf("%d ERROR lines for 2 failed reloads, or no file named:\n%s", n, logs.String())
	}
	os.Remove(filepath.Join(dir, "broken.pem"))
	os.Remove(filepath.Join(dir, "be-tls.pem"))
	if _, err := ts.Verify(beCert.Cert, nil, now.Add(6*time.Minute), pki.UseTLSClient); !errors.Is(err, pki.ErrUntrusted) {
		t.Fatalf("BE after removal: %v", err)
	}
}

// TestParseTrustList: attributes, defaults from the file name, refusals.
func TestParseTrustList(t *testing.T) {
	ca := testkit.NewCA(t, testkit.Cert{CN: "FR CA", Country: "FR"})
	data := pki.FormatTrustList([]pki.Entry{{Country: "FR", Role: pki.RoleSeal, Cert: ca.Cert}})
	es, err := pki.ParseTrustList(data, "", "")
	if err != nil || len(es) != 1 || es[0].Country != "FR" || es[0].Role != pki.RoleSeal {
		t.Fatalf("parse = %+v, %v", es, err)
	}
	bare := data[len("# ")+len(ca.Cert.Subject.String())+1+len("Country: FR\nRole: seal\n"):]
	if _, err := pki.ParseTrustList(bare, "", ""); err == nil {
		t.Error("a block without country and role accepted")
	}
	if es, err := pki.ParseTrustList(bare, "BE", pki.RoleTLS); err != nil || es[0].Country != "BE" || es[0].Role != pki.RoleTLS {
		t.Errorf("defaults: %+v %v", es, err)
	}
	// A (fake, four-byte) private-key block in the list is refused; the
	// marker is spelled in pieces so no tool mistakes this file for a key.
	keyBlock := "-----BEGIN " + "PRIVATE KEY-----\nAAAA\n-----END " + "PRIVATE KEY-----\n"
	if _, err := pki.ParseTrustList([]byte("Country: FR\nRole: tls\n"+keyBlock), "", ""); err == nil {
		t.Error("a private key accepted in a trust list")
	}
}

func FuzzParseTrustList(f *testing.F) {
	f.Add([]byte("Country: FR\nRole: tls\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), "", "")
	f.Add([]byte("# c\n-----BEGIN X-----\n-----END X-----\n"), "FR", "seal")
	f.Fuzz(func(t *testing.T, data []byte, cc, role string) {
		es, err := pki.ParseTrustList(data, cc, pki.Role(role))
		if err != nil {
			return
		}
		for _, e := range es {
			if err := e.Check(); err != nil {
				t.Fatalf("entry accepted that fails Check: %v", err)
			}
		}
	})
}
