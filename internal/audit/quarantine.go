package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// Gap is what the record restarting a chain after a quarantine declares:
// records From..To left the chain with the damaged tail of a segment file,
// and the chain goes on from the record whose hash is After, the last
// intact record kept. Verify accepts exactly that range as missing (a
// notice, not a problem), checks that the gap record links to After, that
// the quarantined bytes still have their SHA-256, and that they do not
// start with an intact record (a gap larger than the damage).
type Gap struct {
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	After    string    `json:"after"`  // hash of the last record kept (hex; zeros when none)
	File     string    `json:"file"`   // quarantine/<name>: the damaged tail's bytes, unchanged
	SHA256   string    `json:"sha256"` // of the quarantined file
	Reason   string    `json:"reason"`
	Operator string    `json:"operator"`
	Time     time.Time `json:"time"`
}

const quarantineDir = "quarantine"

// ErrNothingToQuarantine: the chain verifies; Quarantine changes nothing.
var ErrNothingToQuarantine = errors.New("audit chain: it verifies, nothing to quarantine")

// Quarantine is the operator procedure for a chain whose tail is damaged
// (an acknowledged record cut or edited in the last segment file, so that
// the gateway refuses to start). With the gateway stopped, it keeps every
// intact record: it splits the last segment at the end of its last intact,
// hash-verified record linked into the chain; copies the bytes after it
// (the damaged tail), unchanged, to <dir>/quarantine/<segment>.<time>;
// only then cuts the segment there; and starts a new segment whose first
// record, the gap record, links to the last record kept and names the
// records that left the chain (from the one after it to the one HEAD last
// acknowledged), the quarantined file and its SHA-256, the operator, the
// reason and the time; HEAD then names the gap record. The per-patient
// index keeps the intact records (their offsets do not change) and
// re-indexes from the cut on the next start. The procedure is itself
// recorded in the chain, and luxncp audit verify accepts the declared gap
// and nothing else. It refuses a chain that verifies, and damage before
// the last segment.
func Quarantine(dir, reason, operator string, now time.Time) (*Gap, error) {
	if reason == "" || operator == "" {
		return nil, errors.New("audit quarantine: a reason and an operator are required")
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		defer lock.Close()
	}
	rep, err := verifyChain(dir) // the main chain: the operator log is not quarantined here
	if err != nil {
		return nil, err
	}
	if rep.OK() {
		return nil, ErrNothingToQuarantine
	}
	segs, err := segments(dir)
	if err != nil || len(segs) == 0 {
		return nil, fmt.Errorf("audit quarantine: no segment: %v", err)
	}
	// The damaged segment is the last one with content; empty segments a
	// rotation left after it go to the quarantine folder.
	qdir := filepath.Join(dir, quarantineDir)
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return nil, fmt.Errorf("audit quarantine: %w", err)
	}
	stamp := now.UTC().Format("20060102T150405Z")
	for len(segs) > 1 {
		p := segmentPath(dir, segs[len(segs)-1])
		if st, err := os.Stat(p); err != nil || st.Size() > 0 {
			break
		}
		if err := os.Rename(p, filepath.Join(qdir, filepath.Base(p)+"."+stamp)); err != nil {
			return nil, fmt.Errorf("audit quarantine: %w", err)
		}
		segs = segs[:len(segs)-1]
	}
	last := segs[len(segs)-1]
	// The last record before the damaged segment.
	s := &FileSink{dir: dir}
	var keptSeq int64
	var kept [sha256.Size]byte
	for i := len(segs) - 2; i >= 0; i-- {
		seq, hash, found, err := s.lastRecord(segs[i], false)
		if err != nil {
			return nil, fmt.Errorf("audit quarantine: damage before the last segment (%w): restore the chain from the S3 copy", err)
		}
		if found {
			keptSeq, kept = seq, hash
			break
		}
	}
	path := segmentPath(dir, last)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit quarantine: %w", err)
	}
	for _, p := range rep.Problems {
		if p.File != "" && p.File < filepath.Base(path) {
			return nil, fmt.Errorf("audit quarantine: damage before the last segment (%s): restore the chain from the S3 copy", p)
		}
	}
	cut := intactPrefix(data, &keptSeq, &kept)
	tail := data[cut:]
	to := keptSeq
	for _, l := range splitLines(tail) {
		if p, err := parseLine(l); err == nil {
			to = max(to, p.seq)
		}
	}
	if h, err := readHead(dir); err == nil {
		to = max(to, h.Seq)
	}
	if len(tail) == 0 && to == keptSeq {
		return nil, fmt.Errorf("audit quarantine: the last segment is intact up to record %d; the damage is elsewhere: %v", keptSeq, rep.Problems)
	}
	// The damaged tail, unchanged, is durable in the quarantine folder
	// before the segment is cut.
	sum := sha256.Sum256(tail)
	name := filepath.Base(path) + "." + stamp
	if err := writeFileSync(filepath.Join(qdir, name), tail); err != nil {
		return nil, fmt.Errorf("audit quarantine: %w", err)
	}
	if err := truncateSync(path, int64(cut)); err != nil {
		return nil, fmt.Errorf("audit quarantine: %w", err)
	}
	if err := rewindIndex(dir, indexPos{Seq: keptSeq, Segment: last, Offset: int64(cut)}); err != nil {
		return nil, err
	}
	g := &Gap{From: keptSeq + 1, To: to, After: hex.EncodeToString(kept[:]), File: quarantineDir + "/" + name,
		SHA256: hex.EncodeToString(sum[:]), Reason: reason, Operator: operator, Time: now.UTC()}
	rec, err := MarshalRecord(Record{ID: NewUUID(), Event: Event{Time: now.UTC()}, Gap: g})
	if err != nil {
		return nil, err
	}
	line, hash := chainLine(kept, to+1, rec)
	if err := writeFileSync(segmentPath(dir, last+1), line); err != nil {
		return nil, fmt.Errorf("audit quarantine: new segment: %w", err)
	}
	if err := writeFileSync(filepath.Join(dir, headFile), fmt.Appendf(nil, "%020d %x\n", to+1, hash)); err != nil {
		return nil, fmt.Errorf("audit quarantine: HEAD: %w", err)
	}
	return g, nil
}

