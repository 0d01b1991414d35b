package smp

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
)

// Endpoint is one SMP Endpoint (BDXR EndpointType, in schema order:
// EndpointURI, RequireBusinessLevelSignature, ServiceActivationDate,
// ServiceExpirationDate, Certificate, ServiceDescription,
// TechnicalContactUrl, Extension).
type Endpoint struct {
	TransportProfile string
	URL              string
	// Activation / Expiration bound the endpoint's use (zero: unbounded).
	Activation, Expiration time.Time
	// Certificate is the endpoint's TLS certificate, pinned by callers;
	// nil for the ISM endpoint, which is not a service.
	Certificate      *x509.Certificate
	Description      string
	TechnicalContact string
	// Extension is the endpoint's Extension content (the ISM), or nil.
	Extension *etree.Element
}

// Active reports whether the endpoint may be used at now.
func (e Endpoint) Active(now time.Time) bool {
	return (&routing.Endpoint{Activation: e.Activation, Expiration: e.Expiration}).Active(now)
}

// ServiceMetadata is one participant's metadata for one document id.
type ServiceMetadata struct {
	Participant string
	DocumentID  string
	ProcessID   string
	Endpoints   []Endpoint
	// Info is the ServiceInformation Extension content, or nil: luxncp
	// publishes its home community id there (see Participant info).
	Info *etree.Element
}

const timeFormat = "2006-01-02T15:04:05Z"

// Element writes the ServiceMetadata element (default namespace NS).
func (m ServiceMetadata) Element() *etree.Element {
	sm := etree.NewElement("ServiceMetadata")
	sm.CreateAttr("xmlns", NS)
	si := sm.CreateElement("ServiceInformation")
	pid := si.CreateElement("ParticipantIdentifier")
	pid.CreateAttr("scheme", ParticipantScheme)
	pid.SetText(m.Participant)
	did := si.CreateElement("DocumentIdentifier")
	did.CreateAttr("scheme", DocumentScheme)
	did.SetText(m.DocumentID)
	proc := si.CreateElement("ProcessList").CreateElement("Process")
	prid := proc.CreateElement("ProcessIdentifier")
	prid.CreateAttr("scheme", ProcessScheme)
	prid.SetText(m.ProcessID)
	list := proc.CreateElement("ServiceEndpointList")
	for _, e := range m.Endpoints {
		ep := list.CreateElement("Endpoint")
		ep.CreateAttr("transportProfile", e.TransportProfile)
		ep.CreateElement("EndpointURI").SetText(e.URL)
		ep.CreateElement("RequireBusinessLevelSignature").SetText("false")
		if !e.Activation.IsZero() {
			ep.CreateElement("ServiceActivationDate").SetText(e.Activation.UTC().Format(timeFormat))
		}
		if !e.Expiration.IsZero() {
			ep.CreateElement("ServiceExpirationDate").SetText(e.Expiration.UTC().Format(timeFormat))
		}
		cert := ep.CreateElement("Certificate")
		if e.Certificate != nil {
			cert.SetText(base64.StdEncoding.EncodeToString(e.Certificate.Raw))
		}
		ep.CreateElement("ServiceDescription").SetText(e.Description)
		ep.CreateElement("TechnicalContactUrl").SetText(e.TechnicalContact)
		if e.Extension != nil {
			ep.CreateElement("Extension").AddChild(e.Extension.Copy())
		}
	}
	if m.Info != nil {
		si.CreateElement("Extension").AddChild(m.Info.Copy())
	}
	return sm
}

// Sign returns the SignedServiceMetadata document of m: the metadata and an
// enveloped RSA-SHA256 signature over the whole SignedServiceMetadata
// (Reference URI "", exclusive c14n), placed after the ServiceMetadata as
// SMP 1.0 §3.6.2 places it, with the signer's certificate in KeyInfo.
func Sign(m ServiceMetadata, key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	return SignElement(m.Element(), key, cert)
}

