package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
)

// Problem is one finding of CheckDir.
type Problem struct {
	File   string `json:"file"`
	Reason string `json:"reason"`
}

// Report is the result of CheckDir.
type Report struct {
	Dir      string    `json:"dir"`
	Checked  int       `json:"checked"`
	Problems []Problem `json:"problems,omitempty"`
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// CheckDir checks a local evidence directory: every indexed file exists,
// has the SHA-256 the index recorded, verifies (Verifier.Verify) and says
// what the index says (id, kind, event code); every evidence file is
// indexed, once.
func CheckDir(dir string, v Verifier) (*Report, error) {
	rep := &Report{Dir: dir}
	entries, err := ReadIndex(dir)
	if err != nil {
		return nil, err
	}
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	indexed := map[string]bool{}
	for _, e := range entries {
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
	return rep, nil
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
