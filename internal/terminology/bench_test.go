package terminology

import (
	"runtime"
	"testing"
)

func BenchmarkTranscodeHit(b *testing.B) {
	c := cat(b)
	in := Coding{Code: "10219000", System: OIDEDQM}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Transcode(VSDoseForm, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranscodeLUProduct(b *testing.B) {
	c := cat(b)
	in := Coding{Code: "1996073711", System: OIDLUProduct}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Transcode(VSActiveIngredient, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranscodeICD10Alias(b *testing.B) {
	c := cat(b)
	in := Coding{Code: "J45.0", System: OIDICD10HL7}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Transcode(VSIllnessDisorder, in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTranslateHit(b *testing.B) {
	c := cat(b)
	in := Coding{Code: "10219000", System: OIDEDQM}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Translate(in, "fr"); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkTranslateFallback(b *testing.B) {
	c := cat(b)
	in := Coding{Code: "10219000", System: OIDEDQM}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := c.Translate(in, "de-LU"); !ok {
			b.Fatal("miss")
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadResident reports the heap the loaded catalogue keeps
// (runtime.ReadMemStats before and after, after GC) as resident-bytes.
func BenchmarkLoadResident(b *testing.B) {
	var keep *Catalogue
	var total uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		c, err := Load()
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		keep = c
		total += after.HeapAlloc - before.HeapAlloc
	}
	runtime.KeepAlive(keep)
	b.ReportMetric(float64(total)/float64(b.N), "resident-bytes")
}
