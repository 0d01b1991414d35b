package dialect

import "github.com/luxncp/luxncp/internal/ehdsi"

// Transactions of the permission policy.
const (
	TxXCPD = "XCPD" // patient identification
	TxXCA  = "XCA"  // list and retrieve, per document class
	TxXDR  = "XDR"  // eDispensation submit
)

// Rule is one line of the permission policy: a transaction (and, for XCA,
// a document class) needs all of Permissions, from a caller with one of
// the roles (Roles) and purposes of use (TREATMENT, EMERGENCY), and, where
// Consent says so, the patient's consent, which the national system holds
// (the provider checks it; everything else is checked before it runs).
type Rule struct {
	Transaction, Class string
	Permissions        []string
	Consent            bool
}

// Purposes are the purposes of use every rule accepts (SrcPolicy).
var Purposes = []string{"TREATMENT", "EMERGENCY"}

// Policy is the permission policy, as OpenNCP's policy manager applies it
// (SrcPolicy: XCPDPermissionValidator, XCAPermissionValidatorPS / EP /
// OrCD, XDR): Patient Summary and original clinical documents PRD-003,
// PRD-005, PRD-010 and PRD-016; ePrescription PRD-004 and PRD-010;
// identification PRD-006; dispensation PPD-046. The gateway (per
// transaction) and XCA (per class, before the national system is asked)
// read it through Permissions; nothing else holds permissions.
func Policy() []Rule {
	docs := []string{ehdsi.PermPRD003, ehdsi.PermPRD005, ehdsi.PermPRD010, ehdsi.PermPRD016}
	return []Rule{
		{Transaction: TxXCPD, Permissions: []string{ehdsi.PermPRD006}},
		{Transaction: TxXCA, Class: ehdsi.ClassPS, Permissions: docs, Consent: true},
		{Transaction: TxXCA, Class: ehdsi.ClassLab, Permissions: docs, Consent: true},
		{Transaction: TxXCA, Class: ehdsi.ClassImaging, Permissions: docs, Consent: true},
		{Transaction: TxXCA, Class: ehdsi.ClassDischarge, Permissions: docs, Consent: true},
		{Transaction: TxXCA, Class: ehdsi.ClassEP, Permissions: []string{ehdsi.PermPRD004, ehdsi.PermPRD010}, Consent: true},
		{Transaction: TxXDR, Permissions: []string{ehdsi.PermPPD046}},
	}
}

// Permissions returns the rule's permissions of a transaction and class
// ("" for XCPD and XDR); ok is false when the policy has no such rule
// (a class not served).
func Permissions(tx, class string) (perms []string, ok bool) {
	for _, r := range Policy() {
		if r.Transaction == tx && r.Class == class {
			return r.Permissions, true
		}
	}
	return nil, false
}

// ClassPermissions are the permissions an XCA request for class needs.
func ClassPermissions(class string) (perms []string, ok bool) { return Permissions(TxXCA, class) }

// XCPDPermissions: PRD-006.
func XCPDPermissions() []string { p, _ := Permissions(TxXCPD, ""); return p }

// XDRPermissions: PPD-046, record a dispensation.
func XDRPermissions() []string { p, _ := Permissions(TxXDR, ""); return p }

// Missing returns the permissions of want that has lacks (all-of).
func Missing(want []string, has func(string) bool) []string {
	var out []string
	for _, p := range want {
		if !has(p) {
			out = append(out, p)
		}
	}
	return out
}

// Role is an ISCO-08 code OpenNCP accepts as the XSPA role, with the
// display name it compares case-insensitively for XCPD.
type Role struct{ Code, Display string }

// ISCOSystem is the ISCO-08 code system OpenNCP names the roles in.
const ISCOSystem = "2.16.840.1.113883.2.9.6.2.7"

// Roles is OpenNCP's fixed list of XSPA roles (SrcRoles, XSPARole): an
// HCP assertion with any other role is refused, so luxncp accepts only
// these as Country A and issues only these as Country B.
func Roles() []Role {
	return []Role{
		{"2266", "Audiologists and speech therapists"},
		{"2261", "Dentists"},
		{"221", "Medical Doctors"},
		{"3211", "Medical imaging and therapeutic equipment technicians"},
		{"2222", "Midwifery professionals"},
		{"2221", "Nursing professionals"},
		{"2265", "Dieticians and nutritionists"},
		{"2267", "Optometrists and ophthalmic opticians"},
		{"2269", "Health professionals not elsewhere classified"},
		{"44", "Other Clerical Support Workers"},
		{"2262", "Pharmacists"},
		{"3213", "Pharmaceutical technicians and assistants"},
		{"2264", "Physiotherapists"},
	}
}

// RoleOf returns the role with code, ok false when OpenNCP would refuse it.
func RoleOf(code string) (Role, bool) {
	for _, r := range Roles() {
		if r.Code == code {
			return r, true
		}
	}
	return Role{}, false
}

// EDAuditAction is the EventActionCode of the eDispensation audit events
// (EHDSI-41 submit and EHDSI-42 discard), as OpenNCP writes them: "C" for
// both on Country A (SrcXDRServer: prepareEventLogForDispensationInitialize
// and prepareEventLogForDiscardMedication, EventActionCode.CREATE), "R" for
// both on Country B (the client's XDR event log, EventActionCode.READ).
func EDAuditAction(countryB bool) string {
	if countryB {
		return "R"
	}
	return "C"
}
