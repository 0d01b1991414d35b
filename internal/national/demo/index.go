package demo

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/fhirr4"
)

// LOINC class codes of the documents the backend serves, with displays.
var classDisplay = map[string]string{
	"60591-5": "Patient summary Document",
	"57833-6": "Prescription for medication",
	"11502-2": "Laboratory report",
	"18748-4": "Diagnostic imaging study",
	"34105-7": "Hospital Discharge summary",
}

type patientRec struct {
	id       string
	raw      json.RawMessage // compact
	res      fhirr4.Patient
	key      string   // 13-digit matricule, else the legacy one
	ids      []string // every urn:oid:1.3.182.4.4 value
	consents []consentRec
	docs     []*docRec
}

// consentRec is a Consent as the search answers it: its reference
// ("Consent/<id>", read once at load) and its compact JSON.
type consentRec struct {
	ref string
	raw json.RawMessage
}

type docRec struct {
	id          string
	patient     *patientRec
	class       string
	title       string
	author      string
	created     time.Time
	contentType string
	kind        string // Bundle | Binary
	content     []byte // compact JSON for Bundle, raw bytes for Binary
	presc       *prescription

	// ref is documentReference marshalled, once: every field it is made
	// of is set when the document is indexed and never changes (the
	// served prescription status lives in the Bundle, not here).
	refOnce sync.Once
	ref     json.RawMessage
	refErr  error
}

// referenceJSON is documentReference() as JSON, marshalled on first use.
func (d *docRec) referenceJSON() (json.RawMessage, error) {
	d.refOnce.Do(func() { d.ref, d.refErr = marshal(d.documentReference()) })
	return d.ref, d.refErr
}

// prescription is the dispensing view of one ePrescription Bundle.
type prescription struct {
	id          string // MedicationRequest.id
	doc         *docRec
	status      string // as in the fixture
	repeats     int    // numberOfRepeatsAllowed
	validityEnd time.Time
	mrEntry     int // index of the MedicationRequest entry
}

// index is everything read from the fixtures; immutable after load.
type index struct {
	patients  []*patientRec // fixture order
	byPatID   map[string]*patientRec
	byIdent   map[string]*patientRec // "system|value"
	docs      map[string]*docRec     // by DocumentReference id (= Bundle/Binary id)
	prescs    map[string]*prescription
	prescByID map[string]*prescription // MedicationRequest id and Bundle id
	// shift is the whole days every ePrescription timeline is moved by (see
	// Anchor).
	shift int
}

func ident(system, value string) string { return system + "|" + value }

func loadIndex(fsys fs.FS, shift int) (*index, error) {
	ix := &index{byPatID: map[string]*patientRec{}, byIdent: map[string]*patientRec{}, docs: map[string]*docRec{},
		prescs: map[string]*prescription{}, prescByID: map[string]*prescription{}, shift: shift}
	if err := ix.loadPatients(fsys, "patients.json"); err != nil {
		return nil, fmt.Errorf("demo fixture patients.json: %w", err)
	}
	loaders := []struct {
		dir string
		ext string
		fn  func(fs.FS, string) error
	}{
		{"eprescriptions", ".json", ix.loadEP},
		{"ps", ".json", ix.loadPSJSON},
		{"ps", ".xml", ix.loadPSCDA},
		{"orcd", ".json", ix.loadORCD},
		{"orcd", ".pdf", ix.checkORCDPair},
	}
	for _, l := range loaders {
		entries, err := fs.ReadDir(fsys, l.dir)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("demo fixtures %s: %w", l.dir, err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") || path.Ext(name) != l.ext {
				continue
			}
			p := path.Join(l.dir, name)
			if err := l.fn(fsys, p); err != nil {
				return nil, fmt.Errorf("demo fixture %s: %w", p, err)
			}
		}
	}
	for _, p := range ix.patients {
		slices.SortFunc(p.docs, func(a, b *docRec) int {
			if c := a.created.Compare(b.created); c != 0 {
				return c
			}
			return strings.Compare(a.id, b.id)
		})
	}
	return ix, nil
}

