package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/ehdsi"
)

// auditDir writes one PS retrieval per form of p02's identifiers, the last
// by a professional whose signed name carries a newline, a tab and an
// escape sequence.
func auditDir(t *testing.T, forms []string) string {
	t.Helper()
	dir := t.TempDir()
	s, err := audit.OpenFile(dir, audit.FileOptions{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resolve := func(ctx context.Context, digits string) ([]string, error) {
		return []string{"1958041200856", "19580412125"}, nil
	}
	r := &audit.Recorder{Sink: s, Resolve: resolve, Now: func() time.Time { return time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC) }}
	for i, f := range forms {
		hcp := audit.HCP{Name: "Dr Ana", Country: "BE", RoleDisplay: "Medical Doctors"}
		if i == len(forms)-1 {
			hcp.Name = "Dr Evil\n2026-03-01 09:00:00  FR  Dr Fake\tx\x1b[2J"
		}
		ev := audit.Event{Type: audit.EventPSRetrieve, HCP: hcp, Patients: []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: f}}}
		if err := r.Record(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestAuditPatientEveryFormAndSafeOutput(t *testing.T) {
	forms := []string{"1958041200856", "1958 0412 00856", "1958.0412.00856", "1958-0412-00856", "1958/0412/00856", "1958\t0412\t00856", "19580412125"}
	dir := auditDir(t, forms)
	for _, q := range forms {
		var out bytes.Buffer
		if err := runAudit(context.Background(), []string{"patient", q, "--audit-dir", dir}, &out, io.Discard); err != nil {
			t.Fatalf("%q: %v", q, err)
		}
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 1+len(forms) {
			t.Fatalf("patient %q: %d rows, want %d:\n%s", q, len(lines)-1, len(forms), out.String())
		}
		last := lines[len(lines)-1]
		if !strings.Contains(last, `Dr Evil\n2026-03-01 09:00:00  FR  Dr Fake\tx\u001b[2J`) || strings.ContainsRune(out.String(), 0x1b) {
			t.Fatalf("control characters not escaped:\n%s", out.String())
		}
	}
	// JSON stays as recorded.
	var out bytes.Buffer
	if err := runAudit(context.Background(), []string{"patient", "19580412125", "--audit-dir", dir, "--json"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var log audit.AccessLog
	if err := json.Unmarshal(out.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if n := len(log.Accesses); n != len(forms) || !strings.Contains(log.Accesses[n-1].Professional, "\n2026") {
		t.Fatalf("JSON: %d accesses, last %+v", n, log.Accesses[n-1])
	}
}

func TestSafe(t *testing.T) {
	for in, want := range map[string]string{
		"Dr Ana Müller":   "Dr Ana Müller",
		"a\nb\tc\r":       `a\nb\tc\r`,
		"\x1b[31mred":     `\u001b[31mred`,
		"x\u202eevil":     `x\u202eevil`,
		"line\u2028sep":   `line\u2028sep`,
		`back\slash`:      `back\\slash`,
		"bad\xffutf8":     `bad\xffutf8`,
		"ok \uFFFD stays": "ok \uFFFD stays",
		"\u0085next line": `\u0085next line`,
	} {
		if got := safe(in); got != want {
			t.Errorf("safe(%q) = %q, want %q", in, got, want)
		}
	}
}
