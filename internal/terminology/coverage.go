package terminology

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"text/tabwriter"
)

// MaxDocumentBytes caps one national document read by Coverage.
const MaxDocumentBytes = 32 << 20

// Value set OIDs used to classify codes found in national documents.
const (
	vsProcedure      = "1.3.6.1.4.1.12559.11.10.1.3.1.42.10"
	vsReactionAllerg = "1.3.6.1.4.1.12559.11.10.1.3.1.42.11"
	vsAllergenNoDrug = "1.3.6.1.4.1.12559.11.10.1.3.1.42.19"
	vsVaccine        = "1.3.6.1.4.1.12559.11.10.1.3.1.42.28"
	vsDocumentCode   = "1.3.6.1.4.1.12559.11.10.1.3.1.42.32"
	vsGender         = "1.3.6.1.4.1.12559.11.10.1.3.1.42.34"
	vsConfidential   = "1.3.6.1.4.1.12559.11.10.1.3.1.42.31"
	vsMedicalDevice  = "1.3.6.1.4.1.12559.11.10.1.3.1.42.8"
	// Pseudo value sets for the LU template mappings.
	rowLUSections = "LU section templates"
	rowLUEntries  = "LU entry templates"
)

// Found is one code found in a national document.
type Found struct {
	File    string
	Context string // FHIR path (Resource.element) or CDA element path
	Code    Coding
	// ValueSet is the value set the context binds ("" when the context
	// does not say; the code system decides then).
	ValueSet string
}

// ExtractCodes lists the codes of one national document: a FHIR JSON
// resource or Bundle (.json), or a Luxembourg CDA document (.xml). It is a
// parser of outside input.
func ExtractCodes(name string, b []byte) ([]Found, error) {
	if len(b) > MaxDocumentBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxDocumentBytes)
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".json":
		return extractFHIR(name, b)
	case ".xml":
		return extractCDA(name, b)
	}
	return nil, nil
}

func extractFHIR(name string, b []byte) ([]Found, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Found
	walkFHIR(name, v, "", nil, 0, &out)
	return out, nil
}

// skipFHIR are elements whose codings are not clinical content.
var skipFHIR = map[string]bool{"meta": true, "identifier": true, "text": true, "telecom": true, "extension": true, "modifierExtension": true, "address": true, "name": true}

func walkFHIR(file string, v any, resource string, keys []string, depth int, out *[]Found) {
	if depth > 64 {
		return
	}
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			walkFHIR(file, e, resource, keys, depth+1, out)
		}
	case map[string]any:
		if rt, ok := x["resourceType"].(string); ok {
			resource, keys = rt, nil
		}
		code, _ := x["code"].(string)
		system, _ := x["system"].(string)
		_, isQty := x["value"].(json.Number)
		switch {
		case isQty:
			unit := code
			if unit == "" {
				unit, _ = x["unit"].(string)
				system = ""
			}
			if unit != "" && resource != "" {
				*out = append(*out, Found{File: file, Context: resource + "." + strings.Join(keys, "."), Code: Coding{Code: unit, System: system}, ValueSet: VSUnit})
			}
			return
		case code != "" && system != "":
			disp, _ := x["display"].(string)
			*out = append(*out, Found{File: file, Context: resource + "." + strings.Join(keys, "."), Code: Coding{Code: code, System: system, Display: disp}, ValueSet: fhirHint(resource, keys)})
			return
		}
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if skipFHIR[k] || k == "resourceType" {
				continue
			}
			next := keys
			if k != "coding" && k != "resource" && k != "entry" && k != "contained" {
				next = append(keys[:len(keys):len(keys)], k)
			}
			if k == "entry" || k == "resource" || k == "contained" {
				next = nil
			}
			walkFHIR(file, x[k], resource, next, depth+1, out)
		}
	}
}

func fhirHint(resource string, keys []string) string {
	last := ""
	if len(keys) > 0 {
		last = keys[len(keys)-1]
	}
	first := ""
	if len(keys) > 0 {
		first = keys[0]
	}
	switch {
	case last == "route":
		return VSRoute
	case last == "doseForm" || (resource == "Medication" && first == "form"):
		return VSDoseForm
	case last == "medicationCodeableConcept" || (resource == "Medication" && first == "code") || last == "itemCodeableConcept":
		return VSActiveIngredient
	case resource == "Condition" && first == "code":
		return VSIllnessDisorder
	case resource == "Procedure" && first == "code":
		return vsProcedure
	case resource == "Immunization" && first == "vaccineCode":
		return vsVaccine
	case resource == "AllergyIntolerance" && first == "reaction":
		return vsReactionAllerg
	case resource == "Composition" && first == "section" && last == "code":
		return VSSection
	case resource == "Composition" && first == "type":
		return vsDocumentCode
	case resource == "Device" && first == "type":
		return vsMedicalDevice
	}
	return ""
}

