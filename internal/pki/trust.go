package pki

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of certificate checks, for callers that map them to eHDSI codes.
var (
	ErrUntrusted = errors.New("certificate does not chain to a trusted CA")
	ErrExpired   = errors.New("certificate expired or not yet valid")
	ErrKeyUsage  = errors.New("certificate key usage does not allow this use")
	ErrNoCountry = errors.New("certificate subject has no country (C=)")
)

// TrustStore decides which partner certificates luxncp accepts.
type TrustStore struct {
	roots *x509.CertPool
	cas   []*x509.Certificate
}

// NewTrustStore trusts the given CA (or self-signed partner) certificates.
func NewTrustStore(cas ...*x509.Certificate) *TrustStore {
	ts := &TrustStore{roots: x509.NewCertPool()}
	for _, c := range cas {
		ts.roots.AddCert(c)
		ts.cas = append(ts.cas, c)
	}
	return ts
}

// LoadTrustStore reads a PEM bundle of trusted certificates.
func LoadTrustStore(path string) (*TrustStore, error) {
	certs, err := ReadCertificates(path)
	if err != nil {
		return nil, fmt.Errorf("trust store: %w", err)
	}
	return NewTrustStore(certs...), nil
}

// Pool returns the trusted roots, e.g. for tls.Config.
func (ts *TrustStore) Pool() *x509.CertPool { return ts.roots }

// CAs returns the trusted certificates.
func (ts *TrustStore) CAs() []*x509.Certificate { return ts.cas }

// Use is what a certificate is being checked for.
type Use int

const (
	UseTLSClient Use = iota
	UseTLSServer
	UseSeal
)

// Verify checks cert (with optional intermediates) at time now for a use and
// returns the certificate's country (the subject's C=, upper case).
func (ts *TrustStore) Verify(cert *x509.Certificate, intermediates []*x509.Certificate, now time.Time, use Use) (country string, err error) {
	if cert == nil {
		return "", ErrUntrusted
	}
	if now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		return "", fmt.Errorf("%w: valid %s to %s", ErrExpired, cert.NotBefore.UTC().Format(time.RFC3339), cert.NotAfter.UTC().Format(time.RFC3339))
	}
	pool := x509.NewCertPool()
	for _, ic := range intermediates {
		pool.AddCert(ic)
	}
	opts := x509.VerifyOptions{Roots: ts.roots, Intermediates: pool, CurrentTime: now}
	switch use {
	case UseTLSClient, UseTLSServer:
		// eHDSI TLS certificates name their extended key usage; a
		// certificate without one (such as a seal) is not a TLS credential.
		if len(cert.ExtKeyUsage) == 0 {
			return "", fmt.Errorf("%w: no extended key usage for TLS", ErrKeyUsage)
		}
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		if use == UseTLSServer {
			opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		}
	case UseSeal:
		opts.KeyUsages = []x509.ExtKeyUsage{x509.ExtKeyUsageAny}
		if cert.KeyUsage != 0 && cert.KeyUsage&(x509.KeyUsageDigitalSignature|x509.KeyUsageContentCommitment) == 0 {
			return "", ErrKeyUsage
		}
	}
	if _, err := cert.Verify(opts); err != nil {
		var inv x509.CertificateInvalidError
		if errors.As(err, &inv) && inv.Reason == x509.Expired {
			return "", fmt.Errorf("%w: %v", ErrExpired, err)
		}
		if errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage {
			return "", fmt.Errorf("%w: %v", ErrKeyUsage, err)
		}
		return "", fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	return Country(cert)
}

// Country returns the subject's country (C=), upper case.
func Country(cert *x509.Certificate) (string, error) {
	if len(cert.Subject.Country) != 1 || len(cert.Subject.Country[0]) != 2 {
		return "", ErrNoCountry
	}
	return strings.ToUpper(cert.Subject.Country[0]), nil
}
