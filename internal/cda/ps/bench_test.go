package ps

import (
	"os"
	"path/filepath"
	"testing"
)

// benchTransform measures national document → model → pivot L3 for a rich
// patient (≥ 40 entries).
func benchTransform(b *testing.B, file string, read func([]byte, Limits) (*Summary, error)) {
	c := catalogue(b)
	data, err := os.ReadFile(filepath.Join(fixtureDir(b), file))
	if err != nil {
		b.Fatal(err)
	}
	s, err := read(data, Limits{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(s.Entries()), "entries")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		s, err := read(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Build(s, Options{Terminology: c}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkTransformFHIR(b *testing.B)  { benchTransform(b, "1958041200856.json", ReadFHIR) }
func BenchmarkTransformLUCDA(b *testing.B) { benchTransform(b, "1944093024127.xml", ReadLUCDA) }

func BenchmarkBuildL1(b *testing.B) {
	c := catalogue(b)
	s := readFixture(b, filepath.Join(fixtureDir(b), "1958041200856.json"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BuildL1(s, Options{Terminology: c}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuild measures model → pivot L3 alone (no national parsing).
func BenchmarkBuild(b *testing.B) {
	c := catalogue(b)
	s := readFixture(b, filepath.Join(fixtureDir(b), "1944093024127.xml"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Build(s, Options{Terminology: c}); err != nil {
			b.Fatal(err)
		}
	}
}
