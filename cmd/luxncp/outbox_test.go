package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/outbox"
)

// TestOutboxOperatorActionsAudited: `luxncp outbox resolve` and `replay`,
// run while the gateway holds the audit chain's lock, record the action,
// the operator, the time and the patient in the operator log, which
// `luxncp audit verify` checks (and catches an edit of) and `luxncp audit
// patient` shows under the dispensation's patient. resolve needs
// --operator.
func TestOutboxOperatorActionsAudited(t *testing.T) {
	ctx := context.Background()
	state := t.TempDir()
	const thomas = "1971011007114"
	st, err := outbox.OpenFile(filepath.Join(state, "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"2.16.17.710.790.1000.990.1.16^ed-dead1", "2.16.17.710.790.1000.990.1.16^ed-dead2"}
	for _, k := range keys {
		m := outbox.Message{Key: k, Kind: outbox.KindDispense, Matricule: thomas, PrescriptionID: "rx-0004", Country: "FR", Accepted: clock.Now()}
		if _, _, err := st.Accept(ctx, m); err != nil {
			t.Fatal(err)
		}
		m.State, m.LastError = outbox.StateDead, "national record: 409"
		if err := st.Update(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	// The gateway: it holds the main chain's lock throughout.
	gw, err := audit.OpenFile(audit.Dir(state), audit.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &audit.Recorder{Sink: gw}
	if err := rec.Record(ctx, audit.Event{Type: audit.EventDispensationSubmit, HCP: audit.HCP{Name: "Claire Martin", Country: "FR"},
		Patients: []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: thomas}}, Documents: []string{keys[0]}}); err != nil {
		t.Fatal(err)
	}

	if code, _, errs := runCLI(t, "outbox", "resolve", keys[0], "--note", "entered by hand", "--state-dir", state); code != 2 || !strings.Contains(errs, "--operator") {
		t.Fatalf("resolve without --operator: %d %s", code, errs)
	}
	if code, out, errs := runCLI(t, "outbox", "resolve", keys[0], "--note", "entered by hand at the CNS", "--operator", "Anne Operator", "--state-dir", state); code != 0 {
		t.Fatalf("resolve: %d %s %s", code, out, errs)
	}
	if code, out, errs := runCLI(t, "outbox", "replay", keys[1], "--operator", "Bob Operator", "--state-dir", state); code != 0 {
		t.Fatalf("replay: %d %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "outbox", "replay", keys[1], "--operator", "Bob Operator", "--state-dir", state); code == 0 || !strings.Contains(errs, "pending") {
		t.Fatalf("replay of a pending message: %d %s", code, errs)
	}
	for i, want := range []outbox.State{outbox.StateResolved, outbox.StatePending} {
		st, _ := outbox.OpenFile(filepath.Join(state, "outbox"))
		if m, err := st.Get(ctx, keys[i]); err != nil || m.State != want {
			t.Fatalf("%s: %+v %v, want %s", keys[i], m, err, want)
		}
	}
	if err := gw.Close(); err != nil {
		t.Fatal(err)
	}

	code, out, errs := runCLI(t, "audit", "verify", "--state-dir", state)
	if code != 0 || !strings.Contains(out, "operator log (operator/): 2 records") {
		t.Fatalf("audit verify: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "audit", "patient", thomas, "--state-dir", state)
	if code != 0 {
		t.Fatalf("audit patient: %d %s", code, errs)
	}
	for _, want := range []string{"Claire Martin", "Anne Operator", "an operator closed an undelivered dispensation", "Bob Operator",
		"an operator re-queued", keys[0], keys[1], "luxncp operator"} {
		if !strings.Contains(out, want) {
			t.Errorf("audit patient: no %q in\n%s", want, out)
		}
	}
	// The record keeps the note and the time; an edit is caught.
	seg := filepath.Join(audit.OperatorDir(audit.Dir(state)), "audit-00000001.log")
	b, err := os.ReadFile(seg)
	if err != nil || !bytes.Contains(b, []byte(`"note":"entered by hand at the CNS"`)) || !bytes.Contains(b, []byte(`"time":"`)) {
		t.Fatalf("operator log: %v\n%s", err, b)
	}
	if err := os.WriteFile(seg, bytes.Replace(b, []byte("Anne Operator"), []byte("Zoe Operator!"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ = runCLI(t, "audit", "verify", "--state-dir", state)
	if code == 0 || !strings.Contains(out, "operator/audit-00000001.log") {
		t.Fatalf("audit verify after an edit of the operator log: %d\n%s", code, out)
	}
}
