package testkit

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
)

// Cert describes a certificate a test issues: the zero value is a P-256
// leaf without extensions beyond the subject, valid around Now.
type Cert struct {
	CN, Country string
	// MoreCountries are further C= values after Country (a malformed
	// subject such as /C=DE/C=FR).
	MoreCountries []string
	IsCA          bool
	// EKU: nil means no extendedKeyUsage extension at all.
	EKU      []x509.ExtKeyUsage
	KeyUsage x509.KeyUsage
	// RSABits > 0: an RSA key of that size instead of P-256.
	RSABits int
	// SigAlg forces the issuer's signature algorithm (e.g. SHA1WithRSA).
	SigAlg              x509.SignatureAlgorithm
	NotBefore, NotAfter time.Time
	OCSP, CRL           string // AIA OCSP and CRL distribution point URLs
	Serial              int64  // 0: random
}

// CA is a certificate authority made at test time.
type CA struct{ *pki.Credential }

// NewCA makes a self-signed CA (P-256 unless spec says RSA).
func NewCA(t testing.TB, spec Cert) *CA {
	t.Helper()
	spec.IsCA = true
	return &CA{issue(t, spec, nil)}
}

// Issue makes a certificate signed by the CA; Chain holds the CA when it
// is an intermediate (so a TLS client can send it).
func (ca *CA) Issue(t testing.TB, spec Cert) *pki.Credential {
	t.Helper()
	c := issue(t, spec, ca.Credential)
	if ca.Cert.Subject.String() != ca.Cert.Issuer.String() {
		c.Chain = append([]*x509.Certificate{ca.Cert}, ca.Chain...)
	}
	return c
}

// Intermediate makes a sub-CA of ca.
func (ca *CA) Intermediate(t testing.TB, spec Cert) *CA {
	t.Helper()
	spec.IsCA = true
	c := ca.Issue(t, spec)
	return &CA{c}
}

// SelfSigned makes a self-signed end-entity certificate (as some partners
// publish theirs).
func SelfSigned(t testing.TB, spec Cert) *pki.Credential {
	t.Helper()
	return issue(t, spec, nil)
}

func issue(t testing.TB, spec Cert, parent *pki.Credential) *pki.Credential {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.RSABits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, spec.RSABits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	if spec.NotBefore.IsZero() {
		spec.NotBefore = now.Add(-24 * time.Hour)
	}
	if spec.NotAfter.IsZero() {
		spec.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	sn := big.NewInt(spec.Serial)
	if spec.Serial == 0 {
		sn, _ = rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 100))
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: spec.CN},
		NotBefore:    spec.NotBefore, NotAfter: spec.NotAfter,
		ExtKeyUsage:        spec.EKU,
		KeyUsage:           spec.KeyUsage,
		SignatureAlgorithm: spec.SigAlg,
		DNSNames:           []string{"localhost"},
		IPAddresses:        []net.IP{net.ParseIP("127.0.0.1")},
	}
	if spec.Country != "" {
		tmpl.Subject.Country = []string{spec.Country}
	}
	tmpl.Subject.Country = append(tmpl.Subject.Country, spec.MoreCountries...)
	if spec.IsCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		tmpl.DNSNames, tmpl.IPAddresses = nil, nil
	}
	if spec.OCSP != "" {
		tmpl.OCSPServer = []string{spec.OCSP}
	}
	if spec.CRL != "" {
		tmpl.CRLDistributionPoints = []string{spec.CRL}
	}
	issuer, signer := tmpl, key
	if parent != nil {
		issuer, signer = parent.Cert, parent.Signer
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, key.Public(), signer)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &pki.Credential{Cert: cert, Signer: key}
}