func (ix *index) loadPatients(fsys fs.FS, name string) error {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		return err
	}
	var bundle fhirr4.Bundle
	if err := json.Unmarshal(b, &bundle); err != nil {
		return err
	}
	if bundle.ResourceType != "Bundle" {
		return fmt.Errorf("resourceType %q, want Bundle", bundle.ResourceType)
	}
	var consents []json.RawMessage
	for i, e := range bundle.Entry {
		var h fhirr4.ResourceHeader
		if err := json.Unmarshal(e.Resource, &h); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		raw, err := compact(e.Resource)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		switch h.ResourceType {
		case "Patient":
			p := &patientRec{id: h.ID, raw: raw}
			if err := json.Unmarshal(raw, &p.res); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			if p.id == "" || ix.byPatID[p.id] != nil {
				return fmt.Errorf("entry %d: Patient id %q missing or duplicate", i, p.id)
			}
			for _, id := range p.res.Identifier {
				k := ident(id.System, id.Value)
				if other := ix.byIdent[k]; other != nil {
					return fmt.Errorf("Patient %s and %s share identifier %s", other.id, p.id, k)
				}
				ix.byIdent[k] = p
				if id.System == national.SystemMatricule {
					p.ids = append(p.ids, id.Value)
					if len(id.Value) == 13 || p.key == "" {
						p.key = id.Value
					}
				}
			}
			if p.key == "" {
				return fmt.Errorf("Patient %s has no %s identifier", p.id, national.SystemMatricule)
			}
			ix.patients = append(ix.patients, p)
			ix.byPatID[p.id] = p
		case "Consent":
			consents = append(consents, raw)
		default:
			return fmt.Errorf("entry %d: unexpected %s", i, h.ResourceType)
		}
	}
	for _, raw := range consents {
		var c fhirr4.Consent
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		if c.Patient == nil {
			return fmt.Errorf("Consent %s has no patient", c.ID)
		}
		p := ix.byPatID[strings.TrimPrefix(c.Patient.Reference, "Patient/")]
		if p == nil {
			return fmt.Errorf("Consent %s: unknown patient %q", c.ID, c.Patient.Reference)
		}
		p.consents = append(p.consents, consentRec{ref: "Consent/" + c.ID, raw: raw})
	}
	return nil
}

// patientByMatricule resolves an 11- or 13-digit matricule.
func (ix *index) patientByMatricule(m string) *patientRec {
	return ix.byIdent[ident(national.SystemMatricule, m)]
}

func (ix *index) addDoc(d *docRec) error {
	if ix.docs[d.id] != nil {
		return fmt.Errorf("document id %q used twice", d.id)
	}
	ix.docs[d.id] = d
	d.patient.docs = append(d.patient.docs, d)
	return nil
}

func stem(p string) string { return strings.TrimSuffix(path.Base(p), path.Ext(p)) }

// bundleParts are the entries of a document Bundle, by resource type.
type bundleParts struct {
	bundle fhirr4.Bundle
	types  []string          // resourceType per entry
	first  map[string]int    // first entry index per type
	raws   []json.RawMessage // per entry
}

func readBundle(b []byte) (*bundleParts, error) {
	bp := &bundleParts{first: map[string]int{}}
	if err := json.Unmarshal(b, &bp.bundle); err != nil {
		return nil, err
	}
	if bp.bundle.ResourceType != "Bundle" {
		return nil, fmt.Errorf("resourceType %q, want Bundle", bp.bundle.ResourceType)
	}
	for i, e := range bp.bundle.Entry {
		var h fhirr4.ResourceHeader
		if err := json.Unmarshal(e.Resource, &h); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		bp.types = append(bp.types, h.ResourceType)
		bp.raws = append(bp.raws, e.Resource)
		if _, ok := bp.first[h.ResourceType]; !ok {
			bp.first[h.ResourceType] = i
		}
	}
	return bp, nil
}

func (bp *bundleParts) count(t string) int {
	n := 0
	for _, x := range bp.types {
		if x == t {
			n++
		}
	}
	return n
}

// get unmarshals the first resource of type t into v; false when absent.
func (bp *bundleParts) get(t string, v any) (bool, error) {
	i, ok := bp.first[t]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(bp.raws[i], v)
}

