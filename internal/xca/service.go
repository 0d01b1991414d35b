package xca

import (
	"context"
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/soap"
)

// Service is the XCA responder over a Provider.
type Service struct {
	Provider        Provider
	HomeCommunityID string
}

// Permissions per document class (any one suffices), after OpenNCP's
// policy manager: PS PRD-003/PRD-005, eP PRD-010/PRD-004, OrCD
// PRD-016/PRD-005.
var classPermissions = map[string][]string{
	ehdsi.ClassPS:        {ehdsi.PermPRD003, ehdsi.PermPRD005},
	ehdsi.ClassEP:        {ehdsi.PermPRD010, ehdsi.PermPRD004},
	ehdsi.ClassLab:       {ehdsi.PermPRD016, ehdsi.PermPRD005},
	ehdsi.ClassImaging:   {ehdsi.PermPRD016, ehdsi.PermPRD005},
	ehdsi.ClassDischarge: {ehdsi.PermPRD016, ehdsi.PermPRD005},
}

func listEvent(class string) audit.EventType {
	switch class {
	case ehdsi.ClassPS:
		return audit.EventPSList
	case ehdsi.ClassEP:
		return audit.EventEPList
	}
	return audit.EventOrCDList
}

func retrieveEvent(class string) audit.EventType {
	switch class {
	case ehdsi.ClassPS:
		return audit.EventPSRetrieve
	case ehdsi.ClassEP:
		return audit.EventEPRetrieve
	}
	return audit.EventOrCDRetrieve
}

func checkPermission(req *gateway.Request, class string) error {
	perms, ok := classPermissions[class]
	if !ok {
		return ehdsi.Sender(ehdsi.ErrGenericServiceSignifier, "class code "+class+" is not served by Luxembourg", nil)
	}
	for _, p := range perms {
		if req.Caller.HasPermission(p) {
			return nil
		}
	}
	return ehdsi.Sender(ehdsi.ErrInsufficientRights, "the HCP assertion lacks the permission for class "+class+" ("+strings.Join(perms, " or ")+")", nil)
}

// Operations returns the query and retrieve operations.
func (s *Service) Operations() []gateway.Operation {
	return []gateway.Operation{
		{
			Action: ehdsi.ActionXCAQuery,
			Event:  audit.EventPSList,
			Classify: func(body *etree.Element) audit.EventType {
				if q, err := ParseQuery(body); err == nil && len(q.ClassCodes) > 0 {
					return listEvent(q.ClassCodes[0])
				}
				return ""
			},
			Handle: s.query,
		},
		{
			Action: ehdsi.ActionXCARetrieve,
			Event:  audit.EventPSRetrieve,
			Classify: func(body *etree.Element) audit.EventType {
				if c, ok := s.Provider.(ClassOfUniqueID); ok {
					if rs, err := ParseRetrieve(body); err == nil {
						if class := c.ClassOf(rs[0].DocumentUniqueID); class != "" {
							return retrieveEvent(class)
						}
					}
				}
				return ""
			},
			Handle: s.retrieve,
		},
	}
}

// trc checks the TRC assertion names exactly the patient asked about.
func trcFor(req *gateway.Request, ev *audit.Event) (*auditPatient, error) {
	trc, err := req.TRC()
	if err != nil {
		return nil, err
	}
	ev.TRCAssertionID = trc.AssertionID
	return &auditPatient{ext: trc.Patient.Extension, root: trc.Patient.Root}, nil
}

type auditPatient struct{ ext, root string }

func (s *Service) query(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
	q, err := ParseQuery(req.Env.Body)
	if err != nil {
		return nil, err
	}
	ev.Patients = []audit.PatientID{{Root: q.Patient.Root, Extension: q.Patient.Extension}}
	ev.HomeCommunityID = "urn:oid:" + s.HomeCommunityID
	if b, err := serialize(req.Env.Body); err == nil {
		ev.Query = b
	}
	for _, c := range q.ClassCodes {
		if err := checkPermission(req, c); err != nil {
			return nil, err
		}
	}
	tp, err := trcFor(req, ev)
	if err != nil {
		return nil, err
	}
	// Exactly the same patient: extension and assigning authority.
	if tp.ext != q.Patient.Extension || tp.root != q.Patient.Root {
		return nil, ehdsi.Sender(ehdsi.ErrUnknownPatientIdentifier, ehdsi.Describe(ehdsi.ErrUnknownPatientIdentifier), nil)
	}
	req.AddAudit(audit.Event{Type: audit.EventTRCAssertion, Patients: ev.Patients, TRCAssertionID: ev.TRCAssertionID,
		HCPAssertionID: ev.HCPAssertionID, RequestMessageID: ev.RequestMessageID})
	listing, err := s.Provider.List(ctx, Query{Patient: q.Patient, ClassCodes: q.ClassCodes, Caller: req.Caller, Country: req.Country, Now: req.Now})
	if err != nil {
		var f *ehdsi.Fault
		if errors.As(err, &f) && f.Kind == ehdsi.KindApplication {
			listing = Listing{Notes: []*ehdsi.Fault{f}}
		} else {
			return nil, err
		}
	}
	for _, e := range listing.Entries {
		ev.Documents = append(ev.Documents, e.UniqueID)
	}
	outcome(ev, listing.Notes, len(listing.Entries) > 0)
	return &soap.Response{Action: ehdsi.ActionXCAQueryResp, Body: QueryResponse(listing)}, nil
}

