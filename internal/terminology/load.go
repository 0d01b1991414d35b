package terminology

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/luxncp/luxncp/translations"
)

// sc is a (code system OID, code) key.
type sc struct{ system, code string }

// tkey is a designation key.
type tkey struct{ system, code, lang string }

// mkey is a mapping key: source code into a target value set.
type mkey struct{ valueSet, system, code string }

// bkey is a binding key.
type bkey struct {
	doc     DocType
	element string
}

type concept struct {
	display    string
	systemName string
}

type valueSet struct {
	oid, name string
	systems   []string // distinct code systems, sorted
	concepts  map[sc]concept
	// hasMappings is true when a mapping file targets this value set.
	hasMappings bool
}

type mapping struct {
	mvc      Coding
	original Coding
	path     []string
}

// Catalogue is the loaded terminology: immutable after Load, safe for
// concurrent use, every lookup O(1).
type Catalogue struct {
	manifest     Manifest
	systems      *systemTable
	valueSets    map[string]*valueSet // by OID
	byName       map[string]*valueSet
	english      map[sc]string
	designations map[tkey]string
	langs        map[string]int // language → designation count
	maps         map[mkey]*mapping
	bindings     map[bkey]Binding
	bindingList  map[DocType][]Binding
	products     map[string]*Product
	productCodes []string
	sections     map[string]Section
	entries      map[string]string
	aliasPath    map[string][]string // input system id → path note when it was an alias
	problems     []string
	licensedRows int
	// ingredientCount is lu-products.csv's ingredient_count, checked
	// against lu-product-ingredients.csv.
	ingredientCount map[string]string
}

// Load parses the embedded translations/ data, including any licensed CTS
// exports embedded under translations/licensed/. Call it once and keep the
// result.
func Load() (*Catalogue, error) { return LoadFS(translations.FS, nil) }

// LoadLicensedDir is Load plus the licensed CTS exports in dir (the
// directory named by $LUXNCP_TERMINOLOGY_LICENSED_DIR); dir "" means none.
func LoadLicensedDir(dir string) (*Catalogue, error) {
	if dir == "" {
		return Load()
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("terminology: licensed translations: %w", err)
	}
	return LoadFS(translations.FS, os.DirFS(dir))
}

// LoadFS loads data laid out like translations/ (manifest.json first) and,
// when licensed is not nil, the CTS export files at its top level.
func LoadFS(data, licensed fs.FS) (*Catalogue, error) {
	mb, err := fs.ReadFile(data, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("terminology: %w", err)
	}
	man, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("terminology: %w", err)
	}
	c := &Catalogue{
		manifest:     man,
		valueSets:    map[string]*valueSet{},
		byName:       map[string]*valueSet{},
		english:      make(map[sc]string, 16384),
		designations: make(map[tkey]string, 4096),
		langs:        map[string]int{},
		maps:         map[mkey]*mapping{},
		bindings:     map[bkey]Binding{},
		bindingList:  map[DocType][]Binding{},
		products:     map[string]*Product{},
		sections:     map[string]Section{},
		entries:      map[string]string{},
		aliasPath:    map[string][]string{},
	}
	// Files in dependency order: systems, value sets, then the rest.
	order := map[string]int{KindSystems: 0, KindValueSet: 1, KindDesignations: 2, KindBindings: 2, KindMapping: 3, KindSections: 3, KindEntries: 3, KindProducts: 3, KindIngredients: 4}
	files := append([]ManifestFile(nil), man.Files...)
	sort.SliceStable(files, func(i, j int) bool { return order[files[i].Kind] < order[files[j].Kind] })
	if len(files) == 0 || files[0].Kind != KindSystems {
		return nil, fmt.Errorf("terminology: manifest.json lists no systems file")
	}
	for _, f := range files {
		if !cleanRel(f.File) {
			return nil, fmt.Errorf("terminology: manifest.json: bad file name %q", f.File)
		}
		b, err := fs.ReadFile(data, f.File)
		if err != nil {
			return nil, fmt.Errorf("terminology: %w", err)
		}
		if err := c.loadFile(f, b); err != nil {
			return nil, fmt.Errorf("terminology: %s: %w", f.File, err)
		}
	}
	// Licensed CTS exports: embedded slot first, then the external directory.
	if err := c.loadLicensed(data, "licensed"); err != nil {
		return nil, err
	}
	if licensed != nil {
		if err := c.loadLicensed(licensed, "."); err != nil {
			return nil, err
		}
	}
	c.check()
	return c, nil
}

