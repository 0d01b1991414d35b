package audit

import (
	"bytes"
	"context"
	"os"
	"testing"

	"github.com/beevik/etree"
)

// FuzzParseLine: chain lines are read back from disk, outside input.
func FuzzParseLine(f *testing.F) {
	dir := f.TempDir()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		if err := s.Write(context.Background(), testRecord(f, i)); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	data, _ := os.ReadFile(segmentPath(dir, 1))
	for _, l := range bytes.Split(data, []byte("\n")) {
		f.Add(l)
	}
	f.Add([]byte("not a line"))
	f.Add(bytes.Repeat([]byte("0"), 65))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLine(b)
		if err == nil && l.seq <= 0 {
			t.Fatalf("accepted seq %d", l.seq)
		}
		// The head alone, as lastRecord reads it, parses the same.
		h, _, herr := parseHead(b[:min(len(b), maxHeadLen)])
		if (herr == nil) != (err == nil) || h.seq != l.seq || h.prev != l.prev || h.hash != l.hash {
			t.Fatalf("head %+v %v, line %+v %v", h, herr, l, err)
		}
	})
}

// FuzzVerify: Verify and Scan never fail on content, only report it.
func FuzzVerify(f *testing.F) {
	dir := f.TempDir()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	for i := range 3 {
		if err := s.Write(context.Background(), testRecord(f, i)); err != nil {
			f.Fatal(err)
		}
	}
	s.Close()
	data, _ := os.ReadFile(segmentPath(dir, 1))
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d := t.TempDir()
		if err := os.WriteFile(segmentPath(d, 1), b, 0o600); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(d)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(b, data) && !rep.OK() {
			t.Fatal("intact chain reported broken")
		}
		if err := Scan(d, func(Entry) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzMessage: HCP, organisation and ids come from partners' assertions and
// certificates; the message must stay well-formed XML whatever they hold.
func FuzzMessage(f *testing.F) {
	for _, tc := range messageCases() {
		f.Add(tc.event.HCP.Name, tc.event.HCP.Organisation, tc.event.Consumer.Host, tc.event.ErrorText)
	}
	f.Add("a\x00b", "<&\"'>", "\xff\xfe", "]]>")
	f.Fuzz(func(t *testing.T, name, org, host, text string) {
		e := baseEvent(EventIdentification)
		e.HCP.Name, e.HCP.Organisation, e.Consumer.Host = name, org, host
		e.Outcome, e.ErrorCode, e.ErrorText = OutcomeMinorFailure, "ERROR_PI_NO_MATCH", text
		b, err := Message(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := etree.NewDocument().ReadFromBytes(b); err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, b)
		}
	})
}
