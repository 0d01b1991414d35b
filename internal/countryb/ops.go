package countryb

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/peertext"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/wssec"
)

var classCodes = map[string]string{"PS": ehdsi.ClassPS, "EP": ehdsi.ClassEP, "ORCD": ehdsi.ClassLab}

func className(code string) string {
	switch code {
	case ehdsi.ClassPS:
		return "PS"
	case ehdsi.ClassEP:
		return "eP"
	}
	return "OrCD"
}

// appFault turns an application-level eHDSI error into an API error; the
// status follows luxncp's own list of codes (peerFault mapped the partner's
// code onto it), never words inside a code.
func appFault(f *ehdsi.Fault, country string) *APIError {
	status, code := 422, "not-available"
	switch {
	case f.Code == ehdsi.ErrPINoMatch:
		status, code = 404, "no-match"
	case f.Code == ehdsi.ErrPIMultipleMatches:
		status, code = 409, "multiple-matches"
	case consentCodes[f.Code]:
		status, code = 403, "no-consent"
	case f.Code == ehdsi.ErrGenericDocumentMissing || f.Code == ehdsi.ErrDocumentNotFound:
		status, code = 404, "document-missing"
	case errors.Is(f, errUnknownPeerCode):
		// Not an outcome luxncp can name: the country refused, as a SOAP
		// fault would say (README, failure codes).
		status, code = 502, "country-refused"
	}
	return &APIError{Status: status, Code: code, Message: f.Message(), EHDSI: f.Code, Country: country, Cause: f}
}

func toAPI(err error, country string) error {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae
	}
	var f *ehdsi.Fault
	if errors.As(err, &f) && f.Kind == ehdsi.KindApplication {
		return appFault(f, country)
	}
	if _, ok := routing.AsError(err); ok {
		return fromRouting(err)
	}
	return &APIError{Status: 500, Code: "internal", Message: "luxncp failed; retry or contact the operator", Cause: err}
}

// Search runs XCPD (ITI-55) in country cc.
func (s *Service) Search(ctx context.Context, cc string, r SearchRequest) (*SearchResponse, error) {
	cc = strings.ToUpper(cc)
	ss, err := s.session(ctx, r.Professional)
	if err != nil {
		return nil, err
	}
	if len(r.Identifiers) == 0 && (r.Family == "" || r.BirthDate == "") {
		return nil, badRequest("give the patient's national identifier (root and extension), or family name and birth date")
	}
	if len(r.Identifiers) > 1 {
		return nil, badRequest("give at most one identifier")
	}
	gender := map[string]string{"M": "M", "MALE": "M", "F": "F", "FEMALE": "F", "": ""}[strings.ToUpper(strings.TrimSpace(r.Gender))]
	q := ncpclient.XCPDQuery{SenderHCID: s.cfg.HomeCommunityID, Given: r.Given, Family: r.Family, BirthDate: r.BirthDate,
		Gender: gender, Country: cc, Now: s.now()}
	country, _ := s.country(ctx, cc)
	q.ReceiverHCID = country.HomeCommunityID
	var pats []audit.PatientID
	if len(r.Identifiers) == 1 {
		id := r.Identifiers[0]
		if id.Root == "" && len(country.SearchMask) == 1 {
			id.Root = country.SearchMask[0].Root
		}
		if id.Root == "" || id.Extension == "" {
			return nil, badRequest("an identifier needs root (the assigning authority OID, see GET /api/v1/countries) and extension")
		}
		q.PatientID, q.PatientRoot = id.Extension, id.Root
		pats = append(pats, audit.PatientID{Root: id.Root, Extension: id.Extension})
	}
	o := &outbound{country: cc, tx: routing.ITI55, event: audit.EventIdentification, hcp: ss.ahcp, hcpID: ss.hcpID, patients: pats,
		maxReply: s.cfg.Limits.MaxQueryReplyBytes}
	var found []FoundPatient
	_, err = s.call(ctx, o, ncpclient.Request{Action: ehdsi.ActionXCPD, Body: ncpclient.XCPDBody(q), Assertions: []*etree.Element{ss.hcp}}, "",
		func(res *routing.Result) error {
			var f *ehdsi.Fault
			found, f = parseXCPD(res.Reply.Env.Body)
			for _, p := range found {
				o.patients = append(o.patients, audit.PatientID{Root: p.ID.Root, Extension: p.ID.Extension})
			}
			if f != nil {
				return f
			}
			if len(found) == 0 {
				return ehdsi.App(ehdsi.ErrPINoMatch, "No patient found.", nil)
			}
			return nil
		})
	if err != nil {
		return nil, toAPI(err, cc)
	}
	return &SearchResponse{Country: cc, Patients: found}, nil
}

