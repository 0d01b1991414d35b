package pki

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureDevCreatesContractFiles(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	gen, err := EnsureDev(dir, DevOptions{Now: now})
	if err != nil || !gen {
		t.Fatalf("EnsureDev = %v, %v", gen, err)
	}
	want := []string{"ca.pem"}
	for _, cc := range DevCountries {
		want = append(want, cc+"-tls.pem", cc+"-tls.key", cc+"-seal.pem", cc+"-seal.key")
	}
	for _, f := range want {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	st, _ := os.Stat(filepath.Join(dir, "fr-seal.key"))
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", st.Mode().Perm())
	}
	// A second run keeps what is there.
	before, _ := os.ReadFile(filepath.Join(dir, "lu-tls.pem"))
	gen, err = EnsureDev(dir, DevOptions{Now: now})
	if err != nil || gen {
		t.Fatalf("second EnsureDev = %v, %v; want no generation", gen, err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "lu-tls.pem"))
	if string(before) != string(after) {
		t.Error("second EnsureDev rewrote lu-tls.pem")
	}

	ts, err := LoadTrustStore(filepath.Join(dir, TrustDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, cc := range DevCountries {
		for _, tc := range []struct {
			k   Kind
			use Use
		}{{KindTLS, UseTLSClient}, {KindTLS, UseTLSServer}, {KindSeal, UseSeal}} {
			cred, err := LoadCredential(dir, cc, tc.k)
			if err != nil {
				t.Fatal(err)
			}
			country, err := ts.Verify(cred.Cert, nil, now, tc.use)
			if err != nil {
				t.Errorf("%s %s: %v", cc, tc.k, err)
			}
			if want := map[string]string{"lu": "LU", "fr": "FR", "be": "BE", "de": "DE", "nl": "NL", "pt": "PT"}[cc]; country != want {
				t.Errorf("%s %s: country %q, want %q", cc, tc.k, country, want)
			}
		}
	}
	seal, _ := LoadCredential(dir, "fr", KindSeal)
	if _, err := ts.Verify(seal.Cert, nil, now.Add(3*365*24*time.Hour), UseSeal); !errors.Is(err, ErrExpired) {
		t.Errorf("expired seal: err = %v, want ErrExpired", err)
	}
	if _, err := ts.Verify(seal.Cert, nil, now, UseTLSClient); !errors.Is(err, ErrWrongRole) {
		t.Errorf("seal used for TLS: err = %v, want ErrWrongRole", err)
	}
	// Another CA's certificate is untrusted.
	other := t.TempDir()
	if _, err := EnsureDev(other, DevOptions{Now: now, Countries: []string{"fr"}}); err != nil {
		t.Fatal(err)
	}
	rogue, _ := LoadCredential(other, "fr", KindTLS)
	if _, err := ts.Verify(rogue.Cert, nil, now, UseTLSClient); !errors.Is(err, ErrUntrusted) {
		t.Errorf("rogue: err = %v, want ErrUntrusted", err)
	}
}