func (c *Catalogue) loadFile(f ManifestFile, b []byte) error {
	if f.Kind == KindSystems {
		st, err := parseSystems(b)
		if err != nil {
			return err
		}
		c.systems = st
		for id, oid := range st.canon {
			if id != oid && !strings.HasPrefix(id, "urn:oid:") {
				c.aliasPath[id] = []string{"code system " + id + " → " + oid}
			}
		}
		return nil
	}
	t, err := readTable(f.File, b, ',')
	if err != nil {
		return err
	}
	switch f.Kind {
	case KindValueSet:
		return c.loadValueSet(f, t)
	case KindDesignations:
		ix, err := t.need("system", "code", "lang", "term")
		if err != nil {
			return err
		}
		for _, r := range t.rows {
			c.addDesignation(get(r, ix[0]), get(r, ix[1]), get(r, ix[2]), get(r, ix[3]))
		}
	case KindBindings:
		return c.loadBindings(t)
	case KindMapping:
		return c.loadMapping(f, t)
	case KindSections:
		ix, err := t.need("lu_template_id", "loinc_code", "ehdsi_section_template_id", "ehdsi_section_name")
		if err != nil {
			return err
		}
		for _, r := range t.rows {
			code := get(r, ix[1])
			disp, _ := c.Display(VSSection, code)
			c.sections[get(r, ix[0])] = Section{
				LUTemplateID: get(r, ix[0]),
				Code:         Coding{Code: code, System: OIDLOINC, SystemName: c.systems.name[OIDLOINC], Display: disp},
				TemplateID:   get(r, ix[2]),
				Name:         get(r, ix[3]),
			}
			if disp == "" {
				c.problemf("%s: section code %s not in eHDSISection", f.File, code)
			}
		}
	case KindEntries:
		ix, err := t.need("lu_template_id", "ehdsi_template_id")
		if err != nil {
			return err
		}
		for _, r := range t.rows {
			c.entries[get(r, ix[0])] = get(r, ix[1])
		}
	case KindProducts:
		return c.loadProducts(f, t)
	case KindIngredients:
		return c.loadIngredients(f, t)
	default:
		return fmt.Errorf("unknown kind %q", f.Kind)
	}
	return nil
}

func (c *Catalogue) loadValueSet(f ManifestFile, t *table) error {
	if f.ValueSet == "" || f.Name == "" {
		return fmt.Errorf("valueset file needs valueSet and name in the manifest")
	}
	ix, err := t.need("code", "system", "display")
	if err != nil {
		return err
	}
	vs := c.valueSet(f.ValueSet, f.Name)
	if len(vs.concepts) == 0 {
		vs.concepts = make(map[sc]concept, len(t.rows))
	}
	for _, r := range t.rows {
		c.addConcept(vs, get(r, ix[1]), get(r, ix[0]), get(r, ix[2]))
	}
	return nil
}

// valueSet returns the value set with oid, creating it.
func (c *Catalogue) valueSet(oid, name string) *valueSet {
	vs := c.valueSets[oid]
	if vs == nil {
		vs = &valueSet{oid: oid, name: name, concepts: map[sc]concept{}}
		c.valueSets[oid] = vs
		if name != "" {
			c.byName[name] = vs
		}
	}
	return vs
}

func (c *Catalogue) addConcept(vs *valueSet, system, code, display string) {
	if code == "" {
		return
	}
	system, _ = c.systems.oidOf(system)
	k := sc{system, code}
	vs.concepts[k] = concept{display: display, systemName: c.systems.name[system]}
	if _, ok := c.english[k]; !ok && display != "" {
		c.english[k] = display
	}
	i := sort.SearchStrings(vs.systems, system)
	if i == len(vs.systems) || vs.systems[i] != system {
		vs.systems = append(vs.systems, "")
		copy(vs.systems[i+1:], vs.systems[i:])
		vs.systems[i] = system
	}
}