func extractCDA(name string, b []byte) ([]Found, error) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var stack []string
	var out []Found
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			if len(stack) > 256 {
				return nil, fmt.Errorf("%s: elements nested too deep", name)
			}
			var code, system, display, unit, root string
			for _, a := range t.Attr {
				switch a.Name.Local {
				case "code":
					code = a.Value
				case "codeSystem":
					system = a.Value
				case "displayName":
					display = a.Value
				case "unit":
					unit = a.Value
				case "root":
					root = a.Value
				}
			}
			el := t.Name.Local
			ctx := cdaContext(stack)
			parent := ""
			if len(stack) > 1 {
				parent = stack[len(stack)-2]
			}
			switch {
			case el == "templateId" && strings.HasPrefix(root, "1.3.182.11.10.2."):
				out = append(out, Found{File: name, Context: ctx, Code: Coding{Code: root}, ValueSet: rowLUSections})
			case el == "templateId" && strings.HasPrefix(root, "1.3.182.11.10.3."):
				out = append(out, Found{File: name, Context: ctx, Code: Coding{Code: root}, ValueSet: rowLUEntries})
			case el == "translation" || el == "templateId" || el == "id" || el == "languageCode":
			case code != "" && system != "":
				out = append(out, Found{File: name, Context: ctx, Code: Coding{Code: code, System: system, Display: display}, ValueSet: cdaHint(el, parent, stack, system)})
			}
			if unit != "" {
				out = append(out, Found{File: name, Context: ctx + "/@unit", Code: Coding{Code: unit}, ValueSet: VSUnit})
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	return out, nil
}

func cdaContext(stack []string) string {
	if len(stack) <= 3 {
		return "/" + strings.Join(stack, "/")
	}
	return ".../" + strings.Join(stack[len(stack)-3:], "/")
}

func cdaHint(el, parent string, stack []string, system string) string {
	in := func(name string) bool {
		for _, s := range stack {
			if s == name {
				return true
			}
		}
		return false
	}
	switch {
	case el == "routeCode":
		return VSRoute
	case el == "formCode" && parent == "containerPackagedProduct":
		return VSPackage
	case el == "formCode":
		return VSDoseForm
	case el == "code" && parent == "manufacturedMaterial" && in("supply") && !in("substanceAdministration"):
		return vsMedicalDevice
	case el == "code" && parent == "manufacturedMaterial" && system == OIDLUProduct:
		return VSActiveIngredient
	case el == "code" && (parent == "manufacturedMaterial" || parent == "generalizedMaterialKind" || parent == "ingredientSubstance"):
		return VSActiveIngredient
	case el == "code" && parent == "section":
		return VSSection
	case el == "code" && parent == "ClinicalDocument":
		return vsDocumentCode
	case el == "administrativeGenderCode":
		return vsGender
	case el == "confidentialityCode":
		return vsConfidential
	case el == "code" && parent == "procedure":
		return vsProcedure
	case el == "value" && (system == OIDICD10 || system == OIDICD10HL7):
		return VSIllnessDisorder
	case el == "code" && parent == "playingDevice":
		return vsMedicalDevice
	case el == "code" && parent == "playingEntity" && in("act"):
		return vsAllergenNoDrug
	}
	return ""
}

// CoverageReport is the result of Coverage.
type CoverageReport struct {
	Files     int
	Errors    []string // files that could not be parsed
	Rows      []CoverageRow
	Unbound   []UnboundSystem // codes no context or value set claims
	Documents map[string]int  // by kind: fhir, cda
}

// CoverageRow is one value set (or LU template table).
type CoverageRow struct {
	ValueSet string
	Name     string
	Codes    int // distinct codes
	Mapped   int
	Misses   []CoverageMiss
}

// CoverageMiss is one distinct code that does not map.
type CoverageMiss struct {
	Code   Coding
	Reason string
	Count  int
	Files  []string
}

// UnboundSystem counts codes of a system no value set claims.
type UnboundSystem struct {
	System string
	Name   string
	Codes  int
}

