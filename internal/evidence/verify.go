package evidence

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
)

// Evidence is what a verified evidence document says.
type Evidence struct {
	Kind    Kind
	Code    Code
	Reasons []string
	ID      string
	Version string
	Policy  string
	// Issuer is the issuer's certificate, equal to the signer's.
	Issuer                              *x509.Certificate
	Sender, Recipient                   Party
	AuthTime, EventTime, SubmissionTime time.Time
	Subject, MessageID                  string
	Digest                              []byte
}

// ErrInvalid is wrapped by every refusal of Verify.
var ErrInvalid = errors.New("evidence does not verify")

// MaxBytes is the largest evidence document Verify reads.
const MaxBytes = 1 << 20

// Verifier checks evidence documents.
type Verifier struct {
	// Trust holds the CAs of seal certificates (the trust bundle).
	Trust *pki.TrustStore
	// Country, when set, is the country the seal must name (LU).
	Country string
}

// Verify reads an evidence document with the hardened reader, checks its
// enveloped signature (a seal trusted at the evidence's EventTime, of
// Country), then reads only the element the signature covers and checks
// it against REMEvidenceType without a schema: root and namespace, the
// children's sequence order and cardinality, the event code, the issuer
// equal to the signer, times, and a SHA-256 message digest.
func (v Verifier) Verify(data []byte) (*Evidence, error) {
	doc, err := soap.ParseDocument(data, soap.Limits{MaxBytes: MaxBytes})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	root := doc.Root()
	if root == nil || root.NamespaceURI() != NS || (root.Tag != string(Origin) && root.Tag != string(Receipt)) {
		return nil, fmt.Errorf("%w: the root is not an ETSI REM SubmissionAcceptanceRejection or AcceptanceRejectionByRecipient", ErrInvalid)
	}
	if err := checkSequence(root, true); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	// The signature is judged at the time it was made; the signed content
	// must then state that same time.
	claimed, err := parseTime(childText(root, "EventTime"))
	if err != nil {
		return nil, fmt.Errorf("%w: EventTime: %v", ErrInvalid, err)
	}
	if v.Trust == nil {
		return nil, fmt.Errorf("%w: no trust store", ErrInvalid)
	}
	signed, err := routing.VerifySigned(root, v.Trust, v.Country, claimed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	ev, err := read(signed)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if !ev.EventTime.Equal(claimed) {
		return nil, fmt.Errorf("%w: EventTime outside the signed content", ErrInvalid)
	}
	signer, err := signerCert(root) // the certificate VerifySigned checked
	if err != nil || ev.Issuer == nil || !bytes.Equal(signer.Raw, ev.Issuer.Raw) {
		return nil, fmt.Errorf("%w: the issuer's certificate is not the signer's", ErrInvalid)
	}
	return ev, nil
}

// slot is one element of REMEvidenceType's sequence.
type slot struct {
	name     string
	ns       string
	required bool // by the schema or by luxncp
}

// sequence is REMEvidenceType's child order (TS 102 640-2; OpenNCP's JAXB
// propOrder). luxncp also requires EventCode, SenderMessageDetails and the
// Signature.
var sequence = []slot{
	{"EventCode", NS, true}, {"EventReasons", NS, false}, {"EvidenceIdentifier", NS, true},
	{"EvidenceIssuerPolicyID", NS, false}, {"EvidenceIssuerDetails", NS, true},
	{"SenderAuthenticationDetails", NS, false}, {"RecipientAuthenticationDetails", NS, false},
	{"EventTime", NS, true}, {"SubmissionTime", NS, false}, {"ReplyTo", NS, false}, {"ReplyToAddress", NS, false},
	{"SenderDetails", NS, true}, {"RecipientsDetails", NS, true}, {"RecipientsDelegatesDetails", NS, false},
	{"EvidenceRefersToRecipient", NS, false}, {"SenderMessageDetails", NS, true},
	{"NotificationMessageDetails", NS, false}, {"ForwardedToExternalSystem", NS, false},
	{"TransactionLogInformation", NS, false}, {"Extensions", NS, false}, {"Signature", NSDSig, true},
}

// checkSequence refuses unknown, repeated, misplaced or missing children.
// The signed content, read back from the canonical bytes, no longer holds
// the enveloped Signature (signed false).
func checkSequence(root *etree.Element, signed bool) error {
	i := 0
	required := func(s slot) bool { return s.required && (signed || s.ns != NSDSig) }
	for _, c := range root.ChildElements() {
		j := i
		for j < len(sequence) && (sequence[j].name != c.Tag || sequence[j].ns != c.NamespaceURI()) {
			if required(sequence[j]) {
				return fmt.Errorf("%s missing (or %s out of order)", sequence[j].name, c.Tag)
			}
			j++
		}
		if j == len(sequence) {
			return fmt.Errorf("unexpected element %s (unknown, repeated or out of order)", c.Tag)
		}
		i = j + 1
	}
	for ; i < len(sequence); i++ {
		if required(sequence[i]) {
			return fmt.Errorf("%s missing", sequence[i].name)
		}
	}
	return nil
}

// read checks the signed element and reads it.
func read(root *etree.Element) (*Evidence, error) {
	if err := checkSequence(root, false); err != nil {
		return nil, err
	}
	ev := &Evidence{Kind: Kind(root.Tag), Code: Code(childText(root, "EventCode")),
		ID: childText(root, "EvidenceIdentifier"), Version: root.SelectAttrValue("version", "")}
	if ev.Version == "" {
		return nil, errors.New("version attribute missing")
	}
	if ev.Code != Acceptance && ev.Code != Rejection {
		return nil, fmt.Errorf("event code %q is neither Acceptance nor Rejection", ev.Code)
	}
	if ev.ID == "" {
		return nil, errors.New("empty EvidenceIdentifier")
	}
	if r := child(root, "EventReasons"); r != nil {
		for _, er := range r.ChildElements() {
			ev.Reasons = append(ev.Reasons, childText(er, "Code"))
		}
	}
	if p := child(root, "EvidenceIssuerPolicyID"); p != nil {
		ev.Policy = childText(p, "PolicyID")
	}
	var err error
	if ev.Issuer, err = entity(child(root, "EvidenceIssuerDetails"), &Party{}); err != nil {
		return nil, fmt.Errorf("EvidenceIssuerDetails: %w", err)
	}
	if a := child(root, "SenderAuthenticationDetails"); a != nil {
		if ev.AuthTime, err = parseTime(childText(a, "AuthenticationTime")); err != nil {
			return nil, fmt.Errorf("AuthenticationTime: %w", err)
		}
	}
	if ev.EventTime, err = parseTime(childText(root, "EventTime")); err != nil {
		return nil, fmt.Errorf("EventTime: %w", err)
	}
	if s := childText(root, "SubmissionTime"); s != "" {
		if ev.SubmissionTime, err = parseTime(s); err != nil {
			return nil, fmt.Errorf("SubmissionTime: %w", err)
		}
	}
	if _, err = entity(child(root, "SenderDetails"), &ev.Sender); err != nil {
		return nil, fmt.Errorf("SenderDetails: %w", err)
	}
	rd := child(root, "RecipientsDetails").ChildElements()
	if len(rd) == 0 || rd[0].Tag != "EntityDetails" {
		return nil, errors.New("RecipientsDetails without EntityDetails")
	}
	if _, err = entity(rd[0], &ev.Recipient); err != nil {
		return nil, fmt.Errorf("RecipientsDetails: %w", err)
	}
	md := child(root, "SenderMessageDetails")
	ev.Subject = childText(md, "MessageSubject")
	ev.MessageID = childText(md, "UAMessageIdentifier")
	if ev.MessageID == "" {
		ev.MessageID = childText(md, "MessageIdentifierByREMMD")
	}
	var dm, dv *etree.Element
	for _, c := range md.ChildElements() {
		if c.NamespaceURI() == NSDSig && c.Tag == "DigestMethod" {
			dm = c
		}
		if c.NamespaceURI() == NSDSig && c.Tag == "DigestValue" {
			dv = c
		}
	}
	if dm == nil || dv == nil {
		return nil, errors.New("SenderMessageDetails without DigestMethod and DigestValue")
	}
	if alg := dm.SelectAttrValue("Algorithm", ""); alg != DigestSHA256 && alg != "SHA256" {
		return nil, fmt.Errorf("message digest algorithm %q is not SHA-256", alg)
	}
	if ev.Digest, err = base64.StdEncoding.DecodeString(strings.Join(strings.Fields(dv.Text()), "")); err != nil || len(ev.Digest) != sha256.Size {
		return nil, errors.New("message digest is not a base64 SHA-256 value")
	}
	return ev, nil
}

// entity reads an EntityDetailsType into p and returns its certificate.
func entity(e *etree.Element, p *Party) (*x509.Certificate, error) {
	if e == nil {
		return nil, errors.New("missing")
	}
	if n := child(e, "NamesPostalAddresses"); n != nil {
		for _, npa := range n.ChildElements() {
			if en := child(npa, "EntityName"); en != nil {
				for _, name := range en.ChildElements() {
					p.Names = append(p.Names, name.Text())
				}
			}
		}
	}
	cd := child(e, "CertificateDetails")
	if cd == nil {
		return nil, nil
	}
	der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(childText(cd, "X509Certificate")), ""))
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	if p.Cert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	return p.Cert, nil
}

// signerCert is the certificate in the enveloped signature.
func signerCert(root *etree.Element) (*x509.Certificate, error) {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" && c.NamespaceURI() == NSDSig {
			if x := c.FindElement(".//X509Certificate"); x != nil {
				der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(x.Text()), ""))
				if err != nil {
					return nil, err
				}
				return x509.ParseCertificate(der)
			}
		}
	}
	return nil, errors.New("no signature certificate")
}

// child is the first child element of e named local in the REM namespace.
func child(e *etree.Element, local string) *etree.Element {
	if e == nil {
		return nil
	}
	for _, c := range e.ChildElements() {
		if c.Tag == local && c.NamespaceURI() == NS {
			return c
		}
	}
	return nil
}

func childText(e *etree.Element, local string) string {
	if c := child(e, local); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an xs:dateTime with a time zone", s)
	}
	return t, nil
}
