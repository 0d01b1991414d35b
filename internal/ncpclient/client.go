package ncpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Client sends eHDSI SOAP requests.
type Client struct {
	HTTP   *http.Client
	Limits soap.Limits
	Writer soap.Writer
}

// NewMTLSClient returns an HTTP client presenting cert and trusting roots.
func NewMTLSClient(cert tls.Certificate, roots *x509.CertPool, timeout time.Duration) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, MinVersion: tls.VersionTLS12, Time: clock.System()},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   false,
	}
	return &http.Client{Transport: tr, Timeout: timeout}
}

// Request is one SOAP call.
type Request struct {
	URL        string
	Action     string
	Body       *etree.Element
	Assertions []*etree.Element // placed in wsse:Security, in order
	MTOM       bool
	MessageID  string // empty: random
}

// Reply is what came back.
type Reply struct {
	Status   int
	Env      *soap.Envelope // nil when the body was not SOAP
	Fault    *ehdsi.Fault   // set when the reply is a SOAP fault
	Raw      []byte
	Header   http.Header
	Duration time.Duration
	// RequestBytes is the request as sent (for reports).
	RequestBytes []byte
}

// Security builds the wsse:Security header with the given assertions, for
// serialising: the header refers to the assertions, it neither copies nor
// re-parents them (their Parent stays theirs), so one signed assertion —
// a session's HCP — goes out with many concurrent requests unchanged and
// unshared state is never written. Do not modify the returned header's
// children.
func Security(assertions ...*etree.Element) *etree.Element {
	sec := soap.NewElement("wsse", "Security", soap.NSWSSE)
	for _, a := range assertions {
		if a != nil {
			sec.Child = append(sec.Child, a)
		}
	}
	return sec
}

// Marshal serialises a request as it goes on the wire.
func (c *Client) Marshal(r Request) (ctype string, body []byte, err error) {
	resp := soap.Response{Action: r.Action, MessageID: r.MessageID, To: r.URL, Body: r.Body}
	if len(r.Assertions) > 0 {
		resp.Headers = []*etree.Element{Security(r.Assertions...)}
	}
	return c.Writer.Marshal(resp, r.MTOM)
}

// Call sends r and reads the reply. Transport errors are returned as
// errors; SOAP faults come back in Reply.Fault.
func (c *Client) Call(ctx context.Context, r Request) (*Reply, error) {
	ctype, body, err := c.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("marshal request: %w", err)
	}
	return c.Send(ctx, r.URL, ctype, body)
}

// Send posts prepared bytes (used to send deliberately broken requests).
func (c *Client) Send(ctx context.Context, url, ctype string, body []byte) (*Reply, error) {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	hreq.Header.Set("Content-Type", ctype)
	start := clock.Now()
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	res, err := hc.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	lim := c.Limits
	if lim.MaxBytes == 0 {
		lim.MaxBytes = 64 << 20
	}
	// Sized once from the announced length (at most 64 KiB: the length is
	// the partner's word; beyond it the buffer grows with what arrives).
	rb := bytes.NewBuffer(make([]byte, 0, min(max(res.ContentLength, 0), 64<<10)+bytes.MinRead))
	if _, err := rb.ReadFrom(io.LimitReader(res.Body, lim.MaxBytes+1)); err != nil {
		return nil, fmt.Errorf("read reply: %w", err)
	}
	raw := rb.Bytes()
	rep := &Reply{Status: res.StatusCode, Raw: raw, Header: res.Header, Duration: clock.Now().Sub(start), RequestBytes: body}
	ct := res.Header.Get("Content-Type")
	if !strings.Contains(ct, "soap+xml") && !strings.Contains(ct, "multipart/related") && !strings.Contains(ct, "xml") {
		return rep, nil
	}
	// Read the reply with the same parser and limits as requests.
	res.Body = io.NopCloser(bytes.NewReader(raw))
	env, err := soap.ReadResponse(res, lim)
	if err != nil {
		return rep, nil
	}
	rep.Env = env
	rep.Fault = env.Fault()
	return rep, nil
}

// ParseFault reads an env:Fault element (nil when el is not a fault).
func ParseFault(el *etree.Element) *ehdsi.Fault {
	if el == nil || el.Tag != "Fault" {
		return nil
	}
	f := &ehdsi.Fault{Kind: ehdsi.KindReceiver}
	if v := el.FindElement("./Code/Value"); v != nil && strings.HasSuffix(strings.TrimSpace(v.Text()), "Sender") {
		f.Kind = ehdsi.KindSender
	}
	if t := el.FindElement("./Reason/Text"); t != nil {
		f.Public = strings.TrimSpace(t.Text())
	}
	if re := el.FindElement(".//RegistryError"); re != nil {
		f.Code = ehdsi.Code(re.SelectAttrValue("errorCode", ""))
		f.Location = re.SelectAttrValue("location", "")
	} else if sv := el.FindElement("./Code/Subcode/Value"); sv != nil {
		s := strings.TrimSpace(sv.Text())
		if i := strings.IndexByte(s, ':'); i >= 0 {
			s = s[i+1:]
		}
		f.Code = ehdsi.Code(s)
	}
	return f
}