// DocumentSet is one directory tree of national documents.
type DocumentSet struct {
	FS   fs.FS
	Root string // directory inside FS ("." for all of it)
	Name string // label for file names in the report ("" = none)
}

// Coverage walks every *.json and *.xml under the sets (any depth) and
// reports, per value set, how many distinct codes map to the MVC and which
// don't. A file that does not parse is listed in Errors, not fatal.
func (c *Catalogue) Coverage(sets ...DocumentSet) (CoverageReport, error) {
	rep := CoverageReport{Documents: map[string]int{}}
	var found []Found
	for _, set := range sets {
		err := fs.WalkDir(set.FS, set.Root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			ext := strings.ToLower(path.Ext(p))
			if d.IsDir() || (ext != ".json" && ext != ".xml") {
				return nil
			}
			b, err := fs.ReadFile(set.FS, p)
			if err != nil {
				return err
			}
			rel := p
			if set.Root != "." {
				rel = strings.TrimPrefix(strings.TrimPrefix(p, set.Root), "/")
			}
			if set.Name != "" {
				rel = path.Join(set.Name, rel)
			}
			f, err := ExtractCodes(rel, b)
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
				return nil
			}
			rep.Files++
			if ext == ".json" {
				rep.Documents["fhir"]++
			} else {
				rep.Documents["cda"]++
			}
			found = append(found, f...)
			return nil
		})
		if err != nil {
			return rep, err
		}
	}
	c.aggregate(&rep, found)
	return rep, nil
}

type covKey struct{ system, code string }

func (c *Catalogue) aggregate(rep *CoverageReport, found []Found) {
	type missAcc struct {
		m     CoverageMiss
		files map[string]bool
	}
	type rowAcc struct {
		row    CoverageRow
		codes  map[covKey]bool
		mapped map[covKey]bool
		misses map[covKey]*missAcc
	}
	rows := map[string]*rowAcc{}
	unbound := map[string]map[string]bool{}
	for _, f := range found {
		vs := f.ValueSet
		if vs == "" {
			vs = c.classify(f.Code)
		}
		if vs == "" {
			sys, _ := c.sysOID(f.Code.System)
			if unbound[sys] == nil {
				unbound[sys] = map[string]bool{}
			}
			unbound[sys][f.Code.Code] = true
			continue
		}
		r := rows[vs]
		if r == nil {
			name := vs
			if v := c.valueSets[vs]; v != nil {
				name = v.name
			}
			r = &rowAcc{row: CoverageRow{ValueSet: vs, Name: name}, codes: map[covKey]bool{}, mapped: map[covKey]bool{}, misses: map[covKey]*missAcc{}}
			rows[vs] = r
		}
		sys, _ := c.sysOID(f.Code.System)
		k := covKey{sys, f.Code.Code}
		r.codes[k] = true
		var reason string
		switch vs {
		case rowLUSections:
			if _, ok := c.Section(f.Code.Code); !ok {
				reason = "no eHDSI section mapping"
			}
		case rowLUEntries:
			if _, ok := c.EntryTemplate(f.Code.Code); !ok {
				reason = "no eHDSI entry template mapping"
			}
		default:
			if _, err := c.Transcode(vs, f.Code); err != nil {
				var m *Miss
				if errors.As(err, &m) {
					reason = string(m.Reason)
				} else {
					reason = err.Error()
				}
			}
		}
		if reason == "" {
			r.mapped[k] = true
			continue
		}
		ma := r.misses[k]
		if ma == nil {
			cd := f.Code
			cd.System = sys
			ma = &missAcc{m: CoverageMiss{Code: cd, Reason: reason}, files: map[string]bool{}}
			r.misses[k] = ma
		}
		ma.m.Count++
		ma.files[f.File] = true
	}
	for _, r := range rows {
		r.row.Codes, r.row.Mapped = len(r.codes), len(r.mapped)
		for _, ma := range r.misses {
			for f := range ma.files {
				ma.m.Files = append(ma.m.Files, f)
			}
			sort.Strings(ma.m.Files)
			r.row.Misses = append(r.row.Misses, ma.m)
		}
		sort.Slice(r.row.Misses, func(i, j int) bool {
			a, b := r.row.Misses[i].Code, r.row.Misses[j].Code
			if a.System != b.System {
				return a.System < b.System
			}
			return a.Code < b.Code
		})
		rep.Rows = append(rep.Rows, r.row)
	}
	sort.Slice(rep.Rows, func(i, j int) bool { return rep.Rows[i].Name < rep.Rows[j].Name })
	for sys, codes := range unbound {
		rep.Unbound = append(rep.Unbound, UnboundSystem{System: sys, Name: c.systems.name[sys], Codes: len(codes)})
	}
	sort.Slice(rep.Unbound, func(i, j int) bool { return rep.Unbound[i].System < rep.Unbound[j].System })
	sort.Strings(rep.Errors)
}

