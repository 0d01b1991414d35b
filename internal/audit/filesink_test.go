package audit

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func testRecord(t testing.TB, i int) Record {
	t.Helper()
	r := &Recorder{Self: testLU, NewID: func() string { return fmt.Sprintf("urn:uuid:00000000-0000-4000-8000-%012d", i) }}
	e := baseEvent(EventPSRetrieve)
	e.Documents = []string{fmt.Sprintf("1.3.182.2.12.10000734.6.1.42.%d", i)}
	rec, err := r.Prepare(e)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func writeN(t *testing.T, s *FileSink, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := s.Write(context.Background(), testRecord(t, i)); err != nil {
			t.Fatal(err)
		}
	}
}

func mustVerify(t *testing.T, dir string, records int) *Report {
	t.Helper()
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("chain does not verify: %v", rep.Problems)
	}
	if rep.Records != records || rep.LastSeq != int64(records) {
		t.Fatalf("records %d, last seq %d, want %d", rep.Records, rep.LastSeq, records)
	}
	return rep
}

func ids(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	if err := Scan(dir, func(e Entry) error { out = append(out, e.Record.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFileSinkConcurrentWriters(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				if err := s.Write(context.Background(), testRecord(t, w*each+i)); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seq, head := s.Head()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep := mustVerify(t, dir, writers*each)
	if seq != rep.LastSeq || head != rep.LastHash {
		t.Fatalf("Head() = %d %s, Verify says %d %s", seq, head, rep.LastSeq, rep.LastHash)
	}
	seen := map[string]bool{}
	for _, id := range ids(t, dir) {
		seen[id] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("%d distinct records read back, want %d", len(seen), writers*each)
	}
	if err := s.Write(context.Background(), testRecord(t, 0)); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

func TestFileSinkResume(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 0, 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 3, 2)
	s.Close()
	mustVerify(t, dir, 5)
}

// A crash between the audit write and the response: the sink is abandoned
// without Close; the record is on disk and the chain resumes after it.
func TestFileSinkCrashAfterWrite(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 0, 3)
	// no Close: the process "dies" here, before the response is sent; its
	// lock goes with it.
	if _, err := OpenFile(dir, FileOptions{}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second writer while the first lives: %v, want ErrLocked", err)
	}
	if s.lock != nil {
		s.lock.Close()
	}
	mustVerify(t, dir, 3)
	s2, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s2, 3, 1)
	s2.Close()
	mustVerify(t, dir, 4)
	got := ids(t, dir)
	if got[2] != testRecord(t, 2).ID {
		t.Fatalf("record written before the crash not found: %v", got)
	}
}

func TestFileSinkTornTail(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 0, 3)
	s.Close()
	seg := segmentPath(dir, 1)
	full := testRecordLine(t, s, dir)
	appendFile(t, seg, full[:len(full)/2]) // a write cut short by a crash

	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemTorn || rep.Problems[0].Line != 4 {
		t.Fatalf("problems %v, want one torn tail at line 4", rep.Problems)
	}
	if _, err := OpenFile(dir, FileOptions{}); !errors.Is(err, ErrTornTail) {
		t.Fatalf("OpenFile over a torn tail: %v, want ErrTornTail", err)
	}
	s, err = OpenFile(dir, FileOptions{RecoverTorn: true})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 3, 1)
	s.Close()
	rep = mustVerify(t, dir, 4)
	if len(rep.Notices) != 1 || !strings.Contains(rep.Notices[0], "torn") {
		t.Fatalf("notices %v, want the torn record reported", rep.Notices)
	}
}

