package national

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-retryablehttp"

	"github.com/luxncp/luxncp/internal/matricule"
	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

// ErrBadQuery: the query cannot be sent (e.g. neither a matricule nor
// family name and birth date).
var ErrBadQuery = errors.New("invalid national query")

// Client is the production Source: a FHIR R4 REST client for the national
// shared record.
//
// Reads (GET) are idempotent and retried with go-retryablehttp: connection
// errors, 429 and 5xx (except 501), a bounded number of times with jittered
// backoff, all within the per-call timeout. Writes are never retried by the
// Client: RecordDispense is a FHIR conditional create keyed by the
// dispensation key (If-None-Exist: identifier=SystemDispenseKey|key), so the
// caller (the outbox dispatcher) may safely resend it after an
// ErrUnavailable: a create that did reach the national side answers 200 with
// the recorded resource and has no second effect. CancelDispense is a
// conditional update to status entered-in-error and is idempotent too.
//
// Errors: 5xx, 429, timeouts and network failures wrap ErrUnavailable; 404
// and 410 ErrNotFound; 409 ErrConflict. Error texts carry no patient data
// (no URLs with identifiers, no OperationOutcome diagnostics; those are
// logged at debug level).
type Client struct {
	base        *url.URL
	hc          *http.Client
	rc          *retryablehttp.Client
	timeout     time.Duration
	maxResponse int64
	log         *slog.Logger
}

var _ Source = (*Client)(nil)

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (TLS, proxies, transport); default
// a client of its own whose transport keeps MaxIdleConnsPerHost
// connections to the backend. Its own Timeout, if any, applies per attempt.
func WithHTTPClient(hc *http.Client) ClientOption { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each call, retries included (default 5 s).
func WithTimeout(d time.Duration) ClientOption { return func(c *Client) { c.timeout = d } }

// WithRetries sets the number of retries of a GET (default 2) and the
// backoff bounds (default 100 ms to 1 s, linear with jitter).
func WithRetries(n int, waitMin, waitMax time.Duration) ClientOption {
	return func(c *Client) { c.rc.RetryMax, c.rc.RetryWaitMin, c.rc.RetryWaitMax = n, waitMin, waitMax }
}

// WithMaxResponse limits response bodies (default 32 MiB).
func WithMaxResponse(n int64) ClientOption { return func(c *Client) { c.maxResponse = n } }

// WithClientLogger sets the logger (nil: discard).
func WithClientLogger(l *slog.Logger) ClientOption { return func(c *Client) { c.log = l } }

// MaxIdleConnsPerHost is how many idle keep-alive connections the default
// transport keeps to the national backend: the gateway's requests in flight
// (LUXNCP_MAX_INFLIGHT, 32 by default) call it concurrently, and with
// net/http's default of 2 every call beyond two concurrent ones closed its
// connection after use — thousands of new TCP connections a minute under
// load (docs/benchmarks.md, issue 19 round 3).
const MaxIdleConnsPerHost = 64

// defaultHTTPClient is the client NewClient uses without WithHTTPClient:
// net/http's default transport settings (proxy from the environment,
// timeouts, HTTP/2) with MaxIdleConnsPerHost.
func defaultHTTPClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = MaxIdleConnsPerHost
	tr.MaxIdleConns = max(tr.MaxIdleConns, MaxIdleConnsPerHost)
	return &http.Client{Transport: tr}
}

// NewClient returns a Client for the FHIR base URL (e.g.
// http://127.0.0.1:8081/fhir).
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("national FHIR base URL %q: want http(s)://host/path", baseURL)
	}
	c := &Client{
		base: u, timeout: 5 * time.Second, maxResponse: 32 << 20,
		rc: &retryablehttp.Client{
			RetryMax: 2, RetryWaitMin: 100 * time.Millisecond, RetryWaitMax: time.Second,
			CheckRetry:   retryablehttp.DefaultRetryPolicy,
			Backoff:      retryablehttp.LinearJitterBackoff,
			ErrorHandler: retryablehttp.PassthroughErrorHandler,
		},
	}
	for _, o := range opts {
		o(c)
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.rc.HTTPClient = c.hc
	return c, nil
}

// resolve makes an absolute URL from a path relative to the base; absolute
// URLs must have the base's scheme and host (no requests to other servers).
func (c *Client) resolve(ref string) (string, error) {
	u, err := url.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("national document URL: %w", err)
	}
	if u.IsAbs() {
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return "", errors.New("national document URL points outside the national FHIR server")
		}
		return u.String(), nil
	}
	if strings.HasPrefix(u.Path, "/") || strings.Contains(u.Path, "..") {
		return "", errors.New("national document URL must be relative to the FHIR base")
	}
	return c.base.String() + "/" + u.String(), nil
}