// homeValueSet is the value set a code system's codes target when the
// document context does not say.
var homeValueSet = map[string]string{
	OIDATC: VSActiveIngredient, OIDLUProduct: VSActiveIngredient, OIDICD10: VSIllnessDisorder,
	OIDEDQM: VSDoseForm, OIDUCUM: VSUnit,
}

// classify picks the value set for a code without context: its system's
// home value set, else the first loaded value set (by OID) that contains it.
func (c *Catalogue) classify(code Coding) string {
	sys, _ := c.sysOID(code.System)
	if sys == OIDEDQM {
		for _, vs := range []string{VSDoseForm, VSPackage, VSRoute} {
			if c.Validate(vs, Coding{Code: code.Code, System: sys}) {
				return vs
			}
		}
	}
	if vs, ok := homeValueSet[sys]; ok {
		return vs
	}
	oids := make([]string, 0, len(c.valueSets))
	for oid, vs := range c.valueSets {
		if _, ok := vs.concepts[sc{sys, code.Code}]; ok {
			oids = append(oids, oid)
		}
	}
	sort.Strings(oids)
	if len(oids) > 0 {
		return oids[0]
	}
	return ""
}

// WriteTable renders the report as a readable fixed-width table.
func (r CoverageReport) WriteTable(w io.Writer, title string) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Terminology coverage of %s: %d documents (%d FHIR JSON, %d CDA XML)\n\n", title, r.Files, r.Documents["fhir"], r.Documents["cda"])
	var tw *tabwriter.Writer
	if len(r.Rows) == 0 {
		b.WriteString("no coded elements found\n")
	} else {
		nw := len("VALUE SET")
		for _, row := range r.Rows {
			nw = max(nw, len(row.Name))
		}
		fmt.Fprintf(&b, "%-*s  %6s  %6s  %7s  %8s\n", nw, "VALUE SET", "CODES", "MAPPED", "MISSING", "COVERAGE")
		var tc, tm int
		for _, row := range r.Rows {
			fmt.Fprintf(&b, "%-*s  %6d  %6d  %7d  %7.1f%%\n", nw, row.Name, row.Codes, row.Mapped, row.Codes-row.Mapped, pct(row.Mapped, row.Codes))
			tc += row.Codes
			tm += row.Mapped
		}
		fmt.Fprintf(&b, "%-*s  %6d  %6d  %7d  %7.1f%%\n", nw, "TOTAL", tc, tm, tc-tm, pct(tm, tc))
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	var miss bool
	for _, row := range r.Rows {
		for _, m := range row.Misses {
			if !miss {
				b.WriteString("\nCodes that do not map:\n")
				fmt.Fprintf(tw, "  VALUE SET\tCODE\tSYSTEM\tWHY\tSEEN IN\n")
				miss = true
			}
			sys := m.Code.System
			switch {
			case row.ValueSet == rowLUSections || row.ValueSet == rowLUEntries:
				sys = "templateId"
			case sys == "":
				sys = "(free text)"
			}
			files := m.Files
			more := ""
			if len(files) > 3 {
				files, more = files[:3], fmt.Sprintf(" and %d more", len(m.Files)-3)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%d× %s%s\n", row.Name, m.Code.Code, sys, m.Reason, m.Count, strings.Join(files, ", "), more)
		}
	}
	_ = tw.Flush()
	if len(r.Unbound) > 0 {
		b.WriteString("\nCodes outside any bound value set (kept as they are):\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, u := range r.Unbound {
			name := u.Name
			if name == "" {
				name = "?"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d distinct codes\n", u.System, name, u.Codes)
		}
		_ = tw.Flush()
	}
	if len(r.Errors) > 0 {
		b.WriteString("\nFiles that could not be read:\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "  %s\n", e)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}

func pct(a, b int) float64 {
	if b == 0 {
		return 100
	}
	return float64(a) * 100 / float64(b)
}
