package conformance

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
)

// observed is what a reply says, whatever the transaction.
type observed struct {
	fault     *ehdsi.Fault
	codes     []string // every eHDSI code seen (fault, acknowledgement detail, RegistryError)
	errorSeen bool     // an error-severity code inside a normal response
	found     int      // subjects, entries or documents
}

func (o *observed) add(code string, isError bool) {
	if code == "" {
		return
	}
	o.codes = append(o.codes, code)
	if isError {
		o.errorSeen = true
	}
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		if slices.Contains(want, h) {
			return true
		}
	}
	return false
}

// checkOutcome judges the common part of an expectation: status, fault,
// codes. Content checks come from the transaction.
func checkOutcome(e Expect, status int, o *observed) []string {
	var bad []string
	httpOK := e.HTTP
	if len(httpOK) == 0 {
		switch e.Outcome {
		case OutcomeFault:
			httpOK = []int{400, 500}
		case OutcomeRefused:
			httpOK = []int{200, 400, 500}
		default:
			httpOK = []int{200}
		}
	}
	if !slices.Contains(httpOK, status) {
		bad = append(bad, fmt.Sprintf("HTTP status %d, expected one of %v", status, httpOK))
	}
	codes := strings.Join(o.codes, ", ")
	if codes == "" {
		codes = "none"
	}
	switch e.Outcome {
	case OutcomeSuccess:
		if o.fault != nil {
			bad = append(bad, fmt.Sprintf("SOAP fault %s (%s), expected success", o.fault.Code, o.fault.Public))
		} else if o.errorSeen {
			bad = append(bad, "error code(s) in the response: "+codes+"; expected success")
		}
	case OutcomeEmpty:
		if o.fault != nil {
			bad = append(bad, fmt.Sprintf("SOAP fault %s (%s), expected an empty result", o.fault.Code, o.fault.Public))
		}
		if o.found > 0 {
			bad = append(bad, fmt.Sprintf("%d result(s), expected none", o.found))
		}
		for _, c := range o.codes {
			if len(e.Codes) > 0 && !slices.Contains(e.Codes, c) {
				bad = append(bad, fmt.Sprintf("code %s, expected none or one of %v", c, e.Codes))
			}
		}
	case OutcomeError:
		if o.fault != nil {
			bad = append(bad, fmt.Sprintf("SOAP fault %s, expected an error inside a normal response (one of %v)", o.fault.Code, e.Codes))
		} else if !anyIn(o.codes, e.Codes) {
			bad = append(bad, fmt.Sprintf("codes %s, expected one of %v", codes, e.Codes))
		}
	case OutcomeFault:
		if o.fault == nil {
			bad = append(bad, fmt.Sprintf("no SOAP fault (codes: %s), expected a fault %v", codes, e.Codes))
		} else if len(e.Codes) > 0 && !slices.Contains(e.Codes, string(o.fault.Code)) {
			bad = append(bad, fmt.Sprintf("SOAP fault code %q, expected one of %v", o.fault.Code, e.Codes))
		}
	case OutcomeRefused:
		// A fault, an error code, or (XCPD consent) a warning with nothing found.
		if o.fault == nil && !o.errorSeen && (len(o.codes) == 0 || o.found > 0) {
			bad = append(bad, fmt.Sprintf("the request was not refused (codes: %s), expected one of %v", codes, e.Codes))
		} else if !anyIn(o.codes, e.Codes) {
			bad = append(bad, fmt.Sprintf("refused with %s, expected one of %v", codes, e.Codes))
		}
	}
	return bad
}

// checkEnvelope checks the SOAP and WS-Addressing structure of a reply.
func checkEnvelope(rep *ncpclient.Reply, wantAction, wantBody, messageID string) []string {
	if rep.Env == nil {
		return []string{fmt.Sprintf("the reply is not a SOAP 1.2 envelope (Content-Type %q)", rep.Header.Get("Content-Type"))}
	}
	if rep.Fault != nil {
		if v := rep.Env.Body.FindElement("./Code/Value"); v == nil {
			return []string{"SOAP fault without Code/Value"}
		}
		return nil
	}
	var bad []string
	if rep.Env.Action != wantAction {
		bad = append(bad, fmt.Sprintf("wsa:Action %q, expected %q", rep.Env.Action, wantAction))
	}
	if rel := relatesTo(rep.Env); rel != messageID {
		bad = append(bad, fmt.Sprintf("wsa:RelatesTo %q, expected the request's MessageID %q", rel, messageID))
	}
	if rep.Env.Body == nil || rep.Env.Body.Tag != wantBody {
		got := "nothing"
		if rep.Env.Body != nil {
			got = rep.Env.Body.Tag
		}
		bad = append(bad, fmt.Sprintf("body is %s, expected %s", got, wantBody))
	}
	return bad
}

func relatesTo(env *soap.Envelope) string {
	if env.Header == nil {
		return ""
	}
	for _, c := range env.Header.ChildElements() {
		if c.Tag == "RelatesTo" && c.NamespaceURI() == soap.NSAddressing {
			return strings.TrimSpace(c.Text())
		}
	}
	return ""
}

// xcpdResult reads a PRPA_IN201306UV02.
type xcpdResult struct {
	queryResponseCode string
	subjectIDs        [][2]string // root, extension of each subject's patient ids (flattened per subject: first)
	subjects          int
}

