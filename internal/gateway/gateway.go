package gateway

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/reqlog"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Auditor records audit events durably before the response leaves.
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// Config is what every endpoint shares.
type Config struct {
	// TLSTrust verifies partners' TLS client certificates.
	TLSTrust *pki.TrustStore
	// Assertions verifies HCP and TRC assertions (seal trust store, clock).
	Assertions *wssec.Verifier
	Limits     soap.Limits
	// Now is the clock; nil means the system clock.
	Now   func() time.Time
	Log   *slog.Logger
	Audit Auditor
	// Self is luxncp as audit messages name it (provider on Country A).
	Self audit.NCP
	// Writer writes SOAP responses and faults (zero value: random ids).
	Writer soap.Writer
	// Replay refuses a MessageID seen before; nil disables the check.
	Replay ReplayGuard
	// Admission bounds requests in flight and per country, and aggregates
	// the audit of unauthenticated refusals; nil: no bounds.
	Admission *Admission
	// Evidence, when set, emits the transaction's non-repudiation evidence
	// (internal/evidence) after its audit record, before the response.
	Evidence EvidenceEmitter
	// Observe, when set, sees each transaction and its steps (metrics and
	// traces, internal/telemetry); nil: nothing is observed.
	Observe Observer
}

// Observer sees a transaction (Begin: its root span and request count,
// ended with the audit event as it stands when the response leaves) and
// its steps (Step: a child span and latency, ended with the step's error).
type Observer interface {
	Begin(ctx context.Context, endpoint string) (context.Context, func(context.Context, *audit.Event))
	Step(ctx context.Context, step string) (context.Context, func(error))
}

func noEnd(error) {}

// step starts an observed step (a no-op without an Observer).
func (c *Config) step(ctx context.Context, name string) (context.Context, func(error)) {
	if c.Observe == nil {
		return ctx, noEnd
	}
	return c.Observe.Step(ctx, name)
}

// EvidenceEmitter signs and stores non-repudiation evidence of a served
// transaction; resp is the response about to be sent. An error before any
// effect (no AuditNow) refuses the request, as an audit failure does.
// IDs names, before Emit runs, the evidence it will store for ev (nil:
// none), from ev.ResponseMessageID: the gateway writes them into the
// transaction's audit record (audit.Event.Evidence), durable before the
// evidence and the answer, so the chain says which evidence must exist.
type EvidenceEmitter interface {
	IDs(ev audit.Event) []string
	Emit(ctx context.Context, req *Request, ev audit.Event, resp *soap.Response) error
}

// evidenceIDs are the evidence ids of a transaction served with a normal
// response (never of one refused with a SOAP fault).
func (c *Config) evidenceIDs(ev audit.Event) []string {
	if c.Evidence == nil {
		return nil
	}
	return c.Evidence.IDs(ev)
}

func (c *Config) now() time.Time {
	return clock.Or(c.Now)()
}

func (c *Config) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Request is a verified request handed to an operation.
type Request struct {
	HTTP   *http.Request
	Env    *soap.Envelope
	Caller *wssec.Caller
	// Country is the requesting country (C= of the TLS certificate, equal
	// to the assertion signer's).
	Country string
	// Now is the time the request is judged at.
	Now time.Time

	trcEl    *etree.Element
	verifier *wssec.Verifier
	trc      *wssec.TRC
	extra    []audit.Event
	auditFn  func(ctx context.Context, ev audit.Event, extra []audit.Event) error
	// audited: the record AuditNow wrote (outcome and code), not written again.
	audited *audit.Event
}

// ErrNotAudited wraps AuditNow's errors: the record that must precede the
// effect is not durable, so the operation refuses. Such a refusal takes no
// effect and carries no data: when its own record cannot be written either
// (the same full disk), the gateway still answers it as the operation
// chose (e.g. ERROR_ED_EDISPENSATION_NOT_STORED in the XDR response)
// rather than as a generic fault.
var ErrNotAudited = errors.New("audit record not written")

