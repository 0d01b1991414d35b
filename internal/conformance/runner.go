package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Verdicts of a case.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Runner runs cases against one target as a Country B node.
type Runner struct {
	// Target is the base URL of the NCP under test (https://host:port).
	Target string
	// Client presents the Country B TLS certificate.
	Client *ncpclient.Client
	// NoCert presents no client certificate (the no-client-certificate
	// cases); nil: those cases fail.
	NoCert *ncpclient.Client
	Creds  *Credentials
	// Profile gives the target's patients.
	Profile *Profile
	// SenderHCID is the Country B home community id put in requests.
	SenderHCID string
	// ValidateCDA is the validate-cda tool; empty: built-in checks only.
	ValidateCDA string
	// Trust verifies the enveloped signatures of returned documents (when
	// they carry one; nil: signatures are not checked).
	Trust *pki.TrustStore
	// Progress, when set, is called after each case.
	Progress func(done, total int, r *CaseResult)
	// Notes, when set, gets progress lines of the long final validation
	// (validate-cda's own notes, and a line every 15 s while it runs).
	Notes io.Writer
	// Now is the clock of the report; nil means the system clock.
	Now func() time.Time
	// Timeout bounds each case (default 60s).
	Timeout time.Duration
	// heartbeat overrides validateHeartbeat (tests).
	heartbeat time.Duration

	dispensed map[string]*dispensation
	docs      []retrieved
}

type dispensation struct {
	doc    []byte
	docUID string
	sub    string
}

type retrieved struct {
	caseIdx int
	name    string
	data    []byte
}

func (r *Runner) now() time.Time {
	return clock.Or(r.Now)()
}

// Report is the result of a run.
type Report struct {
	Target   string       `json:"target"`
	As       string       `json:"as"`
	Profile  string       `json:"profile"`
	Started  time.Time    `json:"started"`
	Duration Millis       `json:"durationMs"`
	Cases    []CaseResult `json:"cases"`
	// ValidateCDA summarises the full XSD + schematron validation.
	ValidateCDA string `json:"validateCda,omitempty"`
	// ValidateCDAWarnings are the texts of the warnings it counted, each
	// once, with the documents it was found in.
	ValidateCDAWarnings []string `json:"validateCdaWarnings,omitempty"`
}

// Millis is a duration written as milliseconds.
type Millis float64

// Ms converts a duration.
func Ms(d time.Duration) Millis { return Millis(float64(d.Microseconds()) / 1000) }