// intactPrefix is the length of the leading records of data that are
// intact and linked: complete lines whose hash verifies, numbered on from
// *seq and naming *prev. It advances *seq and *prev to the last of them.
func intactPrefix(data []byte, seq *int64, prev *[sha256.Size]byte) int {
	cut := 0
	for {
		nl := bytes.IndexByte(data[cut:], '\n')
		if nl < 0 {
			return cut
		}
		l, err := parseLine(data[cut : cut+nl])
		if err != nil || !l.bodyOK || l.seq != *seq+1 || l.prev != *prev {
			return cut
		}
		*seq, *prev = l.seq, l.hash
		cut += nl + 1
	}
}

// truncateSync cuts the file at path to size and fsyncs it.
func truncateSync(path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// rewindIndex moves the index's POS and CHECKPOINT back to p when they lie
// past it (inside the quarantined tail), so that the next start re-indexes
// the chain from p; index lines of quarantined records no longer check.
func rewindIndex(dir string, p indexPos) error {
	for _, name := range []string{posFile, checkpointFile} {
		path := filepath.Join(dir, indexDir, name)
		cur, err := readPos(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err == nil && (cur.Segment < p.Segment || cur.Segment == p.Segment && cur.Offset <= p.Offset) {
			continue
		}
		if err := writeFileSync(path, []byte(p.String())); err != nil {
			return fmt.Errorf("audit quarantine: index: %w", err)
		}
	}
	return nil
}

// splitLines splits data into its newline-terminated lines and a last
// unterminated one.
func splitLines(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		i := 0
		for i < len(data) && data[i] != '\n' {
			i++
		}
		out = append(out, data[:i])
		if i == len(data) {
			break
		}
		data = data[i+1:]
	}
	return out
}