// AuditNow writes the transaction's record now, as ev stands (with the
// events added by AddAudit), before the operation takes an effect (an
// eDispensation accepted for the national record): no effect without its
// record. An error means the record is not durable: the operation must
// not take the effect and must refuse. The gateway does not write the
// record again unless the outcome changes (a failure after AuditNow is
// recorded too).
func (r *Request) AuditNow(ctx context.Context, ev *audit.Event) error {
	if r.auditFn == nil {
		return nil
	}
	if err := r.auditFn(ctx, *ev, r.extra); err != nil {
		return fmt.Errorf("%w: %w", ErrNotAudited, err)
	}
	r.extra = nil
	done := *ev
	r.audited = &done
	return nil
}

// TRC verifies the TRC assertion of the request (once) against its HCP
// assertion.
func (r *Request) TRC() (*wssec.TRC, error) {
	if r.trc != nil {
		return r.trc, nil
	}
	trc, err := r.verifier.VerifyTRC(r.trcEl, r.Caller)
	if err != nil {
		return nil, err
	}
	r.trc = trc
	return trc, nil
}

// AddAudit records another event with this transaction (e.g. EHDSI-92 for
// the TRC assertion used). It is written before the response, after the
// main event.
func (r *Request) AddAudit(e audit.Event) { r.extra = append(r.extra, e) }

// Operation is one SOAP action of an endpoint.
type Operation struct {
	Action string
	// Event is the audit event type of this operation; Classify may refine
	// it from the body (e.g. XCA query for PS vs eP) before anything else
	// runs, so even early failures are audited under the right type.
	Event    audit.EventType
	Classify func(body *etree.Element) audit.EventType
	// Patients reads the patient identifiers the body names, as sent,
	// without judging them: the audit record of a request refused before
	// Handle named its patient (an expired assertion, a missing
	// permission) still names them (the recorder canonicalises them), so
	// the refusal is in the patient's access log.
	Patients func(body *etree.Element) []audit.PatientID
	// Permissions: the caller needs all of these permissions, as OpenNCP's
	// policy manager requires (empty: no check here; the operation checks).
	Permissions []string
	// Refuse, when set, answers an application-level refusal (a missing
	// permission here, or an *ehdsi.Fault of KindApplication returned by
	// Handle) inside the transaction's normal response — RegistryErrorList
	// or XCPD acknowledgement detail — as OpenNCP does, instead of a SOAP
	// Fault (dialect.Table, placement).
	Refuse func(req *Request, ev *audit.Event, f *ehdsi.Fault) *soap.Response
	// FaultCode is the eHDSI code of malformed-request faults for this
	// transaction (e.g. ERROR_PI_INCORRECT_FORMATTING).
	FaultCode ehdsi.Code
	// Handle runs the operation. ev is pre-filled (type, HCP, NCPs, message
	// ids, assertion ids); Handle adds patients, documents and, for
	// application-level errors carried in the response, the outcome
	// (ev.SetOutcome). A returned error becomes a SOAP fault and sets the
	// outcome itself.
	Handle func(ctx context.Context, req *Request, ev *audit.Event) (*soap.Response, error)
}

// Endpoint serves one IHE service path.
type Endpoint struct {
	Name string // XCPD, XCA, XDR
	Cfg  *Config
	Ops  []Operation
}

