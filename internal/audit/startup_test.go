package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
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
// 53 MB allocated to open a 55 MB segment), and the index catch-up after a
// crash streams the segment: it allocates less than it reads.
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
	// A crash before the index's first checkpoint: the whole segment is
	// indexed again on open.
	if err := os.Remove(filepath.Join(dir, indexDir, checkpointFile)); err != nil {
		t.Fatal(err)
	}
	open("open re-indexing the segment", uint64(st.Size()))
}

// refLastRecord is lastRecord as it was before it read the segment's end
// backwards (main at c95a4ab): the reference of the differential tests.
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

// refMoveTorn: the torn bytes as main's lastRecord held them, moved aside
// by moveTorn (which main's did with writeFileSync, truncate and fsync).
func refMoveTorn(path string, data []byte, cut int) error {
	return moveTorn(path, bytes.NewReader(data[cut:]), int64(cut))
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

// refCatchUp is catchUp decoding each line as main's did (c95a4ab):
// the whole record, with decodeLine. (Main read the lines with
// bufio.ReadBytes; TestScanLines checks scanLines against a plain split.)
func refCatchUp(x *indexWriter, dir string) (indexPos, error) {
	return x.catchUpDecoding(dir, func(raw []byte) (int64, []string, bool) {
		e, ok := decodeLine(raw)
		return e.Seq, e.Record.Event.PatientKeys(), ok
	})
}

// oddBodies are record bodies (after "seq" and "prev") that the sink never
// writes: what a catch-up may meet in a damaged or edited chain.
var oddBodies = []string{
	`"id":"a","event":{"type":"EHDSI-22","patient":"1990010112001"},"message":"m"}`,
	`"id":"b","event":{"patient":"1990010112002"},"message":null}`,
	`"id":"c","event":{"patient":"1990010112003"},"message":12}`,
	`"id":"d","event":{"patient":"1990010112004"},"message":{"a":"1"}}`,
	`"id":"e","event":{"patient":"1990010112005"},"message":["x"]}`,
	`"id":"f","event":{"patient":"1990010112006"},"Message":"a\"b\n"}`,
	`"id":7,"event":{"patient":"1990010112007"},"message":"m"}`,
	`"id":"h","event":{"patient":"1990010112008"},"message":"m","message":3}`,
	`"id":"i","event":{"patient":"1990010112009","time":"yesterday"},"message":"m"}`,
	`"id":"j","event":{"patient":"1990010112010"},"gap":{"from":"x"}}`,
	`"id":"k","event":{"patient":"1990010112011"},"message":"m"`,
	`"id":"l","event":{"patient":"1990010112012"},"message":"\u00zz"}`,
	`"id":"m","event":{"patient":"1990010112013"},"message":"m"} trailing`,
	`"id":"n","event":{"patient":"1990010 112014"},"message":true}`,
	`"id":"o","event":{"patient":"1990010112015","patients":[{"root":"1.3.182.4.4","extension":"1990-0101-12016"}]},"message":""}`,
	`"id":"p","event":{"patients":[{"root":"1.3.182.4.4","extension":"1990010112017"}]},"message":"` + strings.Repeat("x", 200<<10) + `"}`,
	`"id":"q","event":{"patient":"1990010112018"},"message":"` + strings.Repeat("y", 70<<10) + `"}`,
	`"id":"r","event":{"patient":"1990010112019"},"message":"short"}`,
	`"id":"s","event":{"patient":"1990010112020"},"gap":null,"message":null,"id":null}`,
}

// oddLines chains oddBodies (and a few lines that are not records at all)
// the way the sink chains records.
func oddLines() [][]byte {
	var out [][]byte
	var prev [sha256.Size]byte
	for i, b := range oddBodies {
		l, h := chainLine(prev, int64(i+1), []byte("{"+b))
		prev = h
		out = append(out, l)
	}
	garbled := bytes.Clone(out[0])
	copy(garbled, "zz")
	return append(out, garbled, []byte("not a record\n"), []byte("\n"))
}

// oddChain is two segments of sink records and oddLines (lines longer
// than scanBuffer one after the other, a torn tail), and positions to
// read them from.
func oddChain(t testing.TB) ([][]byte, map[string]indexPos) {
	sink := chainLines(t, 4, false)
	odd := oddLines()
	seg1 := bytes.Join(append(slices.Clone(sink), odd[:8]...), nil)
	seg2 := bytes.Join(append(slices.Clone(odd[8:]), sink[0], []byte("torn tail")), nil)
	return [][]byte{seg1, seg2}, map[string]indexPos{
		"no checkpoint":  {},
		"within seg 1":   {Seq: 3, Segment: 1, Offset: int64(len(bytes.Join(sink[:3], nil)))},
		"seg 2 start":    {Seq: 40, Segment: 2, Offset: 0},
		"end of segment": {Seq: 40, Segment: 1, Offset: int64(len(seg1))},
	}
}

// writeSegments makes a chain directory of segments 1, 2 … holding segs.
func writeSegments(t testing.TB, segs [][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for n, data := range segs {
		if err := os.WriteFile(segmentPath(dir, n+1), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestScanLines: scanLines yields the lines that splitting each segment
// in memory yields (but a torn last one), with their ends and lengths,
// from any position, with and without a needle.
func TestScanLines(t *testing.T) {
	segs, froms := oddChain(t)
	dir := writeSegments(t, segs)
	for name, from := range froms {
		for _, needle := range [][]byte{nil, []byte(`"message":"m"`)} {
			var want, got []string
			for i, data := range segs {
				n := i + 1
				if n < from.Segment {
					continue
				}
				off := int64(0)
				if n == from.Segment {
					off = from.Offset
				}
				for _, l := range bytes.SplitAfter(data[off:], []byte("\n")) {
					off += int64(len(l))
					if bytes.HasSuffix(l, []byte("\n")) && (needle == nil || bytes.Contains(l, needle)) {
						want = append(want, fmt.Sprintf("%d %d %d %q", n, off, len(l), l[:len(l)-1]))
					}
				}
			}
			err := scanLines(dir, from, needle, func(raw []byte, p indexPos, length int64) error {
				got = append(got, fmt.Sprintf("%d %d %d %q", p.Segment, p.Offset, length, raw))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 {
				t.Fatalf("%s, needle %q: no line to compare", name, needle)
			}
			for i := range max(len(got), len(want)) {
				if i >= len(got) || i >= len(want) || got[i] != want[i] {
					t.Fatalf("%s, needle %q: line %d of %d differs (want %d lines)", name, needle, i, len(got), len(want))
				}
			}
		}
	}
}

// TestCatchUpDifferential: from no checkpoint, from one inside the first
// segment and from the second segment's start, over records the sink wrote
// and lines it never writes (see oddBodies), lines longer than the read
// buffer and a torn tail, the new catch-up writes exactly the index the
// old one wrote and ends at the same position.
func TestCatchUpDifferential(t *testing.T) {
	segs, froms := oddChain(t)
	for name, from := range froms {
		t.Run(name, func(t *testing.T) {
			run := func(catchUp func(*indexWriter, string) (indexPos, error)) (string, map[string]string) {
				dir := writeSegments(t, segs)
				x, err := openIndex(dir)
				if err != nil {
					t.Fatal(err)
				}
				if from != (indexPos{}) {
					if err := writeFileSync(filepath.Join(dir, indexDir, checkpointFile), []byte(from.String())); err != nil {
						t.Fatal(err)
					}
				}
				p, err := catchUp(x, dir)
				x.close()
				return fmt.Sprintf("%+v %v", p, err), dirFiles(t, filepath.Join(dir, indexDir))
			}
			want, wantFiles := run(refCatchUp)
			got, gotFiles := run((*indexWriter).catchUp)
			if got != want {
				t.Fatalf("catch-up ends at %s, want %s", got, want)
			}
			if !reflect.DeepEqual(gotFiles, wantFiles) {
				t.Fatalf("index differs:\n got %q\nwant %q", gotFiles, wantFiles)
			}
			if len(wantFiles) < 3 {
				t.Fatalf("index files %v: the cases index too little", slices.Sorted(maps.Keys(wantFiles)))
			}
		})
	}
}

// FuzzDecodeKeys: the catch-up's light decode accepts exactly the lines
// decodeLine accepts and finds the same sequence number and patient keys.
func FuzzDecodeKeys(f *testing.F) {
	for _, l := range append(oddLines(), chainLines(f, 2, false)...) {
		f.Add(bytes.TrimSuffix(l, []byte("\n")))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, ok := decodeLine(raw)
		seq, keys, kok := decodeKeys(raw)
		if kok != ok {
			t.Fatalf("decodeKeys ok %v, decodeLine ok %v", kok, ok)
		}
		if ok && (seq != e.Seq || !slices.Equal(keys, e.Record.Event.PatientKeys())) {
			t.Fatalf("decodeKeys %d %q, decodeLine %d %q", seq, keys, e.Seq, e.Record.Event.PatientKeys())
		}
	})
}

// TestIndexedRecord: indexedRecord has Record's fields, names, tags and
// types (but the message's), so that a line decodes as one exactly when it
// decodes as the other.
func TestIndexedRecord(t *testing.T) {
	r, x := reflect.TypeFor[Record](), reflect.TypeFor[indexedRecord]()
	if r.NumField() != x.NumField() {
		t.Fatalf("Record has %d fields, indexedRecord %d", r.NumField(), x.NumField())
	}
	for i := range r.NumField() {
		rf, xf := r.Field(i), x.Field(i)
		if rf.Name != xf.Name || rf.Tag.Get("json") != xf.Tag.Get("json") {
			t.Fatalf("field %d: Record %s %q, indexedRecord %s %q", i, rf.Name, rf.Tag, xf.Name, xf.Tag)
		}
		if rf.Type != xf.Type && !(rf.Name == "Message" && rf.Type.Kind() == reflect.String && xf.Type == reflect.TypeFor[stringOrNull]()) {
			t.Fatalf("field %s: Record %v, indexedRecord %v", rf.Name, rf.Type, xf.Type)
		}
	}
}
