// Package terminology is luxncp's transcoding and translation engine for the
// eHDSI Master Value Catalogue (MVC) and Master Translation Catalogue (MTC).
//
// It implements the eHDSI transcoding policy (eHDSI "Transcoding and
// Translation" specification; OpenNCP's coded_element_list_ehdsi.xml is the
// public statement of which CDA element binds which value set with usage R,
// RNFA or O per document type): every coded element luxncp emits in a pivot
// Patient Summary, ePrescription or eDispensation carries an MVC code with
// its English MVC display, the national code is kept as translation, and
// displays are translated for the reader with a language fallback chain.
//
// All data comes from the translations/ directory, embedded at build time
// (package translations) and described by translations/manifest.json. Load
// parses it once into maps; every lookup afterwards is O(1), pure and safe
// for concurrent use. Import rebuilds the MVC part of translations/ from the
// shared reference material, deterministically.
package terminology
