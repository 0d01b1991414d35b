package demo

import (
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

//go:embed data
var embedded embed.FS

// Data returns the embedded fixtures (the data/ directory).
func Data() fs.FS {
	sub, err := fs.Sub(embedded, "data")
	if err != nil {
		panic(err) // cannot happen: data is embedded
	}
	return sub
}

// Faults are the failure switches tests use to simulate a sick backend.
type Faults struct {
	// Delay holds every request this long (or until the request is cancelled).
	Delay time.Duration
	// Unavailable answers every request 503 with an OperationOutcome.
	Unavailable bool
	// FailNext answers the next FailNext requests 503, then recovers.
	FailNext int
}

// Option configures a Backend.
type Option func(*Backend)

// WithFixtures serves fsys (laid out like data/) instead of the embedded fixtures.
func WithFixtures(fsys fs.FS) Option { return func(b *Backend) { b.fixtures = fsys } }

// WithClock sets the clock that decides prescription expiry and how far the
// ePrescription timeline is moved (see Anchor); nil: the system clock.
func WithClock(now func() time.Time) Option { return func(b *Backend) { b.now = now } }

// WithAnchor sets the day the fixtures' ePrescription dates are written as of
// (see Anchor); the embedded fixtures default to Anchor, other fixtures to no
// moving at all.
func WithAnchor(day time.Time) Option { return func(b *Backend) { b.anchor = day } }

// WithBasePath sets the path the FHIR API is served under (default /fhir).
func WithBasePath(p string) Option {
	return func(b *Backend) { b.base = "/" + strings.Trim(p, "/") }
}

// WithFaults sets the initial failure switches.
func WithFaults(f Faults) Option { return func(b *Backend) { b.faults = f } }

// WithLogger sets the logger (nil: discard). Patient data is logged at debug level only.
func WithLogger(l *slog.Logger) Option { return func(b *Backend) { b.log = l } }

// WithMaxBody limits request bodies (default 1 MiB).
func WithMaxBody(n int64) Option { return func(b *Backend) { b.maxBody = n } }

// Backend is the demo national FHIR server. It is an http.Handler.
type Backend struct {
	fixtures fs.FS
	now      func() time.Time
	anchor   time.Time // zero: fixture dates are served as written
	base     string
	log      *slog.Logger
	maxBody  int64

	ix    *index
	store *store

	fmu    sync.Mutex
	faults Faults
}

var _ http.Handler = (*Backend)(nil)

// New loads the fixtures and the dispensation state under stateDir (in
// memory only when stateDir is empty). A malformed fixture is an error that
// names the file.
func New(stateDir string, opts ...Option) (*Backend, error) {
	b := &Backend{base: "/fhir", maxBody: 1 << 20}
	for _, o := range opts {
		o(b)
	}
	if b.fixtures == nil {
		b.fixtures = Data()
		if b.anchor.IsZero() {
			b.anchor = Anchor
		}
	}
	if b.now == nil {
		b.now = clock.System()
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	ix, err := loadIndex(b.fixtures, shiftDays(b.anchor, b.now()))
	if err != nil {
		return nil, err
	}
	b.ix = ix
	if b.store, err = openStore(stateDir); err != nil {
		return nil, err
	}
	return b, nil
}

// Close releases the state file.
func (b *Backend) Close() error { return b.store.close() }

// SetFaults changes the failure switches at run time.
func (b *Backend) SetFaults(f Faults) {
	b.fmu.Lock()
	b.faults = f
	b.fmu.Unlock()
}

// BasePath is the path the API is served under.
func (b *Backend) BasePath() string { return b.base }

// fault returns the switches for this request, consuming one FailNext.
func (b *Backend) fault() (time.Duration, bool) {
	b.fmu.Lock()
	defer b.fmu.Unlock()
	if b.faults.FailNext > 0 {
		b.faults.FailNext--
		return b.faults.Delay, true
	}
	return b.faults.Delay, b.faults.Unavailable
}

// httpError is an error answered as an OperationOutcome.
type httpError struct {
	status int
	code   string // FHIR IssueType
	msg    string
}

func (e *httpError) Error() string { return e.msg }

func errorf(status int, code, format string, args ...any) *httpError {
	return &httpError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

// ServeHTTP implements the FHIR REST API described in the package comment.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	delay, unavailable := b.fault()
	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			b.writeError(w, errorf(http.StatusServiceUnavailable, "timeout", "request cancelled while the national system was slow (simulated)"))
			return
		}
	}
	if unavailable {
		b.writeError(w, errorf(http.StatusServiceUnavailable, "transient", "the national system is unavailable (simulated)"))
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, b.base+"/")
	if !ok {
		b.writeError(w, errorf(http.StatusNotFound, "not-found", "no FHIR endpoint at %s", r.URL.Path))
		return
	}
	typ, id, _ := strings.Cut(rest, "/")
	if strings.Contains(id, "/") {
		b.writeError(w, errorf(http.StatusNotFound, "not-supported", "unsupported path"))
		return
	}
	q := r.URL.Query()
	var (
		status = http.StatusOK
		body   []byte
		ctype  = "application/fhir+json"
		err    error
		loc    string
	)
	switch {
	case r.Method == http.MethodGet && typ == "Patient" && id == "":
		body, err = b.searchPatients(r, q)
	case r.Method == http.MethodGet && typ == "Patient":
		p := b.ix.byPatID[id]
		if p == nil {
			err = errorf(http.StatusNotFound, "not-found", "Patient/%s not found", id)
		} else {
			body = p.raw
		}
	case r.Method == http.MethodGet && typ == "Consent" && id == "":
		body, err = b.searchConsents(r, q)
	case r.Method == http.MethodGet && typ == "DocumentReference" && id == "":
		body, err = b.searchDocuments(r, q)
	case r.Method == http.MethodGet && typ == "DocumentReference":
		d := b.ix.docs[id]
		if d == nil {
			err = errorf(http.StatusNotFound, "not-found", "DocumentReference/%s not found", id)
		} else {
			body, err = marshal(d.documentReference())
		}
	case r.Method == http.MethodGet && (typ == "Bundle" || typ == "Binary") && id != "":
		body, ctype, err = b.read(typ, id)
	case r.Method == http.MethodPost && typ == "MedicationDispense" && id == "":
		status, loc, body, err = b.createDispense(r)
	case r.Method == http.MethodPut && typ == "MedicationDispense" && id == "":
		body, err = b.cancelDispense(r, q)
	case r.Method == http.MethodGet && typ == "MedicationDispense" && id == "":
		body, err = b.searchDispenses(r, q)
	case r.Method == http.MethodGet && typ == "MedicationDispense":
		b.store.mu.Lock()
		d := b.store.byID[id]
		if d != nil {
			body = d.resource
		}
		b.store.mu.Unlock()
		if d == nil {
			err = errorf(http.StatusNotFound, "not-found", "MedicationDispense/%s not found", id)
		}
	default:
		err = errorf(http.StatusMethodNotAllowed, "not-supported", "%s %s is not supported", r.Method, r.URL.Path)
	}
	if err != nil {
		b.writeError(w, err)
		return
	}
	if loc != "" {
		w.Header().Set("Location", b.baseURL(r)+"/"+loc)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

func (b *Backend) writeError(w http.ResponseWriter, err error) {
	he, ok := err.(*httpError)
	if !ok {
		b.log.Error("demo national backend", "err", err)
		he = errorf(http.StatusInternalServerError, "exception", "internal error")
	}
	body, _ := marshal(fhirr4.OperationOutcome{ResourceType: "OperationOutcome", Issue: []fhirr4.OperationOutcomeIssue{{
		Severity: "error", Code: he.code, Diagnostics: he.msg,
	}}})
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(he.status)
	w.Write(body)
}

func (b *Backend) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + b.base
}

// searchset builds a searchset Bundle of (resource path, raw) pairs.
func (b *Backend) searchset(r *http.Request, entries [][2]any) ([]byte, error) {
	n := len(entries)
	bundle := fhirr4.Bundle{ResourceType: "Bundle", Type: "searchset", Total: &n,
		Link: []fhirr4.BundleLink{{Relation: "self", URL: b.baseURL(r) + strings.TrimPrefix(r.URL.RequestURI(), b.base)}}}
	for _, e := range entries {
		bundle.Entry = append(bundle.Entry, fhirr4.BundleEntry{
			FullURL: b.baseURL(r) + "/" + e[0].(string), Resource: e[1].(json.RawMessage), Search: &fhirr4.BundleSearch{Mode: "match"},
		})
	}
	return marshal(bundle)
}

// tokenParam splits a token search value "system|code" (system may be empty).
func tokenParam(v string) (system, code string, hasSystem bool) {
	if s, c, ok := strings.Cut(v, "|"); ok {
		return s, c, true
	}
	return "", v, false
}

// fold lower-cases and removes diacritics for FHIR string search.
func fold(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case strings.ContainsRune("àáâãäå", r):
			r = 'a'
		case r == 'ç':
			r = 'c'
		case strings.ContainsRune("èéêë", r):
			r = 'e'
		case strings.ContainsRune("ìíîï", r):
			r = 'i'
		case r == 'ñ':
			r = 'n'
		case strings.ContainsRune("òóôõöø", r):
			r = 'o'
		case strings.ContainsRune("ùúûü", r):
			r = 'u'
		case strings.ContainsRune("ýÿ", r):
			r = 'y'
		case r == 'ß':
			sb.WriteString("ss")
			continue
		case unicode.IsSpace(r):
			r = ' '
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

func (b *Backend) searchPatients(r *http.Request, q url.Values) ([]byte, error) {
	var out [][2]any
	for _, p := range b.ix.patients {
		if matchPatient(p, q) {
			out = append(out, [2]any{"Patient/" + p.id, p.raw})
		}
	}
	b.log.Debug("patient search", "query", q.Encode(), "matches", len(out))
	return b.searchset(r, out)
}

func matchPatient(p *patientRec, q url.Values) bool {
	for _, v := range q["identifier"] {
		sys, val, hasSys := tokenParam(v)
		found := false
		for _, id := range p.res.Identifier {
			if id.Value == val && (!hasSys || id.System == sys) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	var name fhirr4.HumanName
	if len(p.res.Name) > 0 {
		name = p.res.Name[0]
	}
	for _, v := range q["family"] {
		if !strings.HasPrefix(fold(name.Family), fold(v)) {
			return false
		}
	}
	for _, v := range q["given"] {
		found := false
		for _, g := range name.Given {
			if strings.HasPrefix(fold(g), fold(v)) {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	for _, v := range q["birthdate"] {
		v = strings.TrimPrefix(v, "eq")
		if v == "" || !strings.HasPrefix(p.res.BirthDate, v) {
			return false
		}
	}
	for _, v := range q["gender"] {
		if p.res.Gender != v {
			return false
		}
	}
	return true
}

// patientParam resolves patient.identifier=, patient= or subject=; nil, nil
// when the patient is unknown.
func (b *Backend) patientParam(q url.Values) (*patientRec, error) {
	if v := q.Get("patient.identifier"); v != "" {
		sys, val, hasSys := tokenParam(v)
		if !hasSys {
			sys = national.SystemMatricule
		}
		return b.ix.byIdent[ident(sys, val)], nil
	}
	for _, k := range []string{"patient", "subject"} {
		if v := q.Get(k); v != "" {
			return b.ix.byPatID[strings.TrimPrefix(v, "Patient/")], nil
		}
	}
	return nil, errorf(http.StatusBadRequest, "required", "patient.identifier (or patient) is required")
}

func (b *Backend) searchConsents(r *http.Request, q url.Values) ([]byte, error) {
	p, err := b.patientParam(q)
	if err != nil {
		return nil, err
	}
	var out [][2]any
	if p != nil {
		for _, c := range p.consents {
			out = append(out, [2]any{c.ref, c.raw})
		}
	}
	return b.searchset(r, out)
}

func (b *Backend) searchDocuments(r *http.Request, q url.Values) ([]byte, error) {
	p, err := b.patientParam(q)
	if err != nil {
		return nil, err
	}
	var out [][2]any
	if p != nil {
		for _, d := range p.docs {
			if v := q.Get("type"); v != "" {
				sys, code, hasSys := tokenParam(v)
				if code != d.class || (hasSys && sys != national.SystemLOINC) {
					continue
				}
			}
			raw, err := d.referenceJSON()
			if err != nil {
				return nil, err
			}
			out = append(out, [2]any{"DocumentReference/" + d.id, raw})
		}
	}
	return b.searchset(r, out)
}

func (b *Backend) read(typ, id string) ([]byte, string, error) {
	d := b.ix.docs[id]
	if d == nil || d.kind != typ {
		return nil, "", errorf(http.StatusNotFound, "not-found", "%s/%s not found", typ, id)
	}
	if d.presc == nil {
		return d.content, d.contentType, nil
	}
	b.store.mu.Lock()
	status := b.prescStatus(d.presc)
	b.store.mu.Unlock()
	if status == d.presc.status {
		return d.content, d.contentType, nil
	}
	body, err := patchMRStatus(d.content, d.presc.mrEntry, status)
	return body, d.contentType, err
}

// prescStatus is the served MedicationRequest.status: completed once the
// active dispensations reach 1 + numberOfRepeatsAllowed. Called with store.mu held.
func (b *Backend) prescStatus(p *prescription) string {
	if p.status == "active" && b.store.active(p.id) >= 1+p.repeats {
		return "completed"
	}
	return p.status
}

// patchMRStatus rewrites entry[i].resource.status in a Bundle, keeping
// member order.
func patchMRStatus(bundle []byte, i int, status string) ([]byte, error) {
	top, err := decodeObject(bundle)
	if err != nil {
		return nil, err
	}
	for k := range top {
		if top[k].key != "entry" {
			continue
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(top[k].val, &entries); err != nil {
			return nil, err
		}
		ef, err := decodeObject(entries[i])
		if err != nil {
			return nil, err
		}
		for j := range ef {
			if ef[j].key == "resource" {
				if ef[j].val, err = setMember(ef[j].val, "status", status, "id"); err != nil {
					return nil, err
				}
			}
		}
		entries[i] = encodeObject(ef)
		if top[k].val, err = marshal(entries); err != nil {
			return nil, err
		}
	}
	return encodeObject(top), nil
}

func (b *Backend) readBody(r *http.Request) (fhirr4.MedicationDispense, []byte, error) {
	var md fhirr4.MedicationDispense
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, b.maxBody))
	if err != nil {
		return md, nil, errorf(http.StatusRequestEntityTooLarge, "too-long", "request body: %v", err)
	}
	if err := json.Unmarshal(raw, &md); err != nil {
		return md, nil, errorf(http.StatusBadRequest, "structure", "MedicationDispense JSON: %v", err)
	}
	if md.ResourceType != "MedicationDispense" {
		return md, nil, errorf(http.StatusBadRequest, "invalid", "resourceType %q, want MedicationDispense", md.ResourceType)
	}
	raw, err = compact(raw)
	return md, raw, err
}

// keyParam reads identifier=<SystemDispenseKey>|<key> from a query string.
func keyParam(q url.Values) (string, error) {
	sys, key, _ := tokenParam(q.Get("identifier"))
	if sys != national.SystemDispenseKey || key == "" {
		return "", errorf(http.StatusBadRequest, "required", "identifier=%s|<key> is required", national.SystemDispenseKey)
	}
	return key, nil
}

func (b *Backend) createDispense(r *http.Request) (int, string, []byte, error) {
	md, raw, err := b.readBody(r)
	if err != nil {
		return 0, "", nil, err
	}
	var key string
	if h := r.Header.Get("If-None-Exist"); h != "" {
		q, err := url.ParseQuery(h)
		if err != nil {
			return 0, "", nil, errorf(http.StatusBadRequest, "invalid", "If-None-Exist: %v", err)
		}
		if key, err = keyParam(q); err != nil {
			return 0, "", nil, err
		}
	} else {
		for _, id := range md.Identifier {
			if id.System == national.SystemDispenseKey {
				key = id.Value
			}
		}
		if key == "" {
			return 0, "", nil, errorf(http.StatusBadRequest, "required",
				"an idempotency key is required: If-None-Exist: identifier=%s|<key>", national.SystemDispenseKey)
		}
	}
	s := b.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.byKey[key]; d != nil {
		return http.StatusOK, "MedicationDispense/" + d.id, d.resource, nil
	}
	if len(md.AuthorizingPrescription) == 0 {
		return 0, "", nil, errorf(http.StatusBadRequest, "required", "authorizingPrescription is required")
	}
	ref := md.AuthorizingPrescription[0]
	pid := strings.TrimPrefix(ref.Reference, "MedicationRequest/")
	if pid == "" && ref.Identifier != nil {
		pid = ref.Identifier.Value
	}
	p := b.ix.prescByID[pid]
	if p == nil {
		return 0, "", nil, errorf(http.StatusNotFound, "not-found", "prescription %q not found", pid)
	}
	if md.Subject != nil {
		var who *patientRec
		if md.Subject.Identifier != nil {
			who = b.ix.byIdent[ident(md.Subject.Identifier.System, md.Subject.Identifier.Value)]
		} else if md.Subject.Reference != "" {
			who = b.ix.byPatID[strings.TrimPrefix(md.Subject.Reference, "Patient/")]
		}
		if who != p.doc.patient {
			return 0, "", nil, errorf(http.StatusConflict, "business-rule", "prescription %s belongs to another patient", pid)
		}
	}
	switch st := b.prescStatus(p); {
	case st == "completed" && p.status == "active":
		return 0, "", nil, errorf(http.StatusConflict, "business-rule",
			"prescription %s is fully dispensed (%d of %d dispensations)", pid, s.active(p.id), 1+p.repeats)
	case st != "active":
		return 0, "", nil, errorf(http.StatusConflict, "business-rule", "prescription %s is not dispensable: status %s", pid, st)
	case !p.validityEnd.IsZero() && !b.now().Before(p.validityEnd):
		return 0, "", nil, errorf(http.StatusConflict, "business-rule",
			"prescription %s expired on %s", pid, p.validityEnd.UTC().Format(time.RFC3339))
	}
	id := dispenseID(key)
	if raw, err = setMember(raw, "id", id, "resourceType"); err != nil {
		return 0, "", nil, err
	}
	hasKey := false
	for _, x := range md.Identifier {
		hasKey = hasKey || (x.System == national.SystemDispenseKey && x.Value == key)
	}
	if !hasKey {
		ids := append(md.Identifier, fhirr4.Identifier{System: national.SystemDispenseKey, Value: key})
		if raw, err = setMember(raw, "identifier", ids, "id"); err != nil {
			return 0, "", nil, err
		}
	}
	if md.Status == "" {
		if raw, err = setMember(raw, "status", "completed", "identifier"); err != nil {
			return 0, "", nil, err
		}
	}
	if err := s.record(logLine{Op: "create", Key: key, Prescription: p.id, Resource: raw}); err != nil {
		return 0, "", nil, err
	}
	b.log.Debug("dispense recorded", "key", key, "prescription", p.id)
	return http.StatusCreated, "MedicationDispense/" + id, raw, nil
}

// cancelDispense is the conditional update PUT MedicationDispense?identifier=<system>|<key>
// whose body sets status entered-in-error; only that change is accepted and
// the rest of the recorded resource is kept.
func (b *Backend) cancelDispense(r *http.Request, q url.Values) ([]byte, error) {
	key, err := keyParam(q)
	if err != nil {
		return nil, err
	}
	md, _, err := b.readBody(r)
	if err != nil {
		return nil, err
	}
	if md.Status != "entered-in-error" {
		return nil, errorf(http.StatusUnprocessableEntity, "business-rule", "only an update to status entered-in-error (cancel) is supported")
	}
	s := b.store
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.byKey[key]
	if d == nil {
		return nil, errorf(http.StatusNotFound, "not-found", "no MedicationDispense with that key")
	}
	if d.cancelled {
		return d.resource, nil
	}
	raw, err := setMember(d.resource, "status", "entered-in-error", "identifier")
	if err != nil {
		return nil, err
	}
	if err := s.record(logLine{Op: "cancel", Key: key, Resource: raw}); err != nil {
		return nil, err
	}
	return raw, nil
}

func (b *Backend) searchDispenses(r *http.Request, q url.Values) ([]byte, error) {
	s := b.store
	s.mu.Lock()
	var out [][2]any
	switch {
	case q.Get("prescription") != "":
		v := strings.TrimPrefix(q.Get("prescription"), "MedicationRequest/")
		if p := b.ix.prescByID[v]; p != nil {
			v = p.id
		}
		for _, d := range s.ordered {
			if d.prescription == v {
				out = append(out, [2]any{"MedicationDispense/" + d.id, d.resource})
			}
		}
	case q.Get("identifier") != "":
		key, err := keyParam(q)
		if err != nil {
			s.mu.Unlock()
			return nil, err
		}
		if d := s.byKey[key]; d != nil {
			out = append(out, [2]any{"MedicationDispense/" + d.id, d.resource})
		}
	default:
		s.mu.Unlock()
		return nil, errorf(http.StatusBadRequest, "required", "prescription= or identifier= is required")
	}
	s.mu.Unlock()
	return b.searchset(r, out)
}