// Identity is a Country B node: its country, seal and assertion defaults.
type Identity struct {
	Country string // ISO alpha-2, upper case
	Seal    wssec.Signer
	// Now is the clock; nil means the system clock.
	Now func() time.Time
}

func (id *Identity) now() time.Time {
	return clock.Or(id.Now)()
}

// Professional is the HCP on whose behalf a request is made.
type Professional struct {
	ID, Name, Organisation, OrganisationID, FacilityType, Locality string
	Role                                                           string // physician | pharmacist | nurse | …
	Purpose                                                        string // TREATMENT | EMERGENCY
	Permissions                                                    []string
	// AuthnContext: the SAML AuthnContextClassRef of the professional's
	// login (default X509).
	AuthnContext string
}

// DefaultPermissions a professional of a role holds in eHDSI.
func DefaultPermissions(role string) []string {
	base := []string{"PRD-006", "PRD-003", "PRD-004", "PRD-005", "PRD-010", "PRD-016"}
	if role == "pharmacist" {
		return append(base, "PPD-046")
	}
	return base
}

// HCPParams returns the assertion parameters for p, issued now.
func (id *Identity) HCPParams(p Professional, valid time.Duration) (wssec.HCPParams, error) {
	role, ok := wssec.Roles[p.Role]
	if !ok {
		return wssec.HCPParams{}, fmt.Errorf("unknown role %q (physician, gp, specialist, nurse, midwife, dentist, pharmacist)", p.Role)
	}
	if p.Purpose == "" {
		p.Purpose = "TREATMENT"
	}
	if p.Permissions == nil {
		p.Permissions = DefaultPermissions(p.Role)
	}
	return wssec.HCPParams{
		Issuer: "urn:idp:" + id.Country + ":countryB", NameID: p.ID, Name: p.Name, Role: role,
		Organisation: p.Organisation, OrganisationID: p.OrganisationID, FacilityType: p.FacilityType,
		Locality: p.Locality, Purpose: p.Purpose, Permissions: p.Permissions, AuthnContext: p.AuthnContext,
		IssueInstant: id.now(), Valid: valid,
	}, nil
}

// HCP issues a signed HCP assertion for p.
func (id *Identity) HCP(p Professional, valid time.Duration) (*etree.Element, error) {
	params, err := id.HCPParams(p, valid)
	if err != nil {
		return nil, err
	}
	return wssec.IssueHCP(params, id.Seal)
}

// TRC issues a TRC assertion for patient, tied to hcp.
func (id *Identity) TRC(hcp *etree.Element, patient wssec.PatientID, purpose string, valid time.Duration) (*etree.Element, error) {
	return wssec.IssueTRC(wssec.TRCParams{
		Issuer: "urn:idp:" + id.Country + ":countryB", HCP: hcp, Patient: patient, Purpose: purpose,
		IssueInstant: id.now(), Valid: valid,
	}, id.Seal)
}

// DemoProfessional returns a plausible professional of a country and role
// for tests and the walk-through (synthetic).
func DemoProfessional(country, role string) Professional {
	names := map[string][2]string{
		"FR": {"Claire Martin", "Pharmacie du Centre, Thionville"},
		"BE": {"Luc Peeters", "Clinique Saint-Joseph, Arlon"},
		"DE": {"Anna Becker", "Mutterhaus der Borromäerinnen, Trier"},
		"NL": {"Sanne de Vries", "Apotheek Centrum, Maastricht"},
		"PT": {"João Silva", "Farmácia Central, Lisboa"},
		"LU": {"Marc Weber", "Centre Hospitalier de Luxembourg"},
	}
	n, ok := names[strings.ToUpper(country)]
	if !ok {
		n = [2]string{"Test Professional", "Test Organisation"}
	}
	facility := "Hospital"
	if role == "pharmacist" {
		facility = "Pharmacy"
	}
	return Professional{
		ID: strings.ToLower(country) + "-" + role + "-0001", Name: n[0], Organisation: n[1],
		OrganisationID: "urn:oid:2.999.1." + fmt.Sprint(len(n[1])), FacilityType: facility,
		Locality: n[1], Role: role, Purpose: "TREATMENT",
	}
}
