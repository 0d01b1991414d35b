package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// The local chain's on-disk format. Segment files audit-00000001.log,
// audit-00000002.log … under the audit directory hold one record per line:
//
//	<hash> <body>\n
//
// body is the record as JSON with its sequence number and the previous
// record's hash first: {"seq":N,"prev":"<hex>","id":…,"event":…,"message":…};
// hash is hex(SHA-256(previous hash (32 bytes) ‖ body)). The first record's
// previous hash is 32 zero bytes. The chain runs on across segments.
const (
	segmentPrefix = "audit-"
	segmentSuffix = ".log"
	tornSuffix    = ".torn"
	hashHexLen    = 2 * sha256.Size
)

var zeroHash [sha256.Size]byte

// DefaultMaxSegmentBytes is the size after which FileSink starts a new segment.
const DefaultMaxSegmentBytes = 64 << 20

// ErrTornTail reports a last record cut short by a crash. It was never
// acknowledged (Write returns after fsync), so no transaction depended on
// it, but the chain is not extended over it silently: Open fails unless
// FileOptions.RecoverTorn moves the torn bytes aside.
var ErrTornTail = errors.New("audit chain: torn last record")

// ErrCorrupt reports a last record whose hash does not verify: FileSink does
// not extend a chain it cannot trust. Run Verify.
var ErrCorrupt = errors.New("audit chain: last record does not verify")

// ErrLocked: another process writes this chain.
var ErrLocked = errors.New("audit chain: in use by another process")

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("audit chain: sink closed")

// ErrUnavailable wraps the cause while the sink cannot write (disk full, I/O
// error). It is not sticky: the next Write or Check repairs the chain's end
// and tries again, so the sink recovers by itself when space returns.
var ErrUnavailable = errors.New("audit chain: cannot write")

// File is what FileSink needs of a segment file (*os.File has it). Tests
// wrap it to inject faults (FileOptions.WrapFile).
type File interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
	Close() error
}

// FileOptions configures a FileSink. The zero value is the production default.
type FileOptions struct {
	// MaxSegmentBytes: start a new segment file after this size
	// (default DefaultMaxSegmentBytes).
	MaxSegmentBytes int64
	// RecoverTorn: on Open, move a torn last record to <segment>.torn-<offset>
	// and continue the chain after the last complete record. Verify reports
	// the moved bytes. Without it Open fails with ErrTornTail.
	RecoverTorn bool
	// NoSync skips fsync (benchmarks of the fsync cost only; never in production).
	NoSync bool
	// WrapFile, when set, wraps every segment file and the space probe
	// (fault injection in tests: a full disk, a failing fsync).
	WrapFile func(File) File
	// FreeSpace reports the bytes still free for the chain in dir
	// (default: statfs). Check reports the sink unavailable when they fall
	// below MinFreeBytes or twice the largest record written, whichever is
	// larger, so that /healthz turns 503 before a write fails.
	FreeSpace func(dir string) (uint64, error)
	// MinFreeBytes: default DefaultMinFreeBytes.
	MinFreeBytes int64
}

// DefaultMinFreeBytes is the free space below which Check reports the
// sink unavailable, unless twice the largest record written is more.
const DefaultMinFreeBytes = 1 << 20

func (o FileOptions) wrap(f *os.File) File {
	if o.WrapFile != nil {
		return o.WrapFile(f)
	}
	return f
}

// FileSink is the local Sink: an append-only, hash-chained, fsync'd log.
// Write returns after the record's bytes are on disk. Concurrent writers
// share fsyncs (group commit). One process at a time may write a directory
// (an advisory lock, dir/LOCK, enforces it on Unix).
type FileSink struct {
	dir  string
	opts FileOptions
	lock *os.File // advisory lock held while open
	head *os.File // HEAD: the last record known to be on disk
	// headSeq: the record HEAD named at open; a torn tail at or before it
	// was acknowledged, so it is damage, not a crash (never cut at start).
	headSeq int64

	syncMu sync.Mutex // serialises fsync and segment rotation
	synced int64      // highest seq known to be on disk; under syncMu

	mu      sync.Mutex // guards the fields below
	f       File
	segment int
	size    int64 // bytes of complete records in the current segment
	seq     int64
	prev    [sha256.Size]byte
	idx     *indexWriter
	closed  bool
	// err: why the sink cannot write now (wraps ErrUnavailable); repaired
	// by the next Write or Check.
	err      error
	partial  bool  // a failed write may have left bytes after size
	needSync bool  // a failed fsync: records after synced may not be on disk
	largest  int64 // the longest chain line written since open
}

