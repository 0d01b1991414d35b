package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ProblemKind names what Verify found wrong with the chain.
type ProblemKind string

// The kinds of tampering and damage Verify reports.
const (
	ProblemEdited    ProblemKind = "edited"    // a record's content or hash changed after it was written
	ProblemDeleted   ProblemKind = "deleted"   // records missing from the sequence
	ProblemInserted  ProblemKind = "inserted"  // a record that is not part of the chain
	ProblemReordered ProblemKind = "reordered" // a record out of its place
	ProblemMalformed ProblemKind = "malformed" // a line that is not a chain record
	ProblemTorn      ProblemKind = "torn"      // the last record was cut short (crash during a write)
)

// Problem is one finding, located by sequence number and file line.
type Problem struct {
	Kind   ProblemKind `json:"kind"`
	Seq    int64       `json:"seq,omitempty"`   // the record's sequence number (first of a range)
	ToSeq  int64       `json:"toSeq,omitempty"` // last of a range (deleted)
	File   string      `json:"file,omitempty"`  // segment file name
	Line   int         `json:"line,omitempty"`  // 1-based line in File
	Detail string      `json:"detail"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(string(p.Kind))
	switch {
	case p.ToSeq > p.Seq:
		fmt.Fprintf(&b, ": records %d–%d", p.Seq, p.ToSeq)
	case p.Seq > 0:
		fmt.Fprintf(&b, ": record %d", p.Seq)
	}
	if p.File != "" {
		fmt.Fprintf(&b, " (%s line %d)", p.File, p.Line)
	}
	b.WriteString(": ")
	b.WriteString(p.Detail)
	return b.String()
}

// Report is Verify's result.
type Report struct {
	Segments int       `json:"segments"`
	Records  int       `json:"records"`
	LastSeq  int64     `json:"lastSeq"`
	LastHash string    `json:"lastHash"`
	Problems []Problem `json:"problems"`
	// Notices are findings that are not tampering: torn records moved aside
	// on recovery.
	Notices []string `json:"notices,omitempty"`
}

// OK reports a chain without problems.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

type located struct {
	line
	file   string
	lineNo int
	pos    int
	gap    *Gap // a gap record's declaration (Quarantine)
}

// Verify reads the whole chain in dir and reports every record that was
// edited, deleted, inserted or reordered, malformed lines and a torn tail.
// A chain cut after its last record (tail truncation) or rewritten from some
// record on with recomputed hashes verifies: compare LastSeq and LastHash
// with an anchor kept elsewhere (FileSink.Head, the S3 copy) for that. The
// operator log (OperatorDir), when there is one, is verified the same way:
// its problems are reported with their file under operator/, its records
// counted in Records and Segments; LastSeq and LastHash are the main
// chain's. The error is for I/O failures only.
func Verify(dir string) (*Report, error) {
	rep, err := verifyChain(dir)
	if err != nil {
		return nil, err
	}
	op := OperatorDir(dir)
	if _, err := os.Stat(op); err != nil {
		return rep, nil
	}
	sub, err := verifyChain(op)
	if err != nil {
		return nil, fmt.Errorf("operator log: %w", err)
	}
	rep.Records += sub.Records
	rep.Segments += sub.Segments
	rep.Notices = append(rep.Notices, fmt.Sprintf("operator log (%s): %d records, last record %d, hash %s", operatorDir+"/", sub.Records, sub.LastSeq, sub.LastHash))
	for _, n := range sub.Notices {
		rep.Notices = append(rep.Notices, "operator log: "+n)
	}
	for _, p := range sub.Problems {
		if p.File != "" {
			p.File = operatorDir + "/" + p.File
		}
		p.Detail = "operator log: " + p.Detail
		rep.Problems = append(rep.Problems, p)
	}
	return rep, nil
}

// verifyChain is Verify of the one chain in dir.
func verifyChain(dir string) (*Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("no audit chain in %s: %w", dir, err)
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Segments: len(segs), Problems: []Problem{}}
	var all []located
	for i, n := range segs {
		path := segmentPath(dir, n)
		name := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("audit chain: %w", err)
		}
		lineNo := 0
		for len(data) > 0 {
			lineNo++
			nl := bytes.IndexByte(data, '\n')
			if nl < 0 {
				kind, detail := ProblemMalformed, "line without an end (truncated)"
				if i == len(segs)-1 {
					kind, detail = ProblemTorn, fmt.Sprintf("last record cut short (%d bytes): a crash during a write; it was never acknowledged", len(data))
				}
				rep.Problems = append(rep.Problems, Problem{Kind: kind, File: name, Line: lineNo, Detail: detail})
				break
			}
			raw := data[:nl]
			data = data[nl+1:]
			l, err := parseLine(raw)
			if err != nil {
				rep.Problems = append(rep.Problems, Problem{Kind: ProblemMalformed, File: name, Line: lineNo, Detail: "not a chain record: " + err.Error()})
				continue
			}
			var gap *Gap
			if bytes.Contains(l.body, []byte(`"gap":{"from":`)) {
				var r Record
				if json.Unmarshal(l.body, &r) == nil {
					gap = r.Gap
				}
			}
			l.body = nil // keep only numbers and hashes: the chain may be large
			all = append(all, located{line: l, file: name, lineNo: lineNo, pos: len(all), gap: gap})
		}
		torn, _ := filepath.Glob(path + tornSuffix + "-*")
		for _, t := range torn {
			rep.Notices = append(rep.Notices, fmt.Sprintf("torn record moved aside on recovery: %s", filepath.Base(t)))
		}
	}
	if q, _ := filepath.Glob(filepath.Join(dir, quarantineDir, "*")); len(q) > 0 {
		for _, f := range q {
			rep.Notices = append(rep.Notices, "quarantined segment kept for investigation: "+quarantineDir+"/"+filepath.Base(f))
		}
	}
	rep.Records = len(all)
	genuine := analyse(rep, all)
	checkGaps(dir, rep, all, genuine)
	if h, err := readHead(dir); err == nil {
		checkHead(rep, h, genuine)
	} else if !errors.Is(err, fs.ErrNotExist) {
		rep.Notices = append(rep.Notices, "HEAD not checked: "+err.Error())
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool {
		a, b := rep.Problems[i], rep.Problems[j]
		if a.File != b.File {
			return a.File < b.File
		}
		return a.Line < b.Line
	})
	return rep, nil
}

// checkHead compares the chain with HEAD, the last record the writer knew
// to be on disk: a chain that ends before it lost its tail.
func checkHead(rep *Report, h headRecord, genuine map[int64]located) {
	if h.Seq > rep.LastSeq {
		p := Problem{Kind: ProblemDeleted, Seq: rep.LastSeq + 1, ToSeq: h.Seq, Detail: fmt.Sprintf("missing at the end of the chain (HEAD names record %d)", h.Seq)}
		if p.ToSeq == p.Seq {
			p.ToSeq = 0
		}
		rep.Problems = append(rep.Problems, p)
		return
	}
	if l, ok := genuine[h.Seq]; ok && hex.EncodeToString(l.hash[:]) != h.Hash {
		rep.Problems = append(rep.Problems, Problem{Kind: ProblemEdited, Seq: h.Seq, File: l.file, Line: l.lineNo,
			Detail: "its hash differs from the one HEAD recorded"})
	}
}

func analyse(rep *Report, all []located) map[int64]located {
	add := func(k ProblemKind, l located, detail string) {
		rep.Problems = append(rep.Problems, Problem{Kind: k, Seq: l.seq, File: l.file, Line: l.lineNo, Detail: detail})
	}
	// Edited in place: the stored hash no longer matches the content.
	for _, l := range all {
		if !l.bodyOK {
			add(ProblemEdited, l, "content does not match its hash")
		}
	}
	// Group by sequence number; pick the genuine record of each number.
	bySeq := map[int64][]located{}
	var maxSeq int64
	for _, l := range all {
		bySeq[l.seq] = append(bySeq[l.seq], l)
		maxSeq = max(maxSeq, l.seq)
	}
	genuine := map[int64]located{}
	for seq := int64(1); seq <= maxSeq; seq++ {
		cands := bySeq[seq]
		if len(cands) == 0 {
			continue
		}
		pick := 0
		if len(cands) > 1 {
			pick = pickGenuine(cands, bySeq[seq-1], bySeq[seq+1])
			for i, c := range cands {
				if i != pick {
					add(ProblemInserted, c, fmt.Sprintf("a second record %d that is not linked into the chain", seq))
				}
			}
		}
		genuine[seq] = cands[pick]
	}
	// Gaps an operator declared (Quarantine), by intact gap records.
	var declared []located
	for _, l := range genuine {
		if l.gap != nil && l.bodyOK {
			declared = append(declared, l)
		}
	}
	covered := func(from, to int64) (*Gap, bool) {
		for _, d := range declared {
			if d.gap.From <= from && to <= d.gap.To && d.seq == d.gap.To+1 {
				return d.gap, true
			}
		}
		return nil, false
	}
	// Deleted: gaps in the sequence.
	for seq := int64(1); seq <= maxSeq; seq++ {
		if _, ok := genuine[seq]; ok {
			continue
		}
		end := seq
		for end+1 <= maxSeq {
			if _, ok := genuine[end+1]; ok {
				break
			}
			end++
		}
		if g, ok := covered(seq, end); ok {
			rep.Notices = append(rep.Notices, fmt.Sprintf("records %d–%d quarantined by %s at %s (%s, sha256 %s): %s",
				seq, end, g.Operator, g.Time.Format(time.RFC3339), g.File, g.SHA256, g.Reason))
			seq = end
			continue
		}
		p := Problem{Kind: ProblemDeleted, Seq: seq, ToSeq: end, Detail: "missing from the chain"}
		if next, ok := genuine[end+1]; ok {
			p.File, p.Line = next.file, next.lineNo
			p.Detail = fmt.Sprintf("missing before record %d", end+1)
		}
		if end == seq {
			p.ToSeq = 0
		}
		rep.Problems = append(rep.Problems, p)
		seq = end
	}
	// Reordered: a genuine record placed after a record with a higher number.
	var ordered []located
	for _, l := range genuine {
		ordered = append(ordered, l)
	}
	sort.Slice(ordered, func(i, j int) bool { return ordered[i].pos < ordered[j].pos })
	var highest int64
	for _, l := range ordered {
		if l.seq < highest {
			add(ProblemReordered, l, fmt.Sprintf("stored after record %d", highest))
		}
		highest = max(highest, l.seq)
	}
	// Links: each record names its predecessor's hash. A record whose own
	// hash verifies but whose successor names another hash was changed and
	// re-hashed after the successor was written.
	for seq := int64(1); seq <= maxSeq; seq++ {
		cur, ok := genuine[seq]
		if !ok || !cur.bodyOK {
			continue
		}
		if seq == 1 && cur.prev != zeroHash {
			add(ProblemEdited, cur, "first record does not start the chain")
		}
		if g := cur.gap; g != nil && g.To >= g.From {
			want := zeroHash
			if kept, ok := genuine[g.From-1]; ok {
				want = kept.hash
			}
			if cur.prev != want || hex.EncodeToString(want[:]) != g.After {
				add(ProblemEdited, cur, fmt.Sprintf("gap record does not link to record %d, the last one kept", g.From-1))
			}
			continue
		}
		prev, ok := genuine[seq-1]
		if !ok || !prev.bodyOK || seq == 1 {
			continue
		}
		if cur.prev != prev.hash {
			add(ProblemEdited, prev, fmt.Sprintf("changed and re-hashed: record %d names a different hash for it", seq))
		}
	}
	if last, ok := genuine[maxSeq]; ok {
		rep.LastSeq, rep.LastHash = maxSeq, hex.EncodeToString(last.hash[:])
	}
	return genuine
}

// checkGaps holds each intact gap record to exactly the damage it
// quarantined: none of the records it declares lost is still in the chain,
// the quarantined bytes it names still have their SHA-256, and they do not
// start with an intact record linked to the last one kept (that record was
// not damaged: the gap is larger than the damage).
func checkGaps(dir string, rep *Report, all []located, genuine map[int64]located) {
	for _, l := range all {
		g := l.gap
		if g == nil || !l.bodyOK || g.To < g.From {
			continue
		}
		add := func(detail string) {
			rep.Problems = append(rep.Problems, Problem{Kind: ProblemEdited, Seq: l.seq, File: l.file, Line: l.lineNo, Detail: detail})
		}
		for seq := g.From; seq <= g.To; seq++ {
			if _, ok := genuine[seq]; ok {
				add(fmt.Sprintf("gap record declares record %d lost, but it is in the chain", seq))
				break
			}
		}
		name := strings.TrimPrefix(g.File, quarantineDir+"/")
		if name == g.File || name == "" || name != filepath.Base(name) {
			add(fmt.Sprintf("gap record names %q, not a file in %s/", g.File, quarantineDir))
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, quarantineDir, name))
		if err != nil {
			add(fmt.Sprintf("the quarantined bytes of the gap (%s) cannot be read: %v", g.File, err))
			continue
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != g.SHA256 {
			add(fmt.Sprintf("%s no longer has the SHA-256 the gap record declares", g.File))
		}
		var after [sha256.Size]byte
		if len(g.After) != hashHexLen {
			continue // the link check reports it
		}
		if _, err := hex.Decode(after[:], []byte(g.After)); err != nil {
			continue // the link check reports it
		}
		if seq := g.From - 1; intactPrefix(data, &seq, &after) > 0 {
			add(fmt.Sprintf("gap declares more than the damage: record %d in %s is intact and linked; only damaged records may leave the chain", g.From, g.File))
		}
	}
}

// pickGenuine chooses, among records sharing a number, the one linked into
// the chain: named by the next record, else naming the previous one.
func pickGenuine(cands, before, after []located) int {
	for i, c := range cands {
		for _, a := range after {
			if a.prev == c.hash {
				return i
			}
		}
	}
	for i, c := range cands {
		for _, b := range before {
			if c.prev == b.hash && c.bodyOK {
				return i
			}
		}
	}
	return 0
}

// Entry is one record read back from the chain.
type Entry struct {
	Seq    int64
	Hash   string
	Record Record

	verified bool // the line's hash matches its content
}

// Scan calls fn for each readable record of the chain in dir, in file order.
// It does not verify the chain (Verify does); lines it cannot read are
// skipped.
func Scan(dir string, fn func(Entry) error) error { return scan(dir, nil, fn) }

// scan is Scan over the lines that contain needle (all when nil): a cheap
// filter before JSON decoding.
func scan(dir string, needle []byte, fn func(Entry) error) error {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil // no chain yet: nothing recorded
	}
	return scanFrom(dir, indexPos{}, needle, func(e Entry, _ indexPos, _ int64) error { return fn(e) })
}