// country returns the directory entry of cc (zero when unknown: the routed
// call then reports the unknown country).
func (s *Service) country(ctx context.Context, cc string) (routing.Country, error) {
	if rc, ok := s.cfg.Router.(interface{ Directory() routing.Directory }); ok {
		return rc.Directory().Lookup(ctx, cc)
	}
	return routing.Country{}, errors.New("no directory")
}

// parseXCPD reads a PRPA_IN201306UV02.
func parseXCPD(body *etree.Element) ([]FoundPatient, *ehdsi.Fault) {
	if body == nil || body.Tag != "PRPA_IN201306UV02" {
		return nil, ehdsi.App(ehdsi.ErrPIGeneric, "the reply is not an XCPD response", nil)
	}
	var out []FoundPatient
	for _, pt := range body.FindElements(".//subject1/patient") {
		fp := FoundPatient{}
		if id := pt.SelectElement("id"); id != nil {
			fp.ID = Identifier{Root: id.SelectAttrValue("root", ""), Extension: id.SelectAttrValue("extension", "")}
		}
		person := pt.SelectElement("patientPerson")
		if person != nil {
			if n := person.SelectElement("name"); n != nil {
				var given []string
				for _, g := range n.SelectElements("given") {
					given = append(given, strings.TrimSpace(g.Text()))
				}
				fp.Given = strings.Join(given, " ")
				if f := n.SelectElement("family"); f != nil {
					fp.Family = strings.TrimSpace(f.Text())
				}
			}
			if g := person.SelectElement("administrativeGenderCode"); g != nil {
				fp.Gender = g.SelectAttrValue("code", "")
			}
			if b := person.SelectElement("birthTime"); b != nil {
				if v := b.SelectAttrValue("value", ""); len(v) >= 8 {
					fp.BirthDate = v[:4] + "-" + v[4:6] + "-" + v[6:8]
				}
			}
			if a := person.SelectElement("addr"); a != nil {
				var parts []string
				for _, c := range a.ChildElements() {
					if t := strings.TrimSpace(c.Text()); t != "" {
						parts = append(parts, t)
					}
				}
				fp.Address = strings.Join(parts, ", ")
			}
		}
		if fp.ID.Extension != "" {
			out = append(out, cleanFound(fp))
		}
	}
	if len(out) == 0 {
		if d := body.FindElement(".//acknowledgementDetail/code"); d != nil {
			text := ""
			if t := body.FindElement(".//acknowledgementDetail/text"); t != nil {
				text = t.Text()
			}
			return nil, peerFault(d.SelectAttrValue("code", ""), text, ehdsi.ErrPIGeneric)
		}
	}
	return out, nil
}

// List runs XCA query (ITI-38), one query per class.
func (s *Service) List(ctx context.Context, cc string, r ListRequest) (*ListResponse, error) {
	cc = strings.ToUpper(cc)
	ss, err := s.session(ctx, r.Professional)
	if err != nil {
		return nil, err
	}
	if r.Patient.Root == "" || r.Patient.Extension == "" {
		return nil, badRequest("patient.root and patient.extension are required (as the search returned them)")
	}
	classes := r.Classes
	if len(classes) == 0 {
		classes = []string{"PS", "eP"}
	}
	pid := r.Patient.patient()
	trc, err := s.trc(ss, pid)
	if err != nil {
		return nil, err
	}
	out := &ListResponse{Country: cc, Documents: []Document{}}
	for _, cl := range classes {
		code, ok := classCodes[strings.ToUpper(cl)]
		if !ok {
			return nil, badRequest("class " + cl + " is not offered (PS, eP, OrCD)")
		}
		ev := map[string]audit.EventType{ehdsi.ClassPS: audit.EventPSList, ehdsi.ClassEP: audit.EventEPList}[code]
		if ev == "" {
			ev = audit.EventOrCDList
		}
		o := &outbound{country: cc, tx: routing.ITI38, event: ev, hcp: ss.ahcp, hcpID: ss.hcpID, trcID: trc.SelectAttrValue("ID", ""),
			patients: []audit.PatientID{{Root: pid.Root, Extension: pid.Extension}}, maxReply: s.cfg.Limits.MaxQueryReplyBytes}
		var docs []ncpclient.ListedDocument
		_, err := s.call(ctx, o, ncpclient.Request{Action: ehdsi.ActionXCAQuery, Body: ncpclient.XCAQueryBody(pid, code),
			Assertions: []*etree.Element{ss.hcp, trc}}, "", func(res *routing.Result) error {
			status, d, errs := ncpclient.ParseQueryResponse(res.Reply.Env.Body)
			docs = d
			for _, x := range docs {
				o.documents = append(o.documents, peertext.CleanN(x.UniqueID, 256))
			}
			// As an OpenNCP client: an Error-severity entry is an error; a
			// warning (nothing found, sent with Success or Failure) is not.
			for _, e := range errs {
				if len(docs) == 0 && strings.HasSuffix(status, "Failure") && !strings.HasSuffix(e.Severity, ":Warning") {
					return peerFault(e.Code, e.Context, ehdsi.ErrGeneric)
				}
			}
			for _, e := range errs {
				f := peerFault(e.Code, e.Context, ehdsi.ErrGeneric)
				out.Warnings = append(out.Warnings, className(code)+": "+string(f.Code)+" "+f.Public)
			}
			return nil
		})
		if err != nil {
			return nil, toAPI(err, cc)
		}
		for _, d := range docs {
			c := peertext.Clean
			out.Documents = append(out.Documents, Document{ID: peertext.CleanN(d.UniqueID, 256), RepositoryID: peertext.CleanN(d.RepositoryUniqueID, 256),
				HomeCommunityID: peertext.CleanN(d.HomeCommunityID, 256), Class: className(code), ClassCode: code, Title: c(d.Title),
				Description: c(d.Description), Created: peertext.CleanN(d.CreationTime, 128), Format: c(d.FormatCode), PDF: d.L1})
		}
	}
	return out, nil
}

