package terminology

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// Source files Import reads under the reference directory
// (../shared/reference/terminology).
const (
	srcIndex        = "ehdsi-mvc-index.csv"
	srcArtDecor     = "ehdsi-mvc-artdecor-extra.csv"
	srcATC          = "atc-subset.csv"
	srcICD10        = "icd10-subset.csv"
	srcEDQM         = "edqm-mvc-translations.csv"
	srcCodedElement = "openncp/coded-elements.csv"
)

// MVCDir is the directory under translations/ that Import owns.
const MVCDir = "mvc"

// ImportOptions tunes Import. The zero value imports every value set the PS,
// eP and eD templates bind except DefaultExclude.
type ImportOptions struct {
	// Exclude names value sets (by name) to leave out although bound;
	// nil means DefaultExclude.
	Exclude []string
}

// DefaultExclude leaves out eHDSIRareDisease (7,445 Orphanet concepts, 780 kB
// of JSON): no coded element of coded_element_list binds it, only the PS
// schematron mentions it. Load it through the licensed slot if needed.
var defaultExclude = []string{"eHDSIRareDisease"}

// DefaultExclude returns the value sets Import leaves out by default.
func DefaultExclude() []string { return append([]string(nil), defaultExclude...) }

// Import rebuilds the imported part of translations/ from the reference
// terminology directory src, keeping the curated files named in the current
// translations directory cur (its manifest.json and systems.csv are read).
// It returns the full content of every file it owns (paths relative to
// translations/, all under mvc/ plus manifest.json), deterministically: the
// same input gives the same bytes. Writing the files is the caller's job.
func Import(src, cur fs.FS, opt ImportOptions) (map[string][]byte, error) {
	exclude := opt.Exclude
	if exclude == nil {
		exclude = defaultExclude
	}
	excluded := make(map[string]bool, len(exclude))
	for _, n := range exclude {
		excluded[n] = true
	}

	mb, err := fs.ReadFile(cur, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("import: current manifest: %w", err)
	}
	man, err := ParseManifest(mb)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	sysb, err := fs.ReadFile(cur, "systems.csv")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	systems, err := parseSystems(sysb)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}

	out := map[string][]byte{}
	var files []ManifestFile
	for _, f := range man.Files {
		if f.Origin != OriginImport {
			files = append(files, f)
		}
	}

	// Bindings: coded-elements.csv, normalised (LF, trimmed), source order kept.
	ce, err := readSrc(src, srcCodedElement)
	if err != nil {
		return nil, err
	}
	bound := map[string]bool{}
	ceIdx, err := ce.need("element_path", "valueset_oid")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	ceRows := [][]string{headerOf(ce)}
	for _, r := range ce.rows {
		bound[get(r, ceIdx[1])] = true
		ceRows = append(ceRows, r)
	}
	out[MVCDir+"/coded-elements.csv"] = writeCSV(ceRows)
	files = append(files, ManifestFile{
		File: MVCDir + "/coded-elements.csv", Kind: KindBindings, Origin: OriginImport,
		Source:  "OpenNCP coded_element_list_ehdsi.xml flattened (konateq/openncp commit 13aa12830ea322ccccee848eefc0f6ab24fead3d) via ../shared/reference/terminology/" + srcCodedElement,
		Version: "2024-06-25", Licence: "Apache-2.0 (OpenNCP)", Rows: len(ce.rows),
	})

	// Value sets.
	idx, err := readSrc(src, srcIndex)
	if err != nil {
		return nil, err
	}
	ix, err := idx.need("oid", "name", "cda_codesystem_oids", "artdecor_effective", "used_in_ep", "used_in_ed", "used_in_ps", "in_this_folder")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	var artdecor, atc, icd *table
	for _, r := range idx.rows {
		oid, name, where := get(r, ix[0]), get(r, ix[1]), get(r, ix[7])
		used := bound[oid] || get(r, ix[4]) == "Y" || get(r, ix[5]) == "Y" || get(r, ix[6]) == "Y"
		if !used || excluded[name] || where == "" || where == "no" {
			continue
		}
		cdaOIDs := strings.Fields(get(r, ix[2]))
		var concepts [][3]string // code, system, display
		var source, version string
		switch {
		case strings.HasPrefix(where, "ehdsi-mvc-fhir/"):
			concepts, err = fhirValueSet(src, where, systems, cdaOIDs)
			source = "eHDSI MVC as FHIR ValueSet, hl7-eu/EHDSI-Terminology-package commit 6d9a71a47e8bb68fe3c9dbbcaafbe548d7770eea, ../shared/reference/terminology/" + where
			version = "8.1.0"
		case where == srcArtDecor:
			if artdecor == nil {
				if artdecor, err = readSrc(src, srcArtDecor); err != nil {
					return nil, err
				}
			}
			concepts, err = artdecorValueSet(artdecor, oid)
			source = "eHDSI ART-DECOR runtime epsos-runtime-20240422T073854 (ncez-cz/NCP-exception commit aede8ce440fb97d794cbc70db7627b36bcb12aaa) via ../shared/reference/terminology/" + srcArtDecor
			version = get(r, ix[3])
		case strings.HasPrefix(where, srcATC):
			if atc == nil {
				if atc, err = readSrc(src, srcATC); err != nil {
					return nil, err
				}
			}
			concepts, err = subsetValueSet(atc, "display_en", "2.16.840.1.113883.6.73")
			source = "subset of eHDSIActiveIngredient 8.1.0 (WHO ATC), ../shared/reference/terminology/" + srcATC
			version = "8.1.0 (subset)"
		case strings.HasPrefix(where, srcICD10):
			if icd == nil {
				if icd, err = readSrc(src, srcICD10); err != nil {
					return nil, err
				}
			}
			concepts, err = subsetValueSet(icd, "display_en", "1.3.6.1.4.1.12559.11.10.1.3.1.44.2")
			source = "subset of eHDSIIllnessandDisorder 8.1.0 (WHO ICD-10), ../shared/reference/terminology/" + srcICD10
			version = "8.1.0 (subset)"
		default:
			return nil, fmt.Errorf("import: %s: unknown source %q", name, where)
		}
		if err != nil {
			return nil, fmt.Errorf("import: %s: %w", name, err)
		}
		sort.Slice(concepts, func(i, j int) bool {
			if concepts[i][0] != concepts[j][0] {
				return concepts[i][0] < concepts[j][0]
			}
			return concepts[i][1] < concepts[j][1]
		})
		rows := [][]string{{"code", "system", "display"}}
		sysUsed := map[string]bool{}
		for i, c := range concepts {
			if i > 0 && c[0] == concepts[i-1][0] && c[1] == concepts[i-1][1] {
				continue // duplicate concept in the source
			}
			sysUsed[c[1]] = true
			rows = append(rows, []string{c[0], c[1], c[2]})
		}
		file := MVCDir + "/" + name + ".csv"
		out[file] = writeCSV(rows)
		files = append(files, ManifestFile{
			File: file, Kind: KindValueSet, Origin: OriginImport, ValueSet: oid, Name: name,
			Source: source, Version: version, Licence: licenceFor(sysUsed), Rows: len(rows) - 1,
		})
	}

	// EDQM designations (fr, de, nl, pt); English comes from the MVC.
	ed, err := readSrc(src, srcEDQM)
	if err != nil {
		return nil, err
	}
	ei, err := ed.need("edqm_code", "language", "term")
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	type des struct{ code, lang, term string }
	var ds []des
	for _, r := range ed.rows {
		lang := primaryLang(get(r, ei[1]))
		if lang == "" || lang == "en" || get(r, ei[2]) == "" {
			continue
		}
		ds = append(ds, des{get(r, ei[0]), lang, get(r, ei[2])})
	}
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].code != ds[j].code {
			return ds[i].code < ds[j].code
		}
		if ds[i].lang != ds[j].lang {
			return ds[i].lang < ds[j].lang
		}
		return ds[i].term < ds[j].term
	})
	drows := [][]string{{"system", "code", "lang", "term"}}
	for i, d := range ds {
		if i > 0 && d.code == ds[i-1].code && d.lang == ds[i-1].lang {
			continue // one term per code and language: the first in byte order
		}
		drows = append(drows, []string{oidEDQM, d.code, d.lang, d.term})
	}
	out[MVCDir+"/edqm-designations.csv"] = writeCSV(drows)
	files = append(files, ManifestFile{
		File: MVCDir + "/edqm-designations.csv", Kind: KindDesignations, Origin: OriginImport,
		Source:  "EDQM Standard Terms translations fetched by UNICOM (hl7-eu/unicom-ig commit 3cb12c5015cc33ef8ff1d175a14fd44916afcb45) via ../shared/reference/terminology/" + srcEDQM + "; language tags reduced to the primary subtag (fr-FR → fr)",
		Version: "2022-11", Licence: licEDQM + "; packaging CC0-1.0", Rows: len(drows) - 1,
	})

	man.Files = files
	if man.Format == 0 {
		man.Format = 1
	}
	man.MVCRelease = "8.1.0"
	out["manifest.json"] = man.Marshal()
	return out, nil
}

