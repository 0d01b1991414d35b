package ncpclient

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// TestBelowAsFindElements: the one-walk search ParseQueryResponse uses
// finds the same elements, in the same order, as etree's ".//Tag" path it
// replaced — on the partners' query responses in ../shared, luxncp's own
// (internal/xca's wire fixture) and a nested tree where breadth-first and
// document order differ.
func TestBelowAsFindElements(t *testing.T) {
	files, err := filepath.Glob(testutil.Shared(t, "reference", "wire", "soap-samples", "xca", "query-response", "*.xml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("query responses in ../shared: %v %v", files, err)
	}
	files = append(files, filepath.Join(testutil.RepoRoot(t), "internal", "xca", "testdata", "wire", "query-response-ep.xml"))
	docs := map[string]*etree.Document{}
	for _, f := range files {
		d := etree.NewDocument()
		if err := d.ReadFromFile(f); err != nil {
			t.Fatal(err)
		}
		docs[filepath.Base(f)] = d
	}
	nested := etree.NewDocument()
	if err := nested.ReadFromString(`<a><x id="1"><b><x id="2"><x id="4"/></x></b></x><c><p:x xmlns:p="urn:p" id="3"/></c><Association/></a>`); err != nil {
		t.Fatal(err)
	}
	docs["nested"] = nested
	tags := []string{"RegistryError", "ExtrinsicObject", "Association", "x"}
	for name, d := range docs {
		got := below(d.Root(), tags...)
		n := 0
		for i, tag := range tags {
			want := d.Root().FindElements(".//" + tag)
			if !slices.Equal(got[i], want) {
				t.Errorf("%s, %s: %d elements, FindElements %d (or another order)", name, tag, len(got[i]), len(want))
			}
			n += len(want)
		}
		if n == 0 {
			t.Errorf("%s: nothing found: the comparison proves nothing", name)
		}
	}
	if x := below(nested.Root(), "x")[0]; len(x) != 4 || x[1].SelectAttrValue("id", "") != "3" {
		t.Errorf("nested: order %v, want breadth first by parent (1, 3, 2, 4)", x)
	}
}