// patient resolves the Bundle's Patient through its matricule identifiers.
func (ix *index) bundlePatient(bp *bundleParts) (*patientRec, error) {
	var pat fhirr4.Patient
	ok, err := bp.get("Patient", &pat)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("no Patient entry")
	}
	for _, id := range pat.Identifier {
		if id.System == national.SystemMatricule {
			if p := ix.patientByMatricule(id.Value); p != nil {
				return p, nil
			}
			return nil, fmt.Errorf("Patient matricule %s is not in patients.json", id.Value)
		}
	}
	return nil, fmt.Errorf("Patient has no %s identifier", national.SystemMatricule)
}

type medicationRequest struct {
	ID              string                  `json:"id"`
	Status          string                  `json:"status"`
	MedicationCC    *fhirr4.CodeableConcept `json:"medicationCodeableConcept"`
	DispenseRequest *struct {
		ValidityPeriod         *fhirr4.Period `json:"validityPeriod"`
		NumberOfRepeatsAllowed int            `json:"numberOfRepeatsAllowed"`
	} `json:"dispenseRequest"`
}

type namedResource struct {
	Name json.RawMessage         `json:"name"` // Practitioner: []HumanName; Organization: string
	Code *fhirr4.CodeableConcept `json:"code"`
}

func conceptText(c *fhirr4.CodeableConcept) string {
	if c == nil {
		return ""
	}
	if c.Text != "" {
		return c.Text
	}
	for _, cd := range c.Coding {
		if cd.Display != "" {
			return cd.Display
		}
	}
	return ""
}

func (ix *index) loadEP(fsys fs.FS, p string) error {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return err
	}
	b = shiftTimeline(b, ix.shift)
	bp, err := readBundle(b)
	if err != nil {
		return err
	}
	id := stem(p)
	if bp.bundle.ID != id {
		return fmt.Errorf("Bundle.id %q differs from the file name %q", bp.bundle.ID, id)
	}
	created, err := time.Parse(time.RFC3339, bp.bundle.Timestamp)
	if err != nil {
		return fmt.Errorf("Bundle.timestamp: %w", err)
	}
	if n := bp.count("MedicationRequest"); n != 1 {
		return fmt.Errorf("%d MedicationRequest entries, want exactly 1", n)
	}
	pat, err := ix.bundlePatient(bp)
	if err != nil {
		return err
	}
	var mr medicationRequest
	if _, err := bp.get("MedicationRequest", &mr); err != nil {
		return fmt.Errorf("MedicationRequest: %w", err)
	}
	if mr.ID == "" || mr.Status == "" {
		return errors.New("MedicationRequest without id or status")
	}
	pr := &prescription{id: mr.ID, status: mr.Status, mrEntry: bp.first["MedicationRequest"]}
	if dr := mr.DispenseRequest; dr != nil {
		pr.repeats = dr.NumberOfRepeatsAllowed
		if dr.ValidityPeriod != nil && dr.ValidityPeriod.End != "" {
			if pr.validityEnd, err = parseEnd(dr.ValidityPeriod.End); err != nil {
				return fmt.Errorf("validityPeriod.end: %w", err)
			}
		}
	}
	title := conceptText(mr.MedicationCC)
	var med namedResource
	if _, err := bp.get("Medication", &med); err != nil {
		return fmt.Errorf("Medication: %w", err)
	}
	if t := conceptText(med.Code); t != "" {
		title = t
	}
	if title == "" {
		title = "Prescription " + id
	}
	content, err := compact(b)
	if err != nil {
		return err
	}
	d := &docRec{id: id, patient: pat, class: "57833-6", title: title, author: bp.author(), created: created,
		contentType: "application/fhir+json", kind: "Bundle", content: content, presc: pr}
	pr.doc = d
	for _, k := range []string{mr.ID, id} {
		if other := ix.prescByID[k]; other != nil {
			return fmt.Errorf("prescription id %q also used by %s", k, other.doc.id)
		}
	}
	ix.prescByID[mr.ID] = pr
	ix.prescByID[id] = pr
	ix.prescs[mr.ID] = pr
	return ix.addDoc(d)
}