// Retrieved is a retrieved document in the asked format.
type Retrieved struct {
	ContentType string
	// Filename to save the XML formats under (no peer-chosen characters).
	Filename string
	Data     []byte
	Signed   bool
	Warnings []string
	Report   *render.Report
	Attempts int
}

// envelope is the JSON form of a retrieved document.
func (r *Retrieved) envelope(cc string, req RetrieveRequest) RetrieveResponse {
	format := strings.ToLower(req.Format)
	if format == "" {
		format = "html"
	}
	out := RetrieveResponse{Country: cc, Format: format, ContentType: r.ContentType, Filename: r.Filename, Signed: r.Signed,
		Attempts: r.Attempts, Warnings: r.Warnings, Document: r.Data}
	if rep := r.Report; rep != nil {
		terms, cut := rep.Listed(render.MaxListedTerms)
		out.Translation = &TranslationReport{Lang: rep.Lang, Terms: rep.Terms, Translated: rep.Translated,
			Untranslated: len(rep.Untranslated), UntranslatedTerms: terms, UntranslatedTruncated: cut}
	}
	return out
}

// fetch runs XCA retrieve (ITI-39) and checks the document.
func (s *Service) fetch(ctx context.Context, cc string, ss *session, pid wssec.PatientID, ref DocumentRef) (*fetched, error) {
	if ref.ID == "" || ref.RepositoryID == "" {
		return nil, badRequest("document.id and document.repositoryId are required (as the list returned them)")
	}
	class := classCodes[strings.ToUpper(ref.Class)]
	trc, err := s.trc(ss, pid)
	if err != nil {
		return nil, err
	}
	ev := map[string]audit.EventType{ehdsi.ClassPS: audit.EventPSRetrieve, ehdsi.ClassEP: audit.EventEPRetrieve, ehdsi.ClassLab: audit.EventOrCDRetrieve}[class]
	if ev == "" {
		ev = audit.EventPSRetrieve
	}
	hcid := ref.HomeCommunityID
	o := &outbound{country: cc, tx: routing.ITI39, event: ev, hcp: ss.ahcp, hcpID: ss.hcpID, trcID: trc.SelectAttrValue("ID", ""),
		patients: []audit.PatientID{{Root: pid.Root, Extension: pid.Extension}}, documents: []string{ref.ID}, hcid: "urn:oid:" + hcid}
	lim := s.cfg.Limits.document(class)
	if class == "" {
		lim = s.cfg.Limits.document(ehdsi.ClassPS)
	}
	o.maxReply = ReplyBytes(lim.MaxBytes)
	f := &fetched{}
	res, err := s.call(ctx, o, ncpclient.Request{Action: ehdsi.ActionXCARetrieve,
		Body:       ncpclient.XCARetrieveBody(ncpclient.DocRef{HomeCommunityID: hcid, RepositoryUniqueID: ref.RepositoryID, DocumentUniqueID: ref.ID}),
		Assertions: []*etree.Element{ss.hcp, trc}}, "", func(res *routing.Result) error {
		return s.checkRetrieved(f, res, cc, class, pid, ref, lim)
	})
	if res != nil {
		f.attempts = res.Attempts
	}
	if err != nil {
		return nil, toAPI(err, cc)
	}
	return f, nil
}

