package terminology

import (
	"sort"
	"strings"
)

// sysOID resolves a code system identifier (OID, urn:oid:, FHIR URI, alias)
// to its CDA OID without allocating. Unknown identifiers come back as given.
func (c *Catalogue) sysOID(id string) (string, bool) {
	return c.systems.oidOf(id)
}

// resolveSystem is sysOID plus the rule that an empty system means the value
// set's only system.
func (c *Catalogue) resolveSystem(vs *valueSet, id string) (string, bool) {
	if id == "" {
		if vs != nil && len(vs.systems) == 1 {
			return vs.systems[0], true
		}
		return "", false
	}
	return c.sysOID(id)
}

// CodeSystem resolves a code system identifier (OID, urn:oid:…, FHIR URI or
// alias such as HL7's ICD-10 OID) to the OID eHDSI CDA uses and its name.
func (c *Catalogue) CodeSystem(id string) (oid, name string, ok bool) {
	oid, ok = c.sysOID(id)
	return oid, c.systems.name[oid], ok
}

// Validate reports whether code is in the value set (by OID). The code
// system may be given as OID, urn:oid:, FHIR URI or known alias, or left
// empty when the value set has a single code system.
func (c *Catalogue) Validate(valueSet string, code Coding) bool {
	vs := c.valueSets[valueSet]
	if vs == nil {
		return false
	}
	sys, _ := c.resolveSystem(vs, code.System)
	_, ok := vs.concepts[sc{sys, code.Code}]
	return ok
}

// Display returns the English MVC display of code in the value set.
func (c *Catalogue) Display(valueSet, code string) (string, bool) {
	vs := c.valueSets[valueSet]
	if vs == nil {
		return "", false
	}
	for _, s := range vs.systems {
		if cc, ok := vs.concepts[sc{s, code}]; ok {
			return cc.display, true
		}
	}
	return "", false
}

// Transcode maps code to the value set: a code already in the value set is
// returned with its English MVC display (its system normalised, e.g. ICD-10
// under 2.16.840.1.113883.6.3 comes back under the eHDSI OID
// 1.3.6.1.4.1.12559.11.10.1.3.1.44.2, Original zero); a national code
// (LU product, SNOMED CT route, free-text unit…) is mapped, with the input
// kept in Original for <translation>. The error is always a *Miss.
// Transcoded.Path is shared: do not modify it.
func (c *Catalogue) Transcode(valueSet string, code Coding) (Transcoded, error) {
	vs := c.valueSets[valueSet]
	if vs == nil {
		return Transcoded{}, &Miss{Reason: MissUnknownValueSet, ValueSet: valueSet, Code: code}
	}
	if code.Code == "" {
		return Transcoded{}, c.miss(MissEmptyCode, vs, code)
	}
	sys, known := c.resolveSystem(vs, code.System)
	if cc, ok := vs.concepts[sc{sys, code.Code}]; ok {
		t := Transcoded{MVC: Coding{Code: code.Code, System: sys, SystemName: cc.systemName, Display: cc.display}}
		if sys != code.System && code.System != "" {
			t.Path = c.aliasPath[code.System]
		}
		return t, nil
	}
	m := c.maps[mkey{vs.oid, sys, code.Code}]
	if m == nil && sys != "" {
		// free-text sources (national units) have no code system
		m = c.maps[mkey{vs.oid, "", code.Code}]
	}
	if m != nil {
		orig := m.original
		if code.Display != "" && code.Display != orig.Display {
			orig.Display = code.Display // keep the caller's text (allocation-free: same string)
		}
		return Transcoded{MVC: m.mvc, Original: orig, Path: m.path}, nil
	}
	cd := code
	cd.System = sys
	switch {
	case !known && code.System != "":
		return Transcoded{}, c.miss(MissUnknownSystem, vs, cd)
	case code.System == "" && !vs.hasMappings:
		return Transcoded{}, c.miss(MissNotInValueSet, vs, cd)
	case code.System == "":
		cd.System = ""
		return Transcoded{}, c.miss(MissNoMapping, vs, cd)
	case containsString(vs.systems, sys):
		return Transcoded{}, c.miss(MissNotInValueSet, vs, cd)
	default:
		return Transcoded{}, c.miss(MissNoMapping, vs, cd)
	}
}

