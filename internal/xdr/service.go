package xdr

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// National is what the responder reads from the national record.
type National interface {
	Consent(ctx context.Context, matricule string) (national.Consent, error)
	national.Documents
}

// Service is the XDR responder.
type Service struct {
	// Outbox owns the eDispensation state machine (outbox.Ledger).
	Outbox   outbox.Ledger
	National National
	// Dispensed lists the national record's active dispensations of a
	// prescription item; nil: National, when it lists them (national.Client
	// and national.Breaker do), else the prescription's own count.
	Dispensed national.DispenseLister
	// Timeout bounds national calls (default 5 s).
	Timeout time.Duration
	// Kick, when set, is signalled (non-blocking) after an accept so the
	// local dispatcher delivers at once.
	Kick chan<- struct{}
	// Limits for the eDispensation CDA.
	Limits cda.Limits
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
		Patients: func(body *etree.Element) []audit.PatientID {
			if sub, err := Parse(body); err == nil {
				return []audit.PatientID{{Root: sub.SourcePatient.Root, Extension: sub.SourcePatient.Extension}}
			}
			return nil
		},
		Handle: s.handle,
		Refuse: Refuse,
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
		return s.discard(ctx, req, ev, d, pid.Extension)
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
	index   int // of the item in parsed.Items
	parsed  *cda.Prescription
}

// findPrescription resolves the eDispensation's references among the
// patient's national prescriptions.
func (s *Service) findPrescription(ctx context.Context, matricule string, d *cda.Dispensation, now time.Time) (*prescription, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	docs, err := s.National.ListDocuments(ctx, matricule, ehdsi.ClassEP)
	if err != nil {
		return nil, ehdsi.App(ehdsi.ErrEDRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEDRegistryNotAvailable), err)
	}
	want := map[string]bool{}
	for _, r := range d.PrescriptionRefs() {
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
		if d.Contradicts(parsed) {
			// Named by one reference, contradicted by another (its document
			// and another prescription's item): not this one.
			continue
		}
		// The item the eDispensation names, else (named by its document)
		// the first: Against refuses a multi-item one without an item.
		idx := -1
		for i, it := range sum.Items {
			if want[it.ID.Extension] {
				idx = i
				break
			}
		}
		if idx < 0 && len(sum.Items) > 0 && (want[sum.ID.Extension] || want[doc.ID]) {
			idx = 0
		}
		if idx >= 0 {
			it := sum.Items[idx]
			return &prescription{itemID: it.ID.Extension, summary: sum, item: it, index: idx, parsed: parsed}, nil
		}
	}
	return nil, ehdsi.App(ehdsi.ErrEPNotMatching, cda.NoMatchingPrescription, nil)
}

// refuse answers f inside the RegistryResponse and records it as the
// outcome.
func refuse(ev *audit.Event, f *ehdsi.Fault) (*soap.Response, error) {
	ev.SetOutcome(f)
	return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response([]*ehdsi.Fault{f})}, nil
}

func success(ev *audit.Event) (*soap.Response, error) {
	ev.SetOutcome(nil)
	return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: Response(nil)}, nil
}

// auditOriginal records a refused transaction under the original
// dispensation's patient as well, when that is another patient: that
// patient's access log shows the attempt.
func auditOriginal(req *gateway.Request, ev *audit.Event, orig outbox.Message, f *ehdsi.Fault) {
	if orig.Matricule == "" || (len(ev.Patients) > 0 && ev.Patients[0].Extension == orig.Matricule) {
		return
	}
	other := *ev
	other.Patients = []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: orig.Matricule}}
	other.Patient = ""
	other.SetOutcome(f)
	req.AddAudit(other)
}

// organisation is the dispensing organisation the HCP assertion names.
func organisation(req *gateway.Request) string {
	if req.Caller == nil {
		return ""
	}
	if req.Caller.OrganisationID != "" {
		return req.Caller.OrganisationID
	}
	return req.Caller.Organisation
}

