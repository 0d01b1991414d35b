// Package render shows eHDSI pivot documents (Patient Summary and
// ePrescription, HL7 CDA R2 with the eHDSI templates) to Luxembourg
// clinicians: Translate rewrites the coded elements' displayNames into
// French, German or English through the terminology catalogue, keeping the
// original as a <translation> child; HTML renders a document as the eHDSI
// CDA display tool does — a banner with the source country, document date
// and patient, then every section (its narrative, and its coded entries
// with translated terms), accessible (landmarks, headings, table headers,
// lang attributes) and printable, with a visible note on every term that
// stayed untranslated or is unknown. Both are pure functions of their
// input.
package render