func readSrc(src fs.FS, name string) (*table, error) {
	b, err := fs.ReadFile(src, name)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	t, err := readTable(name, b, ',')
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return t, nil
}

func headerOf(t *table) []string { return t.head }

// fhirValueSet reads compose.include[].concept[] of a FHIR R4 ValueSet.
func fhirValueSet(src fs.FS, file string, systems *systemTable, cdaOIDs []string) ([][3]string, error) {
	b, err := fs.ReadFile(src, file)
	if err != nil {
		return nil, err
	}
	var vs struct {
		Compose struct {
			Include []struct {
				System  string `json:"system"`
				Concept []struct {
					Code    string `json:"code"`
					Display string `json:"display"`
				} `json:"concept"`
			} `json:"include"`
		} `json:"compose"`
	}
	if err := json.Unmarshal(b, &vs); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out [][3]string
	for _, inc := range vs.Compose.Include {
		oid, ok := systems.oidOf(inc.System)
		if !ok {
			if len(cdaOIDs) != 1 {
				return nil, fmt.Errorf("%s: no CDA OID for system %q (add it to systems.csv)", file, inc.System)
			}
			oid = cdaOIDs[0]
		}
		for _, c := range inc.Concept {
			out = append(out, [3]string{strings.TrimSpace(c.Code), oid, strings.TrimSpace(c.Display)})
		}
	}
	return out, nil
}

