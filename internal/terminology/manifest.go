package terminology

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// File kinds named in translations/manifest.json.
const (
	KindValueSet     = "valueset"     // code,system,display — the concepts of one MVC value set
	KindDesignations = "designations" // system,code,lang,term — display translations
	KindBindings     = "bindings"     // coded-elements.csv: element → value set, usage per document
	KindSystems      = "systems"      // oid,name,uri,aliases — code system identifiers
	KindProducts     = "products"     // lu-products.csv
	KindIngredients  = "ingredients"  // lu-product-ingredients.csv
	KindMapping      = "mapping"      // source_code,source_display,target_code,target_display
	KindSections     = "sections"     // LU section template → eHDSI section
	KindEntries      = "entries"      // LU entry template → eHDSI entry template
)

// Origins of a manifest file.
const (
	OriginImport  = "import"  // written by Import; never edit by hand
	OriginCurated = "curated" // hand-curated data, reviewed like code
	// OriginTranslation marks displays luxncp wrote itself in a language the
	// code system's owner does not publish (where its licence permits
	// translation); Attribution then names the owner and the licence.
	OriginTranslation = "luxncp-translation"
)

// Manifest is translations/manifest.json.
type Manifest struct {
	Format     int            `json:"format"`
	MVCRelease string         `json:"mvcRelease"`
	Files      []ManifestFile `json:"files"`
}

// ManifestFile describes one data file: what it holds, where it comes from,
// its version and licence.
type ManifestFile struct {
	File   string `json:"file"`
	Kind   string `json:"kind"`
	Origin string `json:"origin"`
	// ValueSet and Name identify the value set of a valueset file, or the
	// target value set of a mapping file.
	ValueSet string `json:"valueSet,omitempty"`
	Name     string `json:"name,omitempty"`
	// SourceSystem is the code system OID of a mapping's source codes
	// ("" for free text, e.g. national units).
	SourceSystem string `json:"sourceSystem,omitempty"`
	Source       string `json:"source"`
	Version      string `json:"version"`
	Licence      string `json:"licence"`
	Synthetic    bool   `json:"synthetic,omitempty"`
	// Attribution is the notice the licence asks for (luxncp-translation
	// files and any source that requires one).
	Attribution string `json:"attribution,omitempty"`
	Rows        int    `json:"rows,omitempty"`
	Notes       string `json:"notes,omitempty"`
}

// ParseManifest decodes manifest.json.
func ParseManifest(b []byte) (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fmt.Errorf("manifest.json: %w", err)
	}
	seen := make(map[string]bool, len(m.Files))
	for _, f := range m.Files {
		if f.File == "" || f.Kind == "" {
			return Manifest{}, fmt.Errorf("manifest.json: entry without file or kind: %+v", f)
		}
		if seen[f.File] {
			return Manifest{}, fmt.Errorf("manifest.json: %s listed twice", f.File)
		}
		seen[f.File] = true
	}
	return m, nil
}

// Marshal encodes the manifest deterministically (files sorted by name,
// two-space indentation, trailing newline).
func (m Manifest) Marshal() []byte {
	files := append([]ManifestFile(nil), m.Files...)
	sort.Slice(files, func(i, j int) bool { return files[i].File < files[j].File })
	m.Files = files
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil { // cannot happen: plain strings and ints
		panic(err)
	}
	return append(b, '\n')
}
