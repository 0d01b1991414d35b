package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The per-patient index of the local chain, written with each record so
// that one patient's access log is read without scanning the chain.
//
// Under <audit dir>/index, 256 append-only shard files 00.idx … ff.idx
// (the shard is FNV-1a of the patient key) hold one line per record and key:
//
//	<key> <seq> <segment> <offset> <length>\n
//
// where <segment>/<offset>/<length> locate the record's chain line. The
// index is derived data: every line is checked against the chain when read
// (the line's hash and sequence number), lines that do not check are
// ignored, and a line may appear twice (read deduplicates by seq).
//
// POS holds "<seq> <segment> <offset>" of the end of the last indexed
// record, rewritten in place after each record (no fsync: it may lag);
// readers scan the chain after it, so a lagging index misses nothing.
// CHECKPOINT holds the same for a point up to which the shards were
// fsync'd (at each segment rotation and on Close); on open the sink
// re-indexes the chain after it, so a crash loses no index line.
const (
	indexDir       = "index"
	indexShards    = 256
	posFile        = "POS"
	checkpointFile = "CHECKPOINT"
)

// indexPos locates the end of an indexed record in the chain.
type indexPos struct {
	Seq     int64
	Segment int
	Offset  int64
}

func (p indexPos) String() string {
	return fmt.Sprintf("%020d %08d %020d\n", p.Seq, p.Segment, p.Offset)
}

func readPos(path string) (indexPos, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return indexPos{}, err
	}
	var p indexPos
	if _, err := fmt.Sscanf(string(b), "%d %d %d", &p.Seq, &p.Segment, &p.Offset); err != nil {
		return indexPos{}, fmt.Errorf("audit index: unreadable %s", filepath.Base(path))
	}
	return p, nil
}

func shardOf(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % indexShards)
}

func shardPath(dir string, n int) string {
	return filepath.Join(dir, indexDir, fmt.Sprintf("%02x.idx", n))
}

// indexLine is one pending index line.
type indexLine struct {
	shard int
	text  []byte
}

// indexWriter appends index lines; used under FileSink.mu.
type indexWriter struct {
	dir     string
	shards  map[int]*os.File
	dirty   map[int]bool
	pos     *os.File
	pending []indexLine // lines not yet appended (a failed write)
}

func openIndex(dir string) (*indexWriter, error) {
	if err := os.MkdirAll(filepath.Join(dir, indexDir), 0o700); err != nil {
		return nil, fmt.Errorf("audit index: %w", err)
	}
	pos, err := os.OpenFile(filepath.Join(dir, indexDir, posFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit index: %w", err)
	}
	return &indexWriter{dir: dir, shards: map[int]*os.File{}, dirty: map[int]bool{}, pos: pos}, nil
}

func (x *indexWriter) shard(n int) (*os.File, error) {
	if f, ok := x.shards[n]; ok {
		return f, nil
	}
	path := shardPath(x.dir, n)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	// A crash may have left a shard ending in a partial line: end it, so
	// the next line stays readable (the partial one is ignored on read).
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, st.Size()-1); err == nil && last[0] != '\n' {
			if _, err := f.Write([]byte{'\n'}); err != nil {
				f.Close()
				return nil, err
			}
		}
	}
	x.shards[n] = f
	return f, nil
}

// add queues the index lines of one record and appends every queued line.
func (x *indexWriter) add(keys []string, seq int64, segment int, offset, length int64) {
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, " \n") {
			continue
		}
		line := fmt.Appendf(nil, "%s %d %d %d %d\n", k, seq, segment, offset, length)
		x.pending = append(x.pending, indexLine{shard: shardOf(k), text: line})
	}
}

// flush appends the queued lines; on failure the rest stay queued.
func (x *indexWriter) flush() error {
	for len(x.pending) > 0 {
		l := x.pending[0]
		f, err := x.shard(l.shard)
		if err == nil {
			_, err = f.Write(l.text)
		}
		if err != nil {
			return fmt.Errorf("audit index: %w", err)
		}
		x.dirty[l.shard] = true
		x.pending = x.pending[1:]
	}
	return nil
}

// setPos records the end of the last indexed record (best effort, no fsync).
func (x *indexWriter) setPos(p indexPos) {
	_, _ = x.pos.WriteAt([]byte(p.String()), 0)
}