func artdecorValueSet(t *table, oid string) ([][3]string, error) {
	ix, err := t.need("valueset_oid", "code", "codesystem_oid", "display")
	if err != nil {
		return nil, err
	}
	var out [][3]string
	for _, r := range t.rows {
		if get(r, ix[0]) == oid {
			out = append(out, [3]string{get(r, ix[1]), get(r, ix[2]), get(r, ix[3])})
		}
	}
	return out, nil
}

func subsetValueSet(t *table, displayCol, system string) ([][3]string, error) {
	ix, err := t.need("code", displayCol)
	if err != nil {
		return nil, err
	}
	out := make([][3]string, 0, len(t.rows))
	for _, r := range t.rows {
		out = append(out, [3]string{get(r, ix[0]), system, get(r, ix[1])})
	}
	return out, nil
}

// primaryLang reduces a BCP 47 tag to its lower-case primary subtag.
func primaryLang(tag string) string {
	tag, _, _ = strings.Cut(tag, "-")
	return strings.ToLower(strings.TrimSpace(tag))
}

// Licence statements per code system owner (see ../shared/reference/terminology/README.md).
const (
	licEDQM   = "EDQM Standard Terms © Council of Europe/EDQM, free of charge, cite EDQM as source"
	licSNOMED = "SNOMED CT © SNOMED International: ids and terms under the Global Patient Set (CC BY-ND 4.0) / IPS Terminology (CC BY 4.0); clinical use needs an affiliate licence"
	licLOINC  = "LOINC © Regenstrief Institute, LOINC licence"
	licUCUM   = "UCUM © Regenstrief Institute, UCUM terms of use"
	licATC    = "ATC © WHO Collaborating Centre for Drug Statistics Methodology: subset only, cite WHOCC, no commercial redistribution"
	licICD10  = "ICD-10 © WHO: subset only"
	licMVC    = "eHDSI MVC, CC0-1.0 (hl7.eu.terminology.ehdsi)"
)

func licenceFor(systems map[string]bool) string {
	var parts []string
	seen := map[string]bool{}
	keys := make([]string, 0, len(systems))
	for s := range systems {
		keys = append(keys, s)
	}
	sort.Strings(keys)
	for _, s := range keys {
		var l string
		switch s {
		case oidEDQM:
			l = licEDQM
		case oidSNOMED:
			l = licSNOMED
		case oidLOINC:
			l = licLOINC
		case oidUCUM:
			l = licUCUM
		case oidATC:
			l = licATC
		case oidICD10:
			l = licICD10
		default:
			l = licMVC
		}
		if !seen[l] {
			seen[l] = true
			parts = append(parts, l)
		}
	}
	return strings.Join(parts, "; ")
}

// cleanRel reports whether name is a clean relative path inside translations/.
func cleanRel(name string) bool {
	return name != "" && fs.ValidPath(name) && path.Clean(name) == name
}
