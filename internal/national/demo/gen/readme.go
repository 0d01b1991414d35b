package main

const readmeHead = "# Demo national record: fixtures\n\n" +
	"Synthetic data only: every person, address, phone number and document here is invented.\n" +
	"The demo backend (`internal/national/demo`) embeds this directory with `go:embed`, indexes it\n" +
	"at start (a malformed fixture is a startup error naming the file; empty subdirectories are fine)\n" +
	"and serves it as FHIR R4 REST under `/fhir` (`luxncp serve`: http://127.0.0.1:8081/fhir).\n\n" +
	"`patients.json` and this README are generated: edit the table in `../gen/patients.go`, then run\n" +
	"`go run ./internal/national/demo/gen` from the repository root (`go test ./internal/national/demo/gen`\n" +
	"fails when they are out of date). The document directories below are written by hand or by\n" +
	"their owners' generators.\n\n" +
	"## Layout\n\n" +
	"| path | content | written by |\n" +
	"|---|---|---|\n" +
	"| `patients.json` | FHIR R4 Bundle (type `collection`) of Patient and Consent resources | `gen` |\n" +
	"| `eprescriptions/<id>.json` | one FHIR Bundle per prescription, HL7 Europe MPD shape | ePrescription engineer |\n" +
	"| `ps/<matricule>.json` | FHIR IPS document Bundle (Composition first) | Patient Summary engineer |\n" +
	"| `ps/<matricule>.xml` | Luxembourg national CDA Patient Summary | Patient Summary engineer |\n" +
	"| `orcd/<name>.pdf` + `orcd/<name>.json` | original clinical document and its sidecar | Patient Summary engineer |\n\n" +
	"`<matricule>` is the patient's 13-digit matricule, or the 11-digit legacy one for patients known only by it\n" +
	"(a patient's legacy id also works for patients who have both). Every file must name a patient of\n" +
	"`patients.json`, or the backend refuses to start.\n\n" +
	"### `eprescriptions/<id>.json`\n" +
	"- A FHIR Bundle (type `document` or `collection`) with exactly one `MedicationRequest`, plus its `Medication`,\n" +
	"  `Patient`, `PractitionerRole`/`Practitioner` and `Organization`.\n" +
	"- `Bundle.id` == `<id>` (the file name) is the document id; `Bundle.timestamp` (RFC 3339) is the creation time.\n" +
	"- The Bundle's `Patient` carries `identifier` `{system: urn:oid:1.3.182.4.4, value: <matricule>}`.\n" +
	"- The prescription id is the `MedicationRequest.id`; the backend also accepts the Bundle id wherever a\n" +
	"  prescription id is expected (`MedicationDispense.authorizingPrescription`, `?prescription=`). Keep them distinct\n" +
	"  across files.\n" +
	"- Dispensability is read from `MedicationRequest.status` (`active` is dispensable; `completed`, `cancelled`,\n" +
	"  `stopped`, `entered-in-error`, `on-hold`, `draft` are not) and `dispenseRequest.validityPeriod.end` (past: expired).\n" +
	"  `dispenseRequest.numberOfRepeatsAllowed` (default 0) allows 1 + n dispenses; after the last one the served\n" +
	"  Bundle shows `MedicationRequest.status` `completed`. To fixture an already-dispensed, cancelled or expired\n" +
	"  prescription, set the status or validity period in the file.\n" +
	"- Title of the DocumentReference: `Medication.code.text` (else its first coding's display); author:\n" +
	"  the first `Practitioner` name, else `Organization.name`.\n\n" +
	"### `ps/<matricule>.json` and `ps/<matricule>.xml`\n" +
	"- JSON: an IPS document Bundle (type `document`), `Composition` as the first entry; its `Patient` carries the\n" +
	"  matricule identifier. Created: `Bundle.timestamp` (else `Composition.date`); title: `Composition.title`.\n" +
	"- XML: a Luxembourg national CDA Patient Summary; the patient is\n" +
	"  `recordTarget/patientRole/id[@root='1.3.182.4.4']/@extension`, created `effectiveTime/@value`, title `title`.\n" +
	"- A patient may have either or both; each becomes a DocumentReference of type LOINC 60591-5.\n\n" +
	"### `orcd/<name>.pdf` + `orcd/<name>.json`\n" +
	"- The sidecar: `{\"matricule\": \"…\", \"classCode\": \"11502-2\" | \"18748-4\" | \"34105-7\", \"title\": \"…\",\n" +
	"  \"created\": \"2025-11-03T08:15:00+01:00\", \"author\": \"…\"}` (11502-2 laboratory report, 18748-4 imaging report,\n" +
	"  34105-7 discharge summary). A PDF without its sidecar, or the reverse, is a startup error.\n\n" +
	"## How the backend serves them\n\n" +
	"| fixture | DocumentReference id | type (LOINC) | `content.attachment.url` | contentType |\n" +
	"|---|---|---|---|---|\n" +
	"| `eprescriptions/<id>.json` | `<id>` | 57833-6 | `Bundle/<id>` | `application/fhir+json` |\n" +
	"| `ps/<m>.json` | `ps-<m>` | 60591-5 | `Bundle/ps-<m>` | `application/fhir+json` |\n" +
	"| `ps/<m>.xml` | `ps-<m>-cda` | 60591-5 | `Binary/ps-<m>-cda` | `application/xml` |\n" +
	"| `orcd/<name>.pdf` | `orcd-<name>` | sidecar `classCode` | `Binary/orcd-<name>` | `application/pdf` |\n\n" +
	"All DocumentReferences have status `current`. `Bundle/<id>` answers the Bundle as JSON (an ePrescription with its\n" +
	"current dispensing status); `Binary/<id>` answers the raw bytes with their Content-Type.\n\n" +
	"## Identifiers: 13-digit and legacy 11-digit matricules\n\n" +
	"Both forms are `Patient.identifier` entries with system `urn:oid:1.3.182.4.4`: the 13-digit one with `use`\n" +
	"`official`, the legacy 11-digit one with `use` `old` (the length tells them apart). `Patient?identifier=urn:oid:1.3.182.4.4|<v>`\n" +
	"matches `<v>` exactly against every such identifier, so an 11-digit search finds a patient by the legacy id\n" +
	"whether or not a 13-digit id is also known, and a 13-digit search finds patients who have that 13-digit id.\n" +
	"Patients known only by a legacy id (role \"legacy id only\") cannot be found by a 13-digit search: no rule maps\n" +
	"one form to the other (the sequence numbers differ). `national.Client` reports their legacy id in both\n" +
	"`Patient.Matricule` and `Patient.LegacyMatricule`.\n\n" +
	"## Consent\n\n" +
	"Each patient has Consent resources (`patient` = `Patient/<id>`, `policyRule` `urn:luxncp:fhir:consent-policy|myhealth-eu`,\n" +
	"`provision.type` `permit` or `deny`). The decision in force is the `active` Consent with the latest `dateTime`.\n" +
	"Patients with consent `withdrawn` below have an `inactive` permit followed by an `active` deny.\n\n" +
	"## Patients\n\n" +
	"Pick patients for your fixtures by role. Roles: **rich history** (≥ 40 PS entries), **many medications**,\n" +
	"**drug allergy**, **pregnant**, **implanted device**, **no information** (no documents at all: keep it that way),\n" +
	"**ePrescription** (suggested holders of demo prescriptions), **original clinical documents** (lab, imaging,\n" +
	"discharge PDFs), **consent withdrawn** (have documents that must never be shared), **duplicate demographics**\n" +
	"(pair A: same family, birth date and gender, different given names; pair B: identical demographics),\n" +
	"**legacy id only**, **birth day unknown (00)**, **matricule not date-based** (starts with 3).\n\n"

const readmeTail = "\nDemographic searches that return several patients: `family=Meyer&birthdate=1980-01-01&gender=male` (p18, p19; adding\n" +
	"`given=Marc` narrows to p18) and `family=Pereira&given=Maria&birthdate=1995-06-06&gender=female` (p20, p21).\n\n" +
	"Demographic search semantics: `family` and `given` match case- and accent-insensitively by prefix (FHIR string\n" +
	"search); `birthdate` matches when the patient's birth date starts with the value (so `1978-06` finds p25, whose\n" +
	"day is unknown); `gender` exactly; all given parameters must match.\n"