// checkpoint fsyncs the shards written since the last checkpoint and then
// records p as indexed durably.
func (x *indexWriter) checkpoint(p indexPos, nosync bool) error {
	if len(x.pending) > 0 {
		return errors.New("audit index: lines pending")
	}
	if !nosync {
		for n := range x.dirty {
			if err := x.shards[n].Sync(); err != nil {
				return fmt.Errorf("audit index: fsync: %w", err)
			}
		}
	}
	clear(x.dirty)
	if err := writeFileSync(filepath.Join(x.dir, indexDir, checkpointFile), []byte(p.String())); err != nil {
		return fmt.Errorf("audit index: checkpoint: %w", err)
	}
	return nil
}

func (x *indexWriter) close() {
	for _, f := range x.shards {
		f.Close()
	}
	x.pos.Close()
}

// catchUp indexes the records after the checkpoint (all of them for a
// chain that has none: a chain written before the index existed).
func (x *indexWriter) catchUp(dir string) (indexPos, error) {
	return x.catchUpDecoding(dir, decodeKeys)
}

// catchUpDecoding is catchUp reading each line's sequence number and
// patient keys with decode (the tests pass main's whole-record decoding).
func (x *indexWriter) catchUpDecoding(dir string, decode func(raw []byte) (int64, []string, bool)) (indexPos, error) {
	from, err := readPos(filepath.Join(dir, indexDir, checkpointFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		from = indexPos{}
	}
	last := from
	err = scanLines(dir, from, nil, func(raw []byte, p indexPos, length int64) error {
		seq, keys, ok := decode(raw)
		if !ok {
			return nil
		}
		p.Seq = seq
		x.add(keys, seq, p.Segment, p.Offset-length, length)
		last = p
		return x.flush()
	})
	if err != nil {
		return last, err
	}
	x.setPos(last)
	return last, nil
}

// indexedRecord is what the index catch-up decodes of a record: its
// event, for the patient keys. It has Record's fields (TestIndexedRecord),
// so a line decodes here exactly when it decodes as a Record, but the
// message is checked, not kept.
type indexedRecord struct {
	ID      string       `json:"id"`
	Event   Event        `json:"event"`
	Message stringOrNull `json:"message"`
	Gap     *Gap         `json:"gap,omitempty"`
}

// stringOrNull accepts the JSON values a string field accepts (a string,
// null) without unquoting them.
type stringOrNull struct{}

func (stringOrNull) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && (b[0] == '"' || b[0] == 'n') {
		return nil // the decoder has checked the value's syntax
	}
	return errors.New("audit index: message is not a string")
}

// decodeKeys is decodeLine for the index catch-up: the line's sequence
// number and the patient keys of its event. It does not check the line's
// hash (the index is checked against the chain when read).
func decodeKeys(raw []byte) (seq int64, keys []string, ok bool) {
	l, _, err := parseHead(raw)
	if err != nil {
		return 0, nil, false
	}
	var rec indexedRecord
	if err := json.Unmarshal(l.body, &rec); err != nil {
		return 0, nil, false
	}
	return l.seq, rec.Event.PatientKeys(), true
}

// scanBuffer is what scanLines reads of a segment at a time. A line that
// does not fit is gathered in a second buffer, reused for the next long
// line: a scan holds one buffer and the longest line, not the segment.
const scanBuffer = 64 << 10

// scanFrom calls fn for each readable record of the chain after position
// from, with the position of the end of its line and the line's length;
// lines without needle (when set) are skipped undecoded.
func scanFrom(dir string, from indexPos, needle []byte, fn func(Entry, indexPos, int64) error) error {
	return scanLines(dir, from, needle, func(raw []byte, p indexPos, length int64) error {
		e, ok := decodeLine(raw)
		if !ok {
			return nil
		}
		p.Seq = e.Seq
		return fn(e, p, length)
	})
}

// scanLines streams the chain after position from and calls fn for each
// complete line (without its newline; valid during the call only) that
// holds needle (when set), with the segment and offset of the line's end
// (p.Seq unset) and the line's length.
func scanLines(dir string, from indexPos, needle []byte, fn func(raw []byte, p indexPos, length int64) error) error {
	segs, err := segments(dir)
	if err != nil {
		return err
	}
	for _, n := range segs {
		if n < from.Segment {
			continue
		}
		off := int64(0)
		if n == from.Segment {
			off = from.Offset
		}
		if err := scanSegmentFrom(segmentPath(dir, n), n, off, needle, fn); err != nil {
			return err
		}
	}
	return nil
}

