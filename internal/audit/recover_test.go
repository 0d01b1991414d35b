package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// fullDisk fails writes (half written, like a real full disk) and fsyncs
// while full is set.
type fullDisk struct {
	File
	full *atomic.Bool
}

func (f fullDisk) Write(p []byte) (int, error) {
	if f.full.Load() {
		n, _ := f.File.Write(p[:len(p)/2])
		return n, syscall.ENOSPC
	}
	return f.File.Write(p)
}

func (f fullDisk) Sync() error {
	if f.full.Load() {
		return syscall.EIO
	}
	return f.File.Sync()
}

// TestFileSinkRecoversWhenSpaceReturns: a failed write is not sticky; the
// partial line it left is cut, Check reports the failure until space
// returns, and the chain verifies with every acknowledged record.
func TestFileSinkRecoversWhenSpaceReturns(t *testing.T) {
	var full atomic.Bool
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{WrapFile: func(f File) File { return fullDisk{File: f, full: &full} }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	writeN(t, s, 0, 2)
	full.Store(true)
	if err := s.Write(t.Context(), testRecord(t, 2)); !errors.Is(err, ErrUnavailable) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on a full disk: %v", err)
	}
	if err := s.Check(); err == nil {
		t.Fatal("Check while the disk is full: nil")
	}
	full.Store(false)
	if err := s.Check(); err != nil {
		t.Fatalf("Check after space returned: %v", err)
	}
	writeN(t, s, 3, 2)
	mustVerify(t, dir, 4)
}

// TestFileSinkStartNeverCutsAcknowledgedRecords: a chain whose last
// acknowledged record was cut short is refused at start, and the refused
// start leaves every file as it was.
func TestFileSinkStartNeverCutsAcknowledgedRecords(t *testing.T) {
	dir := t.TempDir()
	s, _ := OpenFile(dir, FileOptions{})
	writeN(t, s, 0, 3)
	s.Close()
	path := segmentPath(dir, 1)
	data, _ := os.ReadFile(path)
	cut := data[:len(data)-40] // record 3, acknowledged (HEAD names it), damaged
	if err := os.WriteFile(path, cut, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenFile(dir, FileOptions{RecoverTorn: true}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("start over a damaged acknowledged record: %v, want ErrCorrupt", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, cut) {
		t.Fatalf("the refused start changed the segment (%d bytes, was %d)", len(after), len(cut))
	}
}

// TestQuarantineDamagedTail is the operator procedure: a damaged
// acknowledged record stops the start; Quarantine moves the segment aside
// unchanged and starts a new one with a gap record; Verify accepts the
// declared gap only; the chain goes on.
func TestQuarantineDamagedTail(t *testing.T) {
	dir := t.TempDir()
	opts := FileOptions{MaxSegmentBytes: 6000, RecoverTorn: true}
	s, _ := OpenFile(dir, opts)
	writeN(t, s, 0, 6)
	s.Close()
	segs, _ := segments(dir)
	if len(segs) < 2 {
		t.Fatalf("%d segments, want 2 or more", len(segs))
	}
	last := segmentPath(dir, segs[len(segs)-1])
	data, _ := os.ReadFile(last)
	if len(data) == 0 {
		last = segmentPath(dir, segs[len(segs)-2])
		data, _ = os.ReadFile(last)
	}
	os.WriteFile(last, data[:len(data)-40], 0o600)
	if _, err := OpenFile(dir, opts); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTornTail) {
		t.Fatalf("start over the damaged tail: %v", err)
	}
	if _, err := Quarantine(dir, "", "", testTime); err == nil {
		t.Fatal("quarantine without reason and operator")
	}
	g, err := Quarantine(dir, "disk controller fault, ticket OPS-42", "j.doe", testTime)
	if err != nil {
		t.Fatal(err)
	}
	if g.To != 6 || g.From > g.To {
		t.Fatalf("gap %+v, want up to record 6", g)
	}
	rep, err := Verify(dir)
	if err != nil || !rep.OK() {
		t.Fatalf("verify after quarantine: %v %v", err, rep.Problems)
	}
	if len(rep.Notices) < 2 {
		t.Fatalf("notices %q: want the gap and the quarantined file", rep.Notices)
	}
	t.Log(rep.Notices)
	s, err = OpenFile(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 10, 2)
	s.Close()
	if rep, _ := Verify(dir); !rep.OK() || rep.LastSeq != 9 {
		t.Fatalf("after more records: last %d, %v", rep.LastSeq, rep.Problems)
	}
	if _, err := Quarantine(dir, "again", "j.doe", testTime); !errors.Is(err, ErrNothingToQuarantine) {
		t.Fatalf("quarantine of a sound chain: %v", err)
	}
}

// TestQuarantineKeepsIntactRecords: with one segment whose last record
// (the one HEAD names) is damaged, the quarantine takes only that record
// out of the chain: the gap record links to record N-1 and declares N
// alone, the damaged bytes are in quarantine/ unchanged, the chain
// verifies with N-1 records and the gap, and the patient's log still lists
// the earlier accesses.
func TestQuarantineKeepsIntactRecords(t *testing.T) {
	const n = 8
	dir := t.TempDir()
	s, err := OpenFile(dir, FileOptions{RecoverTorn: true})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 0, n)
	s.Close()
	path := segmentPath(dir, 1)
	data, _ := os.ReadFile(path)
	if err := os.WriteFile(path, data[:len(data)-40], 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := Quarantine(dir, "tester: cut 40 bytes", "tester", testTime)
	if err != nil {
		t.Fatal(err)
	}
	if g.From != n || g.To != n {
		t.Fatalf("gap declares records %d–%d, want %d only", g.From, g.To, n)
	}
	lines := bytes.SplitAfter(data, []byte("\n"))
	prefix := bytes.Join(lines[:n-1], nil)
	kept, _ := parseLine(bytes.TrimSuffix(lines[n-2], []byte("\n")))
	if g.After != hex.EncodeToString(kept.hash[:]) {
		t.Fatalf("gap links to %s, want record %d's hash", g.After, n-1)
	}
	if seg, _ := os.ReadFile(path); !bytes.Equal(seg, prefix) {
		t.Fatalf("segment after quarantine: %d bytes, want the %d bytes of records 1–%d", len(seg), len(prefix), n-1)
	}
	q, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(g.File)))
	if sum := sha256.Sum256(q); !bytes.Equal(q, data[len(prefix):len(data)-40]) || hex.EncodeToString(sum[:]) != g.SHA256 {
		t.Fatalf("quarantined bytes %q (sha256 %s) are not the damaged tail", q, g.SHA256)
	}
	rep := mustVerifyRecords(t, dir, n, n+1) // n-1 records and the gap record
	t.Log(rep.Notices)
	log, err := DirReader{Dir: dir}.PatientEntries(t.Context(), PatientKey(testPatient.Extension))
	if err != nil || len(log) != n-1 {
		t.Fatalf("patient log after quarantine: %d entries (%v), want %d", len(log), err, n-1)
	}
	s, err = OpenFile(dir, FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, s, 20, 1)
	s.Close()
	mustVerifyRecords(t, dir, n+1, n+2)
	log, _ = DirReader{Dir: dir}.PatientEntries(t.Context(), PatientKey(testPatient.Extension))
	if len(log) != n {
		t.Fatalf("patient log after a new record: %d entries, want %d", len(log), n)
	}
}

