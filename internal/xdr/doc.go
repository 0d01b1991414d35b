// Package xdr answers IHE ITI-41 Provide and Register Document Set-b for
// eHDSI eDispensation (class 60593-1) and its discard (DISCARD-60593-1), as
// Country A: a foreign pharmacy dispensed a Luxembourg ePrescription.
//
// Before acknowledging, the eDispensation CDA is read and checked (template,
// patient equal to the TRC assertion's, a reference to an existing,
// still-dispensable prescription of that patient); the dispensation is then
// recorded durably in the outbox and only then answered with Success. The
// eDispensation document id is the idempotency key all the way to the
// national system: a resubmission is answered Success without a second
// effect, a discard reverses exactly once.
package xdr
