package cda

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
)

var (
	catOnce sync.Once
	cat     *terminology.Catalogue
	catErr  error
)

func catalogue(t testing.TB) *terminology.Catalogue {
	t.Helper()
	catOnce.Do(func() { cat, catErr = terminology.Load() })
	if catErr != nil {
		t.Fatal(catErr)
	}
	return cat
}

// testNCP is the custodian of generated documents in tests.
var testNCP = Organization{
	IDs:      []II{{Root: ehdsi.HomeCommunityLU}},
	Name:     "Agence eHealth Luxembourg - NCPeH",
	Telecoms: []Telecom{{Use: "WP", Value: "mailto:ncpeh@example.lu"}},
	Addr:     Address{Lines: []string{"125, route d'Esch"}, City: "Luxembourg", PostalCode: "L-1471", Country: "LU"},
}

func epOpts(t testing.TB, id, suffix string) EPOptions {
	return EPOptions{
		DocumentID:    II{Root: ehdsi.HomeCommunityLU, Extension: id + "." + suffix},
		EffectiveTime: time.Date(2026, 11, 24, 9, 30, 0, 0, time.FixedZone("CET", 3600)),
		Custodian:     testNCP,
		Terminology:   catalogue(t),
	}
}

func readFixture(t testing.TB, id string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtureDir(t), id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureIDs(t testing.TB) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(fixtureDir(t), "*.json"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	var ids []string
	for _, p := range m {
		ids = append(ids, strings.TrimSuffix(filepath.Base(p), ".json"))
	}
	sort.Strings(ids)
	return ids
}

// TestEPConformance builds L3 and L1 for every transformable fixture and
// validates them all in one validate-cda call.
func TestEPConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("validate-cda takes seconds")
	}
	dir := t.TempDir()
	if d := os.Getenv("LUXNCP_CDA_OUT"); d != "" {
		dir = d
	}
	var files []string
	skipped := 0
	for _, id := range fixtureIDs(t) {
		b := readFixture(t, id)
		l3, err := BuildEP(b, epOpts(t, id, "L3"))
		if errors.Is(err, ErrNoRenderableItem) {
			skipped++
			continue
		}
		if err != nil {
			t.Fatalf("%s L3: %v", id, err)
		}
		l1, err := BuildEPL1(b, epOpts(t, id, "L1"))
		if err != nil {
			t.Fatalf("%s L1: %v", id, err)
		}
		for name, data := range map[string][]byte{id + "-L3.xml": l3, id + "-L1.xml": l1} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	// A 5-item prescription, split: its second item's document.
	mp, err := ParsePrescription(multiItem(t, "ep-0017", "ep-0016", "ep-0018", "ep-0019", "ep-0020"))
	if err != nil {
		t.Fatal(err)
	}
	multi, err := BuildEPFrom(mp.Split()[1], epOpts(t, "multi", "L3"))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "multi-item-2-L3.xml")
	if err := os.WriteFile(p, multi, 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, p)
	sort.Strings(files)
	if len(files) < 40 || skipped != 1 {
		t.Fatalf("%d documents, %d skipped: expected every fixture but the cancelled one", len(files), skipped)
	}
	if os.Getenv("LUXNCP_CDA_OUT") != "" {
		t.Skipf("documents written to %s, not validated", dir)
	}
	testutil.ValidateCDA(t, files...)
}

func TestEPGolden(t *testing.T) {
	for _, f := range fixtures {
		if !f.golden {
			continue
		}
		t.Run(f.id, func(t *testing.T) {
			b := readFixture(t, f.id)
			l3, err := BuildEP(b, epOpts(t, f.id, "L3"))
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, "ep/"+f.id+"-L3.xml", l3)
			l1, err := BuildEPL1(b, epOpts(t, f.id, "L1"))
			if err != nil {
				t.Fatal(err)
			}
			testutil.Golden(t, "ep/"+f.id+"-L1.xml", l1)
		})
	}
}

func TestEPDeterministic(t *testing.T) {
	for _, id := range []string{"ep-0002", "ep-0016"} {
		b := readFixture(t, id)
		a1, err := BuildEP(b, epOpts(t, id, "L3"))
		if err != nil {
			t.Fatal(err)
		}
		a2, _ := BuildEP(append([]byte(nil), b...), epOpts(t, id, "L3"))
		if !bytes.Equal(a1, a2) {
			t.Errorf("%s: L3 differs between two runs", id)
		}
		l1a, _ := BuildEPL1(b, epOpts(t, id, "L1"))
		l1b, _ := BuildEPL1(b, epOpts(t, id, "L1"))
		if !bytes.Equal(l1a, l1b) {
			t.Errorf("%s: L1 differs between two runs", id)
		}
	}
}
