package xdr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/cda"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/soap"
)

// Service is the XDR responder.
type Service struct {
	Outbox   outbox.Acceptor
	National national.Documents
	// Timeout bounds national calls (default 5 s).
	Timeout time.Duration
	// Kick, when set, is signalled (non-blocking) after an accept so the
	// local dispatcher delivers at once.
	Kick chan<- struct{}
	// Limits for the eDispensation CDA.
	Limits cda.Limits

	// mu serialises the check-then-accept of dispensations in this
	// process, so two pharmacies cannot both take the last dispensation of
	// a prescription. (Across Lambda instances the national side's 409
	// sends the loser to the dead letters, where an operator sees it.)
	mu sync.Mutex
}

// Operation is the ITI-41 operation.
func (s *Service) Operation() gateway.Operation {
	return gateway.Operation{
		Action: ehdsi.ActionXDR,
		Event:  audit.EventDispensationSubmit,
		Classify: func(body *etree.Element) audit.EventType {
			if sub, err := Parse(body); err == nil && sub.Kind() == dialect.EDDiscard {
				return audit.EventDispensationDiscard
			}
			return ""
		},
		Permissions: dialect.XDRPermissions(),
		FaultCode:   ehdsi.ErrEDIncorrectFormatting,
		Handle:      s.handle,
		Refuse:      Refuse,
	}
}

// Refuse answers a refusal (missing permission, patient mismatch, storage
// failure) inside the RegistryResponse, as OpenNCP's XDRServiceImpl does.
func Refuse(_ *gateway.Request, _ *audit.Event, f *ehdsi.Fault) *soap.Response {
	return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}
}

// Response is an ITI-41 RegistryResponse: Success without notes, Failure
// with them.
func Response(notes []*ehdsi.Fault) *etree.Element {
	rr := soap.NewElement("rs", "RegistryResponse", NSRS)
	if len(notes) == 0 {
		rr.CreateAttr("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
		return rr
	}
	rr.CreateAttr("status", "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure")
	list := rr.CreateElement("rs:RegistryErrorList")
	list.CreateAttr("highestSeverity", string(ehdsi.SeverityError))
	for _, n := range notes {
		re := list.CreateElement("rs:RegistryError")
		re.CreateAttr("codeContext", n.Message())
		re.CreateAttr("errorCode", string(n.Code))
		if n.Location != "" {
			re.CreateAttr("location", n.Location)
		}
		re.CreateAttr("severity", string(n.Severity()))
	}
	return rr
}

func (s *Service) handle(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
	sub, err := Parse(req.Env.Body)
	if err != nil {
		return nil, err
	}
	ev.SubmissionSetID = sub.SubmissionSetID
	kind := sub.Kind()
	if kind == dialect.EDUnknown {
		// OpenNCP dispatches on the formatCode, exactly, and answers
		// anything else "Unknown document" inside the response.
		f := dialect.Fault(dialect.EDUnknownDocument, "Unknown document: formatCode "+sub.FormatCode+" is neither "+
			dialect.FormatEDDispense+" nor "+dialect.FormatEDDiscard, nil)
		ev.SetOutcome(f)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
	}
	trc, err := req.TRC()
	if err != nil {
		return nil, err
	}
	ev.TRCAssertionID = trc.AssertionID
	ev.Patients = []audit.PatientID{{Root: trc.Patient.Root, Extension: trc.Patient.Extension}}
	if trc.Patient.Root != ehdsi.OIDMatricule {
		return nil, dialect.Fault(dialect.PatientMismatch, "the TRC assertion must name the patient by the Luxembourg national identification number", nil)
	}
	data, err := req.Env.Content(sub.Document)
	if err != nil {
		return nil, ehdsi.Sender(ehdsi.ErrEDIncorrectFormatting, "the eDispensation document cannot be read (base64 or MTOM part)", err)
	}
	fail := func(f *ehdsi.Fault) (*soap.Response, error) {
		ev.SetOutcome(f)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
	}
	d, err := cda.ReadED(data, s.Limits)
	if err != nil {
		var ee *cda.EDError
		if errors.As(err, &ee) {
			return fail(ee.Fault())
		}
		return fail(ehdsi.App(ehdsi.ErrEDIncorrectFormatting, "the eDispensation cannot be read", err))
	}
	ev.Documents = []string{d.Key(0)}
	// The patient of the document is the TRC's patient, exactly.
	pid, ok := d.PatientID(ehdsi.OIDMatricule)
	if !ok || pid.Extension != trc.Patient.Extension {
		return nil, dialect.Fault(dialect.PatientMismatch, "the eDispensation's patient differs from the TRC assertion's", nil)
	}
	if sub.SourcePatient.Extension != "" && sub.SourcePatient.Root == ehdsi.OIDMatricule && sub.SourcePatient.Extension != pid.Extension {
		return nil, dialect.Fault(dialect.PatientMismatch, "the submission's sourcePatientId differs from the document's patient", nil)
	}
	if len(d.Items) == 0 {
		return fail(ehdsi.App(ehdsi.ErrEDMissingRequiredFields, "the eDispensation dispenses no item", nil))
	}
	if kind == dialect.EDDiscard {
		return s.discard(ctx, req, ev, d)
	}
	return s.submit(ctx, req, ev, d, pid.Extension)
}

func (s *Service) timeout() time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return 5 * time.Second
}