func (c *Catalogue) addDesignation(system, code, lang, term string) {
	if code == "" || term == "" {
		return
	}
	lang = canonLang(lang)
	if lang == "" {
		return
	}
	system, _ = c.systems.oidOf(system)
	k := tkey{system, code, lang}
	if _, ok := c.designations[k]; !ok {
		c.langs[lang]++
	}
	c.designations[k] = term
}

func (c *Catalogue) loadBindings(t *table) error {
	ix, err := t.need("element_path", "valueset_oid", "valueset_name")
	if err != nil {
		return err
	}
	docs := []struct {
		col string
		doc DocType
	}{{"patientSummaryCDAl3", DocPS}, {"ePrescriptionCDAl3", DocEP}, {"eDispensationCDAl3", DocED}, {"patientSummaryCDAl1pdf", DocPSL1}, {"ePrescriptionCDAl1pdf", DocEPL1}}
	for _, r := range t.rows {
		for _, d := range docs {
			u := Usage(get(r, t.col(d.col)))
			if u == "" {
				continue
			}
			b := Binding{Element: get(r, ix[0]), ValueSet: get(r, ix[1]), Name: get(r, ix[2]), Usage: u}
			k := bkey{d.doc, b.Element}
			if old, ok := c.bindings[k]; ok {
				// The list repeats some elements; the strictest usage wins.
				if strictness(old.Usage) >= strictness(u) {
					continue
				}
				c.bindings[k] = b
				for i := range c.bindingList[d.doc] {
					if c.bindingList[d.doc][i].Element == b.Element {
						c.bindingList[d.doc][i] = b
					}
				}
				continue
			}
			c.bindings[k] = b
			c.bindingList[d.doc] = append(c.bindingList[d.doc], b)
		}
	}
	return nil
}

func strictness(u Usage) int {
	switch u {
	case UsageRequired:
		return 3
	case UsageRNFA:
		return 2
	case UsageOptional:
		return 1
	}
	return 0
}

func (c *Catalogue) loadMapping(f ManifestFile, t *table) error {
	ix, err := t.need("source_code", "source_display", "target_code", "target_display")
	if err != nil {
		return err
	}
	vs := c.valueSets[f.ValueSet]
	if vs == nil {
		return fmt.Errorf("mapping into unknown value set %q", f.ValueSet)
	}
	src, _ := c.systems.oidOf(f.SourceSystem)
	vs.hasMappings = true
	for _, r := range t.rows {
		code, tcode := get(r, ix[0]), get(r, ix[2])
		if code == "" || tcode == "" {
			continue
		}
		mvc, ok := c.lookupAny(vs, tcode)
		if !ok {
			c.problemf("%s: target %s not in %s", f.File, tcode, vs.name)
			continue
		}
		orig := Coding{Code: code, System: src, SystemName: c.systems.name[src], Display: get(r, ix[1])}
		label := code
		if src != "" {
			label = c.systemLabel(src) + " " + code
		}
		c.maps[mkey{vs.oid, src, code}] = &mapping{
			mvc: mvc, original: orig,
			path: []string{label + " " + orig.Display, path.Base(f.File) + " → " + vs.name + " " + mvc.Code + " " + mvc.Display},
		}
		if src != "" && orig.Display != "" {
			k := sc{src, code}
			if _, ok := c.english[k]; !ok {
				c.english[k] = orig.Display
			}
		}
	}
	return nil
}

func (c *Catalogue) systemLabel(oid string) string {
	if n := c.systems.name[oid]; n != "" {
		return n
	}
	return oid
}

// lookupAny finds code in vs under any of its systems.
func (c *Catalogue) lookupAny(vs *valueSet, code string) (Coding, bool) {
	for _, s := range vs.systems {
		if cc, ok := vs.concepts[sc{s, code}]; ok {
			return Coding{Code: code, System: s, SystemName: cc.systemName, Display: cc.display}, true
		}
	}
	return Coding{}, false
}

