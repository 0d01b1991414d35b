package countryb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"
	"golang.org/x/sync/semaphore"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// Auditor records audit events durably (audit.Recorder).
type Auditor interface {
	Record(ctx context.Context, e audit.Event) error
}

// Router sends routed calls (*routing.Client).
type Router interface {
	Do(ctx context.Context, call routing.Call) (*routing.Result, error)
}

// Config wires the service.
type Config struct {
	Router Router
	// Identity issues HCP and TRC assertions with Luxembourg's seal.
	Identity *ncpclient.Identity
	// HomeCommunityID is Luxembourg's (sender of XCPD queries).
	HomeCommunityID string
	// Trust verifies signatures on returned documents (seal CAs).
	Trust *pki.TrustStore
	// ClientTrust verifies the calling systems' TLS client certificates;
	// ClientCountries are the countries they may be from (default LU).
	ClientTrust     *pki.TrustStore
	ClientCountries []string
	// Tokens verifies the professionals' national identity tokens (nil:
	// every request is refused, 503).
	Tokens TokenVerifier
	// Callers: which calling systems may act for which organisations
	// (nil: none may).
	Callers    Callers
	Translator render.Translator
	Audit      Auditor
	// AssertionValidity of issued assertions (default 1 h).
	AssertionValidity time.Duration
	// NoAssertionReuse issues fresh HCP and TRC assertions for every call
	// instead of reusing them during the first half of their validity.
	NoAssertionReuse bool
	// MaxBody of API requests (default 1 MiB).
	MaxBody int64
	// Submissions keeps sent eDispensations for discard (default: in
	// memory; `luxncp serve` keeps them under the state directory).
	Submissions Submissions
	// Limits bound what foreign contact points send (defaults: Limits).
	Limits Limits
	Now    func() time.Time
	Log    *slog.Logger
}

// Service is the Country B service. Build with New.
type Service struct {
	cfg      Config
	renderer *render.Renderer
	mu       sync.Mutex
	// submitted eDispensations by document id, kept for discard.
	submitted Submissions
	cache     *assertionCache
	// docSlots holds one token per foreign document in memory.
	docSlots chan struct{}
	// replies is the ReplyBudget, in bytes.
	replies *semaphore.Weighted
}

// New checks the configuration and returns the service.
func New(cfg Config) (*Service, error) {
	switch {
	case cfg.Router == nil:
		return nil, errors.New("countryb: no router")
	case cfg.Identity == nil:
		return nil, errors.New("countryb: no identity (seal)")
	case cfg.Translator == nil:
		return nil, errors.New("countryb: no translator")
	case cfg.Trust == nil:
		return nil, errors.New("countryb: no trust store")
	}
	if cfg.HomeCommunityID == "" {
		cfg.HomeCommunityID = "1.3.182.2.12.10000734.6.1"
	}
	if cfg.AssertionValidity == 0 {
		cfg.AssertionValidity = time.Hour
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = 1 << 20
	}
	if len(cfg.ClientCountries) == 0 {
		cfg.ClientCountries = []string{"LU"}
	}
	cfg.Limits = cfg.Limits.withDefaults()
	r, err := render.NewRenderer(cfg.Translator)
	if err != nil {
		return nil, err
	}
	s := &Service{cfg: cfg, renderer: r, submitted: cfg.Submissions, docSlots: make(chan struct{}, cfg.Limits.MaxDocuments),
		replies: semaphore.NewWeighted(cfg.Limits.ReplyBudget)}
	if s.submitted == nil {
		s.submitted = &MemorySubmissions{}
	}
	if !cfg.NoAssertionReuse {
		s.cache = newAssertionCache(4096)
	}
	return s, nil
}

func (s *Service) now() time.Time {
	return clock.Or(s.cfg.Now)()
}

func (s *Service) log() *slog.Logger {
	if s.cfg.Log != nil {
		return s.cfg.Log
	}
	return slog.Default()
}

