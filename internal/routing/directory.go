package routing

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"
)

// Transaction is an IHE transaction a contact point serves.
type Transaction string

// The eHDSI transactions luxncp routes.
const (
	ITI55 Transaction = "ITI-55" // XCPD cross-gateway patient discovery
	ITI38 Transaction = "ITI-38" // XCA cross-gateway query
	ITI39 Transaction = "ITI-39" // XCA cross-gateway retrieve
	ITI41 Transaction = "ITI-41" // XDR provide and register (eDispensation)
)

// Transactions lists the routed transactions in a fixed order.
var Transactions = []Transaction{ITI55, ITI38, ITI39, ITI41}

// Name is the transaction's IHE profile name.
func (t Transaction) Name() string {
	switch t {
	case ITI55:
		return "XCPD"
	case ITI38:
		return "XCA query"
	case ITI39:
		return "XCA retrieve"
	case ITI41:
		return "XDR"
	}
	return string(t)
}

// DocumentID is the SMP document identifier of the transaction (scheme
// ehealth-resid-qns).
func (t Transaction) DocumentID() string {
	switch t {
	case ITI55:
		return "urn:ehealth:PatientIdentificationAndAuthentication::XCPD::CrossGatewayPatientDiscovery##ITI-55"
	case ITI38:
		return "urn:ehealth:RequestOfData::XCA::CrossGatewayQuery##ITI-38"
	case ITI39:
		return "urn:ehealth:RequestOfData::XCA::CrossGatewayRetrieve##ITI-39"
	case ITI41:
		return "urn:ehealth:ProvisioningOfData::XDR::ProvideAndRegisterDocumentSet-b##ITI-41"
	}
	return ""
}

// Endpoint is one transaction's service metadata.
type Endpoint struct {
	Transaction Transaction `json:"transaction"`
	// DocumentID is the SMP document identifier (informative).
	DocumentID string `json:"documentId,omitempty"`
	URL        string `json:"url"`
	// Certificate is the endpoint's TLS certificate, PEM: the one the
	// endpoint must present (pinned).
	Certificate string `json:"certificate"`
	// Activation / Expiration: the SMP's ServiceActivationDate and
	// ServiceExpirationDate (zero: unbounded); dynamic discovery drops an
	// endpoint outside them.
	Activation time.Time `json:"activation,omitzero"`
	Expiration time.Time `json:"expiration,omitzero"`

	cert *x509.Certificate
}

// Active reports whether the endpoint may be used at now.
func (e *Endpoint) Active(now time.Time) bool {
	return (e.Activation.IsZero() || !now.Before(e.Activation)) && (e.Expiration.IsZero() || now.Before(e.Expiration))
}

// Cert returns the parsed endpoint certificate.
func (e *Endpoint) Cert() *x509.Certificate { return e.cert }

// Country is one contact point's service metadata.
type Country struct {
	// Code is the ISO 3166-1 alpha-2 country code, upper case.
	Code string `json:"country"`
	// Participant is the SMP participant id, urn:ehealth:<cc>:ncp-idp.
	Participant     string     `json:"participant"`
	HomeCommunityID string     `json:"homeCommunityId"`
	Name            string     `json:"name,omitempty"`
	Endpoints       []Endpoint `json:"endpoints"`
	// SearchMask lists the national patient identifiers the country's
	// XCPD accepts (from the eHDSI International Search Mask); optional.
	SearchMask []IdentifierType `json:"searchMask,omitempty"`
	// SignsDocuments records that the country seals the documents it
	// returns (an enveloped signature on the CDA root): an unsigned
	// document from it is refused instead of shown as unsigned.
	SignsDocuments bool `json:"signsDocuments,omitempty"`
}

// IdentifierType is one national patient identifier of a search mask.
type IdentifierType struct {
	Root string `json:"root"` // assigning authority OID
	Name string `json:"name"` // e.g. INS-NIR, KVNR, BSN
}

// Endpoint returns the endpoint of transaction t.
func (c *Country) Endpoint(t Transaction) (*Endpoint, bool) {
	for i := range c.Endpoints {
		if c.Endpoints[i].Transaction == t {
			return &c.Endpoints[i], true
		}
	}
	return nil, false
}

// Participant returns the eHDSI participant id of a country.
func Participant(cc string) string { return "urn:ehealth:" + strings.ToLower(cc) + ":ncp-idp" }

// Directory finds the service metadata of a country. The local
// implementation is a JSON file (Static); the managed twin reads the same
// document from a store.
type Directory interface {
	// Lookup returns the metadata of country cc (ISO alpha-2, any case);
	// ErrUnknownCountry (wrapped in *Error) when there is none.
	Lookup(ctx context.Context, cc string) (Country, error)
	// Countries lists every known country, ordered by code.
	Countries(ctx context.Context) ([]Country, error)
}