var _ Sink = (*FileSink)(nil)

// OpenFile opens (creating it when missing) the audit chain in dir and
// resumes it after its last record.
func OpenFile(dir string, opts FileOptions) (*FileSink, error) {
	if opts.MaxSegmentBytes <= 0 {
		opts.MaxSegmentBytes = DefaultMaxSegmentBytes
	}
	if opts.MinFreeBytes <= 0 {
		opts.MinFreeBytes = DefaultMinFreeBytes
	}
	if opts.FreeSpace == nil {
		opts.FreeSpace = freeSpace
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("audit chain: %w", err)
		}
		if err := syncDir(filepath.Dir(dir)); err != nil {
			return nil, err
		}
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	s, err := open(dir, opts)
	if err != nil {
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	s.lock = lock
	err = s.openHead()
	if err == nil {
		err = s.openIndex()
	}
	if err != nil {
		s.f.Close()
		if s.head != nil {
			s.head.Close()
		}
		if lock != nil {
			lock.Close()
		}
		return nil, err
	}
	return s, nil
}

// openIndex opens the per-patient index and indexes what the chain holds
// beyond its last checkpoint.
func (s *FileSink) openIndex() error {
	x, err := openIndex(s.dir)
	if err != nil {
		return err
	}
	p, err := x.catchUp(s.dir)
	if err == nil {
		err = x.checkpoint(p, s.opts.NoSync)
	}
	if err != nil {
		x.close()
		return err
	}
	s.idx = x
	return nil
}

// HEAD holds "<seq> <hash>\n" (fixed width) of the last record known to be
// on disk. It is rewritten in place after each fsync, without an fsync of
// its own: after a power loss it may lag behind the chain, never run ahead
// of it. A chain that ends before HEAD's record lost its tail.
const headFile = "HEAD"

func (s *FileSink) openHead() error {
	path := filepath.Join(s.dir, headFile)
	if h, err := readHead(s.dir); err == nil && h.Seq > s.seq {
		return fmt.Errorf("%w: the chain ends at record %d but HEAD names record %d: run luxncp audit verify", ErrCorrupt, s.seq, h.Seq)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	s.head = f
	s.writeHead(s.seq, s.prev)
	return nil
}

func (s *FileSink) writeHead(seq int64, hash [sha256.Size]byte) {
	if s.head == nil || seq == 0 {
		return
	}
	// Best effort: HEAD only adds tail-truncation detection to the chain.
	_, _ = s.head.WriteAt([]byte(fmt.Sprintf("%020d %x\n", seq, hash)), 0)
}

// headRecord names one record of the chain by number and hash.
type headRecord struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
}

func readHead(dir string) (headRecord, error) {
	b, err := os.ReadFile(filepath.Join(dir, headFile))
	if err != nil {
		return headRecord{}, err
	}
	var a headRecord
	if _, err := fmt.Sscanf(string(b), "%d %s", &a.Seq, &a.Hash); err != nil || a.Seq <= 0 || len(a.Hash) != hashHexLen {
		return headRecord{}, fmt.Errorf("unreadable HEAD %q", b)
	}
	return a, nil
}

func open(dir string, opts FileOptions) (*FileSink, error) {
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	s := &FileSink{dir: dir, opts: opts}
	if h, err := readHead(dir); err == nil {
		s.headSeq = h.Seq
	}
	if len(segs) == 0 {
		if err := s.openSegment(1); err != nil {
			return nil, err
		}
		return s, nil
	}
	// Resume from the last record: in the last segment, or in the one
	// before it when a rotation left the last one empty.
	last := segs[len(segs)-1]
	for i := len(segs) - 1; i >= 0; i-- {
		seq, hash, found, err := s.lastRecord(segs[i], i == len(segs)-1)
		if err != nil {
			return nil, err
		}
		if found {
			s.seq, s.prev = seq, hash
			break
		}
	}
	s.synced = s.seq
	f, err := os.OpenFile(segmentPath(dir, last), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	s.f, s.segment, s.size = opts.wrap(f), last, st.Size()
	return s, nil
}

// tailChunk is how much of a segment lastRecord reads at a time: it
// holds one chunk, whatever the segment's or the last record's size.
const tailChunk = 64 << 10

// lastRecord reads the end of segment n backwards, in chunks of
// tailChunk bytes, and returns its last record's seq and hash. A cut last
// record is refused (ErrTornTail), or moved aside when it is the chain's
// end, FileOptions.RecoverTorn is set and HEAD does not name it.
func (s *FileSink) lastRecord(n int, isLast bool) (seq int64, hash [sha256.Size]byte, found bool, err error) {
	return s.lastRecordIn(n, isLast, make([]byte, tailChunk))
}

// lastRecordIn is lastRecord reading through buf (at least maxHeadLen
// bytes; tests use small ones to cross chunk boundaries).
func (s *FileSink) lastRecordIn(n int, isLast bool, buf []byte) (seq int64, hash [sha256.Size]byte, found bool, err error) {
	path := segmentPath(s.dir, n)
	f, err := os.Open(path)
	if err != nil {
		return 0, hash, false, fmt.Errorf("audit chain: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, hash, false, fmt.Errorf("audit chain: %w", err)
	}
	end := st.Size() // the segment's complete lines end here
	if end > 0 {
		b := buf[:1]
		if _, err := f.ReadAt(b, end-1); err != nil {
			return 0, hash, false, fmt.Errorf("audit chain: %w", err)
		}
		if b[0] != '\n' {
			cut, err := lineStart(f, end, buf)
			if err != nil {
				return 0, hash, false, err
			}
			if !isLast || !s.opts.RecoverTorn {
				return 0, hash, false, fmt.Errorf("%w: %s at byte %d (%d bytes)", ErrTornTail, filepath.Base(path), cut, end-cut)
			}
			// Only a record that was never acknowledged may be moved aside:
			// HEAD names the last record known to be on disk. The start
			// refuses before it changes anything.
			done, err := lastSeqBefore(f, cut, buf)
			if err != nil {
				return 0, hash, false, err
			}
			if s.headSeq > done {
				return 0, hash, false, fmt.Errorf("%w: %s ends in a cut record but HEAD names record %d, past the last complete one (%d): acknowledged records are damaged; follow the damaged-tail procedure (luxncp audit quarantine, docs/audit.md)", ErrCorrupt, filepath.Base(path), s.headSeq, done)
			}
			if err := moveTorn(path, io.NewSectionReader(f, cut, end-cut), cut); err != nil {
				return 0, hash, false, err
			}
			end = cut
		}
	}
	if end == 0 {
		return 0, hash, false, nil
	}
	start, err := lineStart(f, end-1, buf)
	if err != nil {
		return 0, hash, false, err
	}
	l, ok, err := readLineAt(f, start, end-1, buf)
	if err != nil {
		return 0, hash, false, err
	}
	if !ok {
		return 0, hash, false, fmt.Errorf("%w: %s: run luxncp audit verify", ErrCorrupt, filepath.Base(path))
	}
	return l.seq, l.hash, true, nil
}

// lineStart is the offset just after the last newline of f before offset
// end (0 when there is none), read backwards a chunk of buf at a time.
func lineStart(f io.ReaderAt, end int64, buf []byte) (int64, error) {
	for end > 0 {
		from := max(0, end-int64(len(buf)))
		b := buf[:end-from]
		if _, err := f.ReadAt(b, from); err != nil {
			return 0, fmt.Errorf("audit chain: %w", err)
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return from + int64(i) + 1, nil
		}
		end = from
	}
	return 0, nil
}

// lastSeqBefore is the sequence number of the last complete line of f
// before offset cut, which ends a line (0 when none parses).
func lastSeqBefore(f io.ReaderAt, cut int64, buf []byte) (int64, error) {
	end := max(0, cut-1) // the line's end, without its newline
	start, err := lineStart(f, end, buf)
	if err != nil {
		return 0, err
	}
	b := buf[:min(end-start, int64(maxHeadLen))]
	if _, err := f.ReadAt(b, start); err != nil {
		return 0, fmt.Errorf("audit chain: %w", err)
	}
	l, _, err := parseHead(b)
	if err != nil {
		return 0, nil
	}
	return l.seq, nil
}

// readLineAt parses the chain line of f in [start, end) (without its
// newline) as parseLine does, reading its head into buf and hashing its
// body a chunk of buf at a time. ok: the line parses and its hash
// verifies.
func readLineAt(f io.ReaderAt, start, end int64, buf []byte) (l line, ok bool, err error) {
	b := buf[:min(end-start, int64(maxHeadLen))]
	if _, err := f.ReadAt(b, start); err != nil {
		return l, false, fmt.Errorf("audit chain: %w", err)
	}
	l, hashOK, perr := parseHead(b)
	if perr != nil || !hashOK {
		return l, false, nil
	}
	h := sha256.New()
	h.Write(l.prev[:])
	body := start + hashHexLen + 1
	if _, err := io.CopyBuffer(h, io.NewSectionReader(f, body, end-body), buf); err != nil {
		return l, false, fmt.Errorf("audit chain: %w", err)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	l.body = nil // not read: only its hash
	l.bodyOK = sum == l.hash
	return l, l.bodyOK, nil
}

// moveTorn saves the torn bytes (torn, from offset cut of the segment at
// path) beside the segment and truncates it there.
func moveTorn(path string, torn io.Reader, cut int64) error {
	side := fmt.Sprintf("%s%s-%d", path, tornSuffix, cut)
	if err := copyFileSync(side, torn); err != nil {
		return fmt.Errorf("audit chain: save torn record: %w", err)
	}
	if err := os.Truncate(path, cut); err != nil {
		return fmt.Errorf("audit chain: truncate torn record: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	defer f.Close()
	return f.Sync()
}

func (s *FileSink) openSegment(n int) error {
	f, err := os.OpenFile(segmentPath(s.dir, n), os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("audit chain: new segment: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return err
	}
	s.f, s.segment, s.size = s.opts.wrap(f), n, 0
	return nil
}

// Write appends r to the chain and returns once it is on disk.
func (s *FileSink) Write(ctx context.Context, r Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	rec, err := MarshalRecord(r)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	s.mu.Lock()
	if err := s.usableLocked(); err != nil {
		s.mu.Unlock()
		return err
	}
	seq := s.seq + 1
	line, hash := chainLine(s.prev, seq, rec)
	if _, err := s.f.Write(line); err != nil {
		// The file may now end in a partial line: cut back to s.size
		// before the next write (repairLocked).
		s.partial = true
		err = s.failLocked(fmt.Errorf("write: %w", err))
		s.mu.Unlock()
		return err
	}
	off := s.size
	s.largest = max(s.largest, int64(len(line)))
	s.seq, s.prev = seq, hash
	s.size += int64(len(line))
	s.idx.add(r.Event.PatientKeys(), seq, s.segment, off, int64(len(line)))
	if err := s.idx.flush(); err != nil {
		// The record is in the chain but not yet indexed: refuse the
		// transaction; the queued lines are appended on repair.
		err = s.failLocked(err)
		s.mu.Unlock()
		return err
	}
	s.idx.setPos(indexPos{Seq: seq, Segment: s.segment, Offset: s.size})
	s.mu.Unlock()
	return s.syncTo(seq)
}

// chainLine is record rec (JSON) as chain line number seq after the record
// whose hash is prev: "<hash> {"seq":N,"prev":"<hex>",…}\n", and its hash.
func chainLine(prev [sha256.Size]byte, seq int64, rec []byte) ([]byte, [sha256.Size]byte) {
	line := make([]byte, 0, hashHexLen+len(rec)+100)
	line = append(line, make([]byte, hashHexLen+1)...) // hash and space, filled below
	line = append(line, `{"seq":`...)
	line = strconv.AppendInt(line, seq, 10)
	line = append(line, `,"prev":"`...)
	line = hex.AppendEncode(line, prev[:])
	line = append(line, `",`...)
	line = append(line, rec[1:]...)
	body := line[hashHexLen+1:]
	hash := chainHash(prev, body)
	hex.Encode(line[:hashHexLen], hash[:])
	line[hashHexLen] = ' '
	return append(line, '\n'), hash
}

// usableLocked returns nil when the sink can take a record, repairing it
// first after a failure.
func (s *FileSink) usableLocked() error {
	if s.closed {
		return ErrClosed
	}
	if s.err == nil {
		return nil
	}
	return s.repairLocked()
}

// repairLocked undoes what a failed write left and retries what failed:
// cut a partial line, fsync again, append queued index lines. It never
// touches an acknowledged record.
func (s *FileSink) repairLocked() error {
	if s.partial {
		if err := s.f.Truncate(s.size); err != nil {
			return s.failLocked(fmt.Errorf("cut a partial write: %w", err))
		}
		s.partial = false
	}
	if s.needSync && !s.opts.NoSync {
		if err := s.f.Sync(); err != nil {
			return s.failLocked(fmt.Errorf("fsync: %w", err))
		}
	}
	s.needSync = false
	if err := s.idx.flush(); err != nil {
		return s.failLocked(err)
	}
	s.idx.setPos(indexPos{Seq: s.seq, Segment: s.segment, Offset: s.size})
	s.err = nil
	return nil
}

func (s *FileSink) failLocked(cause error) error {
	s.err = fmt.Errorf("%w: %w", ErrUnavailable, cause)
	return s.err
}

// Check reports whether the sink can write now: nil, or why not (wrapping
// ErrUnavailable or ErrClosed). After a failure it repairs the chain's end
// and probes for space (writes and fsyncs a small file beside the chain),
// so a health check sees the sink recover when the disk has space again.
// It also reads the free space (FileOptions.FreeSpace): below the
// threshold the sink is reported unavailable before a write fails (writes
// that still fit go on).
func (s *FileSink) Check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if s.err != nil {
		if err := s.repairLocked(); err != nil {
			return err
		}
		if err := s.probe(); err != nil {
			return s.failLocked(fmt.Errorf("space probe: %w", err))
		}
	}
	return s.spaceLocked()
}

// spaceLocked reports ErrUnavailable when the chain's file system has less
// free space than MinFreeBytes or twice the largest record written.
func (s *FileSink) spaceLocked() error {
	free, err := s.opts.FreeSpace(s.dir)
	if err != nil {
		return fmt.Errorf("%w: free space: %w", ErrUnavailable, err)
	}
	need := max(s.opts.MinFreeBytes, 2*s.largest)
	if free < uint64(need) {
		return fmt.Errorf("%w: audit disk almost full: %d bytes free, %d needed", ErrUnavailable, free, need)
	}
	return nil
}

// probe writes and fsyncs 64 KiB beside the chain, then removes it.
func (s *FileSink) probe() error {
	path := filepath.Join(s.dir, "PROBE")
	of, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	f := s.opts.wrap(of)
	_, err = f.Write(make([]byte, 64<<10))
	if err == nil && !s.opts.NoSync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncTo returns once record seq is on disk. One fsync covers every record
// written before it, so concurrent writers share it.
func (s *FileSink) syncTo(seq int64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= seq {
		return nil
	}
	s.mu.Lock()
	f, upto, hash, rotate, broken := s.f, s.seq, s.prev, s.size >= s.opts.MaxSegmentBytes, s.err
	if s.closed {
		broken = ErrClosed
	}
	s.mu.Unlock()
	if broken != nil {
		return broken
	}
	if !s.opts.NoSync {
		if err := f.Sync(); err != nil {
			s.mu.Lock()
			s.needSync = true
			err = s.failLocked(fmt.Errorf("fsync: %w", err))
			s.mu.Unlock()
			return err
		}
	}
	s.synced = upto
	s.writeHead(upto, hash)
	if rotate {
		return s.rotate()
	}
	return nil
}

// rotate starts a new segment; called with syncMu held.
func (s *FileSink) rotate() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.closed {
		return nil // the records are on disk; rotate on a later write
	}
	if !s.opts.NoSync {
		if err := s.f.Sync(); err != nil { // records written since the last fsync
			s.needSync = true
			return s.failLocked(fmt.Errorf("fsync: %w", err))
		}
	}
	s.synced = s.seq
	s.writeHead(s.seq, s.prev)
	// The index up to here is made durable; a crash re-indexes from here.
	_ = s.idx.checkpoint(indexPos{Seq: s.seq, Segment: s.segment, Offset: s.size}, s.opts.NoSync)
	old := s.f
	if err := s.openSegment(s.segment + 1); err != nil {
		return nil // stay on the full segment; the next write tries again
	}
	return old.Close()
}

// Head returns the last record's sequence number and hash (hex): an anchor
// to keep elsewhere (the S3 copy, an operator's note) so that a truncated
// tail can be detected too.
func (s *FileSink) Head() (seq int64, hash string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seq, hex.EncodeToString(s.prev[:])
}

// Close syncs and closes the current segment.
func (s *FileSink) Close() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	var err error
	if s.err != nil {
		err = s.repairLocked()
	}
	if err == nil && !s.opts.NoSync {
		err = s.f.Sync()
	}
	if err == nil {
		err = s.idx.checkpoint(indexPos{Seq: s.seq, Segment: s.segment, Offset: s.size}, s.opts.NoSync)
	}
	s.idx.close()
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if s.head != nil {
		if err == nil && !s.opts.NoSync {
			err = s.head.Sync()
		}
		s.head.Close()
	}
	if s.lock != nil {
		s.lock.Close()
	}
	s.closed = true
	return err
}

func chainHash(prev [sha256.Size]byte, body []byte) [sha256.Size]byte {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(body)
	var out [sha256.Size]byte
	h.Sum(out[:0])
	return out
}

// line is one parsed chain line.
type line struct {
	hash   [sha256.Size]byte // stored hash
	prev   [sha256.Size]byte // previous hash stored in the body
	seq    int64
	body   []byte
	bodyOK bool // stored hash == SHA-256(prev ‖ body)
}

// maxHeadLen bounds what parseHead reads of a line: the hash, a space,
// {"seq":, at most 19 digits, ,"prev":", the previous hash and ",.
const maxHeadLen = hashHexLen + 1 + len(`{"seq":`) + 19 + len(`,"prev":"`) + hashHexLen + len(`",`)

// parseLine reads "<hash> {"seq":N,"prev":"<hex>",…" without decoding the
// rest of the body (the hash covers it).
func parseLine(b []byte) (line, error) {
	l, hashOK, err := parseHead(b)
	if err != nil {
		return l, err
	}
	l.bodyOK = hashOK && chainHash(l.prev, l.body) == l.hash
	return l, nil
}

// parseHead is parseLine without the hash check: it reads at most the
// first maxHeadLen bytes of b, so b may be a line's first maxHeadLen bytes
// (l.body is then only the body's start). hashOK: the stored hash is hex.
func parseHead(b []byte) (l line, hashOK bool, err error) {
	if len(b) < hashHexLen+2 || b[hashHexLen] != ' ' {
		return l, false, errors.New("not a chain line")
	}
	_, herr := hex.Decode(l.hash[:], b[:hashHexLen]) // a garbled hash is an edit, judged by the caller
	l.body = b[hashHexLen+1:]
	rest, ok := bytes.CutPrefix(l.body, []byte(`{"seq":`))
	if !ok {
		return l, false, errors.New("body: no sequence number")
	}
	n := 0
	for n < len(rest) && n < 19 && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	seq, err := strconv.ParseInt(string(rest[:n]), 10, 64)
	if err != nil || seq <= 0 || rest[0] == '0' {
		return l, false, errors.New("body: bad sequence number")
	}
	rest, ok = bytes.CutPrefix(rest[n:], []byte(`,"prev":"`))
	if !ok || len(rest) < hashHexLen+2 || rest[hashHexLen] != '"' || rest[hashHexLen+1] != ',' {
		return l, false, errors.New("body: no previous hash")
	}
	if _, err := hex.Decode(l.prev[:], rest[:hashHexLen]); err != nil {
		return l, false, fmt.Errorf("body: previous hash: %w", err)
	}
	l.seq = seq
	return l, herr == nil, nil
}

// segments lists the segment numbers in dir, ascending.
func segments(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("audit chain: %w", err)
	}
	var out []int
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix))
		if err != nil || n <= 0 {
			continue
		}
		out = append(out, n)
	}
	sort.Ints(out)
	return out, nil
}

func segmentPath(dir string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("%s%08d%s", segmentPrefix, n, segmentSuffix))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("audit chain: sync dir: %w", err)
	}
	return nil
}

func writeFileSync(path string, data []byte) error {
	return copyFileSync(path, bytes.NewReader(data))
}

// copyFileSync writes what r holds to a new file at path (replacing it)
// and fsyncs the file and its directory.
func copyFileSync(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}