// SignElement is Sign for a ServiceMetadata element already written (a
// file of `luxncp smp generate`).
func SignElement(sm *etree.Element, key crypto.Signer, cert *x509.Certificate) ([]byte, error) {
	if sm.Tag != "ServiceMetadata" || sm.NamespaceURI() != NS {
		return nil, fmt.Errorf("smp sign: %s is not an SMP ServiceMetadata", sm.Tag)
	}
	root := etree.NewElement("SignedServiceMetadata")
	root.CreateAttr("xmlns", NS)
	sm = sm.Copy()
	sm.Space = ""
	sm.RemoveAttr("xmlns")
	root.AddChild(sm)
	ctx, err := dsig.NewSigningContext(key, [][]byte{cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("smp sign: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, fmt.Errorf("smp sign: %w", err)
	}
	sig, err := ctx.ConstructSignature(root, true)
	if err != nil {
		return nil, fmt.Errorf("smp sign: %w", err)
	}
	root.AddChild(sig)
	doc := etree.NewDocument()
	doc.CreateProcInst("xml", `version="1.0" encoding="UTF-8"`)
	doc.SetRoot(root)
	return doc.WriteToBytes()
}

// Errors of metadata verification (wrapped).
var (
	ErrUnsigned    = errors.New("service metadata is not signed")
	ErrBadMetadata = errors.New("service metadata refused")
)

// Verifier checks SignedServiceMetadata.
type Verifier struct {
	// Trust: the signer's certificate must chain to it (seal use).
	Trust *pki.TrustStore
	// Signers are SMP signing certificates accepted for any participant
	// (a central or national SMP's key). Besides them, metadata signed by
	// the seal of the participant's own country is accepted (what
	// `luxncp smp sign` produces).
	Signers []*x509.Certificate
	// Limits bound the document (zero: soap's defaults).
	Limits soap.Limits
}

// Verify reads data through the hardened reader, checks its signature
// (verify first), then parses only the verified element, and checks that
// it is the metadata of participant and documentID (no substitution).
// It returns the metadata and the signer's certificate.
func (v Verifier) Verify(data []byte, participant, documentID string, now time.Time) (*ServiceMetadata, *x509.Certificate, error) {
	doc, err := soap.ParseDocument(data, v.Limits)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	root := doc.Root()
	if root == nil || root.Tag != "SignedServiceMetadata" || root.NamespaceURI() != NS {
		return nil, nil, fmt.Errorf("%w: not a SignedServiceMetadata", ErrBadMetadata)
	}
	if !routing.HasSignature(root) {
		return nil, nil, ErrUnsigned
	}
	signer, err := signerCert(root)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	cc := strings.ToUpper(countryOf(participant))
	pinned := false
	for _, s := range v.Signers {
		if bytes.Equal(s.Raw, signer.Raw) {
			pinned = true
		}
	}
	want := cc
	if pinned {
		want = ""
	}
	verified, err := routing.VerifySigned(root, v.Trust, want, now)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	m, err := parse(verified)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadMetadata, err)
	}
	if !strings.EqualFold(m.Participant, participant) {
		return nil, nil, fmt.Errorf("%w: metadata of %q, asked for %q", ErrBadMetadata, m.Participant, participant)
	}
	if !strings.EqualFold(m.DocumentID, documentID) {
		return nil, nil, fmt.Errorf("%w: metadata of document %q, asked for %q", ErrBadMetadata, m.DocumentID, documentID)
	}
	return m, signer, nil
}

func countryOf(participant string) string {
	p := strings.Split(participant, ":")
	if len(p) == 4 && strings.EqualFold(p[0], "urn") && strings.EqualFold(p[1], "ehealth") {
		return p[2]
	}
	return ""
}

func signerCert(root *etree.Element) (*x509.Certificate, error) {
	for _, c := range root.ChildElements() {
		if c.Tag == "Signature" {
			xs := c.FindElements(".//X509Certificate")
			if len(xs) != 1 {
				return nil, fmt.Errorf("%d certificates in the signature, want 1", len(xs))
			}
			der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(xs[0].Text()), ""))
			if err != nil {
				return nil, err
			}
			return x509.ParseCertificate(der)
		}
	}
	return nil, ErrUnsigned
}

// child returns the one child of el named tag in the SMP namespace.
func child(el *etree.Element, tag string) *etree.Element {
	for _, c := range el.ChildElements() {
		if c.Tag == tag && c.NamespaceURI() == NS {
			return c
		}
	}
	return nil
}

func text(el *etree.Element, tag string) string {
	if c := child(el, tag); c != nil {
		return strings.TrimSpace(c.Text())
	}
	return ""
}

// parse reads the verified SignedServiceMetadata element.
func parse(root *etree.Element) (*ServiceMetadata, error) {
	sm := child(root, "ServiceMetadata")
	if sm == nil {
		return nil, errors.New("no ServiceMetadata")
	}
	si := child(sm, "ServiceInformation")
	if si == nil {
		return nil, errors.New("no ServiceInformation (a redirect is not followed)")
	}
	m := &ServiceMetadata{Participant: text(si, "ParticipantIdentifier"), DocumentID: text(si, "DocumentIdentifier")}
	if ext := child(si, "Extension"); ext != nil && len(ext.ChildElements()) > 0 {
		m.Info = ext.ChildElements()[0]
	}
	pl := child(si, "ProcessList")
	if pl == nil {
		return nil, errors.New("no ProcessList")
	}
	for _, proc := range pl.ChildElements() {
		if proc.Tag != "Process" || proc.NamespaceURI() != NS {
			continue
		}
		if m.ProcessID == "" {
			m.ProcessID = text(proc, "ProcessIdentifier")
		}
		list := child(proc, "ServiceEndpointList")
		if list == nil {
			continue
		}
		for _, ep := range list.ChildElements() {
			if ep.Tag != "Endpoint" || ep.NamespaceURI() != NS {
				continue
			}
			e := Endpoint{TransportProfile: ep.SelectAttrValue("transportProfile", ""), URL: text(ep, "EndpointURI"),
				Description: text(ep, "ServiceDescription"), TechnicalContact: text(ep, "TechnicalContactUrl")}
			var err error
			if s := text(ep, "ServiceActivationDate"); s != "" {
				if e.Activation, err = time.Parse(time.RFC3339, s); err != nil {
					return nil, fmt.Errorf("ServiceActivationDate: %w", err)
				}
			}
			if s := text(ep, "ServiceExpirationDate"); s != "" {
				if e.Expiration, err = time.Parse(time.RFC3339, s); err != nil {
					return nil, fmt.Errorf("ServiceExpirationDate: %w", err)
				}
			}
			if s := strings.Join(strings.Fields(text(ep, "Certificate")), ""); s != "" {
				der, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return nil, fmt.Errorf("endpoint certificate: %w", err)
				}
				if e.Certificate, err = x509.ParseCertificate(der); err != nil {
					return nil, fmt.Errorf("endpoint certificate: %w", err)
				}
			}
			if ext := child(ep, "Extension"); ext != nil && len(ext.ChildElements()) > 0 {
				e.Extension = ext.ChildElements()[0]
			}
			m.Endpoints = append(m.Endpoints, e)
		}
	}
	return m, nil
}