// APIError is a failure the API reports: HTTP status, a stable code, a
// message for the professional and, for remote refusals, the eHDSI code.
type APIError struct {
	Status  int        `json:"-"`
	Code    string     `json:"code"`
	Message string     `json:"message"`
	EHDSI   ehdsi.Code `json:"ehdsiCode,omitempty"`
	Country string     `json:"country,omitempty"`
	// Attempts made towards the contact point.
	Attempts int   `json:"attempts,omitempty"`
	Cause    error `json:"-"`
}

func (e *APIError) Error() string {
	s := e.Code + ": " + e.Message
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *APIError) Unwrap() error { return e.Cause }

func badRequest(msg string) *APIError {
	return &APIError{Status: 400, Code: "bad-request", Message: msg}
}

// fromRouting maps a routing failure onto the API.
func fromRouting(err error) *APIError {
	re, ok := routing.AsError(err)
	if !ok {
		return &APIError{Status: 500, Code: "internal", Message: "luxncp failed; retry or contact the operator", Cause: err}
	}
	status := map[routing.Kind]int{routing.ErrUnknownCountry: 404, routing.ErrDown: 503, routing.ErrSlow: 504,
		routing.ErrUntrusted: 502, routing.ErrRefused: 502, routing.ErrInvalidReply: 502}[re.Kind]
	code := "country-" + string(re.Kind)
	msg := re.Public
	if re.Kind == routing.ErrRefused && re.HTTPStatus == 400 {
		status = 422
	}
	e := &APIError{Status: status, Code: code, Message: msg, Country: re.Country, Attempts: re.Attempts, Cause: err}
	if re.Kind == routing.ErrRefused {
		e.EHDSI = re.Code
	}
	return e
}

// outbound is what an audit record needs about one call.
type outbound struct {
	country   string
	tx        routing.Transaction
	event     audit.EventType
	hcp       audit.HCP
	hcpID     string
	trcID     string
	patients  []audit.PatientID
	documents []string
	hcid      string
	messageID string
	// maxReply caps the reply (default Limits.MaxReplyBytes).
	maxReply int64
}

// call routes one transaction and audits it (and a communication failure
// as EHDSI-CF). An application error in the reply is the caller's to add.
func (s *Service) call(ctx context.Context, o *outbound, req ncpclient.Request, idem string, appErr func(*routing.Result) error) (*routing.Result, error) {
	o.messageID = soap.NewMessageID()
	req.MessageID = o.messageID
	limit := o.maxReply
	if limit <= 0 {
		limit = s.cfg.Limits.MaxReplyBytes
	}
	release, err := s.holdReply(ctx, o.country, limit)
	if err != nil {
		return nil, err
	}
	defer release()
	res, err := s.cfg.Router.Do(ctx, routing.Call{Country: o.country, Transaction: o.tx, Request: req, IdempotencyKey: idem, MaxReplyBytes: limit})
	if err == nil && appErr != nil {
		err = appErr(res)
		if re, ok := routing.AsError(err); ok && re.Attempts == 0 && res != nil {
			re.Attempts = res.Attempts
		}
	}
	if aerr := s.audit(ctx, o, res, err); aerr != nil && o.tx != routing.ITI41 {
		// No foreign patient data reaches a Luxembourg professional without
		// its record. (An eDispensation has already taken effect abroad:
		// its answer goes out, and the failed write is logged.)
		return nil, auditUnavailable(aerr)
	}
	return res, err
}

// auditUnavailable is the answer when the audit trail cannot be written.
func auditUnavailable(cause error) *APIError {
	return &APIError{Status: 503, Code: "audit-unavailable",
		Message: "luxncp cannot write its audit trail right now: nothing is fetched or shown until it can; retry later", Cause: cause}
}

