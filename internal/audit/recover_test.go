package audit

import (
	"bytes"
	"errors"
	"os"
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
