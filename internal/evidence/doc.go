// Package evidence is luxncp's non-repudiation evidence: signed ETSI REM
// evidence (ETSI TS 102 640-2 "REM" REMEvidenceType, namespace
// http://uri.etsi.org/02640/v2#, whose model ETSI EN 319 522 carries on)
// in the form eHDSI's reference NCP, OpenNCP, emits it (its evidence
// emitter's ETSIREMObligationHandler).
//
// Two kinds are emitted, for every document released (XCA ITI-39 retrieve)
// and every eDispensation accepted or discarded (XDR ITI-41):
//   - non-repudiation of receipt (NRR), an AcceptanceRejectionByRecipient
//     over the partner's request: Luxembourg received this message from
//     that partner and accepted or rejected it;
//   - non-repudiation of origin (NRO), a SubmissionAcceptanceRejection over
//     luxncp's response: Luxembourg is the origin of this answer (the
//     documents released, the acknowledgement of the eDispensation).
//
// Each carries the EventCode (Acceptance or Rejection), the issuer's seal
// certificate, the sender's and recipient's names and certificates, the
// event and submission times, and the SHA-256 digest of the message: the
// exclusive-c14n form of the SOAP body's content with XOP resolved (see
// MessageDigest), never the message itself, so evidence holds no patient
// data. It is signed as a whole (enveloped XML signature, RSA-SHA256,
// exclusive c14n, Signature last as REMEvidenceType puts it) through
// wssec.SignEnveloped with the seal (a file key locally, KMS on AWS).
//
// Build is pure (same parameters, same bytes); Emitter is the gateway's
// hook; FileStore and s3store.Store keep the evidence beside the audit
// trail; Verifier checks a stored evidence file. Evidence ids derive from
// the response's MessageID (ID), so the transaction's audit record, written
// first, names them (audit.Event.Evidence); the local index is a hash
// chain, and CheckDir checks it, each file, and the audit chain's naming
// both ways (docs/evidence.md).
package evidence