// author returns the first Practitioner's name, else the Organization name.
func (bp *bundleParts) author() string {
	var pr namedResource
	if ok, _ := bp.get("Practitioner", &pr); ok {
		var names []fhirr4.HumanName
		if json.Unmarshal(pr.Name, &names) == nil && len(names) > 0 {
			return strings.TrimSpace(strings.Join(append(slices.Clone(names[0].Given), names[0].Family), " "))
		}
	}
	var org namedResource
	if ok, _ := bp.get("Organization", &org); ok {
		var name string
		if json.Unmarshal(org.Name, &name) == nil {
			return name
		}
	}
	return ""
}

// parseEnd reads a FHIR date or dateTime as the instant it ends.
func parseEnd(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, l := range []struct {
		layout string
		years  int
		months int
		days   int
	}{{"2006-01-02", 0, 0, 1}, {"2006-01", 0, 1, 0}, {"2006", 1, 0, 0}} {
		if t, err := time.Parse(l.layout, s); err == nil {
			return t.AddDate(l.years, l.months, l.days), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a FHIR date or dateTime", s)
}

func (ix *index) patientFromFileName(p string) (*patientRec, string, error) {
	m := stem(p)
	pat := ix.patientByMatricule(m)
	if pat == nil {
		return nil, "", fmt.Errorf("file name %q is not a matricule in patients.json", m)
	}
	return pat, m, nil
}

func (ix *index) loadPSJSON(fsys fs.FS, p string) error {
	pat, m, err := ix.patientFromFileName(p)
	if err != nil {
		return err
	}
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return err
	}
	bp, err := readBundle(b)
	if err != nil {
		return err
	}
	if len(bp.types) == 0 || bp.types[0] != "Composition" {
		return errors.New("the first entry is not a Composition")
	}
	if got, err := ix.bundlePatient(bp); err != nil {
		return err
	} else if got != pat {
		return fmt.Errorf("Bundle Patient is %s, the file name names %s", got.id, pat.id)
	}
	var comp struct {
		Title  string             `json:"title"`
		Date   string             `json:"date"`
		Author []fhirr4.Reference `json:"author"`
	}
	if err := json.Unmarshal(bp.raws[0], &comp); err != nil {
		return fmt.Errorf("Composition: %w", err)
	}
	ts := bp.bundle.Timestamp
	if ts == "" {
		ts = comp.Date
	}
	created, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fmt.Errorf("Bundle.timestamp / Composition.date: %w", err)
	}
	author := ""
	if len(comp.Author) > 0 {
		author = comp.Author[0].Display
	}
	if author == "" {
		author = bp.author()
	}
	title := comp.Title
	if title == "" {
		title = "Patient Summary"
	}
	content, err := compact(b)
	if err != nil {
		return err
	}
	return ix.addDoc(&docRec{id: "ps-" + m, patient: pat, class: "60591-5", title: title, author: author, created: created,
		contentType: "application/fhir+json", kind: "Bundle", content: content})
}

type cdaName struct {
	Given  []string `xml:"given"`
	Family string   `xml:"family"`
}

type cdaHeader struct {
	Title         string `xml:"title"`
	EffectiveTime struct {
		Value string `xml:"value,attr"`
	} `xml:"effectiveTime"`
	IDs []struct {
		Root      string `xml:"root,attr"`
		Extension string `xml:"extension,attr"`
	} `xml:"recordTarget>patientRole>id"`
	Author []struct {
		Person       cdaName `xml:"assignedAuthor>assignedPerson>name"`
		Organization string  `xml:"assignedAuthor>representedOrganization>name"`
	} `xml:"author"`
}