// prescription is one national prescription item an eDispensation refers to.
type prescription struct {
	itemID  string // MedicationRequest id: the national prescription id
	summary cda.Summary
	item    cda.ItemSummary
	parsed  *cda.Prescription
}

// findPrescription resolves the eDispensation's references among the
// patient's national prescriptions.
func (s *Service) findPrescription(ctx context.Context, matricule string, refs []cda.II, now time.Time) (*prescription, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	docs, err := s.National.ListDocuments(ctx, matricule, ehdsi.ClassEP)
	if err != nil {
		return nil, ehdsi.App(ehdsi.ErrEDRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEDRegistryNotAvailable), err)
	}
	want := map[string]bool{}
	for _, r := range refs {
		ext := r.Extension
		// luxncp's own pivot ids end in .L3 / .L1.
		ext = strings.TrimSuffix(strings.TrimSuffix(ext, ".L3"), ".L1")
		// One document per item of a multi-item prescription: "<id>~<item>".
		for _, part := range strings.Split(ext, "~") {
			if part != "" {
				want[part] = true
			}
		}
	}
	for _, doc := range docs {
		b, _, err := s.National.Fetch(ctx, doc)
		if err != nil {
			return nil, ehdsi.App(ehdsi.ErrEDRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEDRegistryNotAvailable), err)
		}
		parsed, err := cda.ParsePrescription(b)
		if err != nil {
			continue
		}
		sum := parsed.Summary(now, nil)
		for _, it := range sum.Items {
			if want[it.ID.Extension] || want[sum.ID.Extension] || want[doc.ID] {
				return &prescription{itemID: it.ID.Extension, summary: sum, item: it, parsed: parsed}, nil
			}
		}
	}
	return nil, ehdsi.App(ehdsi.ErrEPNotMatching, "no ePrescription of this patient matches the eDispensation's references", nil)
}

