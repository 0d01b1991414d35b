package xdr

import (
	"os"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/testutil"
)

// FuzzParse feeds arbitrary ProvideAndRegisterDocumentSetRequest bodies to
// the XDR parser (the MTOM/XOP layer is fuzzed in internal/soap).
func FuzzParse(f *testing.F) {
	for _, name := range []string{"ProvideAndRegisterDocumentSetRequest_eD_OpenNCP-test.xml", "ProvideAndRegisterDocumentSetRequest_eD_DE-mock.xml"} {
		if b, err := os.ReadFile(testutil.Shared(f, "reference", "wire", "soap-samples", "xdr", "request", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`<xdr:ProvideAndRegisterDocumentSetRequest xmlns:xdr="urn:ihe:iti:xds-b:2007"/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(data); err != nil || doc.Root() == nil {
			return
		}
		s, err := Parse(doc.Root())
		if err == nil && (s == nil || s.Document == nil) {
			t.Fatal("parsed without a document")
		}
	})
}

func TestParseSamples(t *testing.T) {
	b, err := os.ReadFile(testutil.Shared(t, "reference", "wire", "soap-samples", "xdr", "request", "ProvideAndRegisterDocumentSetRequest_eD_OpenNCP-test.xml"))
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(b); err != nil {
		t.Fatal(err)
	}
	s, err := Parse(doc.Root())
	if err != nil {
		t.Fatal(err)
	}
	if s.ClassCode != "60593-1" || s.SubmissionSetID != "1.2.246.556.12001.4.93.2.1.1381483055949" || s.SourcePatient.Extension != "NTSDTT80A18G273W" {
		t.Errorf("submission = %+v", s)
	}
}
