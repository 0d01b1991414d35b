package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// DevCountries are the countries the development PKI issues certificates for:
// Luxembourg and the first neighbours luxncp talks to.
var DevCountries = []string{"lu", "fr", "be", "de", "nl", "pt"}

// Kind of a country certificate.
type Kind string

const (
	KindTLS  Kind = "tls"  // mutual TLS between gateways
	KindSeal Kind = "seal" // signing assertions and documents
)

// File names under the PKI directory (a contract operators rely on).
const (
	CAFile    = "ca.pem"
	CAKeyFile = "ca.key"
	// TrustDir is the development trust list (a folder, docs/trust.md):
	// each country's TLS certificate listed for the tls role and its seal
	// certificate for the seal role, as eHDSI distributes them.
	TrustDir = "trust"
)

// CertFile returns "<cc>-<kind>.pem"; KeyFile "<cc>-<kind>.key".
func CertFile(cc string, k Kind) string { return strings.ToLower(cc) + "-" + string(k) + ".pem" }

// KeyFile returns the private key file name for a country certificate.
func KeyFile(cc string, k Kind) string { return strings.ToLower(cc) + "-" + string(k) + ".key" }

// DevOptions tune the development PKI.
type DevOptions struct {
	Countries []string      // default DevCountries
	Now       time.Time     // default clock.Now()
	Validity  time.Duration // default 2 years
	// Hosts are the DNS names and IPs in the TLS certificates' SANs
	// (default localhost, 127.0.0.1, ::1).
	Hosts []string
}

// EnsureDev creates the development PKI in dir unless it is already there,
// and returns whether it generated anything. Existing files are never
// overwritten; a missing country is added with the existing CA.
func EnsureDev(dir string, opt DevOptions) (generated bool, err error) {
	if len(opt.Countries) == 0 {
		opt.Countries = DevCountries
	}
	if opt.Now.IsZero() {
		opt.Now = clock.Now()
	}
	if opt.Validity == 0 {
		opt.Validity = 2 * 365 * 24 * time.Hour
	}
	if len(opt.Hosts) == 0 {
		opt.Hosts = []string{"localhost", "127.0.0.1", "::1"}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("dev pki: %w", err)
	}
	caCert, caKey, err := loadCA(dir)
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = newCA(dir, opt)
		generated = true
	}
	if err != nil {
		return generated, fmt.Errorf("dev pki: %w", err)
	}
	for _, cc := range opt.Countries {
		for _, k := range []Kind{KindTLS, KindSeal} {
			trustFile := filepath.Join(dir, TrustDir, TrustFileName(cc, Role(k)))
			if _, err := os.Stat(filepath.Join(dir, CertFile(cc, k))); err == nil {
				if _, err := os.Stat(trustFile); err == nil {
					continue
				}
			} else if err := issue(dir, cc, k, caCert, caKey, opt); err != nil {
				return generated, fmt.Errorf("dev pki: %s %s: %w", cc, k, err)
			}
			if err := listDev(dir, cc, k, trustFile); err != nil {
				return generated, fmt.Errorf("dev pki: %s %s: %w", cc, k, err)
			}
			generated = true
		}
	}
	return generated, nil
}

// listDev writes a country's certificate into the development trust list.
func listDev(dir, cc string, k Kind, path string) error {
	cert, err := ReadCertificate(filepath.Join(dir, CertFile(cc, k)))
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFile(path, FormatTrustList([]Entry{{Country: strings.ToUpper(cc), Role: Role(k), Cert: cert}}), 0o644)
}

