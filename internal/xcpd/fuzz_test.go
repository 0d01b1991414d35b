package xcpd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// FuzzParseQuery feeds arbitrary PRPA_IN201305UV02 bodies to the parser,
// seeded with the shared partner requests.
func FuzzParseQuery(f *testing.F) {
	files, _ := filepath.Glob(testutil.Shared(f, "reference", "wire", "soap-samples", "xcpd", "request", "*.xml"))
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
			return
		}
		for _, el := range append([]*etree.Element{doc.Root()}, doc.Root().FindElements("//*")...) {
			ParseQuery(el)
		}
	})
}

func TestParseSharedRequests(t *testing.T) {
	files, _ := filepath.Glob(testutil.Shared(t, "reference", "wire", "soap-samples", "xcpd", "request", "PRPA_IN201305UV02_*.xml"))
	if len(files) == 0 {
		t.Fatal("no shared XCPD requests")
	}
	for _, p := range files {
		b, _ := os.ReadFile(p)
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(b); err != nil {
			t.Fatal(err)
		}
		q, ok := ParseQuery(doc.Root())
		if !ok || len(q.SubjectIDs) == 0 || q.QueryID.Root == "" {
			t.Errorf("%s: %+v", filepath.Base(p), q)
		}
	}
}