// contentHash is the hash of what the eDispensation dispenses: its id,
// patient, prescription references and, per item, the product, quantity
// and substitution; not its serialisation or timestamps, so a resend
// rebuilt by the pharmacy's software is the same dispensation.
func contentHash(d *cda.Dispensation) string {
	type item struct {
		Refs        []cda.II
		Code, ATC   string
		Form        string
		Quantity    float64
		Substituted bool
	}
	c := struct {
		ID       cda.II
		Patients []cda.II
		Orders   []cda.II
		Parents  []cda.II
		Items    []item
	}{ID: d.DocumentID, Patients: d.PatientIDs, Orders: d.OrderIDs, Parents: d.ParentDocumentIDs}
	for _, it := range d.Items {
		c.Items = append(c.Items, item{Refs: it.PrescriptionItemIDs, Code: it.Product.Code.System + "|" + it.Product.Code.Code,
			ATC: it.Product.ATC.Code, Form: it.Product.DoseForm.Code, Quantity: it.Quantity.Value, Substituted: it.Substituted})
	}
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// consent checks the patient allows cross-border sharing. An unknown
// patient gets the same answer as a refusal, and it comes before any
// prescription is looked at, so it tells nothing about prescriptions.
func (s *Service) consent(ctx context.Context, matricule string) *ehdsi.Fault {
	ctx, cancel := context.WithTimeout(ctx, s.timeout())
	defer cancel()
	c, err := s.National.Consent(ctx, matricule)
	switch {
	case errors.Is(err, national.ErrNotFound) || (err == nil && !c.CrossBorder):
		return ehdsi.App(ehdsi.ErrNoConsent, "the patient has not given consent to MyHealth@EU dispensations in Luxembourg", err)
	case err != nil:
		return ehdsi.App(ehdsi.ErrEDRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEDRegistryNotAvailable), err)
	}
	return nil
}

// verdictFault is the refusal of a Dispense verdict (nil: Success).
func verdictFault(v outbox.Verdict) *ehdsi.Fault {
	switch v {
	case outbox.Accepted, outbox.Duplicate:
		return nil
	case outbox.Conflict:
		return ehdsi.App(ehdsi.ErrEDGeneric, "this eDispensation id is already used for a different dispensation; give every dispensation its own id", nil)
	case outbox.Discarded:
		return ehdsi.App(ehdsi.ErrEDGeneric, "this eDispensation was discarded; a new dispensation needs a new eDispensation id", nil)
	case outbox.Exhausted:
		return ehdsi.App(ehdsi.ErrEPAlreadyDispensed, "ePrescription has already been dispensed (no dispensation left)", nil)
	}
	return ehdsi.App(ehdsi.ErrEDInternalError, ehdsi.Describe(ehdsi.ErrEDInternalError), fmt.Errorf("verdict %v", v))
}

// reservation is what a dispensation of p asks: 1 + repeats in all,
// against the national record's active dispensations.
func (s *Service) reservation(ctx context.Context, p *prescription) (outbox.Reservation, *ehdsi.Fault) {
	r := outbox.Reservation{Allowed: 1 + p.parsed.Items[p.index].Repeats}
	lister := s.Dispensed
	if lister == nil {
		lister, _ = s.National.(national.DispenseLister)
	}
	var keys []string
	err := national.ErrNoDispenseList
	if lister != nil {
		ctx, cancel := context.WithTimeout(ctx, s.timeout())
		defer cancel()
		keys, err = lister.ActiveDispenses(ctx, p.itemID)
	}
	if errors.Is(err, national.ErrNoDispenseList) {
		for i := 0; i < p.parsed.Items[p.index].Dispensed; i++ {
			r.National = append(r.National, fmt.Sprintf("bundle#%d", i))
		}
		return r, nil
	}
	if err != nil {
		return r, ehdsi.App(ehdsi.ErrEDRegistryNotAvailable, ehdsi.Describe(ehdsi.ErrEDRegistryNotAvailable), err)
	}
	r.National = keys
	return r, nil
}

func (s *Service) submit(ctx context.Context, req *gateway.Request, ev *audit.Event, d *cda.Dispensation, matricule string) (*soap.Response, error) {
	if f := s.consent(ctx, matricule); f != nil {
		return refuse(ev, f)
	}
	m := outbox.Message{
		Key: d.Key(0), Kind: outbox.KindDispense, Matricule: matricule, Country: req.Country,
		Organisation: organisation(req), ContentHash: contentHash(d), Accepted: req.Now,
	}
	// A resend answers from the outbox alone: the content hash covers the
	// prescription references, so the same content names the same item.
	if old, err := s.Outbox.Get(ctx, m.Key); err == nil {
		m.PrescriptionID = old.PrescriptionID
		_, cerr := s.Outbox.Get(ctx, outbox.CancelKey(m.Key))
		if f := verdictFault(resend(old, m, cerr == nil)); f != nil {
			auditOriginal(req, ev, old, f)
			return refuse(ev, f)
		}
		return success(ev)
	}
	p, err := s.findPrescription(ctx, matricule, d, req.Now)
	if err != nil {
		var f *ehdsi.Fault
		if errors.As(err, &f) {
			return refuse(ev, f)
		}
		return nil, err
	}
	m.PrescriptionID = p.itemID
	switch {
	case p.item.Reason == cda.ReasonNoRepeats || p.item.Reason == cda.ReasonCompleted:
		return refuse(ev, verdictFault(outbox.Exhausted))
	case !p.item.Dispensable:
		return refuse(ev, ehdsi.App(ehdsi.ErrEDNotDispensable, "the ePrescription is not dispensable: "+p.item.Reason.Explain(), nil))
	}
	// Same patient, the right item, the prescribed product or an allowed
	// substitution, the quantity prescribed.
	if _, err := d.Against(p.parsed, req.Now, nil); err != nil {
		var ee *cda.EDError
		if errors.As(err, &ee) {
			return refuse(ev, ee.Fault())
		}
		return refuse(ev, ehdsi.App(ehdsi.ErrEDGeneric, ehdsi.Describe(ehdsi.ErrEDGeneric), err))
	}
	if m.Resource, err = d.MedicationDispense(0, p.itemID, matricule); err != nil {
		return refuse(ev, ehdsi.App(ehdsi.ErrEDMissingRequiredFields, "the eDispensation lacks what the national record needs", err))
	}
	r, f := s.reservation(ctx, p)
	if f != nil {
		return refuse(ev, f)
	}
	if err := auditFirst(ctx, req, ev); err != nil {
		return nil, err
	}
	stored, v, err := s.Outbox.Dispense(ctx, m, r)
	if err != nil {
		return nil, dialect.Fault(dialect.EDNotStored, "", err)
	}
	if f := verdictFault(v); f != nil {
		if v == outbox.Conflict {
			auditOriginal(req, ev, stored, f)
		}
		return refuse(ev, f)
	}
	if v == outbox.Accepted {
		s.kick()
	}
	return success(ev)
}

