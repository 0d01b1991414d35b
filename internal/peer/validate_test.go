package peer

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// TestFixturesValidate checks every generated pivot document with the
// shared eHDSI validator (XSD and schematron), in one batch.
func TestFixturesValidate(t *testing.T) {
	if testing.Short() {
		t.Skip("the validator takes seconds")
	}
	dir := t.TempDir()
	var files []string
	for _, cc := range CountryCodes {
		c, _ := Profile(cc)
		for i, p := range c.Patients {
			if p.NoConsent {
				continue
			}
			ps := filepath.Join(dir, cc+"-PS.xml")
			if err := os.WriteFile(ps, BuildPS(c, i, created), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, ps)
			l1, err := BuildL1(BuildPS(c, i, created))
			if err != nil {
				t.Fatal(err)
			}
			psl1 := filepath.Join(dir, cc+"-PS-L1.xml")
			os.WriteFile(psl1, l1, 0o644)
			files = append(files, psl1)
			for k := range p.Prescriptions {
				ep := filepath.Join(dir, fmt.Sprintf("%s-EP-%d.xml", cc, k+1))
				if err := os.WriteFile(ep, BuildEP(c, i, k, created), 0o644); err != nil {
					t.Fatal(err)
				}
				files = append(files, ep)
				epl1, err := BuildL1(BuildEP(c, i, k, created))
				if err != nil {
					t.Fatal(err)
				}
				f := filepath.Join(dir, fmt.Sprintf("%s-EP-%d-L1.xml", cc, k+1))
				os.WriteFile(f, epl1, 0o644)
				files = append(files, f)
			}
		}
	}
	testutil.ValidateCDA(t, files...)
}
