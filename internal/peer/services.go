package peer

import (
	"context"
	"sort"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/xca"
	"github.com/luxncp/luxncp/internal/xcpd"
	"github.com/luxncp/luxncp/internal/xdr"
)

func auditSelf(cc string) audit.NCP {
	return audit.NCP{Country: cc, Host: "ncp-" + strings.ToLower(cc) + " (simulated)"}
}

// registry is the peer's national patient registry (national.Patients).
// national.Patient.Matricule carries the foreign national identifier.
type registry struct{ country Country }

var _ national.Patients = (*registry)(nil)

func toNational(c Country, p Patient) national.Patient {
	return national.Patient{Matricule: p.ID, Given: []string{p.Given}, Family: p.Family, BirthDate: p.BirthDate, Gender: p.Gender,
		Address: national.Address{Lines: []string{p.Street}, City: p.City, PostalCode: p.PostalCode, Country: c.Code}}
}

// FindPatients matches by identifier, or by family name and birth date
// (given name and gender, when given, must agree).
func (r *registry) FindPatients(_ context.Context, q national.PatientQuery) ([]national.Patient, error) {
	var out []national.Patient
	for _, p := range r.country.Patients {
		switch {
		case q.Matricule != "":
			if p.ID != q.Matricule {
				continue
			}
		case !strings.EqualFold(p.Family, strings.TrimSpace(q.Family)) || p.BirthDate != q.BirthDate:
			continue
		}
		if q.Given != "" && !strings.EqualFold(p.Given, strings.TrimSpace(q.Given)) {
			continue
		}
		if q.Gender != "" && q.Gender != p.Gender {
			continue
		}
		out = append(out, toNational(r.country, p))
	}
	return out, nil
}

// Consent: every fixture patient consents except those marked otherwise.
func (r *registry) Consent(_ context.Context, id string) (national.Consent, error) {
	for _, p := range r.country.Patients {
		if p.ID == id {
			return national.Consent{CrossBorder: !p.NoConsent}, nil
		}
	}
	return national.Consent{}, national.ErrNotFound
}

func hl7Gender(g string) string {
	switch strings.ToUpper(g) {
	case "M":
		return "male"
	case "F":
		return "female"
	}
	return ""
}

// xcpdHandler answers XCPD with the peer's own identifier root: a query
// by the national identifier is looked up here, a query by demographics
// goes through xcpd.Service.Discover; the response names the patient with
// the national root.
func (p *Peer) xcpdHandler(s *xcpd.Service, reg *registry) func(context.Context, *gateway.Request, *audit.Event) (*soap.Response, error) {
	c := p.Profile
	return func(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
		q, ok := xcpd.ParseQuery(req.Env.Body)
		if !ok {
			return nil, ehdsi.Sender(ehdsi.ErrPIIncorrectFormatting, "the SOAP body is not a PRPA_IN201305UV02 message", nil)
		}
		var own []xcpd.ID
		for _, id := range q.SubjectIDs {
			ev.Patients = append(ev.Patients, audit.PatientID{Root: id.Root, Extension: id.Extension})
			if id.Root == c.PatientRoot {
				own = append(own, id)
			}
		}
		var res xcpd.Result
		switch {
		case len(own) == 1:
			found, _ := reg.FindPatients(ctx, national.PatientQuery{Matricule: own[0].Extension})
			if q.Family != "" || q.BirthTime != "" {
				found = agree(found, q)
			}
			switch {
			case len(found) == 0:
				res = xcpd.Result{Code: ehdsi.ErrPINoMatch, Issue: "AnswerNotAvailable", Text: "No patient found."}
			default:
				if cs, _ := reg.Consent(ctx, found[0].Matricule); !cs.CrossBorder {
					res = xcpd.Result{Code: ehdsi.WarnPINoConsent, Issue: "InsufficientRights", Text: "The patient has not given consent to cross-border sharing."}
				} else {
					res = xcpd.Result{Patient: &found[0]}
				}
			}
		case len(own) > 1:
			res = xcpd.Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable", Text: "more than one " + c.PatientIDName + " in the query"}
		case len(q.SubjectIDs) > 0 && (q.Family == "" || q.BirthTime == ""):
			res = xcpd.Result{Code: ehdsi.ErrPIIncorrectFormatting, Issue: "AnswerNotAvailable",
				Text: "no " + c.Name + " identifier (" + c.PatientIDName + ", root " + c.PatientRoot + ") in the query"}
		default:
			var err error
			if res, err = s.Discover(ctx, xcpd.Query{Family: q.Family, Given: q.Given, BirthTime: q.BirthTime, Gender: q.Gender}); err != nil {
				return nil, err
			}
		}
		if res.Patient != nil {
			ev.SetOutcome(nil)
		} else {
			ev.SetOutcome(ehdsi.App(res.Code, res.Text, nil))
		}
		body := xcpd.BuildResponse(q, res, xcpd.ResponseParams{MessageID: ev.ResponseMessageID, Now: req.Now, HomeCommunityID: c.HomeCommunityID})
		for _, id := range body.FindElements(".//patient/id") {
			if id.SelectAttrValue("root", "") == ehdsi.OIDMatricule {
				id.CreateAttr("root", c.PatientRoot)
			}
		}
		return &soap.Response{Action: ehdsi.ActionXCPDResponse, Body: body}, nil
	}
}