func (c *Catalogue) miss(r MissReason, vs *valueSet, code Coding) *Miss {
	return &Miss{Reason: r, ValueSet: vs.oid, ValueSetName: vs.name, Code: code}
}

func containsString(s []string, v string) bool {
	i := sort.SearchStrings(s, v)
	return i < len(s) && s[i] == v
}

// Translate returns code's display in the first available language of
// langs, trying each tag and then its parents (de-LU → de), and English (the
// MVC display) last. Translated.Lang is the language actually used and
// Fallback is true when it is not the first one asked for. ok is false when
// no display exists at all (Text is then code.Display).
func (c *Catalogue) Translate(code Coding, langs ...string) (Translated, bool) {
	sys, _ := c.sysOID(code.System)
	first := ""
	for _, l := range langs {
		if !isCanonLang(l) {
			l = canonLang(l)
		}
		if first == "" {
			first = l
		}
		for t := l; t != ""; t = parentLang(t) {
			if s, ok := c.designations[tkey{sys, code.Code, t}]; ok {
				return Translated{Text: s, Lang: t, Fallback: t != first}, true
			}
			if t == "en" {
				if s, ok := c.english[sc{sys, code.Code}]; ok {
					return Translated{Text: s, Lang: "en", Fallback: first != "en"}, true
				}
			}
		}
	}
	if s, ok := c.english[sc{sys, code.Code}]; ok {
		return Translated{Text: s, Lang: "en", Fallback: first != "" && first != "en"}, true
	}
	if s, ok := c.designations[tkey{sys, code.Code, "en"}]; ok {
		return Translated{Text: s, Lang: "en", Fallback: first != "" && first != "en"}, true
	}
	return Translated{Text: code.Display}, false
}

// Languages lists the languages with designations and how many each has.
func (c *Catalogue) Languages() map[string]int {
	out := make(map[string]int, len(c.langs))
	for k, v := range c.langs {
		out[k] = v
	}
	return out
}

// Binding returns the value set and usage of element in a document type.
// element is the XPath exactly as in coded_element_list (coded-elements.csv).
// An element the list marks NA for doc comes back with UsageNotAllowed.
func (c *Catalogue) Binding(doc DocType, element string) (Binding, bool) {
	b, ok := c.bindings[bkey{doc, element}]
	return b, ok
}

// Bindings lists the bindings of a document type in the list's order.
func (c *Catalogue) Bindings(doc DocType) []Binding {
	return append([]Binding(nil), c.bindingList[doc]...)
}

// Resolve applies the eHDSI transcoding policy to one coded element:
// transcodable → OK; R and untranscodable → a *Miss naming element and code
// (ERROR_REQUIRED_CODED_ELEMENT_NOT_TRANSCODED); RNFA → NullFlavor OTH with
// OriginalText; O → Omit (or NullFlavor, the caller's choice); NA → a *Miss.
func (c *Catalogue) Resolve(doc DocType, element string, code Coding) (Resolved, error) {
	b, ok := c.bindings[bkey{doc, element}]
	if !ok {
		return Resolved{}, &Miss{Reason: MissUnknownElement, Code: code, Element: element, Doc: doc}
	}
	r := Resolved{Binding: b}
	if b.Usage == UsageNotAllowed {
		r.Omit = true
		r.Miss = &Miss{Reason: MissNotAllowed, ValueSet: b.ValueSet, ValueSetName: b.Name, Code: code, Element: element, Usage: b.Usage, Doc: doc}
		return r, r.Miss
	}
	t, err := c.Transcode(b.ValueSet, code)
	if err == nil {
		r.Coded, r.OK = t, true
		return r, nil
	}
	m := err.(*Miss)
	m.Element, m.Usage, m.Doc = element, b.Usage, doc
	r.Miss = m
	switch b.Usage {
	case UsageRequired:
		return r, m
	case UsageRNFA:
		r.NullFlavor, r.OriginalText = "OTH", code.Display
	default:
		r.NullFlavor, r.OriginalText, r.Omit = "OTH", code.Display, true
	}
	return r, nil
}

