package xcpd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/matricule"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/soap"
)

// Service identifies Luxembourg patients for foreign NCPs.
type Service struct {
	Patients        national.Patients
	HomeCommunityID string
	// Timeout bounds each call to the national registry (default 5 s).
	Timeout time.Duration
}

// Discover decides the outcome of q. Errors are only for failures of luxncp
// itself; every patient-level outcome is a Result.
func (s *Service) Discover(ctx context.Context, q Query) (Result, error) {
	var lu []ID
	for _, id := range q.SubjectIDs {
		if id.Root == ehdsi.OIDMatricule {
			lu = append(lu, id)
		}
	}
	hasDemographics := q.Family != "" && q.BirthTime != ""
	if len(lu) == 0 && !hasDemographics {
		if len(q.SubjectIDs) > 0 {
			return Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable",
				Text: "no Luxembourg national identification number (root " + ehdsi.OIDMatricule + ") in the query"}, nil
		}
		return Result{Code: ehdsi.ErrPIMissingRequiredFields, Issue: "AnswerNotAvailable",
			Text: "the query needs the Luxembourg national identification number, or family name and birth date"}, nil
	}
	if len(lu) > 1 {
		return Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable", Text: "more than one Luxembourg identifier in the query"}, nil
	}
	pq := national.PatientQuery{}
	if len(lu) == 1 {
		id, err := matricule.Parse(lu[0].Extension)
		if err != nil {
			text := "the Luxembourg national identification number is malformed: 13 digits (or 11 for the legacy form) expected"
			if errors.Is(err, matricule.ErrCheckDigit) {
				text = "the Luxembourg national identification number has a wrong check digit"
			}
			return Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable", Text: text}, nil
		}
		pq.Matricule = id.Digits
	} else {
		pq.Family, pq.Gender = q.Family, genderFromHL7(q.Gender)
		// FHIR given= matches one given name by prefix: search with the
		// first one ("Marie" finds "Marie Josée" however it is split).
		if f := strings.Fields(q.Given); len(f) > 0 {
			pq.Given = f[0]
		}
		pq.BirthDate = birthDate(q.BirthTime)
		if pq.BirthDate == "" {
			return Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable", Text: "the birth date must be an HL7 date (YYYYMMDD)"}, nil
		}
	}
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	found, err := s.Patients.FindPatients(cctx, pq)
	if err != nil {
		return unavailable(err), nil
	}
	// An id query with demographics must agree with them.
	if pq.Matricule != "" && (q.Family != "" || q.BirthTime != "") {
		found = filter(found, q)
	}
	switch len(found) {
	case 0:
		return Result{Code: ehdsi.ErrPINoMatch, Issue: "AnswerNotAvailable", Text: "No patient found."}, nil
	case 1:
	default:
		return Result{Code: ehdsi.ErrPIMultipleMatches, Issue: "AnswerNotAvailable",
			Text: fmt.Sprintf("%d patients match; add the national identification number", len(found))}, nil
	}
	consent, err := s.Patients.Consent(cctx, found[0].Matricule)
	if err != nil && !errors.Is(err, national.ErrNotFound) {
		return unavailable(err), nil
	}
	if !consent.CrossBorder {
		return Result{Code: ehdsi.WarnPINoConsent, Issue: "InsufficientRights",
			Text: "The patient has not given consent to cross-border sharing."}, nil
	}
	return Result{Patient: &found[0]}, nil
}

func unavailable(err error) Result {
	return Result{Code: ehdsi.ErrPIRegistryNotAvailable, Issue: "AnswerNotAvailable",
		Text: "The patient identification service is unavailable; retry later."}
}

func filter(ps []national.Patient, q Query) []national.Patient {
	var out []national.Patient
	for _, p := range ps {
		if q.Family != "" && !strings.EqualFold(strings.TrimSpace(p.Family), q.Family) {
			continue
		}
		if bd := birthDate(q.BirthTime); q.BirthTime != "" && bd != p.BirthDate {
			continue
		}
		out = append(out, p)
	}
	return out
}

func birthDate(ts string) string {
	if len(ts) < 8 {
		return ""
	}
	d := ts[:8]
	if strings.Trim(d, "0123456789") != "" {
		return ""
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:8]
}

func genderFromHL7(c string) string {
	switch strings.ToUpper(c) {
	case "M":
		return "male"
	case "F":
		return "female"
	}
	return ""
}

// Operation is the XCPD SOAP operation for the gateway pipeline.
func (s *Service) Operation() gateway.Operation {
	return gateway.Operation{
		Action:      ehdsi.ActionXCPD,
		Event:       audit.EventIdentification,
		Permissions: dialect.XCPDPermissions(),
		FaultCode:   ehdsi.ErrPIIncorrectFormatting,
		Patients:    patientsAsSent,
		Handle:      s.handle,
		Refuse:      s.Refuse,
	}
}

// patientsAsSent are the query's patient identifiers (livingSubjectId),
// for the audit of a refused request (gateway.Operation.Patients).
func patientsAsSent(body *etree.Element) []audit.PatientID {
	q, _ := ParseQuery(body)
	return subjects(q)
}

// subjects are the query's patient identifiers as sent.
func subjects(q Query) []audit.PatientID {
	var ids []audit.PatientID
	for _, id := range q.SubjectIDs {
		ids = append(ids, audit.PatientID{Root: id.Root, Extension: id.Extension})
	}
	return ids
}

// Refuse answers a refusal (a missing permission) inside a normal XCPD
// response, as an InsufficientRights detected issue, as OpenNCP does
// (dialect.XCPDInsufficientRights).
func (s *Service) Refuse(req *gateway.Request, ev *audit.Event, f *ehdsi.Fault) *soap.Response {
	q, _ := ParseQuery(req.Env.Body)
	body := BuildResponse(q, Result{Code: f.Code, Issue: "InsufficientRights", Text: f.Message()},
		ResponseParams{MessageID: ev.ResponseMessageID, Now: req.Now, HomeCommunityID: s.HomeCommunityID})
	return &soap.Response{Action: ehdsi.ActionXCPDResponse, Body: body}
}

func (s *Service) handle(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
	q, ok := ParseQuery(req.Env.Body)
	if !ok {
		return nil, ehdsi.Sender(ehdsi.ErrPIIncorrectFormatting, "the SOAP body is not a PRPA_IN201305UV02 message", nil)
	}
	ev.Patients = append(ev.Patients, subjects(q)...)
	if q.QueryByParameter != nil {
		ev.Query = soap.ElementBytes(q.QueryByParameter)
	}
	res, err := s.Discover(ctx, q)
	if err != nil {
		return nil, err
	}
	if res.Patient != nil {
		ev.SetOutcome(nil)
		ev.Patients = append([]audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: res.Patient.Matricule}}, ev.Patients...)
		ev.Patients = dedupe(ev.Patients)
	} else {
		ev.SetOutcome(ehdsi.App(res.Code, res.Text, nil))
		// No patient data went out: the identification was not performed,
		// even when eHDSI calls the code a warning (no consent).
		if ev.Outcome == audit.OutcomeSuccess {
			ev.Outcome = audit.OutcomeMinorFailure
		}
	}
	body := BuildResponse(q, res, ResponseParams{MessageID: ev.ResponseMessageID, Now: req.Now, HomeCommunityID: s.HomeCommunityID})
	return &soap.Response{Action: ehdsi.ActionXCPDResponse, Body: body}, nil
}

func dedupe(ids []audit.PatientID) []audit.PatientID {
	seen := map[audit.PatientID]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
