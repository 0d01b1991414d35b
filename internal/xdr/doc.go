// Package xdr answers IHE ITI-41 Provide and Register Document Set-b for
// eHDSI eDispensation (class 60593-1) and its discard (DISCARD-60593-1), as
// Country A: a foreign pharmacy dispensed a Luxembourg ePrescription.
//
// Before acknowledging, the patient's consent is checked (before anything
// about prescriptions is read), the eDispensation CDA is read and checked
// (template, patient equal to the TRC assertion's, a still-dispensable
// prescription item of that patient, the prescribed product or an allowed
// substitution, the prescribed quantity), the transaction is audited, and
// the outbox accepts it atomically with a reservation on the prescription
// item (outbox.Ledger); only then is it answered Success. The eDispensation
// id is bound at first acceptance to (patient, item, country, organisation,
// content): a resend is Success without a second effect, another binding is
// refused, a discard is accepted only from the owner and reverses once.
// docs/edispensation.md has the state machine and the refusal codes.
package xdr