// testRecordLine returns a well-formed line as the sink would write it next.
func testRecordLine(t *testing.T, _ *FileSink, dir string) []byte {
	t.Helper()
	data, err := os.ReadFile(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	return lines[0]
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestFileSinkCorruptTailRefused(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFile(dir, FileOptions{})
	writeN(t, s, 0, 2)
	s.Close()
	tamper(t, dir, func(lines [][]byte) [][]byte {
		lines[1] = bytes.Replace(lines[1], []byte("Exemple"), []byte("Exempel"), 1)
		return lines
	})
	if _, err := OpenFile(dir, FileOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFile over an edited last record: %v, want ErrCorrupt", err)
	}
}

// tamper rewrites segment 1 line by line (without trailing newlines).
func tamper(t *testing.T, dir string, fn func([][]byte) [][]byte) {
	t.Helper()
	path := segmentPath(dir, 1)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	lines = fn(lines)
	out := append(bytes.Join(lines, []byte("\n")), '\n')
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehash recomputes a line's own hash after its body was changed.
func rehash(t *testing.T, l []byte) []byte {
	t.Helper()
	p, err := parseLine(l)
	if err != nil {
		t.Fatal(err)
	}
	h := chainHash(p.prev, p.body)
	return append([]byte(hex.EncodeToString(h[:])+" "), p.body...)
}

func edit(l []byte) []byte {
	return bytes.Replace(l, []byte("Dr Camille Exemple"), []byte("Dr Someone Else"), 1)
}

func TestVerifyDetectsTampering(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, lines [][]byte) [][]byte
		kind   ProblemKind
		seq    int64
		toSeq  int64
	}{
		{"edited", func(t *testing.T, l [][]byte) [][]byte { l[2] = edit(l[2]); return l }, ProblemEdited, 3, 0},
		{"edited and re-hashed", func(t *testing.T, l [][]byte) [][]byte { l[2] = rehash(t, edit(l[2])); return l }, ProblemEdited, 3, 0},
		{"hash replaced", func(t *testing.T, l [][]byte) [][]byte {
			l[4][0] = map[bool]byte{true: 'a', false: 'b'}[l[4][0] != 'a']
			return l
		}, ProblemEdited, 5, 0},
		{"deleted", func(t *testing.T, l [][]byte) [][]byte { return append(l[:2:2], l[3:]...) }, ProblemDeleted, 3, 0},
		{"deleted range", func(t *testing.T, l [][]byte) [][]byte { return append(l[:1:1], l[4:]...) }, ProblemDeleted, 2, 4},
		{"deleted last", func(t *testing.T, l [][]byte) [][]byte { return l[:5] }, ProblemDeleted, 6, 0},
		{"deleted last two", func(t *testing.T, l [][]byte) [][]byte { return l[:4] }, ProblemDeleted, 5, 6},
		{"last edited and re-hashed", func(t *testing.T, l [][]byte) [][]byte { l[5] = rehash(t, edit(l[5])); return l }, ProblemEdited, 6, 0},
		{"deleted first", func(t *testing.T, l [][]byte) [][]byte { return l[1:] }, ProblemDeleted, 1, 0},
		{"inserted", func(t *testing.T, l [][]byte) [][]byte {
			fake := rehash(t, edit(l[2]))
			return append(l[:3:3], append([][]byte{fake}, l[3:]...)...)
		}, ProblemInserted, 3, 0},
		{"inserted before original", func(t *testing.T, l [][]byte) [][]byte {
			fake := rehash(t, edit(l[3]))
			return append(l[:3:3], append([][]byte{fake}, l[3:]...)...)
		}, ProblemInserted, 4, 0},
		{"reordered", func(t *testing.T, l [][]byte) [][]byte { l[2], l[3] = l[3], l[2]; return l }, ProblemReordered, 3, 0},
		{"garbled hash", func(t *testing.T, l [][]byte) [][]byte { l[1][0] = 'x'; return l }, ProblemEdited, 2, 0},
		{"garbage line", func(t *testing.T, l [][]byte) [][]byte {
			return append(l[:2:2], append([][]byte{[]byte("not a record")}, l[2:]...)...)
		}, ProblemMalformed, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := OpenFile(dir, FileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, s, 0, 6)
			s.Close()
			mustVerify(t, dir, 6)
			tamper(t, dir, func(l [][]byte) [][]byte { return tc.tamper(t, l) })
			rep, err := Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Problems) != 1 {
				t.Fatalf("problems %v, want exactly one %s", rep.Problems, tc.kind)
			}
			p := rep.Problems[0]
			if p.Kind != tc.kind || p.Seq != tc.seq || p.ToSeq != tc.toSeq {
				t.Fatalf("got %v, want %s of %d..%d", p, tc.kind, tc.seq, tc.toSeq)
			}
			t.Log(p)
		})
	}
}

func TestFileSinkRefusesTruncatedChain(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFile(dir, FileOptions{})
	writeN(t, s, 0, 3)
	s.Close()
	tamper(t, dir, func(l [][]byte) [][]byte { return l[:2] })
	if _, err := OpenFile(dir, FileOptions{}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("OpenFile over a chain shorter than HEAD: %v, want ErrCorrupt", err)
	}
}

func TestFileSinkSegments(t *testing.T) {
	dir := t.TempDir()
	opts := FileOptions{MaxSegmentBytes: 16 << 10}
	s, err := OpenFile(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 0, 20)
	s.Close()
	segs, _ := segments(dir)
	if len(segs) < 3 {
		t.Fatalf("%d segments, want several", len(segs))
	}
	s, err = OpenFile(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 20, 5)
	s.Close()
	rep := mustVerify(t, dir, 25)
	if rep.Segments < 3 {
		t.Fatalf("report: %d segments", rep.Segments)
	}
	// Removing a whole middle segment is a deletion.
	if err := os.Remove(segmentPath(dir, segs[1])); err != nil {
		t.Fatal(err)
	}
	rep, err = Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != ProblemDeleted {
		t.Fatalf("problems %v, want one deletion", rep.Problems)
	}
}

func TestFileSinkEmptyLastSegment(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFile(dir, FileOptions{})
	writeN(t, s, 0, 2)
	s.Close()
	// A crash right after a rotation leaves an empty last segment.
	if err := os.WriteFile(filepath.Join(dir, "audit-00000002.log"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 2, 1)
	s.Close()
	mustVerify(t, dir, 3)
}

func TestFileSinkContextCancelled(t *testing.T) {
	s, _ := OpenFile(t.TempDir(), FileOptions{})
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Write(ctx, testRecord(t, 0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