// response is a read body with its status and media type.
type response struct {
	status      int
	contentType string
	body        []byte
}

// do sends one request; GETs go through the retrying client. what names the
// request in errors without patient data ("Patient search").
func (c *Client) do(ctx context.Context, method, target, what string, body []byte, hdr http.Header) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var (
		resp *http.Response
		err  error
	)
	if method == http.MethodGet {
		var req *retryablehttp.Request
		if req, err = retryablehttp.NewRequestWithContext(ctx, method, target, nil); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		maps(req.Header, hdr)
		resp, err = c.rc.Do(req)
	} else {
		var req *http.Request
		if req, err = http.NewRequestWithContext(ctx, method, target, bytes.NewReader(body)); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		maps(req.Header, hdr)
		resp, err = c.hc.Do(req)
	}
	if err != nil {
		if resp != nil {
			resp.Body.Close()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL carries patient identifiers
		}
		return nil, fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)
	}
	defer resp.Body.Close()
	b, err := readBody(resp.Body, c.maxResponse+1)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: reading the response: %w", ErrUnavailable, what, err)
	}
	if int64(len(b)) > c.maxResponse {
		return nil, fmt.Errorf("%s: response larger than %d bytes", what, c.maxResponse)
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	r := &response{status: resp.StatusCode, contentType: mt, body: b}
	if r.status >= 200 && r.status < 300 {
		return r, nil
	}
	c.log.Debug("national system error", "what", what, "status", r.status, "outcome", diagnostics(b))
	switch {
	case r.status == http.StatusNotFound || r.status == http.StatusGone:
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
	case r.status == http.StatusConflict:
		return nil, fmt.Errorf("%s: %w", what, ErrConflict)
	case r.status >= 500 || r.status == http.StatusTooManyRequests:
		return nil, fmt.Errorf("%w: %s: HTTP %d", ErrUnavailable, what, r.status)
	}
	return nil, fmt.Errorf("%s: HTTP %d", what, r.status)
}

// bodyBuffers hold response bodies while they are read: a body is read
// into a reused buffer and copied once, at its size, instead of
// io.ReadAll's doubling from 512 bytes (about twice the body in garbage
// for every national response).
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody: buffers grown beyond this are not kept.
const maxPooledBody = 1 << 20

// readBody reads at most limit bytes of r, as io.ReadAll(io.LimitReader(r,
// limit)) does.
func readBody(r io.Reader, limit int64) ([]byte, error) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	buf.Reset()
	_, err := buf.ReadFrom(io.LimitReader(r, limit))
	return bytes.Clone(buf.Bytes()), err
}

func maps(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

// diagnostics returns the OperationOutcome diagnostics of an error body.
func diagnostics(b []byte) string {
	var oo fhirr4.OperationOutcome
	if json.Unmarshal(b, &oo) != nil || oo.ResourceType != "OperationOutcome" {
		return ""
	}
	var d []string
	for _, is := range oo.Issue {
		d = append(d, is.Code+": "+is.Diagnostics)
	}
	return strings.Join(d, "; ")
}

var acceptFHIR = http.Header{"Accept": {"application/fhir+json"}}

// search GETs a searchset Bundle and returns its resources of type
// resource, each decoded into a T (parseSearchsetAs).
func search[T any](ctx context.Context, c *Client, resource string, q url.Values, typeOf func(*T) string) ([]T, error) {
	r, err := c.do(ctx, http.MethodGet, c.base.String()+"/"+resource+"?"+q.Encode(), resource+" search", nil, acceptFHIR)
	if err != nil {
		return nil, err
	}
	return parseSearchsetAs(r.body, resource, typeOf)
}

// parseSearchsetAs is parseSearchset with each resource decoded into a T,
// in one pass over the bundle: the searchset is decoded with its
// resources typed, and only when that fails (not a searchset, a resource
// of another type whose fields do not fit T, a malformed resource) does it
// fall back to parseSearchset and a decode of each raw resource, whose
// answers and errors are the reference (TestSearchsetOnePass compares
// both on every kind of input, FuzzSearchsetOnePass on any).
func parseSearchsetAs[T any](b []byte, want string, typeOf func(*T) string) ([]T, error) {
	// fhirr4.Bundle's fields and BundleEntry's, so that what fails to
	// decode there fails here; the outer entry and resource fields
	// shadow the embedded raw ones.
	var typed struct {
		fhirr4.Bundle
		Entry []struct {
			fhirr4.BundleEntry
			Resource *T `json:"resource,omitempty"`
		} `json:"entry,omitempty"`
	}
	if json.Unmarshal(b, &typed) == nil && typed.ResourceType == "Bundle" && typed.Type == "searchset" {
		out := make([]T, 0, len(typed.Entry))
		for _, e := range typed.Entry {
			if e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
				continue // included resources, outcomes
			}
			if e.Resource != nil && typeOf(e.Resource) == want {
				out = append(out, *e.Resource)
			}
		}
		return out, nil
	}
	return decodeSearchset[T](b, want)
}

