package dialect

import "github.com/luxncp/luxncp/internal/ehdsi"

// ClassPermissions are the XSPA permissions an XCA request for class
// needs, all of them, as OpenNCP's policy manager requires
// (SrcPolicy: XCAPermissionValidatorPS / EP / OrCD): Patient Summary and
// original clinical documents PRD-003, PRD-005, PRD-010 and PRD-016;
// ePrescription PRD-004 and PRD-010. ok is false for a class not served.
func ClassPermissions(class string) (perms []string, ok bool) {
	switch class {
	case ehdsi.ClassPS, ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge:
		return []string{ehdsi.PermPRD003, ehdsi.PermPRD005, ehdsi.PermPRD010, ehdsi.PermPRD016}, true
	case ehdsi.ClassEP:
		return []string{ehdsi.PermPRD004, ehdsi.PermPRD010}, true
	}
	return nil, false
}

// XCPDPermissions: PRD-006 (SrcPolicy: XCPDPermissionValidator).
func XCPDPermissions() []string { return []string{ehdsi.PermPRD006} }

// XDRPermissions: PPD-046, record a dispensation (SrcPolicy).
func XDRPermissions() []string { return []string{ehdsi.PermPPD046} }

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
