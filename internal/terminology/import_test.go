package terminology

import (
	"bytes"
	"io/fs"
	"os"
	"path"
	"sort"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/translations"
)

// TestImportReproducesCommittedData re-runs the import on the shared
// reference data and requires the committed translations/ to be exactly its
// output: an MVC update is one command and a reviewable diff, never a hand edit.
func TestImportReproducesCommittedData(t *testing.T) {
	src := os.DirFS(testutil.Shared(t, "reference", "terminology"))
	got, err := Import(src, translations.FS, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range got {
		want, err := fs.ReadFile(translations.FS, name)
		if err != nil {
			t.Errorf("%s: produced by import but not committed: %v", name, err)
			continue
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from the import output: run `luxncp terminology import` from the repository root", name)
		}
	}
	// Nothing stale under mvc/.
	ents, err := fs.ReadDir(translations.FS, MVCDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if _, ok := got[path.Join(MVCDir, e.Name())]; !ok {
			t.Errorf("%s/%s is committed but not produced by import", MVCDir, e.Name())
		}
	}
	// Deterministic: a second run gives the same bytes.
	again, err := Import(src, translations.FS, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for name := range got {
		if !bytes.Equal(got[name], again[name]) {
			t.Errorf("%s: two imports differ", name)
		}
	}
	// Excluding a value set removes its file and manifest entry.
	less, err := Import(src, translations.FS, ImportOptions{Exclude: []string{"eHDSIBodySite", "eHDSIRareDisease"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := less[MVCDir+"/eHDSIBodySite.csv"]; ok {
		t.Error("excluded value set still imported")
	}
}

// TestManifestNamesEveryFile checks that every data file is described (source,
// version, licence) and every described file exists.
func TestManifestNamesEveryFile(t *testing.T) {
	b, err := fs.ReadFile(translations.FS, "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[f.File] = true
		if f.Source == "" || f.Version == "" || f.Licence == "" || (f.Origin != OriginImport && f.Origin != OriginCurated && f.Origin != OriginTranslation) {
			t.Errorf("%s: source, version, licence and origin are required: %+v", f.File, f)
		}
		if f.Origin == OriginTranslation && (f.Attribution == "" || f.Kind != KindDesignations || f.Rows == 0) {
			t.Errorf("%s: a luxncp translation is a designations file with its attribution and row count: %+v", f.File, f)
		}
		if _, err := fs.Stat(translations.FS, f.File); err != nil {
			t.Errorf("%s: %v", f.File, err)
		}
	}
	var files []string
	_ = fs.WalkDir(translations.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path.Ext(p) == ".csv" && path.Dir(p) != "licensed" {
			files = append(files, p)
		}
		return err
	})
	sort.Strings(files)
	for _, f := range files {
		if !listed[f] {
			t.Errorf("%s is not in manifest.json", f)
		}
	}
	if !bytes.Equal(m.Marshal(), b) {
		t.Error("manifest.json is not in canonical form (sorted, indented)")
	}
}
