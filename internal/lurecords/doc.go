// Package lurecords is Luxembourg's side of XCA: it lists and builds the
// eHDSI pivot documents of a Luxembourg patient from the national record —
// ePrescriptions (FHIR MPD bundles → eP L3 and L1), Patient Summaries (FHIR
// IPS bundles or Luxembourg national CDA → PS L3 and L1) and original
// clinical documents (PDF → OrCD CDA) — checking cross-border consent first.
//
// Document ids are deterministic: a document built again from unchanged
// national data has the same id and the same bytes, so a retrieve after a
// list finds exactly what was listed, and a changed national document is
// reported missing rather than silently swapped.
package lurecords