// Product returns the Luxembourg medicinal product with the 10-digit code.
func (c *Catalogue) Product(luCode string) (Product, bool) {
	p, ok := c.products[luCode]
	if !ok {
		return Product{}, false
	}
	return *p, true
}

// ProductCodes lists the known LU product codes, sorted.
func (c *Catalogue) ProductCodes() []string { return append([]string(nil), c.productCodes...) }

// Section maps a Luxembourg national section templateId (1.3.182.11.10.2.x).
func (c *Catalogue) Section(luTemplateID string) (Section, bool) {
	s, ok := c.sections[luTemplateID]
	return s, ok
}

// EntryTemplate maps a Luxembourg national entry templateId
// (1.3.182.11.10.3.x) to the eHDSI entry template OID.
func (c *Catalogue) EntryTemplate(luTemplateID string) (string, bool) {
	s, ok := c.entries[luTemplateID]
	return s, ok
}

// ValueSetOID returns the OID of a value set given by name (eHDSIDoseForm)
// or OID.
func (c *Catalogue) ValueSetOID(nameOrOID string) (oid, name string, ok bool) {
	vs := c.byName[nameOrOID]
	if vs == nil {
		vs = c.valueSets[nameOrOID]
	}
	if vs == nil {
		return "", "", false
	}
	return vs.oid, vs.name, true
}

// ValueSets lists the loaded value sets as OID → name.
func (c *Catalogue) ValueSets() map[string]string {
	out := make(map[string]string, len(c.valueSets))
	for oid, vs := range c.valueSets {
		out[oid] = vs.name
	}
	return out
}

// isCanonLang reports whether tag is already in the canonical case
// (language lower, region upper, script title), so lookups need no copy.
func isCanonLang(tag string) bool {
	for i, part := 0, 0; i < len(tag); part++ {
		j := strings.IndexByte(tag[i:], '-')
		if j < 0 {
			j = len(tag) - i
		}
		sub := tag[i : i+j]
		if sub == "" {
			return false
		}
		for k := 0; k < len(sub); k++ {
			ch := sub[k]
			up := ch >= 'A' && ch <= 'Z'
			lo := ch >= 'a' && ch <= 'z'
			switch {
			case part == 0 || (len(sub) != 2 && len(sub) != 4):
				if up {
					return false
				}
			case len(sub) == 2:
				if lo {
					return false
				}
			case len(sub) == 4:
				if (k == 0 && lo) || (k > 0 && up) {
					return false
				}
			}
			if ch == '_' || ch == ' ' {
				return false
			}
		}
		i += j + 1
		if i == len(tag)+1 {
			break
		}
	}
	return tag != "" && tag[len(tag)-1] != '-'
}

// canonLang returns a BCP 47 tag in canonical case: "DE_lu" → "de-LU".
func canonLang(tag string) string {
	tag = strings.TrimSpace(strings.ReplaceAll(tag, "_", "-"))
	parts := strings.Split(tag, "-")
	out := parts[:0]
	for i, p := range parts {
		if p == "" {
			continue
		}
		switch {
		case i == 0:
			p = strings.ToLower(p)
		case len(p) == 2:
			p = strings.ToUpper(p)
		case len(p) == 4:
			p = strings.ToUpper(p[:1]) + strings.ToLower(p[1:])
		default:
			p = strings.ToLower(p)
		}
		out = append(out, p)
	}
	return strings.Join(out, "-")
}

// parentLang drops the last subtag: de-LU → de → "".
func parentLang(tag string) string {
	if i := strings.LastIndexByte(tag, '-'); i > 0 {
		return tag[:i]
	}
	return ""
}
