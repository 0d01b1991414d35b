package demo

import (
	"bytes"
	"sync"
	"testing"
)

// TestReferenceJSONOnce: the DocumentReference a search serves, marshalled
// once per document, is what marshalling documentReference() gives at the
// time of the search, for every document of the embedded record, and
// concurrent first uses agree (under -race).
func TestReferenceJSONOnce(t *testing.T) {
	b, err := New("", WithClock(testNow))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for _, d := range b.ix.docs {
		wg.Add(2)
		for range 2 {
			go func() {
				defer wg.Done()
				d.referenceJSON()
			}()
		}
	}
	wg.Wait()
	if len(b.ix.docs) == 0 {
		t.Fatal("no documents")
	}
	check := func() {
		t.Helper()
		for id, d := range b.ix.docs {
			got, err := d.referenceJSON()
			want, werr := marshal(d.documentReference())
			if err != nil || werr != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %s (%v), fresh %s (%v)", id, got, err, want, werr)
			}
		}
	}
	check()
}