// File is the directory document: the JSON file format.
//
//	{
//	  "version": 1,
//	  "countries": [
//	    {
//	      "country": "FR",
//	      "participant": "urn:ehealth:fr:ncp-idp",
//	      "homeCommunityId": "2.16.17.710.790.1000.990.1",
//	      "searchMask": [{"root": "1.2.250.1.213.1.4.8", "name": "INS-NIR"}],
//	      "endpoints": [
//	        {"transaction": "ITI-55", "documentId": "urn:ehealth:…##ITI-55",
//	         "url": "https://127.0.0.1:9101/XCPD_Service",
//	         "certificate": "-----BEGIN CERTIFICATE-----\n…"},
//	        … ITI-38, ITI-39, ITI-41
//	      ]
//	    }
//	  ]
//	}
type File struct {
	Version   int       `json:"version"`
	Countries []Country `json:"countries"`
}

// Static is a directory held in memory (read from a file or built by
// luxncp serve for its simulated peers). It is immutable once built.
type Static struct {
	byCode map[string]Country
	codes  []string
}

var _ Directory = (*Static)(nil)

// NewStatic validates countries and returns a directory of them.
func NewStatic(countries ...Country) (*Static, error) {
	s := &Static{byCode: map[string]Country{}}
	for _, c := range countries {
		c.Code = strings.ToUpper(strings.TrimSpace(c.Code))
		if len(c.Code) != 2 {
			return nil, fmt.Errorf("directory: country code %q is not ISO alpha-2", c.Code)
		}
		if _, dup := s.byCode[c.Code]; dup {
			return nil, fmt.Errorf("directory: country %s listed twice", c.Code)
		}
		if c.Participant == "" {
			c.Participant = Participant(c.Code)
		}
		if c.Participant != Participant(c.Code) {
			return nil, fmt.Errorf("directory: %s: participant %q, want %q", c.Code, c.Participant, Participant(c.Code))
		}
		eps := make([]Endpoint, len(c.Endpoints))
		copy(eps, c.Endpoints)
		for i := range eps {
			e := &eps[i]
			if e.URL == "" || !strings.HasPrefix(e.URL, "https://") {
				return nil, fmt.Errorf("directory: %s %s: endpoint URL must be https", c.Code, e.Transaction)
			}
			if e.DocumentID == "" {
				e.DocumentID = e.Transaction.DocumentID()
			}
			blk, _ := pem.Decode([]byte(e.Certificate))
			if blk == nil || blk.Type != "CERTIFICATE" {
				return nil, fmt.Errorf("directory: %s %s: endpoint certificate is not a PEM certificate", c.Code, e.Transaction)
			}
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("directory: %s %s: %w", c.Code, e.Transaction, err)
			}
			e.cert = cert
		}
		c.Endpoints = eps
		s.byCode[c.Code] = c
		s.codes = append(s.codes, c.Code)
	}
	sort.Strings(s.codes)
	return s, nil
}

// Parse reads a directory document.
func Parse(b []byte) (*Static, error) {
	var f File
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	if f.Version != 1 {
		return nil, fmt.Errorf("directory: version %d, want 1", f.Version)
	}
	return NewStatic(f.Countries...)
}

// LoadFile reads a directory file.
func LoadFile(path string) (*Static, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("directory: %w", err)
	}
	return Parse(b)
}

// Marshal writes the directory document (deterministic: countries by code).
func (s *Static) Marshal() ([]byte, error) {
	f := File{Version: 1}
	for _, cc := range s.codes {
		f.Countries = append(f.Countries, s.byCode[cc])
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// WriteFile writes the directory document to path (mode 0644).
func (s *Static) WriteFile(path string) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// Lookup implements Directory.
func (s *Static) Lookup(_ context.Context, cc string) (Country, error) {
	c, ok := s.byCode[strings.ToUpper(strings.TrimSpace(cc))]
	if !ok {
		return Country{}, &Error{Kind: ErrUnknownCountry, Country: strings.ToUpper(cc),
			Public: "no national contact point is known for country " + quoteCC(cc)}
	}
	return c, nil
}

// Countries implements Directory.
func (s *Static) Countries(context.Context) ([]Country, error) {
	out := make([]Country, 0, len(s.codes))
	for _, cc := range s.codes {
		out = append(out, s.byCode[cc])
	}
	return out, nil
}

func quoteCC(cc string) string {
	if len(cc) > 8 {
		cc = cc[:8]
	}
	return fmt.Sprintf("%q", cc)
}

// CertPEM encodes a certificate as PEM, for directory entries.
func CertPEM(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}

// ErrNoEndpoint is wrapped when a country does not offer a transaction.
var ErrNoEndpoint = errors.New("transaction not offered by the country")