func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cfg := e.Cfg
	ctx := r.Context()
	start := cfg.now()
	respID := soap.NewMessageID()
	ev := audit.Event{Time: start, Provider: cfg.Self, ResponseMessageID: respID}
	// observed ends the transaction's observation once, just before the
	// response is written: a partner that has its answer finds it counted.
	observed := func() {}
	if cfg.Observe != nil {
		var end func(context.Context, *audit.Event)
		ctx, end = cfg.Observe.Begin(ctx, e.Name)
		r = r.WithContext(ctx)
		var once sync.Once
		observed = func() { once.Do(func() { end(ctx, &ev) }) }
		defer observed()
	}
	peer, _ := host.PeerFrom(ctx)
	ev.Consumer.IP = remoteIP(peer.RemoteAddr)
	var env *soap.Envelope
	var op *Operation
	var trcEl *etree.Element
	log := cfg.log().With("endpoint", e.Name)

	// unauthenticated: the refusal is audited in aggregate (see Admission).
	unauthenticated := false
	fail := func(err error) {
		f := ehdsi.AsFault(err, ehdsi.ErrGeneric)
		ev.SetOutcome(f)
		relates := ""
		if env != nil {
			relates = env.MessageID
		}
		if ev.Type == "" {
			ev.Type = e.defaultEvent()
		}
		namePatients(&ev, op, env, trcEl)
		// Log once: public part at info, cause (may hold patient data) at debug.
		log.InfoContext(ctx, "request refused", "code", string(f.Code), "reason", f.Message(), "peer", ev.Consumer.Country)
		if f.Cause != nil {
			log.DebugContext(ctx, "request refused: cause", "code", string(f.Code), "cause", f.Cause.Error())
		}
		write := e.audit
		if unauthenticated {
			write = func(ctx context.Context, ev audit.Event, _ []audit.Event) error { return e.auditRefusal(ctx, ev) }
		}
		if aerr := write(ctx, ev, nil); aerr != nil {
			log.ErrorContext(ctx, "audit write failed", "error", aerr.Error())
			if !errors.Is(err, ErrNotAudited) {
				f = ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), aerr)
			}
		}
		observed()
		_ = cfg.Writer.WriteFault(w, f, relates)
	}

	// Transport first, before the body is read: the partner's TLS
	// certificate, trusted for TLS by the trust list, whose entry gives the
	// country. An unauthenticated caller costs no body and no parse.
	_, end := cfg.step(ctx, "tls")
	country, err := peer.Verify(cfg.TLSTrust, start)
	end(err)
	if err != nil {
		unauthenticated = true
		if errors.Is(err, host.ErrNoClientCert) {
			fail(ehdsi.Sender(ehdsi.ErrSecGeneric, "a client certificate is required", err))
		} else {
			fail(ehdsi.Sender(ehdsi.ErrSecGeneric, "the client certificate "+pki.Reason(err), err))
		}
		return
	}
	ev.Consumer.Country = country
	if len(peer.Certs) > 0 {
		ev.Consumer.Host = peer.Certs[0].Subject.CommonName
	}
	if country == cfg.Self.Country {
		// Country A serves foreign NCPs: Luxembourg's own certificates
		// (Country B's, the portal's) have no business here.
		fail(ehdsi.Sender(ehdsi.ErrSecGeneric, "the client certificate is "+country+"'s own: Country A endpoints serve foreign NCPs only", nil))
		return
	}
	notAdmitted := func(busy *busy) {
		log.InfoContext(ctx, "request not admitted", "peer", country, "status", busy.status, "reason", busy.reason)
		// Observed as the fault it is (not a success): not audited, the
		// request was never read.
		ev.Outcome, ev.ErrorCode = audit.OutcomeSeriousFailure, string(ehdsi.ErrGeneric)
		w.Header().Set("Retry-After", fmt.Sprint(int(max(1, (busy.retryAfter+time.Second-1)/time.Second))))
		_ = cfg.Writer.WriteFaultStatus(w, ehdsi.Receiver(ehdsi.ErrGeneric, "busy: "+busy.reason+"; retry later", nil), "", busy.status)
	}
	// The body memory is reserved before the body is read: by its declared
	// length, or as it arrives.
	ticket, busy := cfg.Admission.admit(country, r.ContentLength, cmp.Or(cfg.Limits.MaxBytes, soap.DefaultMaxBytes))
	if busy != nil {
		notAdmitted(busy)
		return
	}
	defer ticket.release()
	r.Body = ticket.body(r.Body)
	_, end = cfg.step(ctx, "parse")
	env, err = soap.Read(r, cfg.Limits)
	end(err)
	if ticket.refused != nil {
		notAdmitted(ticket.refused)
		return
	}
	if env != nil {
		// Also for an envelope refused after its header was read: the
		// refusal is logged and answered under the partner's MessageID.
		ev.RequestMessageID = env.MessageID
		ctx = reqlog.WithMessageID(ctx, env.MessageID)
		r = r.WithContext(ctx)
	}
	if err != nil {
		fail(err)
		return
	}
	for i := range e.Ops {
		if e.Ops[i].Action == env.Action {
			op = &e.Ops[i]
		}
	}
	if op == nil {
		fail(ehdsi.Sender(ehdsi.ErrGeneric, fmt.Sprintf("action %q is not served at this endpoint", truncate(env.Action, 120)), nil))
		return
	}
	ev.Type = op.Event
	if op.Classify != nil {
		if t := op.Classify(env.Body); t != "" {
			ev.Type = t
		}
	}
	// Assertions: verify first, then read.
	hcpEl, trc, err := wssec.FindAssertions(env.Security)
	trcEl = trc
	if err != nil {
		fail(err)
		return
	}
	_, end = cfg.step(ctx, "assertion")
	caller, err := cfg.Assertions.VerifyHCP(hcpEl)
	end(err)
	if err != nil {
		fail(err)
		return
	}
	if cfg.Replay != nil {
		if env.MessageID == "" {
			fail(ehdsi.Sender(ehdsi.ErrSecGeneric, "a WS-Addressing MessageID is required", nil))
			return
		}
		// Held while the HCP assertion would be accepted (a second more:
		// the DynamoDB guard keeps whole seconds), and not longer: the
		// guard's memory is the ids of that window.
		seen, err := cfg.Replay.Seen(ctx, caller.SignerCountry+"|"+env.MessageID, cfg.Assertions.AcceptedUntil(caller.NotOnOrAfter).Add(time.Second))
		if err != nil {
			if errors.Is(err, ErrReplayGuardFull) {
				// The operator's sign: every new message is refused until
				// held ids expire (or LUXNCP_REPLAY_MAX is raised).
				cfg.log().WarnContext(ctx, "replay guard full: new messages refused until held MessageIDs expire; raise LUXNCP_REPLAY_MAX",
					"error", err.Error())
			}
			fail(ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), err))
			return
		}
		if seen {
			fail(ehdsi.Sender(ehdsi.ErrSecGeneric, "this message was already received (replay): every request needs a fresh wsa:MessageID", nil))
			return
		}
	}
	ev.HCPAssertionID = caller.AssertionID
	ev.HCP = audit.HCP{
		ID: caller.NameID, Issuer: caller.Issuer, Name: caller.Name,
		RoleCode: caller.Role.Code, RoleDisplay: caller.Role.Display, RoleSystem: caller.Role.System,
		Organisation: caller.Organisation, OrganisationID: caller.OrganisationID,
		FacilityType: caller.FacilityType, PurposeOfUse: caller.Purpose, Country: caller.SignerCountry,
	}
	if caller.SignerCountry != country {
		fail(ehdsi.Sender(ehdsi.ErrSecDataIntegrityNotEnsured,
			"the country of the TLS certificate and of the assertion signer differ", fmt.Errorf("tls %s, assertion %s", country, caller.SignerCountry)))
		return
	}
	// A record written by AuditNow names the evidence the response will
	// have; a fault after it is recorded again without (fail).
	auditServed := func(ctx context.Context, ev audit.Event, extra []audit.Event) error {
		ev.Evidence = cfg.evidenceIDs(ev)
		return e.audit(ctx, ev, extra)
	}
	req := &Request{HTTP: r, Env: env, Caller: caller, Country: country, Now: start, trcEl: trcEl, verifier: cfg.Assertions, auditFn: auditServed}
	if trcEl != nil {
		if id := trcEl.SelectAttrValue("ID", ""); id != "" {
			ev.TRCAssertionID = id
		}
	}
	var resp *soap.Response
	if missing := dialect.Missing(op.Permissions, caller.HasPermission); len(missing) > 0 {
		f := dialect.Fault(dialect.InsufficientRights, "the HCP assertion lacks the permission(s) this transaction requires ("+strings.Join(missing, ", ")+")", nil)
		if op.Refuse == nil {
			f.Kind = ehdsi.KindSender
		}
		err = f
	} else {
		octx, end := cfg.step(ctx, "operation")
		resp, err = e.run(octx, op, req, &ev)
		end(err)
	}
	if err != nil {
		var f *ehdsi.Fault
		if op.Refuse == nil || !errors.As(err, &f) || f.Kind != ehdsi.KindApplication {
			fail(err)
			return
		}
		log.InfoContext(ctx, "request refused in the response", "code", string(f.Code), "reason", f.Message(), "peer", ev.Consumer.Country)
		ev.SetOutcome(f)
		namePatients(&ev, op, env, trcEl)
		resp = op.Refuse(req, &ev, f)
	}
	resp.RelatesTo = env.MessageID
	resp.MessageID = respID
	if a := req.audited; a != nil && a.Outcome == ev.Outcome && a.ErrorCode == ev.ErrorCode {
		// Written by AuditNow before the effect.
	} else if aerr := auditServed(ctx, ev, req.extra); aerr != nil {
		log.ErrorContext(ctx, "audit write failed", "error", aerr.Error())
		if !errors.Is(err, ErrNotAudited) { // a refusal for want of a record is answered as such
			observed()
			_ = cfg.Writer.WriteFault(w, ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), aerr), env.MessageID)
			return
		}
	}
	if cfg.Evidence != nil {
		ectx, end := cfg.step(ctx, "evidence")
		err := cfg.Evidence.Emit(ectx, req, ev, resp)
		end(err)
		if err != nil {
			log.ErrorContext(ctx, "evidence not stored", "event", string(ev.Type), "error", err.Error())
			if req.audited == nil { // nothing took effect yet: no release without evidence
				observed()
				_ = cfg.Writer.WriteFault(w, ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), err), env.MessageID)
				return
			}
		}
	}
	log.InfoContext(ctx, "request served", "event", string(ev.Type), "outcome", ev.Outcome.String(), "code", ev.ErrorCode,
		"peer", country, "ms", float64(cfg.now().Sub(start).Microseconds())/1000)
	observed()
	if err := cfg.Writer.Write(w, *resp, env.MTOM); err != nil {
		log.ErrorContext(ctx, "write response", "error", err.Error())
	}
}

