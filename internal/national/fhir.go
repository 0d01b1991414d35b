package national

// FHIR conventions of the national REST API that source.go does not name.
// No public Luxembourg FHIR specification exists yet (see
// ../shared/notes/luxembourg.md); these project-local systems stand in for
// the national ones until it does, and the demo backend and Client agree on
// them.
const (
	// SystemSharedRecordID is the 10-digit shared-record (DSP) patient id.
	SystemSharedRecordID = "urn:oid:1.3.182.2.4.2"
	// SystemConsentPolicy codes Consent.policyRule.
	SystemConsentPolicy = "urn:luxncp:fhir:consent-policy"
	// ConsentPolicyCrossBorder is the policyRule code of the patient's
	// cross-border (MyHealth@EU) sharing decision: provision.type permit or deny.
	ConsentPolicyCrossBorder = "myhealth-eu"
	// SystemDispenseKey is the identifier system of a MedicationDispense's
	// idempotency key (Dispense.Key); the conditional create sends
	// If-None-Exist: identifier=<SystemDispenseKey>|<key>.
	SystemDispenseKey = "urn:luxncp:fhir:dispense-key"
	// SystemLOINC is the FHIR system of LOINC (document class codes).
	SystemLOINC = "http://loinc.org"
)
