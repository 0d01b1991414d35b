package xca

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/soap"
)

// Service is the XCA responder over a Provider.
type Service struct {
	Provider        Provider
	HomeCommunityID string
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

// checkPermission: the caller needs all the permissions OpenNCP's policy
// manager requires for class (dialect.ClassPermissions). Refusals are
// application faults, answered inside the response.
func checkPermission(req *gateway.Request, class string) error {
	perms, ok := dialect.ClassPermissions(class)
	if !ok {
		return dialect.Fault(dialect.UnknownClass, "class code "+class+" is not served by this gateway", nil)
	}
	if missing := dialect.Missing(perms, req.Caller.HasPermission); len(missing) > 0 {
		return dialect.Fault(dialect.InsufficientRights, "the HCP assertion lacks the permission(s) for class "+class+" ("+strings.Join(missing, ", ")+")", nil)
	}
	return nil
}

// refuseQuery answers a refusal inside the AdhocQueryResponse.
func refuseQuery(_ *gateway.Request, _ *audit.Event, f *ehdsi.Fault) *soap.Response {
	return &soap.Response{Action: ehdsi.ActionXCAQueryResp, Body: QueryResponse(Listing{Notes: []*ehdsi.Fault{f}})}
}

// refuseRetrieve answers a refusal inside the RetrieveDocumentSetResponse.
func refuseRetrieve(_ *gateway.Request, _ *audit.Event, f *ehdsi.Fault) *soap.Response {
	body := soap.NewElement("xdsb", "RetrieveDocumentSetResponse", NSXDSB)
	body.CreateAttr("xmlns:rs", NSRS)
	rr := body.CreateElement("rs:RegistryResponse")
	rr.CreateAttr("status", ResponseFailure)
	registryErrors(rr, []*ehdsi.Fault{f})
	return &soap.Response{Action: ehdsi.ActionXCARetrieveResp, Body: body}
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
			Patients: func(body *etree.Element) []audit.PatientID {
				q, _ := ParseQuery(body) // the patient as sent, even in an otherwise bad query
				return []audit.PatientID{{Root: q.Patient.Root, Extension: q.Patient.Extension}}
			},
			Handle: s.query,
			Refuse: refuseQuery,
		},
		{
			Action: ehdsi.ActionXCARetrieve,
			Event:  audit.EventPSRetrieve,
			Classify: func(body *etree.Element) audit.EventType {
				if rs, err := ParseRetrieve(body); err == nil {
					if class := s.Provider.ClassOf(rs[0].DocumentUniqueID); class != "" {
						return retrieveEvent(class)
					}
				}
				return ""
			},
			Handle: s.retrieve,
			Refuse: refuseRetrieve,
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
	ev.Query = soap.ElementBytes(req.Env.Body)
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
		return nil, dialect.Fault(dialect.PatientMismatch, "", nil)
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
	// The policy first, for every document asked, before anything touches
	// the national system: the class comes from the document id.
	classes := make([]string, len(reqs))
	for i, dr := range reqs {
		if dr.HomeCommunityID != "" && dr.HomeCommunityID != s.HomeCommunityID {
			continue
		}
		if classes[i] = s.Provider.ClassOf(dr.DocumentUniqueID); classes[i] == "" {
			continue
		}
		if err := checkPermission(req, classes[i]); err != nil {
			return nil, err
		}
	}
	for i, dr := range reqs {
		if dr.HomeCommunityID != "" && dr.HomeCommunityID != s.HomeCommunityID {
			notes = append(notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.ErrGenericDocumentMissing,
				Public: "unknown home community " + dr.HomeCommunityID, Location: dr.DocumentUniqueID})
			continue
		}
		if classes[i] == "" {
			notes = append(notes, &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: ehdsi.ErrGenericDocumentMissing,
				Public: ehdsi.Describe(ehdsi.ErrGenericDocumentMissing), Location: dr.DocumentUniqueID})
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
		if doc.ClassCode != classes[i] {
			return nil, ehdsi.Receiver(ehdsi.ErrGeneric, ehdsi.Describe(ehdsi.ErrGeneric),
				fmt.Errorf("provider returned class %q for a document of class %q", doc.ClassCode, classes[i]))
		}
		ev.Type = retrieveEvent(doc.ClassCode)
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