// resend is the verdict on a submission whose id is already stored.
func resend(old, m outbox.Message, discarded bool) outbox.Verdict {
	switch {
	case old.Kind != outbox.KindDispense || old.Binding() != m.Binding():
		return outbox.Conflict
	case discarded:
		return outbox.Discarded
	}
	return outbox.Duplicate
}

// owns reports whether the discard's caller may discard orig: the same
// patient (under its TRC), the same country and, when the dispensation
// was recorded with one, the same organisation.
func owns(orig outbox.Message, req *gateway.Request, matricule string) bool {
	return orig.Kind == outbox.KindDispense && orig.Matricule == matricule && orig.Country == req.Country &&
		(orig.Organisation == "" || orig.Organisation == organisation(req))
}

func (s *Service) discard(ctx context.Context, req *gateway.Request, ev *audit.Event, d *cda.Dispensation, matricule string) (*soap.Response, error) {
	if f := s.consent(ctx, matricule); f != nil {
		return refuse(ev, f)
	}
	key := d.Key(0)
	orig, err := s.Outbox.Get(ctx, key)
	if err != nil && !errors.Is(err, outbox.ErrNotFound) {
		return nil, ehdsi.Receiver(ehdsi.ErrEDInternalError, ehdsi.Describe(ehdsi.ErrEDInternalError), err)
	}
	if err != nil || !owns(orig, req, matricule) {
		// Unknown and not yours get the same answer.
		f := ehdsi.App(ehdsi.ErrEDDiscardFailed, "no dispensation with this eDispensation id was recorded in Luxembourg for this patient by your organisation", err)
		auditOriginal(req, ev, orig, f)
		return refuse(ev, f)
	}
	if orig.State == outbox.StateDead || orig.State == outbox.StateResolved {
		return refuse(ev, ehdsi.App(ehdsi.ErrEDDiscardFailed, "the dispensation was never applied in Luxembourg; nothing to discard", nil))
	}
	if _, err := s.Outbox.Get(ctx, outbox.CancelKey(key)); err == nil {
		return success(ev) // the owner's resend: reversed once
	}
	if err := auditFirst(ctx, req, ev); err != nil {
		return nil, err
	}
	_, _, err = s.Outbox.Accept(ctx, outbox.Message{
		Key: outbox.CancelKey(key), Kind: outbox.KindCancel, Target: key, PrescriptionID: orig.PrescriptionID,
		Matricule: orig.Matricule, Country: req.Country, Organisation: organisation(req), Accepted: req.Now,
	})
	if err != nil {
		return nil, dialect.Fault(dialect.EDNotStored, "", fmt.Errorf("discard: %w", err))
	}
	s.kick()
	return success(ev)
}

// auditFirst makes the transaction's record durable before the outbox
// accepts its effect: no acceptance without its record. If the record
// cannot be written the submission is refused as not stored
// (ERROR_ED_EDISPENSATION_NOT_STORED, in the response as the dialect table
// places eD storage errors; docs/audit.md).
func auditFirst(ctx context.Context, req *gateway.Request, ev *audit.Event) error {
	ev.SetOutcome(nil)
	if err := req.AuditNow(ctx, ev); err != nil {
		return dialect.Fault(dialect.EDNotStored, "", fmt.Errorf("audit before acceptance: %w", err))
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