// fetched is a retrieved, verified and checked document.
type fetched struct {
	data     []byte
	doc      *etree.Document
	signed   bool
	warnings []render.Note
	attempts int
}

// Retrieve fetches a document as original CDA, translated CDA or HTML.
func (s *Service) Retrieve(ctx context.Context, cc string, r RetrieveRequest) (*Retrieved, error) {
	cc = strings.ToUpper(cc)
	format := strings.ToLower(r.Format)
	if format == "" {
		format = "html"
	}
	if format != "original" && format != "translated" && format != "html" {
		return nil, badRequest("format must be original, translated or html")
	}
	lang, err := render.CheckLang(r.Lang)
	if err != nil {
		return nil, badRequest(err.Error())
	}
	ss, err := s.session(ctx, r.Professional)
	if err != nil {
		return nil, err
	}
	if r.Patient.Root == "" || r.Patient.Extension == "" {
		return nil, badRequest("patient.root and patient.extension are required")
	}
	release, err := s.holdDocument(ctx, cc)
	if err != nil {
		return nil, err
	}
	defer release()
	f, err := s.fetch(ctx, cc, ss, r.Patient.patient(), r.Document)
	if err != nil {
		return nil, err
	}
	// The API's warnings are in English; the HTML says them in lang.
	out := &Retrieved{Signed: f.signed, Warnings: render.Texts(f.warnings, "en"), Attempts: f.attempts, Filename: cc + "-" + format + ".xml"}
	switch format {
	case "original":
		out.ContentType, out.Data = "application/xml; charset=utf-8", f.data
	case "translated":
		b, rep, err := render.TranslateDocument(f.doc, s.cfg.Translator, lang)
		if err != nil {
			return nil, &APIError{Status: 502, Code: "country-invalid-reply", Message: "the document cannot be translated", Cause: err}
		}
		out.ContentType, out.Data, out.Report = "application/xml; charset=utf-8", b, &rep
		if err := s.auditTranslation(ctx, cc, ss, r); err != nil {
			return nil, auditUnavailable(err)
		}
	case "html":
		var buf bytes.Buffer
		err := s.renderer.HTMLDocument(&buf, f.doc, render.Options{Lang: lang, SourceCountry: cc, Notes: f.warnings})
		b := buf.Bytes()
		if err != nil {
			return nil, &APIError{Status: 502, Code: "country-invalid-reply", Message: "the document cannot be rendered", Cause: err}
		}
		out.ContentType, out.Data = "text/html; charset=utf-8", b
		if err := s.auditTranslation(ctx, cc, ss, r); err != nil {
			return nil, auditUnavailable(err)
		}
	}
	return out, nil
}

func (s *Service) auditTranslation(ctx context.Context, cc string, ss *session, r RetrieveRequest) error {
	if s.cfg.Audit == nil {
		return nil
	}
	ev := audit.Event{Type: audit.EventPivotTranslation, Side: audit.SideB, Time: s.now(), HCP: ss.ahcp,
		Provider: audit.NCP{Country: cc}, TranslationInput: r.Document.ID, TranslationOutput: r.Document.ID + "#" + r.Format + "-" + r.Lang}
	ev.SetOutcome(nil)
	if err := s.cfg.Audit.Record(ctx, ev); err != nil {
		s.log().ErrorContext(ctx, "audit write failed", "event", string(ev.Type), "error", err.Error())
		return err
	}
	return nil
}