func readXCPD(body *etree.Element, o *observed) xcpdResult {
	var r xcpdResult
	if body == nil {
		return r
	}
	for _, d := range body.FindElements("./acknowledgement/acknowledgementDetail") {
		code := ""
		if c := d.SelectElement("code"); c != nil {
			code = c.SelectAttrValue("code", "")
		}
		o.add(code, d.SelectAttrValue("typeCode", "E") == "E")
	}
	if q := body.FindElement("./controlActProcess/queryAck/queryResponseCode"); q != nil {
		r.queryResponseCode = q.SelectAttrValue("code", "")
	}
	for _, s := range body.FindElements("./controlActProcess/subject") {
		r.subjects++
		for _, id := range s.FindElements("./registrationEvent/subject1/patient/id") {
			r.subjectIDs = append(r.subjectIDs, [2]string{id.SelectAttrValue("root", ""), id.SelectAttrValue("extension", "")})
		}
	}
	o.found = r.subjects
	return r
}

func registryErrors(errs []ncpclient.RegistryError, o *observed) {
	for _, e := range errs {
		o.add(e.Code, !strings.HasSuffix(e.Severity, ":Warning"))
	}
}

// CDAFacts are the key facts of a pivot CDA document the fast checks read.
type CDAFacts struct {
	Templates  []string
	ID         string // root^extension
	Code       string
	Language   string
	PatientIDs []string // extension of recordTarget/patientRole/id
	L1         bool     // nonXMLBody
	MediaType  string   // of the nonXMLBody
}

// CheckCDA applies the built-in eHDSI key constraints to a returned
// document: a ClinicalDocument in urn:hl7-org:v3 with a document templateId
// (one of templates when given), an id, a LOINC code, a languageCode, the
// patient's id in recordTarget, and a body (structured, or a PDF for L1).
func CheckCDA(data []byte, patientID string, templates []string) (CDAFacts, []string) {
	var f CDAFacts
	if !bytes.Contains(data[:min(len(data), 512)], []byte("<")) {
		return f, []string{"document is not XML"}
	}
	doc := etree.NewDocument()
	doc.ReadSettings.Permissive = false
	if err := doc.ReadFromBytes(data); err != nil {
		return f, []string{"document is not well-formed XML: " + err.Error()}
	}
	root := doc.Root()
	if root == nil || root.Tag != "ClinicalDocument" || root.NamespaceURI() != "urn:hl7-org:v3" {
		return f, []string{"root element is not hl7:ClinicalDocument"}
	}
	var bad []string
	for _, t := range root.SelectElements("templateId") {
		f.Templates = append(f.Templates, t.SelectAttrValue("root", ""))
	}
	ehdsiTpl := false
	for _, t := range f.Templates {
		if strings.HasPrefix(t, "1.3.6.1.4.1.12559.11.10.1.3.1.1.") {
			ehdsiTpl = true
		}
	}
	if !ehdsiTpl {
		bad = append(bad, fmt.Sprintf("no eHDSI document templateId (templateIds %v)", f.Templates))
	} else if len(templates) > 0 && !anyIn(f.Templates, templates) {
		bad = append(bad, fmt.Sprintf("templateIds %v, expected one of %v", f.Templates, templates))
	}
	if id := root.SelectElement("id"); id == nil || id.SelectAttrValue("root", "") == "" {
		bad = append(bad, "ClinicalDocument/id missing or without root")
	} else {
		f.ID = id.SelectAttrValue("root", "") + "^" + id.SelectAttrValue("extension", "")
	}
	if c := root.SelectElement("code"); c == nil || c.SelectAttrValue("code", "") == "" {
		bad = append(bad, "ClinicalDocument/code missing")
	} else {
		f.Code = c.SelectAttrValue("code", "")
	}
	if l := root.SelectElement("languageCode"); l == nil || l.SelectAttrValue("code", "") == "" {
		bad = append(bad, "ClinicalDocument/languageCode missing")
	} else {
		f.Language = l.SelectAttrValue("code", "")
	}
	for _, id := range root.FindElements("./recordTarget/patientRole/id") {
		f.PatientIDs = append(f.PatientIDs, id.SelectAttrValue("extension", ""))
	}
	if len(f.PatientIDs) == 0 {
		bad = append(bad, "recordTarget/patientRole/id missing")
	} else if patientID != "" && !slices.Contains(f.PatientIDs, patientID) {
		bad = append(bad, fmt.Sprintf("recordTarget patient ids %v do not include the requested patient %s", f.PatientIDs, patientID))
	}
	switch {
	case root.FindElement("./component/structuredBody") != nil:
	case root.FindElement("./component/nonXMLBody") != nil:
		f.L1 = true
		if t := root.FindElement("./component/nonXMLBody/text"); t != nil {
			f.MediaType = t.SelectAttrValue("mediaType", "")
		}
		if f.MediaType != "application/pdf" {
			bad = append(bad, fmt.Sprintf("nonXMLBody/text mediaType %q, expected application/pdf", f.MediaType))
		}
	default:
		bad = append(bad, "ClinicalDocument has no structuredBody or nonXMLBody")
	}
	return f, bad
}

// validatable reports whether validate-cda knows the document type.
func validatable(f CDAFacts) bool {
	for _, t := range f.Templates {
		switch t {
		case ehdsi.TemplatePS, ehdsi.TemplateEP, ehdsi.TemplateED, ehdsi.TemplatePSL1, ehdsi.TemplateEPL1:
			return true
		}
	}
	return false
}