// parseHL7Time reads a CDA TS value.
func parseHL7Time(s string) (time.Time, error) {
	if i := strings.IndexByte(s, '.'); i >= 0 { // drop fractional seconds
		j := i + 1
		for j < len(s) && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		s = s[:i] + s[j:]
	}
	for _, l := range []string{"20060102150405-0700", "20060102150405", "200601021504-0700", "200601021504", "20060102"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an HL7 TS", s)
}

func (ix *index) loadPSCDA(fsys fs.FS, p string) error {
	pat, m, err := ix.patientFromFileName(p)
	if err != nil {
		return err
	}
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return err
	}
	var h cdaHeader
	dec := xml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&h); err != nil {
		return err
	}
	found := false
	for _, id := range h.IDs {
		if id.Root == "1.3.182.4.4" {
			if ix.patientByMatricule(id.Extension) != pat {
				return fmt.Errorf("recordTarget matricule %q does not name patient %s", id.Extension, pat.id)
			}
			found = true
		}
	}
	if !found {
		return errors.New("no recordTarget/patientRole/id[@root='1.3.182.4.4']")
	}
	created, err := parseHL7Time(h.EffectiveTime.Value)
	if err != nil {
		return fmt.Errorf("effectiveTime: %w", err)
	}
	author := ""
	if len(h.Author) > 0 {
		a := h.Author[0]
		author = strings.TrimSpace(strings.Join(append(slices.Clone(a.Person.Given), a.Person.Family), " "))
		if author == "" {
			author = a.Organization
		}
	}
	title := strings.TrimSpace(h.Title)
	if title == "" {
		title = "Résumé patient"
	}
	return ix.addDoc(&docRec{id: "ps-" + m + "-cda", patient: pat, class: "60591-5", title: title, author: author, created: created,
		contentType: "application/xml", kind: "Binary", content: b})
}

type orcdSidecar struct {
	Matricule string `json:"matricule"`
	ClassCode string `json:"classCode"`
	Title     string `json:"title"`
	Created   string `json:"created"`
	Author    string `json:"author"`
}

func (ix *index) loadORCD(fsys fs.FS, p string) error {
	b, err := fs.ReadFile(fsys, p)
	if err != nil {
		return err
	}
	var sc orcdSidecar
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sc); err != nil {
		return err
	}
	pat := ix.patientByMatricule(sc.Matricule)
	if pat == nil {
		return fmt.Errorf("matricule %q is not in patients.json", sc.Matricule)
	}
	switch sc.ClassCode {
	case "11502-2", "18748-4", "34105-7":
	default:
		return fmt.Errorf("classCode %q, want 11502-2, 18748-4 or 34105-7", sc.ClassCode)
	}
	created, err := time.Parse(time.RFC3339, sc.Created)
	if err != nil {
		return fmt.Errorf("created: %w", err)
	}
	if sc.Title == "" {
		return errors.New("empty title")
	}
	pdfPath := strings.TrimSuffix(p, ".json") + ".pdf"
	pdf, err := fs.ReadFile(fsys, pdfPath)
	if err != nil {
		return fmt.Errorf("the PDF beside the sidecar: %w", err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return fmt.Errorf("%s is not a PDF", pdfPath)
	}
	return ix.addDoc(&docRec{id: "orcd-" + stem(p), patient: pat, class: sc.ClassCode, title: sc.Title, author: sc.Author,
		created: created, contentType: "application/pdf", kind: "Binary", content: pdf})
}

func (ix *index) checkORCDPair(fsys fs.FS, p string) error {
	if ix.docs["orcd-"+stem(p)] == nil {
		return errors.New("a PDF without its .json sidecar")
	}
	return nil
}

// documentReference builds the FHIR DocumentReference of d.
func (d *docRec) documentReference() fhirr4.DocumentReference {
	ref := fhirr4.DocumentReference{
		ResourceType: "DocumentReference",
		ID:           d.id,
		Status:       "current",
		Type:         &fhirr4.CodeableConcept{Coding: []fhirr4.Coding{{System: national.SystemLOINC, Code: d.class, Display: classDisplay[d.class]}}},
		Subject:      &fhirr4.Reference{Reference: "Patient/" + d.patient.id, Identifier: &fhirr4.Identifier{System: national.SystemMatricule, Value: d.patient.key}},
		Date:         d.created.Format(time.RFC3339),
		Description:  d.title,
		Content: []fhirr4.DocumentReferenceContent{{Attachment: fhirr4.Attachment{
			ContentType: d.contentType, URL: d.kind + "/" + d.id, Title: d.title, Creation: d.created.Format(time.RFC3339),
		}}},
	}
	if d.author != "" {
		ref.Author = []fhirr4.Reference{{Display: d.author}}
	}
	return ref
}