func (s *Service) submit(ctx context.Context, req *gateway.Request, ev *audit.Event, d *cda.Dispensation, matricule string) (*soap.Response, error) {
	fail := func(f *ehdsi.Fault) (*soap.Response, error) {
		ev.SetOutcome(f)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
	}
	key := d.Key(0)
	// A resubmission of an accepted eDispensation: Success, no second effect.
	if m, err := s.Outbox.Get(ctx, key); err == nil && m.Kind == outbox.KindDispense {
		ev.SetOutcome(nil)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response(nil)}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, err := s.Outbox.Get(ctx, key); err == nil && m.Kind == outbox.KindDispense {
		ev.SetOutcome(nil)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response(nil)}, nil
	}
	p, err := s.findPrescription(ctx, matricule, d.PrescriptionRefs(), req.Now)
	if err != nil {
		var f *ehdsi.Fault
		if errors.As(err, &f) {
			return fail(f)
		}
		return nil, err
	}
	outstanding, err := s.Outbox.Outstanding(ctx, p.itemID)
	if err != nil {
		return nil, ehdsi.Receiver(ehdsi.ErrEDInternalError, ehdsi.Describe(ehdsi.ErrEDInternalError), err)
	}
	remaining := p.item.Remaining - outstanding
	switch {
	case p.item.Reason == cda.ReasonNoRepeats || p.item.Reason == cda.ReasonCompleted || (p.item.Dispensable && remaining <= 0):
		return fail(ehdsi.App(ehdsi.ErrEPAlreadyDispensed, "ePrescription has already been dispensed (no dispensation left)", nil))
	case !p.item.Dispensable:
		return fail(ehdsi.App(ehdsi.ErrEDNotDispensable, "the ePrescription is not dispensable: "+p.item.Reason.Explain(), nil))
	}
	// Same patient, the right item, substitution only where allowed.
	if _, err := d.Against(p.parsed, req.Now, map[string]int{p.itemID: outstanding}); err != nil {
		var ee *cda.EDError
		if errors.As(err, &ee) {
			return fail(ee.Fault())
		}
		return fail(ehdsi.App(ehdsi.ErrEDGeneric, ehdsi.Describe(ehdsi.ErrEDGeneric), err))
	}
	res, err := d.MedicationDispense(0, p.itemID, matricule)
	if err != nil {
		return fail(ehdsi.App(ehdsi.ErrEDMissingRequiredFields, "the eDispensation lacks what the national record needs", err))
	}
	if err := auditFirst(ctx, req, ev); err != nil {
		return nil, err
	}
	_, _, err = s.Outbox.Accept(ctx, outbox.Message{
		Key: key, Kind: outbox.KindDispense, PrescriptionID: p.itemID, Matricule: matricule,
		Country: req.Country, Resource: res, Accepted: req.Now,
	})
	if err != nil {
		return nil, dialect.Fault(dialect.EDNotStored, "", err)
	}
	s.kick()
	ev.SetOutcome(nil)
	return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response(nil)}, nil
}

func (s *Service) discard(ctx context.Context, req *gateway.Request, ev *audit.Event, d *cda.Dispensation) (*soap.Response, error) {
	key := d.Key(0)
	orig, err := s.Outbox.Get(ctx, key)
	if err != nil || orig.Kind != outbox.KindDispense {
		f := ehdsi.App(ehdsi.ErrEDDiscardFailed, "no dispensation with this eDispensation id was recorded in Luxembourg", err)
		ev.SetOutcome(f)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
	}
	if orig.State == outbox.StateDead {
		f := ehdsi.App(ehdsi.ErrEDDiscardFailed, "the dispensation was never applied in Luxembourg; nothing to discard", nil)
		ev.SetOutcome(f)
		return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
	}
	if err := auditFirst(ctx, req, ev); err != nil {
		return nil, err
	}
	_, _, err = s.Outbox.Accept(ctx, outbox.Message{
		Key: "cancel:" + key, Kind: outbox.KindCancel, Target: key, PrescriptionID: orig.PrescriptionID,
		Matricule: orig.Matricule, Country: req.Country, Accepted: req.Now,
	})
	if err != nil {
		return nil, dialect.Fault(dialect.EDNotStored, "", fmt.Errorf("discard: %w", err))
	}
	s.kick()
	ev.SetOutcome(nil)
	return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response(nil)}, nil
}

// auditFirst makes the transaction's record durable before the outbox
// accepts its effect: no acceptance without its record. If the record
// cannot be written the transaction is refused with a fault.
func auditFirst(ctx context.Context, req *gateway.Request, ev *audit.Event) error {
	ev.SetOutcome(nil)
	if err := req.AuditNow(ctx, ev); err != nil {
		return ehdsi.Receiver(ehdsi.ErrEDNotStored, ehdsi.Describe(ehdsi.ErrEDNotStored), fmt.Errorf("audit before acceptance: %w", err))
	}
	return nil
}

func (s *Service) kick() {
	if s.Kick == nil {
		return
	}
	select {
	case s.Kick <- struct{}{}:
	default:
	}
}
