package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Gap is what the record restarting a chain after a quarantine declares:
// records From..To left the chain with the quarantined segment file, and
// the chain goes on from the record whose hash is After. Verify accepts
// exactly that range as missing (a notice, not a problem) and checks that
// the gap record links to After.
type Gap struct {
	From     int64     `json:"from"`
	To       int64     `json:"to"`
	After    string    `json:"after"`  // hash of the last record kept (hex; zeros when none)
	File     string    `json:"file"`   // quarantine/<name>
	SHA256   string    `json:"sha256"` // of the quarantined file, as moved
	Reason   string    `json:"reason"`
	Operator string    `json:"operator"`
	Time     time.Time `json:"time"`
}

const quarantineDir = "quarantine"

// ErrNothingToQuarantine: the chain verifies; Quarantine changes nothing.
var ErrNothingToQuarantine = errors.New("audit chain: it verifies, nothing to quarantine")

// Quarantine is the operator procedure for a chain whose tail is damaged
// (an acknowledged record cut or edited in the last segment file, so that
// the gateway refuses to start): with the gateway stopped, it moves the
// last segment file unchanged to <dir>/quarantine/, and starts a new
// segment whose first record, the gap record, names the records that left
// the chain (up to the one HEAD last acknowledged), the quarantined file
// and its SHA-256, the operator, the reason and the time; HEAD then names
// the gap record. The procedure is itself recorded in the chain, and
// luxncp audit verify accepts the declared gap and nothing else. The
// quarantined file is kept for investigation: its intact records can be
// read with any text tool. It refuses a chain that verifies.
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
	// rotation left after it go with it.
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
	// The last record kept: the end of the segment before the damaged one.
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
	to := keptSeq
	for _, l := range splitLines(data) {
		if p, err := parseLine(l); err == nil {
			to = max(to, p.seq)
		}
	}
	if h, err := readHead(dir); err == nil {
		to = max(to, h.Seq)
	}
	sum := sha256.Sum256(data)
	name := filepath.Base(path) + "." + stamp
	if err := os.Rename(path, filepath.Join(qdir, name)); err != nil {
		return nil, fmt.Errorf("audit quarantine: %w", err)
	}
	for _, d := range []string{qdir, dir} {
		if err := syncDir(d); err != nil {
			return nil, err
		}
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
