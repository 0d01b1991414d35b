package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// validateHeartbeat is how often a still-running validation says so.
const validateHeartbeat = 15 * time.Second

// validateAll runs validate-cda once on every distinct document the run
// retrieved, fails the cases whose documents it rejects (quoting its first
// findings), records the text of every warning, and returns the summary.
func (r *Runner) validateAll(ctx context.Context, rep *Report) string {
	dir, err := os.MkdirTemp("", "luxncp-conformance-cda")
	if err != nil {
		return "validate-cda not run: " + err.Error()
	}
	defer os.RemoveAll(dir)
	files, users, err := writeDocs(dir, r.docs)
	if err != nil {
		return "validate-cda not run: " + err.Error()
	}
	notes := &lockedWriter{w: r.Notes}
	fmt.Fprintf(notes, "validate-cda: checking %d distinct documents against the eHDSI XSD and schematrons (a minute or more) ...\n", len(files))
	out, errOut, err := r.runValidator(ctx, files, notes)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return "validate-cda not run: " + err.Error()
	}
	failed, warnings := applyFindings(rep, users, out)
	rep.ValidateCDAWarnings = warnings
	if ee != nil && failed == 0 {
		return fmt.Sprintf("validate-cda failed to run (exit %d): %s", ee.ExitCode(), excerpt(append(out, errOut...), 2000))
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return fmt.Sprintf("validate-cda: %d distinct documents, %d rejected (%s)", len(files), failed, lines[len(lines)-1])
}

// writeDocs writes each distinct document once under dir and returns the
// files and, per file, the retrievals that got it.
func writeDocs(dir string, docs []retrieved) ([]string, map[string][]retrieved, error) {
	var files []string
	users := map[string][]retrieved{}
	byHash := map[[32]byte]string{}
	for _, d := range docs {
		h := sha256.Sum256(d.data)
		f, ok := byHash[h]
		if !ok {
			f = filepath.Join(dir, fmt.Sprintf("doc-%03d.xml", len(files)+1))
			if err := os.WriteFile(f, d.data, 0o600); err != nil {
				return nil, nil, err
			}
			byHash[h] = f
			files = append(files, f)
		}
		users[f] = append(users[f], d)
	}
	return files, users, nil
}

// runValidator runs the tool on files, every finding printed; its notes
// (stderr) go to notes as they come, with a heartbeat while it runs.
func (r *Runner) runValidator(ctx context.Context, files []string, notes io.Writer) (stdout, stderr []byte, err error) {
	cmd := exec.CommandContext(ctx, r.ValidateCDA, append([]string{"--max", "0", "auto"}, files...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(&errOut, notes)
	every := r.heartbeat
	if every <= 0 {
		every = validateHeartbeat
	}
	stop := heartbeat(notes, every)
	err = cmd.Run()
	stop()
	return out.Bytes(), errOut.Bytes(), err
}

// heartbeat writes "still running" to w every period until stopped.
func heartbeat(w io.Writer, period time.Duration) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	start := clock.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fmt.Fprintf(w, "validate-cda: still running (%.0f s)\n", clock.Now().Sub(start).Seconds())
			}
		}
	}()
	return func() { close(done); <-finished }
}

// applyFindings reads validate-cda's report ("== FILE [type]", its ERROR
// and WARNING lines, "-- PASS|FAIL FILE: …"): it fails the cases whose
// documents were rejected and returns how many were, and every warning's
// text once, with the documents it was found in.
func applyFindings(rep *Report, users map[string][]retrieved, out []byte) (int, []string) {
	failed := 0
	var findings []string
	current := ""
	var order []string
	where := map[string][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(line, "== "); ok {
			findings = findings[:0]
			current, _, _ = strings.Cut(rest, " [")
			continue
		}
		if strings.HasPrefix(line, "ERROR") && len(findings) < 5 {
			findings = append(findings, strings.Join(strings.Fields(line), " "))
			continue
		}
		if f := strings.Fields(line); len(f) > 2 && f[0] == "WARNING" {
			text := f[1] + ": " + strings.Join(f[2:], " ")
			if _, seen := where[text]; !seen {
				order = append(order, text)
			}
			where[text] = append(where[text], docName(users, current))
			continue
		}
		// "-- FAIL /tmp/…/doc-001.xml: 3 errors, 0 warnings"
		rest, ok := strings.CutPrefix(line, "-- FAIL ")
		if !ok {
			continue
		}
		file, detail, _ := strings.Cut(rest, ": ")
		ds, ok := users[file]
		if !ok {
			continue
		}
		failed++
		for _, d := range ds {
			cr := &rep.Cases[d.caseIdx]
			cr.Verdict = Fail
			msg := fmt.Sprintf("validate-cda (XSD + eHDSI schematron) rejects %s: %s", d.name, detail)
			if len(findings) > 0 {
				msg += "; first findings: " + strings.Join(findings, " | ")
			}
			cr.Reasons = append(cr.Reasons, msg)
		}
	}
	warnings := make([]string, 0, len(order))
	for _, text := range order {
		warnings = append(warnings, fmt.Sprintf("%s (%s)", text, strings.Join(where[text], ", ")))
	}
	return failed, warnings
}

// docName is the document a validated file holds.
func docName(users map[string][]retrieved, file string) string {
	if ds := users[file]; len(ds) > 0 {
		return ds[0].name
	}
	return filepath.Base(file)
}

// lockedWriter serialises writes from the tool's output copier and the
// heartbeat; a nil w discards.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	if l.w == nil {
		return len(p), nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
