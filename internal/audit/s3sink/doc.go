// Package s3sink is the AWS audit.Sink: each audit record becomes one S3
// object written under S3 Object Lock in compliance mode (no one, not even
// the account root, can delete or overwrite it before its retain-until
// date), before Write returns.
//
// Every record is first fsync'd into a local spool directory, uploaded, and
// removed from the spool once S3 has it. A record whose upload failed stays
// in the spool and is uploaded on the next start (New) or after the next
// successful write: a crash or an S3 outage loses nothing that Write
// accepted. The bucket must have Object Lock enabled (which implies
// versioning).
package s3sink
