package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/luxncp/luxncp/internal/audit"
)

// Problem is one finding of CheckDir.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Report is the result of CheckDir.
type Report struct {
	Dir      string `json:"dir"`
	AuditDir string `json:"auditDir"`
	Checked  int    `json:"checked"`
	// Named is how many evidence ids the audit chain names.
	Named    int       `json:"named"`
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// CheckDir checks a local evidence directory against itself and against
// the audit chain in auditDir:
//   - the index is an unbroken hash chain (Entry.Seq, Entry.Prev);
//   - every indexed file exists, has the SHA-256 the index recorded,
//     verifies (Verifier.Verify) and says what the index says (id, kind,
//     event code); every evidence file is indexed, once;
//   - the audit chain verifies (audit.Verify), every evidence id its
//     records name (audit.Event.Evidence, the last record of each
//     transaction) is indexed, and every indexed evidence is named: lines
//     cut from the tail of the index with their files, which the index
//     chain alone cannot show, are found here.
func CheckDir(dir, auditDir string, v Verifier) (*Report, error) {
	rep := &Report{Dir: dir, AuditDir: auditDir}
	entries, hashes, err := readIndex(dir)
	if err != nil {
		return nil, err
	}
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	named, err := namedByAudit(auditDir, rep)
	if err != nil {
		return nil, err
	}
	rep.Named = len(named)
	indexed := map[string]bool{}
	listed := map[string]bool{}
	for i, e := range entries {
		prev := ""
		if i > 0 {
			prev = hashes[i-1]
		}
		if e.Seq != int64(i+1) || e.Prev != prev {
			rep.Problems = append(rep.Problems, Problem{e.File, fmt.Sprintf("%s line %d breaks the index chain (seq %d): lines before it were removed, inserted, reordered or edited",
				IndexFile, i+1, e.Seq)})
		}
		listed[e.ID] = true
		if _, ok := named[e.ID]; !ok {
			rep.Problems = append(rep.Problems, Problem{e.File, "evidence " + e.ID + " is named by no audit record"})
		}
		if indexed[e.File] {
			rep.Problems = append(rep.Problems, Problem{e.File, "indexed twice"})
			continue
		}
		indexed[e.File] = true
		rep.Checked++
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.File)))
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{e.File, "missing: " + err.Error()})
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.SHA256 {
			rep.Problems = append(rep.Problems, Problem{e.File, "SHA-256 differs from the index (the file changed since it was stored)"})
		}
		got, err := v.Verify(data)
		if err != nil {
			rep.Problems = append(rep.Problems, Problem{e.File, err.Error()})
			continue
		}
		if got.ID != e.ID || got.Kind.Short() != e.Kind || got.Code != e.Code {
			rep.Problems = append(rep.Problems, Problem{e.File, fmt.Sprintf("says %s %s %s, the index %s %s %s",
				got.Kind.Short(), got.ID, got.Code, e.Kind, e.ID, e.Code)})
		}
	}
	for _, f := range files {
		if !indexed[f] {
			rep.Problems = append(rep.Problems, Problem{f, "not in the index"})
		}
	}
	var missing []string
	for id := range named {
		if !listed[id] {
			missing = append(missing, id)
		}
	}
	sort.Slice(missing, func(i, j int) bool {
		a, b := named[missing[i]], named[missing[j]]
		return a.seq < b.seq || a.seq == b.seq && missing[i] < missing[j]
	})
	for _, id := range missing {
		n := named[id]
		rep.Problems = append(rep.Problems, Problem{fmt.Sprintf("audit record %d", n.seq), fmt.Sprintf(
			"names evidence %s (%s, response %s) that is not in the index: removed, or never stored (the log then says \"evidence not stored\")",
			id, n.event, n.response)})
	}
	return rep, nil
}

// naming is the audit record that names an evidence id.
type naming struct {
	seq             int64
	event, response string
}

// namedByAudit reads the evidence ids the audit chain in dir names: per
// transaction (event type and response MessageID), those of its last
// record (a record written before the effect names the evidence; one
// written after a fault that followed names none). A chain that does not
// verify is a problem of rep: the cross-check is only as good as it.
func namedByAudit(dir string, rep *Report) (map[string]naming, error) {
	if dir == "" {
		return nil, errors.New("evidence check: no audit directory to check the evidence against")
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no chain: any evidence is named by no record
	}
	arep, err := audit.Verify(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence check: audit chain: %w", err)
	}
	if !arep.OK() {
		rep.Problems = append(rep.Problems, Problem{dir, fmt.Sprintf("the audit chain does not verify (%d problems, see luxncp audit verify): the evidence cannot be checked against it", len(arep.Problems))})
	}
	type tx struct{ event, response string }
	last := map[tx]naming{}
	ids := map[tx][]string{}
	err = audit.Scan(dir, func(e audit.Entry) error {
		ev := e.Record.Event
		if ev.ResponseMessageID == "" || !Covered(ev.Type) && len(ev.Evidence) == 0 {
			return nil
		}
		k := tx{string(ev.Type), ev.ResponseMessageID}
		last[k] = naming{seq: e.Seq, event: k.event, response: k.response}
		ids[k] = ev.Evidence
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("evidence check: audit chain: %w", err)
	}
	named := map[string]naming{}
	for k, list := range ids {
		for _, id := range list {
			named[id] = last[k]
		}
	}
	return named, nil
}

// VerifyFile verifies one evidence file.
func VerifyFile(name string, v Verifier) (*Evidence, error) {
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrInvalid)
	}
	return v.Verify(data)
}