// TestVerifyRefusesGapLargerThanDamage: a gap record that declares intact
// records lost (cut before them and moved to quarantine/ with the damage)
// does not verify, whether it keeps some records or none (the old
// whole-segment quarantine); the exact gap does.
func TestVerifyRefusesGapLargerThanDamage(t *testing.T) {
	const n = 6
	for _, keep := range []int{n - 1, n - 3, 0} {
		t.Run(fmt.Sprint("keep ", keep), func(t *testing.T) {
			dir := t.TempDir()
			s, _ := OpenFile(dir, FileOptions{})
			writeN(t, s, 0, n)
			s.Close()
			path := segmentPath(dir, 1)
			data, _ := os.ReadFile(path)
			data = data[:len(data)-40] // record n damaged
			lines := bytes.SplitAfter(data, []byte("\n"))
			prefix := bytes.Join(lines[:keep], nil)
			after := zeroHash
			if keep > 0 {
				l, _ := parseLine(bytes.TrimSuffix(lines[keep-1], []byte("\n")))
				after = l.hash
			}
			tail := data[len(prefix):]
			os.MkdirAll(filepath.Join(dir, quarantineDir), 0o700)
			os.WriteFile(filepath.Join(dir, quarantineDir, "q"), tail, 0o600)
			os.WriteFile(path, prefix, 0o600)
			sum := sha256.Sum256(tail)
			rec, _ := MarshalRecord(Record{ID: NewUUID(), Event: Event{Time: testTime}, Gap: &Gap{From: int64(keep) + 1, To: n,
				After: hex.EncodeToString(after[:]), File: quarantineDir + "/q", SHA256: hex.EncodeToString(sum[:]), Reason: "r", Operator: "o", Time: testTime}})
			line, hash := chainLine(after, n+1, rec)
			os.WriteFile(segmentPath(dir, 2), line, 0o600)
			os.WriteFile(filepath.Join(dir, headFile), fmt.Appendf(nil, "%020d %x\n", n+1, hash), 0o600)
			rep, err := Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			if keep == n-1 {
				if !rep.OK() {
					t.Fatalf("the exact gap: %v", rep.Problems)
				}
				return
			}
			if rep.OK() || !strings.Contains(fmt.Sprint(rep.Problems), "more than the damage") {
				t.Fatalf("a gap of records %d–%d for damage to record %d verifies: %v", keep+1, n, n, rep.Problems)
			}
			t.Log(rep.Problems)
		})
	}
}

func mustVerifyRecords(t *testing.T, dir string, records int, last int64) *Report {
	t.Helper()
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Records != records || rep.LastSeq != last {
		t.Fatalf("verify: %d records, last %d (want %d, %d): %v", rep.Records, rep.LastSeq, records, last, rep.Problems)
	}
	return rep
}

// TestCheckReportsLowFreeSpace: Check reads the free space itself, so the
// sink is reported unavailable before a write fails: below 1 MiB, or below
// twice the largest record written; it is ready again when space returns.
func TestCheckReportsLowFreeSpace(t *testing.T) {
	var free atomic.Uint64
	free.Store(100 << 20)
	s, err := OpenFile(t.TempDir(), FileOptions{FreeSpace: func(string) (uint64, error) { return free.Load(), nil }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("Check with 100 MiB free: %v", err)
	}
	free.Store(512 << 10)
	if err := s.Check(); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "almost full") {
		t.Fatalf("Check with 512 KiB free: %v", err)
	}
	free.Store(3 << 20)
	r := testRecord(t, 1)
	r.Message = strings.Repeat("x", 2<<20) // a 2 MiB record
	if err := s.Write(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Check with 3 MiB free after a 2 MiB record: %v", err)
	}
	free.Store(5 << 20)
	if err := s.Check(); err != nil {
		t.Fatalf("Check with 5 MiB free: %v", err)
	}
}