// decodeSearchset is parseSearchsetAs the long way, the reference: the
// resources of type want as raw JSON, then each decoded into a T.
func decodeSearchset[T any](b []byte, want string) ([]T, error) {
	raws, err := parseSearchset(b, want)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(raws))
	for _, raw := range raws {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("%s search: %w", want, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseSearchset returns the resources of type want in a searchset Bundle.
func parseSearchset(b []byte, want string) ([]json.RawMessage, error) {
	var bundle fhirr4.Bundle
	if err := json.Unmarshal(b, &bundle); err != nil {
		return nil, fmt.Errorf("%s search: response is not a FHIR Bundle: %w", want, err)
	}
	if bundle.ResourceType != "Bundle" || bundle.Type != "searchset" {
		return nil, fmt.Errorf("%s search: response is a %s %s, want a searchset Bundle", want, bundle.ResourceType, bundle.Type)
	}
	var out []json.RawMessage
	for _, e := range bundle.Entry {
		if e.Search != nil && e.Search.Mode != "" && e.Search.Mode != "match" {
			continue // included resources, outcomes
		}
		var h fhirr4.ResourceHeader
		if json.Unmarshal(e.Resource, &h) == nil && h.ResourceType == want {
			out = append(out, e.Resource)
		}
	}
	return out, nil
}

// FindPatients searches by matricule (11 or 13 digits, sent as
// identifier=urn:oid:1.3.182.4.4|<id>) and/or demographics (family, given,
// birthdate, gender); all given criteria must match.
func (c *Client) FindPatients(ctx context.Context, q PatientQuery) ([]Patient, error) {
	v := url.Values{}
	if m := matricule.Normalize(q.Matricule); m != "" {
		v.Set("identifier", SystemMatricule+"|"+m)
	} else if q.Family == "" || q.BirthDate == "" {
		return nil, fmt.Errorf("%w: a matricule, or family name and birth date, are required", ErrBadQuery)
	}
	for k, val := range map[string]string{"family": q.Family, "given": q.Given, "birthdate": q.BirthDate, "gender": q.Gender} {
		if val != "" {
			v.Set(k, val)
		}
	}
	ps, err := search(ctx, c, "Patient", v, func(p *fhirr4.Patient) string { return p.ResourceType })
	if err != nil {
		return nil, err
	}
	out := make([]Patient, 0, len(ps))
	for _, p := range ps {
		out = append(out, patientFromFHIR(p))
	}
	return out, nil
}

// patientFromFHIR maps a FHIR Patient; see Patient.Matricule for patients
// known only by a legacy id.
func patientFromFHIR(p fhirr4.Patient) Patient {
	var out Patient
	for _, id := range p.Identifier {
		if id.System != SystemMatricule {
			continue
		}
		switch len(id.Value) {
		case 13:
			if out.Matricule == "" {
				out.Matricule = id.Value
			}
		case 11:
			if out.LegacyMatricule == "" {
				out.LegacyMatricule = id.Value
			}
		}
	}
	if out.Matricule == "" {
		out.Matricule = out.LegacyMatricule
	}
	if i := slices.IndexFunc(p.Name, func(n fhirr4.HumanName) bool { return n.Use == "official" }); i >= 0 {
		out.Family, out.Given = p.Name[i].Family, slices.Clone(p.Name[i].Given)
	} else if len(p.Name) > 0 {
		out.Family, out.Given = p.Name[0].Family, slices.Clone(p.Name[0].Given)
	}
	out.BirthDate, out.Gender = p.BirthDate, p.Gender
	if len(p.Address) > 0 {
		a := p.Address[0]
		out.Address = Address{Lines: slices.Clone(a.Line), City: a.City, PostalCode: a.PostalCode, Country: a.Country}
	}
	for _, t := range p.Telecom {
		switch {
		case t.System == "phone" && out.Phone == "":
			out.Phone = t.Value
		case t.System == "email" && out.Email == "":
			out.Email = t.Value
		}
	}
	return out
}

// Consent returns the patient's cross-border decision in force: the active
// Consent (with the cross-border policy rule, or none) with the latest
// dateTime. ErrNotFound when none is recorded.
func (c *Client) Consent(ctx context.Context, m string) (Consent, error) {
	css, err := search(ctx, c, "Consent", url.Values{"patient.identifier": {SystemMatricule + "|" + matricule.Normalize(m)}},
		func(cs *fhirr4.Consent) string { return cs.ResourceType })
	if err != nil {
		return Consent{}, err
	}
	return consentFrom(css)
}

func consentFrom(css []fhirr4.Consent) (Consent, error) {
	var (
		best  Consent
		found bool
	)
	for _, cs := range css {
		if cs.Status != "active" || cs.Provision == nil {
			continue
		}
		if cs.PolicyRule != nil && len(cs.PolicyRule.Coding) > 0 && !cs.PolicyRule.HasCode(SystemConsentPolicy, ConsentPolicyCrossBorder) {
			continue
		}
		t, err := time.Parse(time.RFC3339, cs.DateTime)
		if err != nil {
			return Consent{}, fmt.Errorf("Consent search: dateTime: %w", err)
		}
		if !found || t.After(best.Updated) {
			best, found = Consent{CrossBorder: cs.Provision.Type == "permit", Updated: t}, true
		}
	}
	if !found {
		return Consent{}, fmt.Errorf("Consent search: %w", ErrNotFound)
	}
	return best, nil
}

// ListDocuments lists the patient's documents of one LOINC class code (all
// classes when classCode is empty), in the national system's order.
func (c *Client) ListDocuments(ctx context.Context, m, classCode string) ([]DocumentRef, error) {
	m = matricule.Normalize(m)
	v := url.Values{"patient.identifier": {SystemMatricule + "|" + m}}
	if classCode != "" {
		v.Set("type", SystemLOINC+"|"+classCode)
	}
	ds, err := search(ctx, c, "DocumentReference", v, func(d *fhirr4.DocumentReference) string { return d.ResourceType })
	if err != nil {
		return nil, err
	}
	return documentsFrom(ds, m)
}

func documentsFrom(ds []fhirr4.DocumentReference, m string) ([]DocumentRef, error) {
	out := make([]DocumentRef, 0, len(ds))
	for _, d := range ds {
		if len(d.Content) == 0 || d.Content[0].Attachment.URL == "" {
			return nil, errors.New("DocumentReference search: a DocumentReference without content.attachment.url")
		}
		ref := DocumentRef{ID: d.ID, Matricule: m, Status: d.Status, Title: d.Description,
			ContentType: d.Content[0].Attachment.ContentType, URL: d.Content[0].Attachment.URL}
		if s := d.Subject; s != nil && s.Identifier != nil && s.Identifier.System == SystemMatricule && s.Identifier.Value != "" {
			ref.Matricule = s.Identifier.Value
		}
		if d.Type != nil {
			for _, cd := range d.Type.Coding {
				if cd.System == SystemLOINC {
					ref.ClassCode = cd.Code
					break
				}
			}
		}
		if ref.Title == "" {
			ref.Title = d.Content[0].Attachment.Title
		}
		created := d.Date
		if created == "" {
			created = d.Content[0].Attachment.Creation
		}
		if created != "" {
			t, err := time.Parse(time.RFC3339, created)
			if err != nil {
				return nil, fmt.Errorf("DocumentReference search: date: %w", err)
			}
			ref.Created = t
		}
		if len(d.Author) > 0 {
			ref.Author = d.Author[0].Display
		}
		out = append(out, ref)
	}
	return out, nil
}

// Fetch reads a document's content from ref.URL (relative to the FHIR base,
// or absolute on the same server) and returns it with the media type the
// server gave (else ref.ContentType).
func (c *Client) Fetch(ctx context.Context, ref DocumentRef) ([]byte, string, error) {
	target, err := c.resolve(ref.URL)
	if err != nil {
		return nil, "", err
	}
	accept := ref.ContentType
	if accept == "" {
		accept = "*/*"
	}
	r, err := c.do(ctx, http.MethodGet, target, "document read", nil, http.Header{"Accept": {accept}})
	if err != nil {
		return nil, "", err
	}
	ct := r.contentType
	if ct == "" {
		ct = ref.ContentType
	}
	return r.body, ct, nil
}

// RecordDispense creates the MedicationDispense d.Resource at the national
// side with a conditional create keyed by d.Key. The resource gets the
// key identifier, authorizingPrescription (MedicationRequest/<d.PrescriptionID>)
// and subject (the matricule) when it lacks them; an empty Resource becomes
// a minimal completed MedicationDispense. Recording the same key again is a
// no-op success. ErrConflict when the prescription is not dispensable,
// ErrNotFound when it is unknown.
func (c *Client) RecordDispense(ctx context.Context, d Dispense) error {
	if d.Key == "" {
		return fmt.Errorf("%w: a dispensation needs an idempotency key", ErrBadQuery)
	}
	body, err := dispenseResource(d)
	if err != nil {
		return err
	}
	hdr := http.Header{
		"Content-Type":  {"application/fhir+json"},
		"Accept":        {"application/fhir+json"},
		"If-None-Exist": {url.Values{"identifier": {SystemDispenseKey + "|" + d.Key}}.Encode()},
	}
	_, err = c.do(ctx, http.MethodPost, c.base.String()+"/MedicationDispense", "MedicationDispense create", body, hdr)
	return err
}

// dispenseResource completes d.Resource (members sorted by name: the output
// is deterministic).
func dispenseResource(d Dispense) ([]byte, error) {
	res := map[string]any{}
	if len(bytes.TrimSpace(d.Resource)) > 0 {
		if err := json.Unmarshal(d.Resource, &res); err != nil {
			return nil, fmt.Errorf("%w: Dispense.Resource is not a JSON object: %w", ErrBadQuery, err)
		}
	}
	if rt, ok := res["resourceType"]; ok && rt != "MedicationDispense" {
		return nil, fmt.Errorf("%w: Dispense.Resource is a %v", ErrBadQuery, rt)
	}
	res["resourceType"] = "MedicationDispense"
	if _, ok := res["status"]; !ok {
		res["status"] = "completed"
	}
	ids, _ := res["identifier"].([]any)
	has := false
	for _, x := range ids {
		if m, ok := x.(map[string]any); ok && m["system"] == SystemDispenseKey && m["value"] == d.Key {
			has = true
		}
	}
	if !has {
		res["identifier"] = append(ids, map[string]any{"system": SystemDispenseKey, "value": d.Key})
	}
	if _, ok := res["authorizingPrescription"]; !ok {
		if d.PrescriptionID == "" {
			return nil, fmt.Errorf("%w: a dispensation needs the prescription id", ErrBadQuery)
		}
		res["authorizingPrescription"] = []any{map[string]any{"reference": "MedicationRequest/" + d.PrescriptionID}}
	}
	if _, ok := res["subject"]; !ok && d.Matricule != "" {
		res["subject"] = map[string]any{"identifier": map[string]any{"system": SystemMatricule, "value": d.Matricule}}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CancelDispense marks the dispensation recorded under key entered-in-error
// (a FHIR conditional update on identifier=SystemDispenseKey|key; only the
// status changes). Cancelling twice has one effect; ErrNotFound for an
// unknown key.
func (c *Client) CancelDispense(ctx context.Context, key string) error {
	if key == "" {
		return fmt.Errorf("%w: empty dispensation key", ErrBadQuery)
	}
	q := url.Values{"identifier": {SystemDispenseKey + "|" + key}}
	hdr := http.Header{"Content-Type": {"application/fhir+json"}, "Accept": {"application/fhir+json"}}
	body := []byte(`{"resourceType":"MedicationDispense","status":"entered-in-error"}`)
	_, err := c.do(ctx, http.MethodPut, c.base.String()+"/MedicationDispense?"+q.Encode(), "MedicationDispense cancel", body, hdr)
	return err
}

// ActiveDispenses lists the dispensations the national record holds for a
// prescription item (GET MedicationDispense?prescription=<id>) that are
// not cancelled (status other than entered-in-error, cancelled, declined),
// by their idempotency key (identifier SystemDispenseKey), else by
// "MedicationDispense/<id>" for those recorded without one.
func (c *Client) ActiveDispenses(ctx context.Context, prescriptionID string) ([]string, error) {
	if prescriptionID == "" {
		return nil, fmt.Errorf("%w: empty prescription id", ErrBadQuery)
	}
	mds, err := search(ctx, c, "MedicationDispense", url.Values{"prescription": {prescriptionID}},
		func(md *fhirr4.MedicationDispense) string { return md.ResourceType })
	if err != nil {
		return nil, err
	}
	return activeKeys(mds)
}

func activeKeys(mds []fhirr4.MedicationDispense) ([]string, error) {
	var out []string
	for _, md := range mds {
		switch md.Status {
		case "entered-in-error", "cancelled", "declined":
			continue
		}
		key := "MedicationDispense/" + md.ID
		for _, id := range md.Identifier {
			if id.System == SystemDispenseKey && id.Value != "" {
				key = id.Value
			}
		}
		out = append(out, key)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