func agree(ps []national.Patient, q xcpd.Query) []national.Patient {
	var out []national.Patient
	for _, p := range ps {
		if q.Family != "" && !strings.EqualFold(p.Family, q.Family) {
			continue
		}
		if len(q.BirthTime) >= 8 && strings.ReplaceAll(p.BirthDate, "-", "") != q.BirthTime[:8] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// provider is the peer's document registry and repository (xca.Provider).
type provider struct{ p *Peer }

var (
	_ xca.Provider        = (*provider)(nil)
	_ xca.ClassOfUniqueID = (*provider)(nil)
)

// List answers as OpenNCP does: ERROR_PS_NO_CONSENT for a patient without
// consent, the class's not-found warning when nothing is listed
// (dialect.Table).
func (pr *provider) List(_ context.Context, q xca.Query) (xca.Listing, error) {
	for _, pt := range pr.p.Profile.Patients {
		if pt.ID == q.Patient.Extension && q.Patient.Root == pr.p.Profile.PatientRoot && pt.NoConsent {
			return xca.Listing{}, dialect.Fault(dialect.NoConsent, "", nil)
		}
	}
	var l xca.Listing
	for _, c := range q.ClassCodes {
		n := len(l.Entries)
		for _, d := range pr.p.docs {
			if d.entry.Patient == q.Patient && c == d.entry.ClassCode {
				l.Entries = append(l.Entries, d.entry)
			}
		}
		if len(l.Entries) == n {
			l.Notes = append(l.Notes, dialect.Fault(dialect.NotFound(c), "", nil))
		}
	}
	sort.Slice(l.Entries, func(i, j int) bool { return l.Entries[i].UniqueID < l.Entries[j].UniqueID })
	return l, nil
}

func (pr *provider) Retrieve(_ context.Context, r xca.RetrieveRequest) (xca.Document, error) {
	d, ok := pr.p.docs[r.UniqueID]
	if !ok || d.entry.Patient != r.Patient {
		return xca.Document{}, ehdsi.App(ehdsi.ErrGenericDocumentMissing, "no such document for this patient", nil)
	}
	data := pr.p.substitute(d).data
	return xca.Document{UniqueID: d.entry.UniqueID, RepositoryUniqueID: d.entry.RepositoryUniqueID, HomeCommunityID: d.entry.HomeCommunityID,
		MimeType: "text/xml", Data: data, ClassCode: d.entry.ClassCode}, nil
}

func (pr *provider) ClassOf(id string) string {
	if d, ok := pr.p.docs[id]; ok {
		return d.entry.ClassCode
	}
	return ""
}

// XDR vocabulary.
const (
	nsXDSB             = "urn:ihe:iti:xds-b:2007"
	schemeClassCode    = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"
	schemeFormatCode   = "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d"
	schemeUniqueID     = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
	schemePatientID    = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
	objectTypeDocEntry = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
)

// xdrOperation accepts eDispensation submit and discard (ITI-41),
// idempotently by document unique id.
func (p *Peer) xdrOperation() gateway.Operation {
	return gateway.Operation{
		Action:      ehdsi.ActionXDR,
		Event:       audit.EventDispensationSubmit,
		Permissions: dialect.XDRPermissions(),
		FaultCode:   ehdsi.ErrEDIncorrectFormatting,
		Refuse:      xdr.Refuse,
		Handle: func(ctx context.Context, req *gateway.Request, ev *audit.Event) (*soap.Response, error) {
			sub, err := ParseSubmission(req.Env)
			if err != nil {
				return nil, err
			}
			ev.Documents = []string{sub.DocumentID}
			code, text := ehdsi.Code(""), ""
			p.mu.Lock()
			d, known := p.dispensed[sub.DocumentID]
			switch sub.Kind() {
			case dialect.EDUnknown:
				// As OpenNCP: dispatch on the formatCode, exactly; 4202 otherwise.
				code, text = ehdsi.ErrUnknownSignifier, "Unknown document"
			case dialect.EDDispense:
				if !known {
					d = Dispensation{DocumentID: sub.DocumentID, Patient: sub.PatientID}
				}
				d.Submits++
				p.dispensed[sub.DocumentID] = d
			case dialect.EDDiscard:
				ev.Type = audit.EventDispensationDiscard
				if !known {
					code, text = ehdsi.ErrEDDiscardFailed, "no eDispensation with this id was received"
				} else {
					d.Discarded = true
					p.dispensed[sub.DocumentID] = d
				}
			}
			p.mu.Unlock()
			var notes []*ehdsi.Fault
			if code != "" {
				f := &ehdsi.Fault{Kind: ehdsi.KindApplication, Code: code, Public: text, Location: sub.DocumentID, Level: ehdsi.SeverityError}
				ev.SetOutcome(f)
				notes = append(notes, f)
			}
			return &soap.Response{Action: ehdsi.ActionXDRResponse, Body: xdr.Response(notes)}, nil
		},
	}
}

// Submission is what an ITI-41 eDispensation request carries.
type Submission struct {
	ClassCode  string // 60593-1 or DISCARD-60593-1
	FormatCode string // urn:epSOS:ep:dis:2010 or urn:eHDSI:ed:discard:2020
	DocumentID string
	PatientID  string // CX
	Document   []byte
}

// Kind is what the submission asks, decided as OpenNCP's Country A does:
// by the formatCode (class code only when there is none).
func (s Submission) Kind() dialect.EDKind { return dialect.EDKindOf(s.FormatCode, s.ClassCode) }

// ParseSubmission reads a ProvideAndRegisterDocumentSetRequest with one
// document.
func ParseSubmission(env *soap.Envelope) (Submission, error) {
	var s Submission
	bad := func(msg string) error { return ehdsi.Sender(ehdsi.ErrEDIncorrectFormatting, msg, nil) }
	body := env.Body
	if body == nil || body.Tag != "ProvideAndRegisterDocumentSetRequest" || body.NamespaceURI() != nsXDSB {
		return s, bad("the SOAP body is not a ProvideAndRegisterDocumentSetRequest")
	}
	var eo *etree.Element
	for _, e := range body.FindElements(".//ExtrinsicObject") {
		if e.SelectAttrValue("objectType", "") == objectTypeDocEntry || eo == nil {
			eo = e
		}
	}
	if eo == nil {
		return s, bad("no ExtrinsicObject (document entry) in the submission")
	}
	for _, c := range eo.SelectElements("Classification") {
		switch c.SelectAttrValue("classificationScheme", "") {
		case schemeClassCode:
			s.ClassCode = c.SelectAttrValue("nodeRepresentation", "")
		case schemeFormatCode:
			s.FormatCode = c.SelectAttrValue("nodeRepresentation", "")
		}
	}
	for _, x := range eo.SelectElements("ExternalIdentifier") {
		switch x.SelectAttrValue("identificationScheme", "") {
		case schemeUniqueID:
			s.DocumentID = x.SelectAttrValue("value", "")
		case schemePatientID:
			s.PatientID = x.SelectAttrValue("value", "")
		}
	}
	if s.ClassCode == "" && s.FormatCode == "" {
		return s, bad("the document entry has neither class code nor format code")
	}
	if s.DocumentID == "" {
		return s, bad("the document entry has no uniqueId")
	}
	docEl := body.SelectElement("Document")
	if docEl == nil {
		return s, bad("no Document in the submission")
	}
	data, err := env.Content(docEl)
	if err != nil {
		return s, ehdsi.Sender(ehdsi.ErrEDIncorrectFormatting, "the document cannot be decoded", err)
	}
	d := etree.NewDocument()
	if err := d.ReadFromBytes(data); err != nil || d.Root() == nil || d.Root().Tag != "ClinicalDocument" {
		return s, bad("the document is not a CDA ClinicalDocument")
	}
	s.Document = data
	return s, nil
}