// outcome sets the audit outcome from the notes of a response.
func outcome(ev *audit.Event, notes []*ehdsi.Fault, some bool) {
	var firstErr *ehdsi.Fault
	for _, n := range notes {
		if n.Severity() == ehdsi.SeverityError && firstErr == nil {
			firstErr = n
		}
	}
	switch {
	case firstErr == nil:
		ev.SetOutcome(nil)
	default:
		ev.SetOutcome(firstErr)
		if some {
			ev.Outcome = audit.OutcomeMinorFailure
		}
	}
}

func (s *Service) retrieve(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
	reqs, err := ParseRetrieve(req.Env.Body)
	if err != nil {
		return nil, err
	}
	tp, err := trcFor(req, ev)
	if err != nil {
		return nil, err
	}
	ev.Patients = []audit.PatientID{{Root: tp.root, Extension: tp.ext}}
	ev.HomeCommunityID = "urn:oid:" + s.HomeCommunityID
	req.AddAudit(audit.Event{Type: audit.EventTRCAssertion, Patients: ev.Patients, TRCAssertionID: ev.TRCAssertionID,
		HCPAssertionID: ev.HCPAssertionID, RequestMessageID: ev.RequestMessageID})

	body := soap.NewElement("xdsb", "RetrieveDocumentSetResponse", NSXDSB)
	body.CreateAttr("xmlns:rs", NSRS)
	rr := body.CreateElement("rs:RegistryResponse")
	resp := &soap.Response{Action: ehdsi.ActionXCARetrieveResp, Body: body}
	var notes []*ehdsi.Fault
	got := 0
	patient := wssecPatient(tp)
	for _, dr := range reqs {
		if dr.HomeCommunityID != "" && dr.HomeCommunityID != s.HomeCommunityID {
			notes = append(notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.ErrGenericDocumentMissing,
				Public: "unknown home community " + dr.HomeCommunityID, Location: dr.DocumentUniqueID})
			continue
		}
		doc, err := s.Provider.Retrieve(ctx, RetrieveRequest{UniqueID: dr.DocumentUniqueID, RepositoryUniqueID: dr.RepositoryUniqueID,
			HomeCommunityID: dr.HomeCommunityID, Patient: patient, Caller: req.Caller, Country: req.Country, Now: req.Now})
		if err != nil {
			var f *ehdsi.Fault
			if !errors.As(err, &f) || f.Kind != ehdsi.KindApplication {
				return nil, err
			}
			if f.Location == "" {
				f.Location = dr.DocumentUniqueID
			}
			notes = append(notes, f)
			continue
		}
		if doc.ClassCode != "" {
			if err := checkPermission(req, doc.ClassCode); err != nil {
				return nil, err
			}
			ev.Type = retrieveEvent(doc.ClassCode)
		}
		got++
		ev.Documents = append(ev.Documents, doc.UniqueID)
		d := body.CreateElement("xdsb:DocumentResponse")
		d.CreateElement("xdsb:HomeCommunityId").SetText("urn:oid:" + s.HomeCommunityID)
		d.CreateElement("xdsb:RepositoryUniqueId").SetText(doc.RepositoryUniqueID)
		d.CreateElement("xdsb:DocumentUniqueId").SetText(doc.UniqueID)
		mt := doc.MimeType
		if mt == "" {
			mt = "text/xml"
		}
		d.CreateElement("xdsb:mimeType").SetText(mt)
		resp.Attach(d.CreateElement("xdsb:Document"), mt, doc.Data, req.Env.MTOM)
	}
	status := ResponseSuccess
	hasErr := false
	for _, n := range notes {
		if n.Severity() == ehdsi.SeverityError {
			hasErr = true
		}
	}
	if hasErr {
		status = ResponseFailure
		if got > 0 {
			status = ResponsePartial
		}
	}
	rr.CreateAttr("status", status)
	registryErrors(rr, notes)
	outcome(ev, notes, got > 0)
	return resp, nil
}

func serialize(el *etree.Element) ([]byte, error) {
	doc := etree.NewDocument()
	doc.SetRoot(el.Copy())
	return doc.WriteToBytes()
}