// namePatients gives the record of a request refused before its operation
// named the patient the identifiers as sent: those of the body
// (Operation.Patients) and the TRC assertion's subject, unverified.
func namePatients(ev *audit.Event, op *Operation, env *soap.Envelope, trcEl *etree.Element) {
	if len(ev.Patients) > 0 || env == nil {
		return
	}
	var ids []audit.PatientID
	if op != nil && op.Patients != nil {
		ids = op.Patients(env.Body)
	}
	if p, ok := wssec.TRCPatientAsSent(trcEl); ok {
		ids = append(ids, audit.PatientID{Root: p.Root, Extension: p.Extension})
	}
	for _, id := range ids {
		if id.Extension != "" && !slices.Contains(ev.Patients, id) {
			ev.Patients = append(ev.Patients, id)
		}
	}
}

// run calls the operation, turning a panic into a generic fault.
func (e *Endpoint) run(ctx context.Context, op *Operation, req *Request, ev *audit.Event) (resp *soap.Response, err error) {
	defer func() {
		if p := recover(); p != nil {
			e.Cfg.log().ErrorContext(ctx, "operation panicked", "endpoint", e.Name, "action", op.Action, "panic", fmt.Sprint(p))
			resp, err = nil, ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), fmt.Errorf("panic: %v", p))
		}
	}()
	resp, err = op.Handle(ctx, req, ev)
	if err == nil && resp == nil {
		err = ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric), errors.New("operation returned no response"))
	}
	return resp, err
}

