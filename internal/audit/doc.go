// Package audit records every luxncp transaction as an eHDSI audit message
// (IHE ATNA, the DICOM / RFC 3881 AuditMessage as eHDSI profiles it and as
// OpenNCP emits it) and writes it durably before the response leaves.
//
// The parts:
//   - Event: what a transaction handler knows (event type, outcome and eHDSI
//     error code, health professional, requesting and responding NCP,
//     patient ids, document ids, message and assertion ids);
//   - Message: the pure builder, Event → AuditMessage XML, same input same
//     bytes; the event codes, participant roles and participant object type
//     codes are those of OpenNCP's audit message builders
//     (konateq/openncp, openncp-common …/common/audit/auditmessagebuilders);
//   - Sink: where records go (one method). FileSink keeps append-only,
//     SHA-256 hash-chained, fsync'd segment files under the state dir
//     (format in filesink.go; concurrent writers share fsyncs) and a HEAD
//     file naming the last record on disk; Verify names each edited,
//     deleted (including at the tail), inserted or reordered record and a
//     torn last record; package s3sink writes each record as an S3 object
//     under Object Lock (compliance mode) with a durable local retry spool;
//     package syslogtls forwards records to an ATNA repository (RFC 5424
//     over TLS, RFC 5425);
//   - Recorder: Event → Record → Sink, the one call handlers make;
//   - PatientAccess and AccessHandler: the patient access log (EHDS right of
//     access), read through the per-patient index written with each record
//     (index.go; the S3 sink's key layout on AWS), one canonical patient
//     identity per record (patient.go); Quarantine: the operator procedure
//     for a damaged tail (docs/audit.md);
//   - Redact and RedactingHandler: keep patient data out of application logs
//     above debug level.
package audit
