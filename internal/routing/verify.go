package routing

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/luxncp/luxncp/internal/pki"
)

const nsDSig = "http://www.w3.org/2000/09/xmldsig#"

// certError is why a contact point's TLS certificate was refused.
type certError struct {
	reason string
	cause  error
}

func (e *certError) Error() string {
	if e.cause != nil {
		return e.reason + ": " + e.cause.Error()
	}
	return e.reason
}

func (e *certError) Unwrap() error { return e.cause }

// verifyPeer returns the tls.Config VerifyConnection hook for an endpoint:
// the leaf must be exactly the directory's certificate (pinning), chain to
// the trust store at now, allow server authentication, and name country.
func verifyPeer(pinned *x509.Certificate, trust *pki.TrustStore, country string, now func() time.Time) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return &certError{reason: "the contact point presented no certificate"}
		}
		leaf := cs.PeerCertificates[0]
		if pinned == nil || !bytes.Equal(leaf.Raw, pinned.Raw) {
			return &certError{reason: "the contact point's certificate is not the one in the directory",
				cause: fmt.Errorf("presented sha256 %x", sha256.Sum256(leaf.Raw))}
		}
		cc, err := trust.Verify(leaf, cs.PeerCertificates[1:], now(), pki.UseTLSServer)
		if err != nil {
			reason := "the contact point's certificate is not trusted"
			if errors.Is(err, pki.ErrExpired) {
				reason = "the contact point's certificate is expired or not yet valid"
			}
			return &certError{reason: reason, cause: err}
		}
		if !strings.EqualFold(cc, country) {
			return &certError{reason: "the contact point's certificate names another country",
				cause: fmt.Errorf("certificate C=%s, directory %s", cc, country)}
		}
		return nil
	}
}

// ErrBadSignature is wrapped by signature verification failures.
var ErrBadSignature = errors.New("signature does not verify")

// VerifySigned checks an element's enveloped XML signature (one
// ds:Signature child carrying one X.509 certificate, RSA-SHA256 or what
// goxmldsig supports): the certificate must chain to trust at now, allow
// signing, and name country (when country is not empty). It returns the
// verified element, read back from the canonical bytes that were digested.
func VerifySigned(el *etree.Element, trust *pki.TrustStore, country string, now time.Time) (*etree.Element, error) {
	// A document's root element already declares what it uses; an element
	// inside a larger tree is detached with its inherited namespaces.
	detached := el
	if p := el.Parent(); p != nil && p.Tag != "" {
		nsctx, err := etreeutils.NSBuildParentContext(el)
		if err != nil {
			return nil, fmt.Errorf("%w: namespaces: %v", ErrBadSignature, err)
		}
		if detached, err = etreeutils.NSDetatch(nsctx, el); err != nil {
			return nil, fmt.Errorf("%w: namespaces: %v", ErrBadSignature, err)
		}
	}
	var certEl *etree.Element
	sigs := 0
	for _, c := range detached.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			sigs++
			xs := c.FindElements(".//X509Certificate")
			if len(xs) != 1 {
				return nil, fmt.Errorf("%w: %d certificates in the signature, want 1", ErrBadSignature, len(xs))
			}
			certEl = xs[0]
		}
	}
	if sigs != 1 {
		return nil, fmt.Errorf("%w: %d enveloped signatures, want 1", ErrBadSignature, sigs)
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(certEl.Text()), ""))
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrBadSignature, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrBadSignature, err)
	}
	cc, err := trust.Verify(cert, nil, now, pki.UseSeal)
	if err != nil {
		return nil, fmt.Errorf("%w: signer: %v", ErrBadSignature, err)
	}
	if country != "" && !strings.EqualFold(cc, country) {
		return nil, fmt.Errorf("%w: signer is from %s, not %s", ErrBadSignature, cc, strings.ToUpper(country))
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vctx.Clock = dsig.NewFakeClockAt(now)
	out, err := vctx.Validate(detached)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return out, nil
}

// HasSignature reports whether el has an enveloped ds:Signature child.
func HasSignature(el *etree.Element) bool {
	for _, c := range el.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == nsDSig {
			return true
		}
	}
	return false
}

// VerifyDocument checks a retrieved XML document: when its root carries an
// enveloped signature it must verify (signer of country, trusted at now).
// signed reports whether there was one. Unsigned documents pass.
func VerifyDocument(data []byte, trust *pki.TrustStore, country string, now time.Time) (signed bool, err error) {
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return false, fmt.Errorf("document is not well-formed XML: %w", err)
	}
	return VerifyDocumentElement(doc.Root(), trust, country, now)
}

// VerifyDocumentElement is VerifyDocument for an already parsed document.
func VerifyDocumentElement(root *etree.Element, trust *pki.TrustStore, country string, now time.Time) (signed bool, err error) {
	if root == nil {
		return false, errors.New("document has no root element")
	}
	if !HasSignature(root) {
		return false, nil
	}
	if _, err := VerifySigned(root, trust, country, now); err != nil {
		return true, err
	}
	return true, nil
}

// SignDocument adds an enveloped RSA-SHA256 / exclusive-c14n signature as
// the first child of root (early, so that verification of large documents
// stays within goxmldsig's traversal limit; xml-signing.md trap 5). The
// simulated peers sign their pivot documents with it.
func SignDocument(root *etree.Element, key crypto.Signer, cert *x509.Certificate) error {
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		return err
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return err
	}
	sig, err := ctx.ConstructSignature(root.Copy(), true)
	if err != nil {
		return err
	}
	root.InsertChildAt(0, sig)
	return nil
}
