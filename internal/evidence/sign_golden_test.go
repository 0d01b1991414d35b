package evidence

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// goldenSeal is a seal whose "signature" is the digest it signs
// (testutil.FixedSigner), so that Sign's output is a pure function of its
// parameters; no private key is involved.
func goldenSeal() wssec.Signer {
	return wssec.Signer{Key: testutil.FixedSigner{}, Cert: testutil.FixedCert()}
}

// goldenParams are evidences of every shape Build writes: NRO and NRR,
// acceptance and rejection with a reason, with and without a MessageID and
// certificates, and text that needs escaping.
func goldenParams() map[string]Params {
	at := time.Date(2026, 11, 24, 10, 0, 0, 123e6, time.UTC)
	d := sha256.Sum256([]byte("message"))
	cert := &x509.Certificate{Raw: []byte("partner certificate")}
	base := Params{Kind: Origin, Code: Acceptance, ID: "5b1f0c7e-3f4a-4e7a-9d51-0c1e2f3a4b5c",
		Sender: Party{Names: []string{"LU", "ncp-lu.luxncp"}}, Recipient: Party{Names: []string{"FR", "ncp-fr"}, Cert: cert},
		AuthTime: at, EventTime: at.Add(time.Second), SubmissionTime: at, Subject: "EHDSI-32", MessageID: "urn:uuid:1", Digest: d[:]}
	nrr := base
	nrr.Kind, nrr.Sender, nrr.Recipient, nrr.Subject = Receipt, base.Recipient, base.Sender, "EHDSI-42"
	rej := base
	rej.Code, rej.Reason, rej.MessageID = Rejection, "ERROR_GENERIC_DOCUMENT_MISSING", ""
	esc := nrr
	esc.Sender = Party{Names: []string{`F&R <"x">`, "a'b\tc\r\n"}}
	esc.MessageID = "urn:uuid:<&>"
	return map[string]Params{"nro": base, "nrr": nrr, "rejection": rej, "escaped": esc}
}

// TestSignGolden: Sign's bytes for fixed parameters, seal and "key" are
// those main's code wrote before the evidence path was sped up (the SHA-256
// of each output below was printed by this test at commit bd487bf, the
// code the speed-up started from: `go test ./internal/evidence -run
// TestSignGolden -v` logs every digest). Any change to what an evidence
// says or how it is serialised or canonicalised fails it.
func TestSignGolden(t *testing.T) {
	want := map[string]string{
		"nro":       "93566f7cf1fec76dc6daa64685623015f1b03d2112a034fc1d501c05496d0a65",
		"nrr":       "ef960274c6c95f5f1752037c53b73d162e46551c16fe5b8f6b66bc172bae2b68",
		"rejection": "af3e3c8201f89301622de63a560531b08ce4cce8774e205d39cc2bf3f4b180ee",
		"escaped":   "76f8a4d8aef5a32e631162d901e310e99e760c1643cb4ccd67509127bc8b1141",
	}
	for name, p := range goldenParams() {
		data, err := Sign(p, goldenSeal())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sum := sha256.Sum256(data)
		got := hex.EncodeToString(sum[:])
		t.Logf("%s: %s (%d bytes)", name, got, len(data))
		if got != want[name] {
			t.Errorf("%s: SHA-256 %s, want %s:\n%s", name, got, want[name], data)
		}
	}
}

// BenchmarkSign: one evidence built, signed and serialised with the dev
// seal (RSA-2048); the RSA operation is most of it. BenchmarkSign/fixed
// replaces the key by testutil.FixedSigner: everything Sign does but the RSA
// operation.
func BenchmarkSign(b *testing.B) {
	p := goldenParams()["nro"]
	for _, c := range []struct {
		name string
		seal wssec.Signer
	}{{"rsa", seal(b, "lu")}, {"fixed", goldenSeal()}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Sign(p, c.seal); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
