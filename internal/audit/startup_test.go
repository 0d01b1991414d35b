package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// bigSegment writes records with the sink (no fsync) until its first
// segment holds at least size bytes, closes it and returns how many.
func bigSegment(t *testing.T, dir string, size int64) int {
	t.Helper()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for s.size < size {
		if err := s.Write(context.Background(), testRecord(t, n)); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// allocated is what fn allocates on the heap (bytes, all goroutines).
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestOpenMemoryBounded: opening a chain whose current segment is large
// reads the segment's end, not the whole segment (issue 19, finding 10:
// 53 MB allocated to open a 55 MB segment).
func TestOpenMemoryBounded(t *testing.T) {
	dir := t.TempDir()
	n := bigSegment(t, dir, 40<<20)
	st, err := os.Stat(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	open := func(what string, limit uint64) {
		t.Helper()
		var s *FileSink
		alloc := allocated(func() { s, err = OpenFile(dir, FileOptions{NoSync: true}) })
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		t.Logf("%s: %d records, %d bytes in the segment, %d bytes allocated", what, n, st.Size(), alloc)
		if alloc > limit {
			t.Errorf("%s allocated %d bytes, want at most %d", what, alloc, limit)
		}
		if seq, _ := s.Head(); seq != int64(n) {
			t.Fatalf("resumed after record %d, want %d", seq, n)
		}
		got, err := s.PatientEntries(context.Background(), testRecord(t, 0).Event.Patient)
		if err != nil || len(got) != n {
			t.Fatalf("patient entries after %s: %d, %v; want %d", what, len(got), err, n)
		}
	}
	open("open after a clean close", 4<<20)
}

// refLastRecord is lastRecord as it was before it read the segment's end
// backwards (main at 09f9874): the reference of the differential tests.
func refLastRecord(s *FileSink, n int, isLast bool) (seq int64, hash [sha256.Size]byte, found bool, err error) {
	path := segmentPath(s.dir, n)
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, hash, false, fmt.Errorf("audit chain: %w", err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		cut := bytes.LastIndexByte(data, '\n') + 1
		if !isLast || !s.opts.RecoverTorn {
			return 0, hash, false, fmt.Errorf("%w: %s at byte %d (%d bytes)", ErrTornTail, filepath.Base(path), cut, len(data)-cut)
		}
		if done := refLastSeqIn(data[:cut]); s.headSeq > done {
			return 0, hash, false, fmt.Errorf("%w: %s ends in a cut record but HEAD names record %d, past the last complete one (%d): acknowledged records are damaged; follow the damaged-tail procedure (luxncp audit quarantine, docs/audit.md)", ErrCorrupt, filepath.Base(path), s.headSeq, done)
		}
		if err := refMoveTorn(path, data, cut); err != nil {
			return 0, hash, false, err
		}
		data = data[:cut]
	}
	if len(data) == 0 {
		return 0, hash, false, nil
	}
	data = data[:len(data)-1]
	line := data[bytes.LastIndexByte(data, '\n')+1:]
	l, perr := parseLine(line)
	if perr != nil || !l.bodyOK {
		return 0, hash, false, fmt.Errorf("%w: %s: run luxncp audit verify", ErrCorrupt, filepath.Base(path))
	}
	return l.seq, l.hash, true, nil
}

func refLastSeqIn(data []byte) int64 {
	data = bytes.TrimSuffix(data, []byte{'\n'})
	l, err := parseLine(data[bytes.LastIndexByte(data, '\n')+1:])
	if err != nil {
		return 0
	}
	return l.seq
}

func refMoveTorn(path string, data []byte, cut int) error {
	side := fmt.Sprintf("%s%s-%d", path, tornSuffix, cut)
	if err := writeFileSync(side, data[cut:]); err != nil {
		return fmt.Errorf("audit chain: save torn record: %w", err)
	}
	if err := os.Truncate(path, int64(cut)); err != nil {
		return fmt.Errorf("audit chain: truncate torn record: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	defer f.Close()
	return f.Sync()
}

// dirFiles is every file under dir, by path, with its bytes.
func dirFiles(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lastRecordCase runs the old and the new lastRecord on a segment holding
// data and fails on any difference: result, error text, files left.
func lastRecordCase(t testing.TB, data []byte, isLast, recoverTorn bool, headSeq int64, chunk int) {
	t.Helper()
	run := func(fn func(*FileSink) (int64, [sha256.Size]byte, bool, error)) (string, map[string]string) {
		dir := t.TempDir()
		if err := os.WriteFile(segmentPath(dir, 1), data, 0o600); err != nil {
			t.Fatal(err)
		}
		s := &FileSink{dir: dir, opts: FileOptions{RecoverTorn: recoverTorn}, headSeq: headSeq}
		seq, hash, found, err := fn(s)
		out := fmt.Sprintf("seq %d hash %x found %v", seq, hash, found)
		if err != nil {
			out += fmt.Sprintf(" err %v (torn %v corrupt %v)", err, errors.Is(err, ErrTornTail), errors.Is(err, ErrCorrupt))
		}
		return out, dirFiles(t, dir)
	}
	want, wantFiles := run(func(s *FileSink) (int64, [sha256.Size]byte, bool, error) { return refLastRecord(s, 1, isLast) })
	got, gotFiles := run(func(s *FileSink) (int64, [sha256.Size]byte, bool, error) {
		return s.lastRecordIn(1, isLast, make([]byte, chunk))
	})
	if got != want {
		t.Fatalf("isLast %v recover %v head %d chunk %d:\n got %s\nwant %s", isLast, recoverTorn, headSeq, chunk, got, want)
	}
	if !reflect.DeepEqual(gotFiles, wantFiles) {
		t.Fatalf("isLast %v recover %v head %d chunk %d: files differ from the old lastRecord's", isLast, recoverTorn, headSeq, chunk)
	}
}

// chainLines writes records with the sink and returns its segment's lines
// (each with its newline); huge: the last record's message is ≈ 1.2 MB.
func chainLines(t testing.TB, n int, huge bool) [][]byte {
	t.Helper()
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		r := testRecord(t, i)
		if huge && i == n-1 {
			r.Message = strings.Repeat("<Participant a=\"1\"/>\n", 60000)
		}
		if err := s.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	data, err := os.ReadFile(segmentPath(dir, 1))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func lastRecordCases(t testing.TB) map[string][]byte {
	lines := chainLines(t, 3, false)
	hugeLines := chainLines(t, 3, true)
	join := func(ls ...[]byte) []byte { return bytes.Join(ls, nil) }
	all := join(lines...)
	huge := hugeLines[2]
	edited := bytes.Replace(bytes.Clone(lines[2]), []byte("Exemple"), []byte("Exempel"), 1)
	garbled := bytes.Clone(lines[2])
	copy(garbled, "zz")
	return map[string][]byte{
		"empty":              {},
		"complete tail":      all,
		"one record":         lines[0],
		"torn tail":          join(all, lines[0][:len(lines[0])/2]),
		"torn only":          lines[0][:100],
		"torn head only":     join(all, lines[0][:30]),
		"single huge record": join(huge),
		"huge after records": join(hugeLines...),
		"huge torn tail":     join(all, huge[:len(huge)-1]),
		"torn after huge":    join(hugeLines[0], hugeLines[1], huge, lines[0][:200]),
		"edited last record": join(lines[0], lines[1], edited),
		"garbled last hash":  join(lines[0], lines[1], garbled),
		"blank last line":    join(all, []byte("\n")),
		"newline only":       []byte("\n"),
		"short last line":    join(all, []byte("abc\n")),
		"torn after blank":   []byte("\npartial"),
		"torn after garbage": join(all, []byte("not a record\n"), lines[0][:50]),
		"hash only line":     join(lines[0][:64], []byte("\n")),
	}
}

// TestLastRecordDifferential: for every kind of segment end (complete,
// torn, empty, one huge record, damaged), with and without RecoverTorn,
// as the last segment or not, with HEAD before, at and after the last
// complete record, and read in chunks of several sizes, the new
// lastRecord returns exactly what the old one did and leaves the same
// files (torn bytes moved aside, segment cut).
func TestLastRecordDifferential(t *testing.T) {
	for name, data := range lastRecordCases(t) {
		t.Run(name, func(t *testing.T) {
			for _, isLast := range []bool{true, false} {
				for _, recoverTorn := range []bool{true, false} {
					for _, head := range []int64{0, 2, 3, 4} {
						for _, chunk := range []int{maxHeadLen, 1000, tailChunk} {
							lastRecordCase(t, data, isLast, recoverTorn, head, chunk)
						}
					}
				}
			}
		})
	}
}

// FuzzLastRecord: the old and the new lastRecord agree on any segment.
func FuzzLastRecord(f *testing.F) {
	for _, data := range lastRecordCases(f) {
		if len(data) < 1<<16 {
			f.Add(data, byte(3), uint16(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, flags byte, chunk uint16) {
		lastRecordCase(t, data, flags&1 != 0, flags&2 != 0, int64(flags>>2), maxHeadLen+int(chunk%512))
	})
}