func (c *Catalogue) loadProducts(f ManifestFile, t *table) error {
	ix, err := t.need("lu_code", "name", "atc_code", "dose_form_edqm", "package_edqm", "route_edqm", "strength_value", "strength_unit", "source", "ingredient_count")
	if err != nil {
		return err
	}
	sys := OIDLUProduct
	targets := []struct {
		vs  string
		col int
		set func(p *Product, cd Coding)
	}{
		{VSActiveIngredient, ix[2], func(p *Product, cd Coding) { p.ATC = cd }},
		{VSDoseForm, ix[3], func(p *Product, cd Coding) { p.DoseForm = cd }},
		{VSPackage, ix[4], func(p *Product, cd Coding) { p.Package = cd }},
		{VSRoute, ix[5], func(p *Product, cd Coding) { p.Route = cd }},
	}
	for _, r := range t.rows {
		code := get(r, ix[0])
		p := &Product{
			Code:      Coding{Code: code, System: sys, SystemName: c.systems.name[sys], Display: get(r, ix[1])},
			Name:      get(r, ix[1]),
			Strength:  Quantity{Value: get(r, ix[6]), Unit: get(r, ix[7])},
			Synthetic: get(r, ix[8]) == "synthetic",
		}
		if _, dup := c.products[code]; dup {
			c.problemf("%s: product %s listed twice", f.File, code)
		}
		for _, tg := range targets {
			tc := get(r, tg.col)
			if tc == "" {
				continue // no mapping (the one product without ATC)
			}
			vs := c.valueSets[tg.vs]
			if vs == nil {
				return fmt.Errorf("value set %s not loaded", tg.vs)
			}
			mvc, ok := c.lookupAny(vs, tc)
			if !ok {
				c.problemf("%s: product %s: %s not in %s", f.File, code, tc, vs.name)
				continue
			}
			tg.set(p, mvc)
			c.maps[mkey{tg.vs, sys, code}] = &mapping{
				mvc: mvc, original: p.Code,
				path: []string{"LU product " + code + " " + p.Name, "lu-products.csv → " + vs.name + " " + mvc.Code + " " + mvc.Display},
			}
		}
		c.products[code] = p
		if c.ingredientCount == nil {
			c.ingredientCount = map[string]string{}
		}
		c.ingredientCount[code] = get(r, ix[9])
		c.productCodes = append(c.productCodes, code)
	}
	sort.Strings(c.productCodes)
	return nil
}

func (c *Catalogue) loadIngredients(f ManifestFile, t *table) error {
	ix, err := t.need("lu_code", "seq", "substance", "atc_code", "strength_value", "strength_unit")
	if err != nil {
		return err
	}
	atc := c.valueSets[VSActiveIngredient]
	for _, r := range t.rows {
		p := c.products[get(r, ix[0])]
		if p == nil {
			c.problemf("%s: ingredient of unknown product %s", f.File, get(r, ix[0]))
			continue
		}
		in := Ingredient{Name: get(r, ix[2]), Strength: Quantity{Value: get(r, ix[4]), Unit: get(r, ix[5])}}
		if a := get(r, ix[3]); a != "" && atc != nil {
			if cd, ok := c.lookupAny(atc, a); ok {
				in.ATC = cd
			} else {
				c.problemf("%s: ingredient ATC %s not in eHDSIActiveIngredient", f.File, a)
			}
		}
		p.Ingredients = append(p.Ingredients, in)
	}
	return nil
}

// check records data inconsistencies that don't stop loading (tests assert
// there are none).
func (c *Catalogue) check() {
	for _, code := range c.productCodes {
		p := c.products[code]
		if want := c.ingredientCount[code]; want != strconv.Itoa(len(p.Ingredients)) {
			c.problemf("product %s: ingredient_count %s but %d ingredient rows", code, want, len(p.Ingredients))
		}
	}
	for doc, bs := range c.bindingList {
		for _, b := range bs {
			if b.Usage != UsageNotAllowed && c.valueSets[b.ValueSet] == nil {
				c.problemf("binding %s %s: value set %s (%s) not loaded", doc, b.Element, b.Name, b.ValueSet)
			}
		}
	}
	sort.Strings(c.problems)
}

func (c *Catalogue) problemf(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// Problems lists inconsistencies found while loading (a mapping target
// missing from its value set, a binding to a value set not loaded…). Empty
// for the embedded data; a test keeps it so.
func (c *Catalogue) Problems() []string { return append([]string(nil), c.problems...) }

// Manifest returns the manifest the catalogue was loaded from.
func (c *Catalogue) Manifest() Manifest { return c.manifest }
