package soap

import (
	"encoding/base64"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/testutil"
)

const cda = `<ClinicalDocument xmlns="urn:hl7-org:v3"><id root="1.2.3"/><title>PS</title></ClinicalDocument>`

func TestParseDocument(t *testing.T) {
	lim := Limits{MaxBytes: 4096, MaxElements: 10, MaxDepth: 4}
	if _, err := ParseDocument([]byte("\xef\xbb\xbf<?xml version=\"1.0\"?>"+cda), lim); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	for _, tc := range []struct{ name, doc, public string }{
		{"stylesheet PI", `<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="https://evil.example/x.xsl"?>` + cda, "processing instructions"},
		{"PI inside", strings.Replace(cda, "<title>", "<?php x?><title>", 1), "processing instructions"},
		{"external DTD", `<!DOCTYPE ClinicalDocument SYSTEM "https://evil.example/x.dtd">` + cda, "DTDs"},
		{"parameter entity", `<!DOCTYPE x [<!ENTITY % p SYSTEM "https://evil.example/p">%p;]>` + cda, "DTDs"},
		{"too many elements", strings.Replace(cda, "<title>", strings.Repeat("<a/>", 10)+"<title>", 1), "more than 10 elements"},
		{"too deep", strings.Replace(cda, "<title>", nested(4)+"<title>", 1), "deeper than 4"},
		{"too large", strings.Replace(cda, "PS", strings.Repeat(" ", 4096), 1), "larger than 4096 bytes"},
		{"not XML", "<ClinicalDocument", "the document is not well-formed XML"},
	} {
		_, err := ParseDocument([]byte(tc.doc), lim)
		var f *ehdsi.Fault
		if !errors.As(err, &f) || !strings.Contains(f.Public, tc.public) {
			t.Errorf("%s: got %v, want a fault saying %q", tc.name, err, tc.public)
		}
	}
}

// TestParseDocumentStopsAtElementLimit: a document padded with empty
// elements is refused after MaxElements, not after building its tree.
func TestParseDocumentStopsAtElementLimit(t *testing.T) {
	padded := []byte(strings.Replace(cda, "<title>", strings.Repeat("<a/>", 1<<20)+"<title>", 1)) // 4 MiB, a million elements
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ParseDocument(padded, Limits{MaxBytes: 8 << 20, MaxElements: 50000})
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "elements") {
		t.Fatalf("padded document: %v", err)
	}
	// Unbounded, the tree of a million elements allocates ~200 MB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 48<<20 {
		t.Errorf("refusing the padded document allocated %d MiB", alloc>>20)
	}
}

func TestContentLimit(t *testing.T) {
	data := []byte(strings.Repeat("x", 3000))
	el := etree.NewElement("Document")
	el.SetText(base64.StdEncoding.EncodeToString(data))
	env := &Envelope{}
	if got, err := env.ContentLimit(el, 3000); err != nil || len(got) != 3000 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	if _, err := (LimitedContent{Env: env, Max: 2999}).Content(el); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
	// An MTOM part is measured as it is.
	env.Attachments = map[string]Attachment{"doc@x": {ContentID: "doc@x", Data: data}}
	inc := etree.NewElement("Document")
	x := inc.CreateElement("xop:Include")
	x.CreateAttr("xmlns:xop", NSXOP)
	x.CreateAttr("href", "cid:doc@x")
	if _, err := env.ContentLimit(inc, 2999); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MTOM part over the limit: %v", err)
	}
	if got, err := env.ContentLimit(inc, 3000); err != nil || len(got) != 3000 {
		t.Fatalf("MTOM part at the limit: %d bytes, %v", len(got), err)
	}
}

// BenchmarkParseDocumentPS: the largest real Patient Summary of the shared
// samples through the hardened reader with Country B's limits.
func BenchmarkParseDocumentPS(b *testing.B) {
	data, err := os.ReadFile(testutil.Shared(b, "reference", "cda", "samples", "ps", "PT_PS-L3_W8_2-1234.xml"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := ParseDocument(data, Limits{MaxBytes: 4 << 20, MaxElements: 50000}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefusePadded: a 4 MiB document padded with a million empty
// elements, refused at the 50 000th.
func BenchmarkRefusePadded(b *testing.B) {
	padded := []byte(strings.Replace(cda, "<title>", strings.Repeat("<a/>", 1<<20)+"<title>", 1))
	b.ReportAllocs()
	b.SetBytes(int64(len(padded)))
	for b.Loop() {
		if _, err := ParseDocument(padded, Limits{MaxBytes: 8 << 20, MaxElements: 50000}); err == nil {
			b.Fatal("accepted")
		}
	}
}
