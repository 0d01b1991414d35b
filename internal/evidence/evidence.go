package evidence

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Names and values written into evidence.
const (
	// NS is the ETSI REM v2 namespace (TS 102 640-2).
	NS = "http://uri.etsi.org/02640/v2#"
	// NSDSig is the XML-DSig namespace (DigestMethod, DigestValue, Signature).
	NSDSig = "http://www.w3.org/2000/09/xmldsig#"
	// Version is the REMEvidenceType version attribute.
	Version = "2"
	// DigestSHA256 is the message digest algorithm (XML Encryption's URI
	// for SHA-256; OpenNCP's emitter writes "SHA256", which Verify accepts).
	DigestSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	// AuthStrong is the sender authentication method OpenNCP records:
	// mutual TLS with a trusted certificate plus a signed assertion.
	AuthStrong = "http://uri.etsi.org/REM/AuthMethod#Strong"
	// PolicyNRO and PolicyNRR are the EvidenceIssuerPolicyID values: the
	// e-SENS obligations OpenNCP discharges with these evidences.
	PolicyNRO = "urn:eSENS:obligations:nro:ETSIREM"
	PolicyNRR = "urn:eSENS:obligations:nrr:ETSIREM"
)

// Kind is the evidence type: the REM root element.
type Kind string

// The kinds luxncp emits.
const (
	// Origin (NRO): luxncp is the origin of the message (its response).
	Origin Kind = "SubmissionAcceptanceRejection"
	// Receipt (NRR): luxncp received the message (a partner's request).
	Receipt Kind = "AcceptanceRejectionByRecipient"
)

// Short is "nro" or "nrr".
func (k Kind) Short() string {
	switch k {
	case Origin:
		return "nro"
	case Receipt:
		return "nrr"
	}
	return "unknown"
}

func (k Kind) policy() string {
	if k == Origin {
		return PolicyNRO
	}
	return PolicyNRR
}

// Code is the REM EventCode, in OpenNCP's form.
type Code string

// The event codes.
const (
	Acceptance Code = "Acceptance"
	Rejection  Code = "Rejection"
)

// Party is a sender or recipient: a name (the country code and host) and,
// when known, its certificate.
type Party struct {
	Names []string
	Cert  *x509.Certificate
}

// Params is everything an evidence says. Build takes every value as given
// (ids and times included): same Params, same bytes.
type Params struct {
	Kind Kind
	Code Code
	// Reason is the eHDSI error code of a Rejection (EventReason/Code).
	Reason string
	// ID is the EvidenceIdentifier (a UUID).
	ID string
	// Issuer is the seal certificate of the issuer (luxncp).
	Issuer            *x509.Certificate
	Sender, Recipient Party
	// AuthTime is when the sender was authenticated (its request verified).
	AuthTime time.Time
	// EventTime is when the event (acceptance, rejection) happened;
	// SubmissionTime when the message was submitted (the request arrived).
	EventTime, SubmissionTime time.Time
	// Subject is the eHDSI event (EHDSI-32 …), as MessageSubject.
	Subject string
	// MessageID is the message's wsa:MessageID (UAMessageIdentifier and
	// MessageIdentifierByREMMD). Empty (a message without one): no
	// UAMessageIdentifier, and the evidence ID identifies the message.
	MessageID string
	// Digest is the SHA-256 of the message (MessageDigest).
	Digest []byte
}

func (p *Params) check() error {
	switch {
	case p.Kind != Origin && p.Kind != Receipt:
		return fmt.Errorf("evidence: unknown kind %q", p.Kind)
	case p.Code != Acceptance && p.Code != Rejection:
		return fmt.Errorf("evidence: unknown event code %q", p.Code)
	case p.ID == "" || p.Subject == "":
		return errors.New("evidence: identifier and subject are required")
	case p.Issuer == nil:
		return errors.New("evidence: issuer certificate required")
	case len(p.Digest) != sha256.Size:
		return fmt.Errorf("evidence: digest of %d bytes, want a SHA-256", len(p.Digest))
	case p.EventTime.IsZero() || p.SubmissionTime.IsZero() || p.AuthTime.IsZero():
		return errors.New("evidence: event, submission and authentication times are required")
	}
	return nil
}

func xsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Build returns the unsigned evidence element, children in
// REMEvidenceType's sequence order.
func Build(p Params) (*etree.Element, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	root := etree.NewElement(string(p.Kind))
	root.CreateAttr("xmlns", NS)
	root.CreateAttr("xmlns:ds", NSDSig)
	root.CreateAttr("version", Version)
	root.CreateElement("EventCode").SetText(string(p.Code))
	if p.Code == Rejection && p.Reason != "" {
		root.CreateElement("EventReasons").CreateElement("EventReason").CreateElement("Code").SetText(p.Reason)
	}
	root.CreateElement("EvidenceIdentifier").SetText(p.ID)
	root.CreateElement("EvidenceIssuerPolicyID").CreateElement("PolicyID").SetText(p.Kind.policy())
	addEntity(root.CreateElement("EvidenceIssuerDetails"), Party{Cert: p.Issuer})
	auth := root.CreateElement("SenderAuthenticationDetails")
	auth.CreateElement("AuthenticationTime").SetText(xsTime(p.AuthTime))
	auth.CreateElement("AuthenticationMethod").SetText(AuthStrong)
	root.CreateElement("EventTime").SetText(xsTime(p.EventTime))
	root.CreateElement("SubmissionTime").SetText(xsTime(p.SubmissionTime))
	addEntity(root.CreateElement("SenderDetails"), p.Sender)
	addEntity(root.CreateElement("RecipientsDetails").CreateElement("EntityDetails"), p.Recipient)
	md := root.CreateElement("SenderMessageDetails")
	md.CreateAttr("isNotification", "false")
	md.CreateElement("MessageSubject").SetText(p.Subject)
	remmd := p.ID
	if p.MessageID != "" {
		md.CreateElement("UAMessageIdentifier").SetText(p.MessageID)
		remmd = p.MessageID
	}
	md.CreateElement("MessageIdentifierByREMMD").SetText(remmd)
	md.CreateElement("ds:DigestMethod").CreateAttr("Algorithm", DigestSHA256)
	md.CreateElement("ds:DigestValue").SetText(base64.StdEncoding.EncodeToString(p.Digest))
	return root, nil
}

// addEntity writes an EntityDetailsType: names, then the certificate.
func addEntity(e *etree.Element, p Party) {
	if len(p.Names) > 0 {
		npa := e.CreateElement("NamesPostalAddresses").CreateElement("NamePostalAddress").CreateElement("EntityName")
		for _, n := range p.Names {
			npa.CreateElement("Name").SetText(n)
		}
	}
	if p.Cert != nil {
		e.CreateElement("CertificateDetails").CreateElement("X509Certificate").SetText(base64.StdEncoding.EncodeToString(p.Cert.Raw))
	}
}

// Sign builds the evidence of p and signs it with seal (whose certificate
// becomes the issuer's): enveloped, the Signature last. It returns the
// document as stored, serialised once.
func Sign(p Params, seal wssec.Signer) ([]byte, error) {
	p.Issuer = seal.Cert
	root, err := Build(p)
	if err != nil {
		return nil, err
	}
	if err := wssec.SignEnveloped(root, seal, -1); err != nil {
		return nil, fmt.Errorf("evidence: sign: %w", err)
	}
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(root)
	return soap.DocumentBytes(doc, 8<<10), nil
}
