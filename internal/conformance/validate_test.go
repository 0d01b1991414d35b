package conformance

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeValidator is a validate-cda stand-in: a note on stderr, a pause
// longer than the heartbeat, then a report with two warnings (one of them
// in both documents) and an error in the second document.
const fakeValidator = `#!/bin/sh
echo "validate-cda: schematron eHDSI_ePrescription.sch on 2 file(s) ..." >&2
sleep 0.5
echo "== $4 [ep]"
echo "WARNING sch     the author has no telecom"
echo "        at /ClinicalDocument/author[1]"
echo "WARNING sch     effectiveTime has no time zone"
echo "-- PASS $4: 0 errors, 2 warnings"
echo "== $5 [ep]"
echo "ERROR   xsd     line 3: element x not expected"
echo "WARNING sch     the author has no telecom"
echo "-- FAIL $5: 1 errors, 1 warnings"
echo "2 files: 1 passed, 1 failed"
echo "1 errors, 3 warnings"
exit 1
`

// TestValidateAllProgressAndWarnings: the long validation reports progress
// (the tool's notes, a heartbeat) and the text of every warning it counts.
func TestValidateAllProgressAndWarnings(t *testing.T) {
	tool := filepath.Join(t.TempDir(), "validate-cda")
	if err := os.WriteFile(tool, []byte(fakeValidator), 0o755); err != nil {
		t.Fatal(err)
	}
	var notes bytes.Buffer
	r := &Runner{ValidateCDA: tool, Notes: &notes, heartbeat: 150 * time.Millisecond,
		docs: []retrieved{{caseIdx: 0, name: "ep-1.L3", data: []byte("<a/>")}, {caseIdx: 1, name: "ep-2.L3", data: []byte("<b/>")}}}
	rep := &Report{Cases: make([]CaseResult, 2)}
	summary := r.validateAll(context.Background(), rep)
	if !strings.Contains(summary, "2 distinct documents, 1 rejected (1 errors, 3 warnings)") {
		t.Errorf("summary %q", summary)
	}
	for _, want := range []string{"checking 2 distinct documents", "schematron eHDSI_ePrescription.sch on 2 file(s)", "still running"} {
		if !strings.Contains(notes.String(), want) {
			t.Errorf("notes lack %q:\n%s", want, notes.String())
		}
	}
	want := []string{"sch: the author has no telecom (ep-1.L3, ep-2.L3)", "sch: effectiveTime has no time zone (ep-1.L3)"}
	if strings.Join(rep.ValidateCDAWarnings, "\n") != strings.Join(want, "\n") {
		t.Errorf("warnings %q", rep.ValidateCDAWarnings)
	}
	if rep.Cases[0].Verdict == Fail || rep.Cases[1].Verdict != Fail || !strings.Contains(strings.Join(rep.Cases[1].Reasons, ""), "element x not expected") {
		t.Errorf("cases %+v", rep.Cases)
	}
	var b bytes.Buffer
	if err := WriteSummary(&b, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "  WARNING sch: effectiveTime has no time zone (ep-1.L3)\n") {
		t.Errorf("summary lacks the warnings:\n%s", b.String())
	}
}
