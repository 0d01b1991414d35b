package xca

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// FuzzParse feeds arbitrary bodies to the FindDocuments and retrieve
// parsers, seeded with the shared partner samples.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"query-request", "retrieve-request"} {
		files, _ := filepath.Glob(testutil.Shared(f, "reference", "wire", "soap-samples", "xca", dir, "*.xml"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
			return
		}
		for _, el := range append([]*etree.Element{doc.Root()}, doc.Root().FindElements("//*")...) {
			if q, err := ParseQuery(el); err == nil && (q.Patient.Extension == "" || len(q.ClassCodes) == 0) {
				t.Fatal("query accepted without patient or class")
			}
			if rs, err := ParseRetrieve(el); err == nil && (len(rs) == 0 || len(rs) > 10) {
				t.Fatalf("retrieve accepted with %d documents", len(rs))
			}
		}
	})
}