// CaseResult is the verdict on one case.
type CaseResult struct {
	Suite       string   `json:"suite"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Transaction string   `json:"transaction"`
	File        string   `json:"file,omitempty"`
	Verdict     string   `json:"verdict"`
	Reasons     []string `json:"reasons,omitempty"`
	HTTPStatus  int      `json:"httpStatus,omitempty"`
	Codes       []string `json:"codes,omitempty"`
	Duration    Millis   `json:"durationMs"`
	Calls       []Call   `json:"calls,omitempty"`
	Request     string   `json:"request,omitempty"`
	Response    string   `json:"response,omitempty"`
}

// ID is suite/name.
func (c *CaseResult) ID() string { return c.Suite + "/" + c.Name }

// Call is one HTTP exchange of a case.
type Call struct {
	Step     string `json:"step"`
	Status   int    `json:"status,omitempty"`
	Duration Millis `json:"durationMs"`
	Error    string `json:"error,omitempty"`
}

// Counts per verdict.
func (rep *Report) Counts() (pass, fail, skip int) {
	for _, c := range rep.Cases {
		switch c.Verdict {
		case Pass:
			pass++
		case Fail:
			fail++
		default:
			skip++
		}
	}
	return
}

// Run executes cases in order and returns the report. It never stops at a
// failing case; ctx cancellation marks the remaining cases skipped.
func (r *Runner) Run(ctx context.Context, cases []Case) *Report {
	start := r.now()
	rep := &Report{Target: r.Target, Started: start.UTC(), Cases: make([]CaseResult, len(cases))}
	if r.Creds != nil && r.Creds.Identity != nil {
		rep.As = r.Creds.Identity.Country
	}
	if r.Profile != nil {
		rep.Profile = r.Profile.Name
	}
	r.dispensed = map[string]*dispensation{}
	r.docs = nil
	for i := range cases {
		c := &cases[i]
		res := &rep.Cases[i]
		*res = CaseResult{Suite: c.Suite, Name: c.Name, Description: c.Description, Transaction: c.Transaction, File: c.File}
		if ctx.Err() != nil {
			res.Verdict, res.Reasons = Skip, []string{"run interrupted"}
		} else {
			r.runCase(ctx, i, c, res)
		}
		if r.Progress != nil {
			r.Progress(i+1, len(cases), res)
		}
	}
	if r.ValidateCDA != "" && len(r.docs) > 0 {
		rep.ValidateCDA = r.validateAll(ctx, rep)
	}
	rep.Duration = Ms(r.now().Sub(start))
	return rep
}

// exchange is one case in flight.
type exchange struct {
	r   *Runner
	c   *Case
	res *CaseResult
	idx int
	// msgID is the WS-Addressing MessageID of the request judged.
	msgID string
}

func (r *Runner) url(path string) string { return strings.TrimSuffix(r.Target, "/") + path }

func (r *Runner) runCase(ctx context.Context, idx int, c *Case, res *CaseResult) {
	timeout := r.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for _, k := range c.PatientKeys() {
		if r.Profile == nil {
			res.Verdict, res.Reasons = Skip, []string{"no profile"}
			return
		}
		if _, ok := r.Profile.Patients[k]; !ok {
			res.Verdict, res.Reasons = Skip, []string{fmt.Sprintf("profile %s has no patient %q", r.Profile.Name, k)}
			return
		}
	}
	x := &exchange{r: r, c: c, res: res, idx: idx}
	reasons := x.run(ctx)
	for _, call := range res.Calls {
		res.Duration += call.Duration
	}
	if len(reasons) > 0 {
		res.Verdict, res.Reasons = Fail, reasons
	} else {
		res.Verdict = Pass
	}
}

// call sends a request and records it.
func (x *exchange) call(ctx context.Context, step string, cl *ncpclient.Client, req ncpclient.Request) (*ncpclient.Reply, error) {
	if cl == nil {
		return nil, errors.New("no HTTP client for this case")
	}
	ctype, body, err := cl.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: marshal: %w", step, err)
	}
	return x.send(ctx, step, cl, http.MethodPost, req.URL, ctype, body)
}

func (x *exchange) send(ctx context.Context, step string, cl *ncpclient.Client, method, url, ctype string, body []byte) (*ncpclient.Reply, error) {
	var rep *ncpclient.Reply
	var err error
	start := clock.Now()
	if method == http.MethodPost {
		rep, err = cl.Send(ctx, url, ctype, body)
	} else {
		rep, err = plainRequest(ctx, cl, method, url)
	}
	call := Call{Step: step, Duration: Ms(clock.Now().Sub(start))}
	if err != nil {
		call.Error = err.Error()
	} else {
		call.Status = rep.Status
		call.Duration = Ms(rep.Duration)
	}
	x.res.Calls = append(x.res.Calls, call)
	if !strings.HasPrefix(step, "setup") {
		x.res.Request = excerpt(body, 16<<10)
		if rep != nil {
			x.res.Response = excerpt(rep.Raw, 16<<10)
			x.res.HTTPStatus = rep.Status
		}
	}
	return rep, err
}

func plainRequest(ctx context.Context, cl *ncpclient.Client, method, url string) (*ncpclient.Reply, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return nil, err
	}
	hc := cl.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	start := clock.Now()
	res, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return &ncpclient.Reply{Status: res.StatusCode, Raw: raw, Header: res.Header, Duration: clock.Now().Sub(start)}, nil
}

// excerpt returns b as text, cut sensibly for reports.
func excerpt(b []byte, max int) string {
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	if len(s) <= max {
		return s
	}
	cut := s[:max]
	for len(cut) > 0 && !utf8Start(cut[len(cut)-1]) {
		cut = cut[:len(cut)-1]
	}
	if len(cut) > 0 {
		cut = cut[:len(cut)-1]
	}
	return cut + fmt.Sprintf("\n… (%d more bytes not shown)", len(s)-len(cut))
}

func utf8Start(b byte) bool { return b < 0x80 || b >= 0xC0 }

// patient resolves the request's patient with the case's overrides.
func (x *exchange) patient() (Patient, wssec.PatientID) {
	var p Patient
	if x.c.Request.Patient != "" {
		p, _ = x.r.Profile.Patient(x.c.Request.Patient)
	}
	over := func(dst *string, v string) {
		switch v {
		case "":
		case "-":
			*dst = ""
		default:
			*dst = v
		}
	}
	rq := x.c.Request
	over(&p.ID, rq.ID)
	over(&p.Root, rq.Root)
	over(&p.Family, rq.Family)
	over(&p.Given, rq.Given)
	if p.Root == "" && rq.Root != "-" && x.r.Profile != nil {
		p.Root = x.r.Profile.PatientRoot
	}
	return p, wssec.PatientID{Extension: p.ID, Root: p.Root}
}

func (x *exchange) trcSubject() *wssec.PatientID {
	if k := x.c.Assertion.TRCPatient; k != "" {
		p, _ := x.r.Profile.Patient(k)
		return &wssec.PatientID{Extension: p.ID, Root: p.Root}
	}
	return nil
}

func (x *exchange) client() *ncpclient.Client {
	if x.c.Request.NoClientCert {
		return x.r.NoCert
	}
	return x.r.Client
}

// run executes the case and returns why it failed (nil: passed).
func (x *exchange) run(ctx context.Context) []string {
	switch x.c.Transaction {
	case TxRaw:
		return x.runRaw(ctx)
	case TxXCPD:
		return x.runXCPD(ctx)
	case TxXCAQuery:
		return x.runQuery(ctx)
	case TxXCARetrieve:
		return x.runRetrieve(ctx)
	case TxXDRSubmit, TxXDRDiscard:
		return x.runXDR(ctx)
	}
	return []string{"unknown transaction " + x.c.Transaction}
}

// finish sends the case's request (twice for a replay), then judges the
// transport outcome. ok is false when there is no reply to check further.
func (x *exchange) finish(ctx context.Context, req ncpclient.Request) (*ncpclient.Reply, []string, bool) {
	cl := x.client()
	if cl == nil {
		return nil, []string{"this case needs a client without a TLS certificate, which the runner does not have"}, false
	}
	req.MessageID = soap.NewMessageID()
	x.msgID = req.MessageID
	ctype, body, err := cl.Marshal(req)
	if err != nil {
		return nil, []string{"marshal request: " + err.Error()}, false
	}
	step := x.c.Transaction
	if x.c.Request.Replay {
		if rep, err := x.send(ctx, "original", cl, http.MethodPost, req.URL, ctype, body); err != nil {
			return nil, []string{"the original request failed: " + err.Error()}, false
		} else if rep.Fault != nil {
			return nil, []string{fmt.Sprintf("the original request was refused (%s), so its replay proves nothing", rep.Fault.Code)}, false
		}
		step = "replay"
	}
	rep, err := x.send(ctx, step, cl, http.MethodPost, req.URL, ctype, body)
	return x.transport(rep, err)
}

func (x *exchange) transport(rep *ncpclient.Reply, err error) (*ncpclient.Reply, []string, bool) {
	if err != nil {
		if x.c.Expect.TransportErrorOK && cutByTarget(err) {
			return nil, nil, false
		}
		return nil, []string{"transport error: " + err.Error()}, false
	}
	return rep, nil, true
}

// cutByTarget tells a target that hung up on a request (reset, closed, TLS
// handshake refused: a refusal some cases accept) from no target at all
// (nothing listening, no such host, a URL the client cannot send to), which
// proves nothing.
func cutByTarget(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	switch {
	case errors.As(err, &op) && op.Op == "dial", errors.As(err, &dns):
		return false
	case strings.Contains(err.Error(), "unsupported protocol scheme"):
		return false
	}
	return true
}

// observe collects fault and codes of a reply.
func observe(rep *ncpclient.Reply) *observed {
	o := &observed{}
	if rep.Fault != nil {
		o.fault = rep.Fault
		o.add(string(rep.Fault.Code), true)
	}
	return o
}

func (x *exchange) record(o *observed) {
	x.res.Codes = o.codes
}

// ---- XCPD

func (x *exchange) runXCPD(ctx context.Context) []string {
	p, _ := x.patient()
	q := ncpclient.XCPDQuery{SenderHCID: x.r.SenderHCID, ReceiverHCID: x.r.Profile.HomeCommunityID, Now: x.r.now()}
	by := x.c.Request.By
	if by == "" {
		by = "id"
	}
	if by == "id" || by == "id+demographics" {
		q.PatientID, q.PatientRoot = p.ID, p.Root
	}
	if by == "demographics" || by == "id+demographics" {
		q.Given, q.Family, q.BirthDate, q.Gender = p.Given, p.Family, p.BirthDate, p.Gender
	}
	as, err := x.r.Creds.assertions(x.c, nil, nil, false)
	if err != nil {
		return []string{"assertions: " + err.Error()}
	}
	req := ncpclient.Request{URL: x.r.url(ehdsi.PathXCPD), Action: ehdsi.ActionXCPD, Body: ncpclient.XCPDBody(q), Assertions: as, MTOM: x.c.Request.MTOM}
	rep, bad, ok := x.finish(ctx, req)
	if !ok {
		return bad
	}
	o := observe(rep)
	bad = append(bad, checkEnvelope(rep, ehdsi.ActionXCPDResponse, "PRPA_IN201306UV02", x.msgID)...)
	var xr xcpdResult
	if rep.Fault == nil && rep.Env != nil {
		xr = readXCPD(rep.Env.Body, o)
	}
	x.record(o)
	bad = append(bad, checkOutcome(x.c.Expect, rep.Status, o)...)
	if rep.Fault != nil || rep.Env == nil {
		return bad
	}
	e := x.c.Expect
	want := e.QueryResponseCode
	if want == "" {
		switch e.Outcome {
		case OutcomeSuccess:
			want = "OK"
		case OutcomeEmpty:
			want = "NF"
		}
	}
	if want != "" && xr.queryResponseCode != want {
		bad = append(bad, fmt.Sprintf("queryResponseCode %q, expected %q", xr.queryResponseCode, want))
	}
	if e.Outcome == OutcomeSuccess {
		n := 1
		if e.Subjects != nil {
			n = *e.Subjects
		}
		if xr.subjects != n {
			bad = append(bad, fmt.Sprintf("%d subject(s), expected %d", xr.subjects, n))
		}
		// The subject must be the patient asked for (by id), or the
		// profile's patient (by demographics).
		if wantID := p.ID; wantID != "" && xr.subjects > 0 {
			found := false
			for _, id := range xr.subjectIDs {
				if id[1] == wantID || slices.Contains(p.OtherIDs, id[1]) {
					found = true
				}
			}
			if !found {
				bad = append(bad, fmt.Sprintf("no subject carries the patient id %s (ids %v)", wantID, xr.subjectIDs))
			}
		}
	} else if e.Subjects != nil && xr.subjects != *e.Subjects {
		bad = append(bad, fmt.Sprintf("%d subject(s), expected %d", xr.subjects, *e.Subjects))
	}
	return bad
}

// ---- XCA

func (x *exchange) query(ctx context.Context, step string, c *Case, pid wssec.PatientID, class string, mtom bool) (*ncpclient.Reply, error) {
	as, err := x.r.Creds.assertions(c, &pid, x.trcSubjectFor(c), true)
	if err != nil {
		return nil, fmt.Errorf("assertions: %w", err)
	}
	req := ncpclient.Request{URL: x.r.url(ehdsi.PathXCA), Action: ehdsi.ActionXCAQuery, Body: ncpclient.XCAQueryBody(pid, class), Assertions: as, MTOM: mtom, MessageID: soap.NewMessageID()}
	return x.call(ctx, step, x.r.Client, req)
}

func (x *exchange) trcSubjectFor(c *Case) *wssec.PatientID {
	if c != x.c {
		return nil
	}
	return x.trcSubject()
}

func (x *exchange) runQuery(ctx context.Context) []string {
	_, pid := x.patient()
	as, err := x.r.Creds.assertions(x.c, &pid, x.trcSubject(), true)
	if err != nil {
		return []string{"assertions: " + err.Error()}
	}
	req := ncpclient.Request{URL: x.r.url(ehdsi.PathXCA), Action: ehdsi.ActionXCAQuery, Body: ncpclient.XCAQueryBody(pid, x.c.Request.ClassCode), Assertions: as, MTOM: x.c.Request.MTOM}
	rep, bad, ok := x.finish(ctx, req)
	if !ok {
		return bad
	}
	o := observe(rep)
	bad = append(bad, checkEnvelope(rep, ehdsi.ActionXCAQueryResp, "AdhocQueryResponse", x.msgID)...)
	var status string
	var docs []ncpclient.ListedDocument
	if rep.Fault == nil && rep.Env != nil {
		var errs []ncpclient.RegistryError
		status, docs, errs = ncpclient.ParseQueryResponse(rep.Env.Body)
		registryErrors(errs, o)
		o.found = len(docs)
		if strings.HasSuffix(status, ":Failure") {
			o.errorSeen = true
		}
	}
	x.record(o)
	bad = append(bad, checkOutcome(x.c.Expect, rep.Status, o)...)
	if rep.Fault != nil || rep.Env == nil {
		return bad
	}
	e := x.c.Expect
	bad = append(bad, checkStatus(e, status)...)
	if e.Outcome != OutcomeSuccess {
		return bad
	}
	if n := max(e.MinEntries, 1); len(docs) < n {
		bad = append(bad, fmt.Sprintf("%d document entries, expected at least %d", len(docs), n))
	}
	l1, l3 := false, false
	for i, d := range docs {
		if d.UniqueID == "" || d.RepositoryUniqueID == "" {
			bad = append(bad, fmt.Sprintf("entry %d lacks uniqueId or repositoryUniqueId", i+1))
		}
		if e.AllClass && d.ClassCode != x.c.Request.ClassCode {
			bad = append(bad, fmt.Sprintf("entry %d has class %q, expected %s", i+1, d.ClassCode, x.c.Request.ClassCode))
		}
		if d.PatientID != "" && !strings.HasPrefix(d.PatientID, pid.Extension+"^") && d.PatientID != pid.Extension {
			bad = append(bad, fmt.Sprintf("entry %d is for patient %q, not the queried one", i+1, d.PatientID))
		}
		if d.L1 {
			l1 = true
		} else {
			l3 = true
		}
	}
	if e.L1AndL3 && !(l1 && l3) {
		bad = append(bad, fmt.Sprintf("listing offers L3 %v and L1 %v, expected both", l3, l1))
	}
	return bad
}

func checkStatus(e Expect, status string) []string {
	if e.RegistryStatus == "" {
		if e.Outcome == OutcomeSuccess && !strings.HasSuffix(status, ":Success") {
			return []string{fmt.Sprintf("registry status %q, expected Success", status)}
		}
		return nil
	}
	if !strings.HasSuffix(status, ":"+e.RegistryStatus) {
		return []string{fmt.Sprintf("registry status %q, expected %s", status, e.RegistryStatus)}
	}
	return nil
}

// setupCase is the valid baseline a case's setup steps run with.
func (x *exchange) setupCase(class string) *Case {
	return &Case{Suite: x.c.Suite, Name: x.c.Name + " (setup)", Transaction: TxXCAQuery, Request: Params{ClassCode: class}}
}

// list runs a valid query for the case's patient and class.
func (x *exchange) list(ctx context.Context, pid wssec.PatientID, class string) ([]ncpclient.ListedDocument, error) {
	rep, err := x.query(ctx, "setup: xca-query", x.setupCase(class), pid, class, false)
	if err != nil {
		return nil, err
	}
	if rep.Fault != nil {
		return nil, fmt.Errorf("setup query refused: %s %s", rep.Fault.Code, rep.Fault.Public)
	}
	if rep.Env == nil {
		return nil, fmt.Errorf("setup query: HTTP %d, not a SOAP reply", rep.Status)
	}
	status, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
	if len(docs) == 0 {
		return nil, fmt.Errorf("setup query found no %s document (status %s, errors %v)", class, status, errs)
	}
	return docs, nil
}

// dispensable keeps the entries listed with the open dispensable flag
// (a target lists closed ePrescriptions too, to be read); all of them when
// none carries the flag (a target that writes no eventCodeList).
func dispensable(docs []ncpclient.ListedDocument) []ncpclient.ListedDocument {
	var out []ncpclient.ListedDocument
	for _, d := range docs {
		if d.Dispensable {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		return docs
	}
	return out
}

func selectDocs(docs []ncpclient.ListedDocument, sel, hcid string) ([]ncpclient.DocRef, error) {
	ref := func(d ncpclient.ListedDocument) ncpclient.DocRef {
		h := d.HomeCommunityID
		if h == "" {
			h = hcid
		}
		return ncpclient.DocRef{HomeCommunityID: h, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID}
	}
	var l3, l1 *ncpclient.ListedDocument
	for i := range docs {
		if docs[i].L1 && l1 == nil {
			l1 = &docs[i]
		}
		if !docs[i].L1 && l3 == nil {
			l3 = &docs[i]
		}
	}
	switch sel {
	case "first-l3":
		if l3 == nil {
			return nil, errors.New("the listing has no L3 (structured) document")
		}
		return []ncpclient.DocRef{ref(*l3)}, nil
	case "first-l1":
		if l1 == nil {
			return nil, errors.New("the listing has no L1 (PDF) document")
		}
		return []ncpclient.DocRef{ref(*l1)}, nil
	case "pair":
		if l3 == nil {
			return nil, errors.New("the listing has no L3 (structured) document")
		}
		for i := range docs {
			if docs[i].L1 && docs[i].TransformOf == l3.UniqueID {
				return []ncpclient.DocRef{ref(*l3), ref(docs[i])}, nil
			}
		}
		if l1 == nil {
			return nil, errors.New("the listing has no L1 (PDF) document")
		}
		return []ncpclient.DocRef{ref(*l3), ref(*l1)}, nil
	case "all":
		var out []ncpclient.DocRef
		for _, d := range docs {
			out = append(out, ref(d))
		}
		return out, nil
	}
	return nil, fmt.Errorf("unknown document selector %q", sel)
}

func (x *exchange) runRetrieve(ctx context.Context) []string {
	_, pid := x.patient()
	var refs []ncpclient.DocRef
	if x.c.Request.Document == "unknown" {
		refs = []ncpclient.DocRef{{HomeCommunityID: x.r.Profile.HomeCommunityID, RepositoryUniqueID: x.r.Profile.HomeCommunityID,
			DocumentUniqueID: "2.999.404^no-such-document-" + strings.TrimPrefix(soap.NewMessageID(), "urn:uuid:")}}
	} else {
		docs, err := x.list(ctx, pid, x.c.Request.ClassCode)
		if err != nil {
			return []string{err.Error()}
		}
		if refs, err = selectDocs(docs, x.c.Request.Document, x.r.Profile.HomeCommunityID); err != nil {
			return []string{err.Error()}
		}
	}
	as, err := x.r.Creds.assertions(x.c, &pid, x.trcSubject(), true)
	if err != nil {
		return []string{"assertions: " + err.Error()}
	}
	req := ncpclient.Request{URL: x.r.url(ehdsi.PathXCA), Action: ehdsi.ActionXCARetrieve, Body: ncpclient.XCARetrieveBody(refs...), Assertions: as, MTOM: x.c.Request.MTOM}
	rep, bad, ok := x.finish(ctx, req)
	if !ok {
		return bad
	}
	o := observe(rep)
	bad = append(bad, checkEnvelope(rep, ehdsi.ActionXCARetrieveResp, "RetrieveDocumentSetResponse", x.msgID)...)
	var status string
	var docs []ncpclient.RetrievedDocument
	if rep.Fault == nil && rep.Env != nil {
		var errs []ncpclient.RegistryError
		status, docs, errs, err = ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		if err != nil {
			bad = append(bad, "retrieve response: "+err.Error())
		}
		registryErrors(errs, o)
		o.found = len(docs)
		if strings.HasSuffix(status, ":Failure") {
			o.errorSeen = true
		}
	}
	x.record(o)
	bad = append(bad, checkOutcome(x.c.Expect, rep.Status, o)...)
	if rep.Fault != nil || rep.Env == nil {
		return bad
	}
	e := x.c.Expect
	bad = append(bad, checkStatus(e, status)...)
	if e.Outcome != OutcomeSuccess {
		return bad
	}
	if n := max(e.MinDocuments, 1); len(docs) < n {
		bad = append(bad, fmt.Sprintf("%d documents returned, expected at least %d", len(docs), n))
	}
	asked := map[string]bool{}
	for _, rf := range refs {
		asked[rf.DocumentUniqueID] = true
	}
	for i, d := range docs {
		where := fmt.Sprintf("document %d (%s)", i+1, d.UniqueID)
		if !asked[d.UniqueID] {
			bad = append(bad, where+" was not requested")
		}
		if len(d.Data) == 0 {
			bad = append(bad, where+" is empty")
			continue
		}
		if x.r.Trust != nil {
			if signed, err := routing.VerifyDocument(d.Data, x.r.Trust, x.r.Profile.Country, x.r.now()); signed && err != nil {
				bad = append(bad, where+": the document's signature does not verify: "+err.Error())
			}
		}
		facts, problems := CheckCDA(d.Data, pid.Extension, e.Templates)
		for _, p := range problems {
			bad = append(bad, where+": "+p)
		}
		if len(problems) == 0 && validatable(facts) {
			x.r.docs = append(x.r.docs, retrieved{caseIdx: x.idx, name: d.UniqueID, data: d.Data})
		}
	}
	return bad
}

// ---- XDR

// prescriptionRefs reads the document id, first item id and its ATC code
// (the dispensation must be of the prescribed medicine) of an eP CDA.
func prescriptionRefs(data []byte) (doc, item wssec.PatientID, atc string, err error) {
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil {
		return doc, item, "", err
	}
	root := d.Root()
	if root == nil {
		return doc, item, "", errors.New("empty document")
	}
	if c := root.FindElement(".//substanceAdministration//generalizedMaterialKind/code"); c != nil {
		atc = c.SelectAttrValue("code", "")
	}
	if id := root.SelectElement("id"); id != nil {
		doc = wssec.PatientID{Root: id.SelectAttrValue("root", ""), Extension: id.SelectAttrValue("extension", "")}
	}
	if sa := root.FindElement(".//substanceAdministration/id"); sa != nil {
		item = wssec.PatientID{Root: sa.SelectAttrValue("root", ""), Extension: sa.SelectAttrValue("extension", "")}
	}
	if doc.Root == "" || item.Extension == "" {
		return doc, item, atc, errors.New("the ePrescription has no document id or no prescription item id")
	}
	return doc, item, atc, nil
}

// prepareDispensation lists and retrieves the patient's first dispensable
// ePrescription (valid assertions) and builds an eDispensation of it.
func (x *exchange) prepareDispensation(ctx context.Context, p Patient, pid wssec.PatientID) (*dispensation, error) {
	docs, err := x.list(ctx, pid, ehdsi.ClassEP)
	if err != nil {
		return nil, err
	}
	refs, err := selectDocs(dispensable(docs), "first-l3", x.r.Profile.HomeCommunityID)
	if err != nil {
		return nil, err
	}
	setup := x.setupCase(ehdsi.ClassEP)
	as, err := x.r.Creds.assertions(setup, &pid, nil, true)
	if err != nil {
		return nil, err
	}
	rep, err := x.call(ctx, "setup: xca-retrieve", x.r.Client, ncpclient.Request{URL: x.r.url(ehdsi.PathXCA), Action: ehdsi.ActionXCARetrieve,
		Body: ncpclient.XCARetrieveBody(refs...), Assertions: as, MessageID: soap.NewMessageID()})
	if err != nil {
		return nil, err
	}
	if rep.Fault != nil || rep.Env == nil {
		return nil, fmt.Errorf("setup retrieve of the ePrescription failed (HTTP %d)", rep.Status)
	}
	_, got, _, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
	if err != nil || len(got) == 0 {
		return nil, fmt.Errorf("setup retrieve returned no ePrescription (%v)", err)
	}
	presc, item, atc, err := prescriptionRefs(got[0].Data)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if x.c.Request.Document == "unknown" {
		// A prescription the target never issued.
		nowhere := strings.TrimPrefix(soap.NewMessageID(), "urn:uuid:")
		presc = wssec.PatientID{Root: "2.999.404", Extension: "no-such-prescription-" + nowhere}
		item = wssec.PatientID{Root: "2.999.404.1", Extension: "no-such-item-" + nowhere}
	}
	cc := x.r.Creds.Identity.Country
	id := wssec.PatientID{Root: "2.999.4.1", Extension: "ed-" + strings.TrimPrefix(soap.NewMessageID(), "urn:uuid:")}
	doc := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: id, Patient: pid, PatientGiven: p.Given, PatientName: p.Family,
		Prescription: presc, Item: item, ProductCode: "conformance-1", ProductName: "Conformance test product", ATC: atc, Quantity: 1,
		Pharmacist: "conformance-pharmacist", Pharmacy: "Conformance Pharmacy", Country: cc, Time: x.r.now(),
	})
	return &dispensation{doc: doc, docUID: id.Root + "^" + id.Extension, sub: "2.999.5." + fmt.Sprint(x.r.now().UnixNano())}, nil
}

func (x *exchange) runXDR(ctx context.Context) []string {
	p, pid := x.patient()
	discard := x.c.Transaction == TxXDRDiscard
	key := x.c.Request.Patient
	d := x.r.dispensed[key]
	if d == nil || !discard {
		var err error
		if d, err = x.prepareDispensation(ctx, p, pid); err != nil {
			return []string{err.Error()}
		}
		if discard && x.c.Request.Document != "unknown" {
			// Nothing dispensed earlier in this run: dispense first.
			as, err := x.r.Creds.assertions(&Case{Transaction: TxXDRSubmit}, &pid, nil, true)
			if err != nil {
				return []string{"assertions: " + err.Error()}
			}
			rep, err := x.call(ctx, "setup: xdr-submit", x.r.Client, ncpclient.Request{URL: x.r.url(ehdsi.PathXDR), Action: ehdsi.ActionXDR,
				Body:       ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid, DocumentUID: d.docUID, SubmissionSetID: d.sub, SourceID: x.r.SenderHCID, Document: d.doc}),
				Assertions: as, MessageID: soap.NewMessageID()})
			if err != nil || rep.Fault != nil {
				return []string{"setup: the eDispensation to discard could not be submitted"}
			}
		}
	}
	as, err := x.r.Creds.assertions(x.c, &pid, x.trcSubject(), true)
	if err != nil {
		return []string{"assertions: " + err.Error()}
	}
	sub := ncpclient.XDRSubmission{Discard: discard, Patient: pid, DocumentUID: d.docUID, SubmissionSetID: d.sub + ".1", SourceID: x.r.SenderHCID, Document: d.doc}
	if discard {
		sub.SubmissionSetID = d.sub + ".2"
	}
	req := ncpclient.Request{URL: x.r.url(ehdsi.PathXDR), Action: ehdsi.ActionXDR, Body: ncpclient.XDRBody(sub), Assertions: as, MTOM: x.c.Request.MTOM}
	rep, bad, ok := x.finish(ctx, req)
	if !ok {
		return bad
	}
	o := observe(rep)
	bad = append(bad, checkEnvelope(rep, ehdsi.ActionXDRResponse, "RegistryResponse", x.msgID)...)
	var status string
	if rep.Fault == nil && rep.Env != nil {
		var errs []ncpclient.RegistryError
		status, errs = ncpclient.ParseRegistryResponse(rep.Env.Body)
		registryErrors(errs, o)
		if strings.HasSuffix(status, ":Failure") {
			o.errorSeen = true
		}
	}
	x.record(o)
	bad = append(bad, checkOutcome(x.c.Expect, rep.Status, o)...)
	if rep.Fault == nil && rep.Env != nil {
		bad = append(bad, checkStatus(x.c.Expect, status)...)
	}
	if len(bad) == 0 && !discard && x.c.Expect.Outcome == OutcomeSuccess {
		x.r.dispensed[key] = d
	}
	if len(bad) == 0 && discard && x.c.Expect.Outcome == OutcomeSuccess {
		delete(x.r.dispensed, key)
	}
	return bad
}
