package terminology

import "sort"

// LookupResult is everything the catalogue knows about one code, for
// operators (`luxncp terminology lookup`).
type LookupResult struct {
	Input       Coding
	System      string // resolved OID
	SystemName  string
	KnownSystem bool
	// In lists the value sets that contain the code itself.
	In []ValueSetHit
	// Transcodes lists the value sets the code maps into.
	Transcodes []MappingHit
	// Displays lists every designation, English (MVC) first, then by language.
	Displays []Designation
	Product  *Product // set for an LU product code
}

// ValueSetHit is one value set containing a code.
type ValueSetHit struct {
	ValueSet, Name, Display string
}

// MappingHit is one mapping of a code into a value set.
type MappingHit struct {
	ValueSet, Name string
	Result         Transcoded
}

// Designation is a display in a language.
type Designation struct {
	Lang, Text string
}

// Lookup gathers what the catalogue knows about a code. system may be an
// OID, urn:oid:, FHIR URI, alias, or "" for free text (units).
func (c *Catalogue) Lookup(system, code string) LookupResult {
	sys, known := c.sysOID(system)
	r := LookupResult{Input: Coding{Code: code, System: system}, System: sys, SystemName: c.systems.name[sys], KnownSystem: known || system == ""}
	oids := make([]string, 0, len(c.valueSets))
	for oid := range c.valueSets {
		oids = append(oids, oid)
	}
	sort.Slice(oids, func(i, j int) bool { return c.valueSets[oids[i]].name < c.valueSets[oids[j]].name })
	for _, oid := range oids {
		vs := c.valueSets[oid]
		if cc, ok := vs.concepts[sc{sys, code}]; ok {
			r.In = append(r.In, ValueSetHit{ValueSet: oid, Name: vs.name, Display: cc.display})
		}
		if m := c.maps[mkey{oid, sys, code}]; m != nil {
			r.Transcodes = append(r.Transcodes, MappingHit{ValueSet: oid, Name: vs.name, Result: Transcoded{MVC: m.mvc, Original: m.original, Path: m.path}})
		} else if m := c.maps[mkey{oid, "", code}]; m != nil && system == "" {
			r.Transcodes = append(r.Transcodes, MappingHit{ValueSet: oid, Name: vs.name, Result: Transcoded{MVC: m.mvc, Original: m.original, Path: m.path}})
		}
	}
	if en, ok := c.english[sc{sys, code}]; ok {
		r.Displays = append(r.Displays, Designation{Lang: "en", Text: en})
	}
	langs := make([]string, 0, len(c.langs))
	for l := range c.langs {
		langs = append(langs, l)
	}
	sort.Strings(langs)
	for _, l := range langs {
		if t, ok := c.designations[tkey{sys, code, l}]; ok {
			r.Displays = append(r.Displays, Designation{Lang: l, Text: t})
		}
	}
	if sys == OIDLUProduct {
		if p, ok := c.Product(code); ok {
			r.Product = &p
		}
	}
	return r
}
