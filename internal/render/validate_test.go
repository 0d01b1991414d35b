package render

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

// TestTranslatedValidates: a translated pivot document is still a valid
// eHDSI document (the original display kept as an HL7 <translation>, in
// schema order, also under pharm: codes) — for peers' PS and eP in German
// and French, and for the PT reference sample.
func TestTranslatedValidates(t *testing.T) {
	if testing.Short() {
		t.Skip("the validator takes seconds")
	}
	cat, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	created := time.Date(2026, 1, 12, 9, 30, 0, 0, time.UTC)
	for _, cc := range []string{"FR", "PT"} {
		c, _ := peer.Profile(cc)
		for _, lang := range []string{"de", "fr"} {
			for i, b := range [][]byte{peer.BuildPS(c, 0, created), peer.BuildEP(c, 0, 0, created)} {
				out, rep, err := Translate(b, cat, lang)
				if err != nil {
					t.Fatal(err)
				}
				if rep.Translated == 0 {
					t.Errorf("%s %s %d: nothing translated", cc, lang, i)
				}
				f := filepath.Join(dir, cc+"-"+lang+"-"+string(rune('0'+i))+".xml")
				os.WriteFile(f, out, 0o644)
				files = append(files, f)
			}
		}
	}
	testutil.ValidateCDA(t, files...)
}