// audit writes the transaction's records, detached from the caller's
// context: a partner that hangs up never cancels its audit record.
func (e *Endpoint) audit(ctx context.Context, ev audit.Event, extra []audit.Event) error {
	if e.Cfg.Audit == nil {
		return nil
	}
	ctx, end := e.Cfg.step(ctx, "audit")
	ctx, cancel := audit.Detach(ctx, 0)
	defer cancel()
	err := e.record(ctx, ev, extra)
	end(err)
	return err
}

func (e *Endpoint) record(ctx context.Context, ev audit.Event, extra []audit.Event) error {
	all := []audit.Event{ev}
	for _, x := range extra {
		if x.Time.IsZero() {
			x.Time = ev.Time
		}
		if x.Consumer == (audit.NCP{}) {
			x.Consumer = ev.Consumer
		}
		if x.Provider == (audit.NCP{}) {
			x.Provider = ev.Provider
		}
		if x.HCP == (audit.HCP{}) {
			x.HCP = ev.HCP
		}
		all = append(all, x)
	}
	if len(all) == 1 {
		return e.Cfg.Audit.Record(ctx, ev)
	}
	// Written concurrently, the records of one transaction share the
	// sink's fsync (group commit); every one is durable before we answer.
	errs := make(chan error, len(all))
	for _, x := range all {
		go func(x audit.Event) { errs <- e.Cfg.Audit.Record(ctx, x) }(x)
	}
	var first error
	for range all {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (e *Endpoint) defaultEvent() audit.EventType {
	if len(e.Ops) > 0 {
		return e.Ops[0].Event
	}
	return audit.EventCommunicationFailure
}

func remoteIP(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