func loadCA(dir string) (*x509.Certificate, crypto.Signer, error) {
	cert, err := ReadCertificate(filepath.Join(dir, CAFile))
	if err != nil {
		return nil, nil, err
	}
	key, err := ReadKey(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

func newCA(dir string, opt DevOptions) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "luxncp development CA", Organization: []string{"luxncp dev"}, Country: []string{"LU"}},
		NotBefore:             opt.Now.Add(-time.Hour),
		NotAfter:              opt.Now.Add(opt.Validity + 24*time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	if err := writeKey(filepath.Join(dir, CAKeyFile), key); err != nil {
		return nil, nil, err
	}
	if err := writePEM(filepath.Join(dir, CAFile), "CERTIFICATE", der, 0o644); err != nil {
		return nil, nil, err
	}
	return cert, key, nil
}

// countryNames gives the organisation names in the dev certificates.
var countryNames = map[string]string{
	"LU": "Luxembourg", "FR": "France", "BE": "Belgium", "DE": "Germany", "NL": "Netherlands", "PT": "Portugal",
}

func issue(dir, cc string, k Kind, ca *x509.Certificate, caKey crypto.Signer, opt DevOptions) error {
	CC := strings.ToUpper(cc)
	name := countryNames[CC]
	if name == "" {
		name = CC
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject: pkix.Name{
			CommonName:   fmt.Sprintf("ncp-%s %s (dev)", strings.ToLower(cc), k),
			Organization: []string{"National Contact Point for eHealth " + name + " (dev)"},
			Country:      []string{CC},
		},
		NotBefore: opt.Now.Add(-time.Hour),
		NotAfter:  opt.Now.Add(opt.Validity),
	}
	var key crypto.Signer
	var err error
	switch k {
	case KindTLS:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		for _, h := range opt.Hosts {
			if ip := net.ParseIP(h); ip != nil {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			} else {
				tmpl.DNSNames = append(tmpl.DNSNames, h)
			}
		}
	case KindSeal:
		// RSA-2048: RSA-SHA256 is what every eHDSI partner and xmlsec1 verify
		// (ECDSA signature encodings do not interoperate with goxmldsig).
		key, err = rsa.GenerateKey(rand.Reader, 2048)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment
	}
	if err != nil {
		return err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return err
	}
	if err := writeKey(filepath.Join(dir, KeyFile(cc, k)), key); err != nil {
		return err
	}
	return writePEM(filepath.Join(dir, CertFile(cc, k)), "CERTIFICATE", der, 0o644)
}

func writeKey(path string, key crypto.Signer) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	return writePEM(path, "PRIVATE KEY", der, 0o600)
}

func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return writeFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode)
}

// writeFile replaces path atomically with data (fsync'd).
func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ReadCertificate reads the first certificate of a PEM file.
func ReadCertificate(path string) (*x509.Certificate, error) {
	certs, err := ReadCertificates(path)
	if err != nil {
		return nil, err
	}
	return certs[0], nil
}

// ReadCertificates reads every certificate of a PEM file.
func ReadCertificates(path string) ([]*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	certs, err := ParseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return certs, nil
}

// ParseCertificates parses every CERTIFICATE block of PEM data.
func ParseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in PEM data")
	}
	return certs, nil
}

// ReadKey reads a PKCS#8 (or PKCS#1 / SEC 1) PEM private key.
func ReadKey(path string) (crypto.Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM data", path)
	}
	var key any
	switch blk.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(blk.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(blk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(blk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", path)
	}
	return s, nil
}

// Credential is a certificate with its signer (a file key, or KMS).
type Credential struct {
	Cert   *x509.Certificate
	Chain  []*x509.Certificate // intermediates, may be empty
	Signer crypto.Signer
}

// LoadCredential reads "<cc>-<kind>.pem/.key" from dir.
func LoadCredential(dir, cc string, k Kind) (*Credential, error) {
	certs, err := ReadCertificates(filepath.Join(dir, CertFile(cc, k)))
	if err != nil {
		return nil, err
	}
	key, err := ReadKey(filepath.Join(dir, KeyFile(cc, k)))
	if err != nil {
		return nil, err
	}
	return &Credential{Cert: certs[0], Chain: certs[1:], Signer: key}, nil
}

// TLSCertificate returns the credential as a tls.Certificate.
func (c *Credential) TLSCertificate() tls.Certificate {
	chain := [][]byte{c.Cert.Raw}
	for _, ic := range c.Chain {
		chain = append(chain, ic.Raw)
	}
	return tls.Certificate{Certificate: chain, PrivateKey: c.Signer, Leaf: c.Cert}
}
