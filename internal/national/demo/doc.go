// Package demo is the demo national backend: an http.Handler serving the
// synthetic fixtures under data/ (embedded with go:embed) through the FHIR R4
// REST API that national.Client speaks (https://hl7.org/fhir/R4/http.html),
// under a base path (default /fhir):
//
//	GET  Patient?identifier=urn:oid:1.3.182.4.4|<11 or 13 digits>
//	GET  Patient?family=&given=&birthdate=&gender=
//	GET  Patient/<id>
//	GET  Consent?patient.identifier=urn:oid:1.3.182.4.4|<id>   (or patient=Patient/<id>)
//	GET  DocumentReference?patient.identifier=…[&type=http://loinc.org|<code>]
//	GET  Bundle/<id>     FHIR JSON documents (ePrescriptions with their current status, IPS)
//	GET  Binary/<id>     raw bytes (LU CDA, PDF) with their Content-Type
//	POST MedicationDispense                     conditional create, If-None-Exist: identifier=<system>|<key>
//	PUT  MedicationDispense?identifier=<system>|<key>   conditional update to status entered-in-error (cancel)
//	GET  MedicationDispense?prescription=<id> | ?identifier=<system>|<key>
//	GET  MedicationDispense/<id>
//
// Search results are searchset Bundles; errors are OperationOutcome
// resources. Output is deterministic: the same state and request give the
// same bytes.
//
// Dispensations are the only mutable state. They are kept in memory and, when
// a state directory is given, in an append-only file (dispenses.jsonl)
// fsync'd before a create or cancel is acknowledged and replayed at start.
// A create with a key already recorded answers 200 with the recorded
// resource and has no second effect, also under concurrency. The layout of
// data/ is documented in data/README.md.
package demo