// audit records one outbound transaction (and a communication failure as
// EHDSI-CF); the error is the first failed write.
func (s *Service) audit(ctx context.Context, o *outbound, res *routing.Result, err error) error {
	if s.cfg.Audit == nil {
		return nil
	}
	ev := audit.Event{Type: o.event, Side: audit.SideB, Time: s.now(), HCP: o.hcp, Patients: o.patients, Documents: o.documents,
		HomeCommunityID: o.hcid, RequestMessageID: o.messageID, HCPAssertionID: o.hcpID, TRCAssertionID: o.trcID}
	ev.Provider = audit.NCP{Country: o.country}
	if res != nil {
		if u, perr := url.Parse(res.Endpoint.URL); perr == nil {
			ev.Provider.IP = u.Hostname()
			if net.ParseIP(u.Hostname()) == nil {
				ev.Provider.Host = u.Hostname()
			}
		}
		if c := res.Endpoint.Cert(); c != nil {
			ev.Provider.Host = c.Subject.CommonName
		}
		if res.Reply != nil && res.Reply.Env != nil {
			ev.ResponseMessageID = res.Reply.Env.MessageID
		}
		if res.MessageID != "" {
			ev.RequestMessageID = res.MessageID // the attempt that was answered
		}
	}
	var commFail *routing.Error
	switch {
	case err == nil:
		ev.SetOutcome(nil)
	default:
		if re, ok := routing.AsError(err); ok {
			code := re.Code
			if code == "" {
				code = ehdsi.ErrGenericConnectionNotPossible
			}
			if re.Kind == routing.ErrRefused {
				ev.SetOutcome(ehdsi.Sender(code, re.Public, nil))
			} else {
				ev.SetOutcome(ehdsi.Receiver(code, re.Public, nil))
			}
			if re.CommunicationFailure() {
				commFail = re
			}
		} else {
			ev.SetOutcome(err)
		}
	}
	var failed error
	if aerr := s.cfg.Audit.Record(ctx, ev); aerr != nil {
		s.log().ErrorContext(ctx, "audit write failed", "event", string(ev.Type), "error", aerr.Error())
		failed = aerr
	}
	if commFail != nil {
		cf := ev
		cf.Type = audit.EventCommunicationFailure
		cf.ErrorText = string(o.tx) + " " + string(commFail.Kind) + ": " + commFail.Public
		if aerr := s.cfg.Audit.Record(ctx, cf); aerr != nil {
			s.log().ErrorContext(ctx, "audit write failed", "event", string(cf.Type), "error", aerr.Error())
			if failed == nil {
				failed = aerr
			}
		}
	}
	return failed
}

func auditHCP(p ncpclient.Professional, role wssec.Code, country string) audit.HCP {
	return audit.HCP{ID: p.ID, Issuer: "urn:idp:" + country + ":countryB", Name: p.Name, RoleCode: role.Code, RoleDisplay: role.Display,
		RoleSystem: role.System, Organisation: p.Organisation, OrganisationID: p.OrganisationID, FacilityType: p.FacilityType,
		PurposeOfUse: p.Purpose, Country: country}
}

// session is one API request's professional and assertions.
type session struct {
	prof  ncpclient.Professional
	hcp   *etree.Element
	hcpID string
	ahcp  audit.HCP
}

// session issues (or reuses) the HCP assertion of the authenticated
// professional: identity, role, organisation and authentication context
// from the verified token (identity.go), the purpose from the body.
func (s *Service) session(ctx context.Context, p Professional) (*session, error) {
	who, ok := principalFrom(ctx)
	if !ok {
		return nil, &APIError{Status: 401, Code: "token-missing", Message: "no authenticated professional"}
	}
	prof, err := who.professional(p)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			s.auditRefusal(ctx, who.claims, ae)
		}
		return nil, err
	}
	key := fmt.Sprintf("hcp|%q", []string{prof.ID, prof.Name, prof.Role, prof.Organisation, prof.OrganisationID, prof.FacilityType, prof.Locality, prof.Purpose, prof.AuthnContext})
	now := s.now()
	hcp := s.cache.get(key, now)
	if hcp == nil {
		hcp, err = s.cfg.Identity.HCP(prof, s.cfg.AssertionValidity)
		if err == nil {
			// An assertion is used only once its issue is on record.
			if aerr := s.auditIssued(ctx, prof, hcp.SelectAttrValue("ID", "")); aerr != nil {
				return nil, auditUnavailable(aerr)
			}
			s.cache.put(key, hcp, now, s.cfg.AssertionValidity)
		}
	}
	if err != nil {
		if strings.Contains(err.Error(), "unknown role") {
			return nil, badRequest(err.Error())
		}
		return nil, &APIError{Status: 500, Code: "internal", Message: "the identity assertion could not be issued", Cause: err}
	}
	return &session{prof: prof, hcp: hcp, hcpID: hcp.SelectAttrValue("ID", ""),
		ahcp: auditHCP(prof, wssec.Roles[prof.Role], s.cfg.Identity.Country)}, nil
}

