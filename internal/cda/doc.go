// Package cda builds and reads eHDSI pivot CDA documents (HL7 CDA R2 with the
// eHDSI templates of the ART-DECOR project "epsos-", release v8.0.0, and the
// pharm: extension namespace urn:hl7-org:pharm).
//
// It holds:
//
//   - the shared builders every pivot document needs (NewDocument writes the
//     header: typeId, templateIds, id, code, title, effectiveTime,
//     confidentiality, language, setId/versionNumber, recordTarget, author,
//     custodian, legalAuthenticator, participants, inFulfillmentOf,
//     documentationOf/serviceEvent, relatedDocument), coded elements written
//     from a terminology.Transcoded (Transcode, AppendCoded, SetCoded: MVC code
//     and English display in the element, the national code as <translation>,
//     text as <originalText>, nullFlavor for RNFA/O misses, *TranscodeError
//     for Required ones), narrative helpers and the level-1 wrapper BuildL1
//     (nonXMLBody with a base64 PDF);
//   - the ePrescription transform: a national prescription Bundle (FHIR R4,
//     HL7 Europe Medication Prescription shape) → eHDSI ePrescription
//     (1.3.6.1.4.1.12559.11.10.1.3.1.1.1, BuildEP) and its PDF-embedded L1
//     variant (…1.1.6, BuildEPL1), plus Summarize, which says whether a
//     prescription can be dispensed abroad and why not;
//   - the eDispensation reader (…1.1.2, ReadED) with its checks against the
//     prescription (Dispensation.Against) and its mapping to a FHIR R4
//     MedicationDispense (Dispensation.MedicationDispense).
//
// Everything here is pure: ids, times and the terminology come in as
// arguments, and the same input gives the same bytes.
//
// # The national prescription Bundle
//
// One prescription per Bundle, normally with one MedicationRequest (the demo
// fixtures in internal/national/demo/data/eprescriptions have exactly one).
// An eHDSI ePrescription carries exactly one prescribed medicine, so a
// Bundle with several MedicationRequests is parsed with ParsePrescription and
// Split into one document per item (BuildEP refuses it with ErrSeveralItems).
//
//   - Bundle.identifier: the national prescription id (system urn:oid:…);
//     written as relatedDocument/parentDocument/id.
//   - MedicationRequest: identifier (the item id, written as
//     substanceAdministration/id, which a foreign eDispensation quotes back),
//     status, authoredOn, requester → PractitionerRole (code: ISCO-08 under
//     urn:oid:2.16.840.1.113883.2.9.6.2.7) → Practitioner + Organization,
//     medicationReference → Medication, dosageInstruction[0] (text,
//     patientInstruction, timing.repeat frequency/period/periodUnit/
//     boundsPeriod, route EDQM, doseAndRate doseQuantity/doseRange UCUM,
//     asNeededBoolean), note (to the pharmacist), dispenseRequest
//     (validityPeriod, numberOfRepeatsAllowed, quantity = packages),
//     substitution.allowedBoolean.
//   - Medication: code (LU product urn:oid:1.3.182.4.13 and optionally ATC
//     http://www.whocc.no/atc; text = product name), form (EDQM
//     http://standardterms.edqm.eu), extension ExtPackageType (EDQM package),
//     amount.numerator (units per package), ingredient (itemCodeableConcept,
//     strength numerator/denominator UCUM).
//   - Patient: identifier urn:oid:1.3.182.4.4 (matricule), name, gender,
//     birthDate, address, telecom.
//   - MedicationDispense (optional, status completed,
//     authorizingPrescription → the MedicationRequest): dispensations
//     already made, counted against 1 + numberOfRepeatsAllowed.
package cda