func scanSegmentFrom(path string, seg int, off int64, needle []byte, fn func([]byte, indexPos, int64) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return fmt.Errorf("audit chain: %w", err)
	}
	r := bufio.NewReaderSize(f, scanBuffer)
	var long []byte // a line longer than r's buffer, reused for the next one
	for {
		raw, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long[:0], raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = r.ReadSlice('\n')
				long = append(long, raw...)
			}
			raw = long
		}
		if err == io.EOF {
			return nil // a torn tail (no newline) is not a record
		}
		if err != nil {
			return fmt.Errorf("audit chain: %w", err)
		}
		off += int64(len(raw))
		if needle != nil && !bytes.Contains(raw, needle) {
			continue
		}
		if err := fn(raw[:len(raw)-1], indexPos{Segment: seg, Offset: off}, int64(len(raw))); err != nil {
			return err
		}
	}
}

// decodeLine parses and decodes one chain line (without its newline).
func decodeLine(raw []byte) (Entry, bool) {
	l, err := parseLine(raw)
	if err != nil {
		return Entry{}, false
	}
	var rec Record
	if err := json.Unmarshal(l.body, &rec); err != nil {
		return Entry{}, false
	}
	return Entry{Seq: l.seq, Hash: fmt.Sprintf("%x", l.hash), Record: rec, verified: l.bodyOK}, true
}

// DirReader reads the per-patient index of a local chain directory without
// opening it for writing (the gateway may be writing it), and of its
// operator log: the CLI and the access log of a host whose sink is the
// local chain.
type DirReader struct{ Dir string }

var _ PatientReader = DirReader{}

// PatientEntries implements PatientReader: the records indexed under key
// whose chain line checks (hash and sequence number), then those written
// after the index's last position.
func (d DirReader) PatientEntries(ctx context.Context, key string) ([]Entry, error) {
	return WithOperatorLog(mainDirReader(d), d.Dir).PatientEntries(ctx, key)
}

// mainDirReader reads the main chain only.
type mainDirReader DirReader

func (d mainDirReader) PatientEntries(ctx context.Context, key string) ([]Entry, error) {
	return readPatient(d.Dir, key)
}

func readPatient(dir, key string) ([]Entry, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no chain yet: nothing recorded
	}
	pos, perr := readPos(filepath.Join(dir, indexDir, posFile))
	if perr != nil {
		// No index yet (a chain from before it): read the whole chain.
		pos = indexPos{}
	}
	var out []Entry
	seen := map[int64]bool{}
	data, err := os.ReadFile(shardPath(dir, shardOf(key)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("audit index: %w", err)
	}
	files := map[int]*os.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	prefix := []byte(key + " ")
	for len(data) > 0 {
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 {
			break
		}
		line := data[:nl]
		data = data[nl+1:]
		if !bytes.HasPrefix(line, prefix) {
			continue
		}
		var seq, off, length int64
		var seg int
		if _, err := fmt.Sscanf(string(line[len(prefix):]), "%d %d %d %d", &seq, &seg, &off, &length); err != nil || seen[seq] || length <= 1 || length > 64<<20 {
			continue
		}
		f, ok := files[seg]
		if !ok {
			f, err = os.Open(segmentPath(dir, seg))
			if err != nil {
				continue // a quarantined segment: its records left the chain
			}
			files[seg] = f
		}
		buf := make([]byte, length)
		if _, err := f.ReadAt(buf, off); err != nil || buf[length-1] != '\n' {
			continue
		}
		e, ok := decodeLine(buf[:length-1])
		if !ok || e.Seq != seq || !e.verified {
			continue
		}
		seen[seq] = true
		out = append(out, e)
	}
	// Records after the index's last position (a lagging index).
	needle := []byte(`"` + key + `"`)
	err = scanFrom(dir, pos, needle, func(e Entry, _ indexPos, _ int64) error {
		if !seen[e.Seq] && e.verified {
			seen[e.Seq] = true
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

var _ PatientReader = (*FileSink)(nil)

// PatientEntries implements PatientReader over the sink's own directory.
func (s *FileSink) PatientEntries(ctx context.Context, key string) ([]Entry, error) {
	return readPatient(s.dir, key)
}

// Dir is the chain's directory.
func (s *FileSink) Dir() string { return s.dir }