// auditIssued records the issue of an HCP identity assertion (EHDSI-91).
func (s *Service) auditIssued(ctx context.Context, prof ncpclient.Professional, id string) error {
	if s.cfg.Audit == nil {
		return nil
	}
	ev := audit.Event{Type: audit.EventHCPAssertion, Side: audit.SideB, Time: s.now(),
		HCP: auditHCP(prof, wssec.Roles[prof.Role], s.cfg.Identity.Country), HCPAssertionID: id}
	ev.SetOutcome(nil)
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log().ErrorContext(ctx, "audit write failed", "event", string(ev.Type), "error", err.Error())
		return err
	}
	return nil
}

func (s *Service) trc(ss *session, patient wssec.PatientID) (*etree.Element, error) {
	key := "trc|" + ss.hcpID + "|" + patient.String() + "|" + ss.prof.Purpose
	now := s.now()
	if trc := s.cache.get(key, now); trc != nil {
		return trc, nil
	}
	trc, err := s.cfg.Identity.TRC(ss.hcp, patient, ss.prof.Purpose, s.cfg.AssertionValidity)
	if err == nil {
		s.cache.put(key, trc, now, s.cfg.AssertionValidity)
	}
	if err != nil {
		return nil, &APIError{Status: 500, Code: "internal", Message: "the treatment relationship assertion could not be issued", Cause: err}
	}
	return trc, nil
}

// checkCDA applies the eHDSI rules luxncp relies on before showing a
// document: an HL7 CDA ClinicalDocument with the eHDSI template of its
// class, a title, a date, and the requested patient as record target.
func checkCDA(root *etree.Element, class string, patient wssec.PatientID) (warnings []render.Note, err error) {
	want := map[string]string{ehdsi.ClassPS: ehdsi.TemplatePS, ehdsi.ClassEP: ehdsi.TemplateEP}[class]
	if want != "" {
		found := false
		for _, t := range root.SelectElements("templateId") {
			if t.SelectAttrValue("root", "") == want {
				found = true
			}
		}
		if !found {
			warnings = append(warnings, render.Note{Key: render.NoteNoTemplate, Args: []string{want}})
		}
	}
	if c := root.SelectElement("code"); c == nil || (class != "" && c.SelectAttrValue("code", "") != class) {
		warnings = append(warnings, render.Note{Key: render.NoteWrongClass, Args: []string{class}})
	}
	if root.SelectElement("title") == nil {
		warnings = append(warnings, render.Note{Key: render.NoteNoTitle})
	}
	if et := root.SelectElement("effectiveTime"); et == nil || et.SelectAttrValue("value", "") == "" {
		warnings = append(warnings, render.Note{Key: render.NoteNoDate})
	}
	pr := root.FindElement("./recordTarget/patientRole")
	if pr == nil {
		return warnings, errors.New("the document names no patient")
	}
	if patient.Extension != "" {
		match := false
		for _, id := range pr.SelectElements("id") {
			if id.SelectAttrValue("extension", "") == patient.Extension && (patient.Root == "" || id.SelectAttrValue("root", "") == patient.Root) {
				match = true
			}
		}
		if !match {
			return warnings, errors.New("the document is about another patient")
		}
	}
	return warnings, nil
}

func trimBOM(b []byte) []byte { return bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) }
