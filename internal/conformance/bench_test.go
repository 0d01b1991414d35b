package conformance

import (
	"io"
	"testing"
	"time"
)

func BenchmarkCheckCDA(b *testing.B) {
	doc := []byte(cdaOK)
	b.ReportAllocs()
	for b.Loop() {
		if _, probs := CheckCDA(doc, "1983030506626", nil); len(probs) > 0 {
			b.Fatal(probs)
		}
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	rep := &Report{Target: "https://127.0.0.1:8443", As: "FR", Profile: "lu-demo", Started: time.Unix(0, 0).UTC()}
	for i := 0; i < 100; i++ {
		rep.Cases = append(rep.Cases, CaseResult{Suite: "s", Name: "c", Verdict: Pass, Request: string(make([]byte, 8<<10)), Response: cdaOK})
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteHTML(io.Discard, rep); err != nil {
			b.Fatal(err)
		}
	}
}