// Dispense retrieves the foreign ePrescription, builds the eDispensation
// and submits it (XDR ITI-41, idempotent by the eD document id).
func (s *Service) Dispense(ctx context.Context, cc string, r DispenseRequest) (*DispenseResponse, error) {
	cc = strings.ToUpper(cc)
	ss, err := s.session(ctx, r.Professional)
	if err != nil {
		return nil, err
	}
	if ss.prof.Role != "pharmacist" {
		return nil, &APIError{Status: 403, Code: "not-a-pharmacist", Message: "only a pharmacist may dispense"}
	}
	if r.Patient.Root == "" || r.Patient.Extension == "" {
		return nil, badRequest("patient.root and patient.extension are required")
	}
	if r.Item.Packages <= 0 {
		return nil, badRequest("item.packages must be at least 1")
	}
	ref := r.Prescription
	ref.Class = "EP"
	pid := r.Patient.patient()
	release, err := s.holdDocument(ctx, cc)
	if err != nil {
		return nil, err
	}
	defer release()
	epf, err := s.fetch(ctx, cc, ss, pid, ref)
	if err != nil {
		return nil, err
	}
	ep := epf.data
	now := s.now()
	ed, edID, err := BuildED(ep, EDParams{Item: r.Item, Pharmacist: ss.prof, Country: s.cfg.Identity.Country, Now: now,
		DocumentRoot: s.cfg.HomeCommunityID + ".8"})
	if err != nil {
		return nil, &APIError{Status: 422, Code: "prescription-not-dispensable", Message: err.Error(), Cause: err}
	}
	res, err := s.submit(ctx, cc, ss, pid, edID, ed, ehdsi.ClassED)
	if err != nil {
		return nil, err
	}
	if err := s.submitted.Put(ctx, edID, Submitted{Country: cc, Patient: pid, Data: ed}); err != nil {
		// Sent and accepted, but it cannot be discarded through luxncp.
		s.log().ErrorContext(ctx, "countryb: keeping the sent eDispensation failed", "error", err.Error())
	}
	return &DispenseResponse{Country: cc, DispensationID: edID, Status: "submitted", Attempts: res.Attempts}, nil
}

// Discard withdraws an eDispensation submitted through this service.
func (s *Service) Discard(ctx context.Context, cc string, r DiscardRequest) (*DispenseResponse, error) {
	cc = strings.ToUpper(cc)
	ss, err := s.session(ctx, r.Professional)
	if err != nil {
		return nil, err
	}
	sub, ok, err := s.submitted.Get(ctx, r.DispensationID)
	if err != nil {
		return nil, &APIError{Status: 500, Code: "internal", Message: "the sent eDispensation cannot be read", Cause: err}
	}
	if !ok || sub.Country != cc {
		return nil, &APIError{Status: 404, Code: "unknown-dispensation", Message: "no eDispensation with this id was submitted to " + cc + " through luxncp"}
	}
	res, err := s.submit(ctx, cc, ss, sub.Patient, r.DispensationID, sub.Data, ehdsi.ClassEDDiscard)
	if err != nil {
		return nil, err
	}
	return &DispenseResponse{Country: cc, DispensationID: r.DispensationID, Status: "discarded", Attempts: res.Attempts}, nil
}

func (s *Service) submit(ctx context.Context, cc string, ss *session, pid wssec.PatientID, edID string, ed []byte, class string) (*routing.Result, error) {
	trc, err := s.trc(ss, pid)
	if err != nil {
		return nil, err
	}
	ev := audit.EventDispensationSubmit
	if class == ehdsi.ClassEDDiscard {
		ev = audit.EventDispensationDiscard
	}
	o := &outbound{country: cc, tx: routing.ITI41, event: ev, hcp: ss.ahcp, hcpID: ss.hcpID, trcID: trc.SelectAttrValue("ID", ""),
		patients: []audit.PatientID{{Root: pid.Root, Extension: pid.Extension}}, documents: []string{edID}}
	body := ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: class == ehdsi.ClassEDDiscard, Patient: pid, DocumentUID: edID,
		SubmissionSetID: edID + ".1", SourceID: s.cfg.HomeCommunityID, Document: ed, Language: "fr-LU", Now: s.now()})
	res, err := s.call(ctx, o, ncpclient.Request{Action: ehdsi.ActionXDR, Body: body, Assertions: []*etree.Element{ss.hcp, trc}},
		class+":"+edID, func(res *routing.Result) error {
			rr := res.Reply.Env.Body
			if rr == nil || rr.Tag != "RegistryResponse" {
				return &routing.Error{Kind: routing.ErrInvalidReply, Country: cc, Transaction: routing.ITI41, Public: "the reply is not a RegistryResponse"}
			}
			if !strings.HasSuffix(rr.SelectAttrValue("status", ""), ":Success") {
				code, text := ehdsi.ErrEDGeneric, "the eDispensation was not accepted"
				if re := rr.FindElement(".//RegistryError"); re != nil {
					code, text = ehdsi.Code(re.SelectAttrValue("errorCode", "")), re.SelectAttrValue("codeContext", "")
				}
				return peerFault(string(code), text, ehdsi.ErrEDGeneric)
			}
			return nil
		})
	if err != nil {
		return res, toAPI(err, cc)
	}
	return res, nil
}
