package dialect

import (
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// TestTable enumerates the dialect table: every outcome once, each row
// with a code (but the rule row), a severity, a placement and the OpenNCP
// source it mirrors.
func TestTable(t *testing.T) {
	seen := map[Outcome]bool{}
	for _, r := range Table() {
		if seen[r.Outcome] {
			t.Errorf("outcome %d (%s) twice", r.Outcome, r.Name)
		}
		seen[r.Outcome] = true
		if r.Code == "" && r.Outcome != ListedBesideEntries {
			t.Errorf("%s: no code", r.Name)
		}
		if r.Severity != ehdsi.SeverityError && r.Severity != ehdsi.SeverityWarning {
			t.Errorf("%s: severity %q", r.Name, r.Severity)
		}
		if r.Place == "" || !strings.HasSuffix(r.Source, ".java") || !strings.HasPrefix(r.Source, "openncp-") {
			t.Errorf("%s: placement %q, source %q", r.Name, r.Place, r.Source)
		}
		if r.Code != "" && ehdsi.Describe(r.Code) == "" {
			t.Errorf("%s: code %s has no eHDSI description", r.Name, r.Code)
		}
		got, ok := Lookup(r.Outcome)
		if !ok || got != r {
			t.Errorf("Lookup(%s) = %+v", r.Name, got)
		}
	}
	for o := PSNotFound; o <= ListedBesideEntries; o++ {
		if !seen[o] {
			t.Errorf("outcome %d has no row", o)
		}
	}
}

// TestNotFoundIsAWarningFromTheTable: an ERROR_… code sent as a warning —
// the severity comes from the table, not from the code's prefix.
func TestNotFoundIsAWarningFromTheTable(t *testing.T) {
	for class, want := range map[string]ehdsi.Code{ehdsi.ClassPS: "ERROR_PS_NOT_FOUND", ehdsi.ClassEP: "ERROR_EP_NOT_FOUND", ehdsi.ClassLab: "1104"} {
		f := Fault(NotFound(class), "", nil)
		if f.Code != want || f.Severity() != ehdsi.SeverityWarning || f.Kind != ehdsi.KindApplication {
			t.Errorf("%s: %s %s kind %d", class, f.Code, f.Severity(), f.Kind)
		}
	}
	if got := ListStatus(0, []*ehdsi.Fault{Fault(PSNotFound, "", nil)}); got != StatusSuccess {
		t.Errorf("PS not found: status %s", got)
	}
	if got := ListStatus(0, []*ehdsi.Fault{Fault(NoConsent, "", nil)}); got != StatusFailure {
		t.Errorf("no consent: status %s", got)
	}
	if got := ListStatus(2, []*ehdsi.Fault{Fault(NoConsent, "", nil)}); got != StatusSuccess {
		t.Errorf("entries and an error: status %s, never PartialSuccess", got)
	}
}

// TestEDKindOf: OpenNCP decides dispense vs discard from the formatCode,
// case-sensitively.
func TestEDKindOf(t *testing.T) {
	for _, c := range []struct {
		format, class string
		want          EDKind
	}{
		{"urn:epSOS:ep:dis:2010", "60593-1", EDDispense},
		{"urn:eHDSI:ed:discard:2020", "60593-1", EDDiscard},
		{"urn:eHDSI:ed:discard:2020", "DISCARD-60593-1", EDDiscard},
		{"urn:epSOS:ep:dis:2010", "DISCARD-60593-1", EDDispense},
		{"urn:epsos:ep:dis:2010", "60593-1", EDUnknown},
		{"urn:ehdsi:ed:discard:2020", "DISCARD-60593-1", EDUnknown},
		{"", "60593-1", EDDispense},
		{"", "DISCARD-60593-1", EDDiscard},
		{"", "60591-5", EDUnknown},
	} {
		if got := EDKindOf(c.format, c.class); got != c.want {
			t.Errorf("EDKindOf(%q, %q) = %d, want %d", c.format, c.class, got, c.want)
		}
	}
	if EDFormat(false).Code != "urn:epSOS:ep:dis:2010" || EDFormat(true).Code != "urn:eHDSI:ed:discard:2020" {
		t.Error("EDFormat")
	}
}

func TestRoles(t *testing.T) {
	rs := Roles()
	if len(rs) != 13 {
		t.Fatalf("%d roles, OpenNCP has 13", len(rs))
	}
	for _, c := range []string{"221", "2262", "44", "2221"} {
		if _, ok := RoleOf(c); !ok {
			t.Errorf("%s refused", c)
		}
	}
	for _, c := range []string{"2211", "2212", "3221", ""} {
		if _, ok := RoleOf(c); ok {
			t.Errorf("%s accepted; OpenNCP refuses it", c)
		}
	}
}

func TestPermissionsAllOf(t *testing.T) {
	ps, _ := ClassPermissions(ehdsi.ClassPS)
	has := func(p string) bool { return p == ehdsi.PermPRD003 }
	if m := Missing(ps, has); len(m) != 3 {
		t.Errorf("PS with PRD-003 only: missing %v", m)
	}
	ep, _ := ClassPermissions(ehdsi.ClassEP)
	if strings.Join(ep, ",") != "PRD-004,PRD-010" {
		t.Errorf("eP %v", ep)
	}
	if _, ok := ClassPermissions("99999-9"); ok {
		t.Error("unknown class served")
	}
}

// TestPolicyTable enumerates the permission policy: one rule per
// transaction and class, each with permissions, consent for documents.
func TestPolicyTable(t *testing.T) {
	want := map[string]string{
		"XCPD":                        "PRD-006",
		"XCA " + ehdsi.ClassPS:        "PRD-003,PRD-005,PRD-010,PRD-016",
		"XCA " + ehdsi.ClassEP:        "PRD-004,PRD-010",
		"XCA " + ehdsi.ClassLab:       "PRD-003,PRD-005,PRD-010,PRD-016",
		"XCA " + ehdsi.ClassImaging:   "PRD-003,PRD-005,PRD-010,PRD-016",
		"XCA " + ehdsi.ClassDischarge: "PRD-003,PRD-005,PRD-010,PRD-016",
		"XDR":                         "PPD-046",
	}
	seen := map[string]bool{}
	for _, r := range Policy() {
		k := strings.TrimSpace(r.Transaction + " " + r.Class)
		if seen[k] {
			t.Errorf("%s: two rules", k)
		}
		seen[k] = true
		if got := strings.Join(r.Permissions, ","); got != want[k] {
			t.Errorf("%s: %s, want %s", k, got, want[k])
		}
		if r.Consent != (r.Transaction == TxXCA) {
			t.Errorf("%s: consent %v", k, r.Consent)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d rules, want %d", len(seen), len(want))
	}
}
