// Package ps turns a Luxembourg patient's national Patient Summary into the
// eHDSI Patient Summary pivot document (MyHealth@EU, eHDSI CDA template
// 1.3.6.1.4.1.12559.11.10.1.3.1.1.3, ART-DECOR release v8.0.0) and its
// PDF-embedded level 1 variant (…1.1.7).
//
// Two pure readers fill one internal model (Summary):
//   - ReadFHIR reads an HL7 FHIR R4 document Bundle shaped by the HL7 Europe
//     Patient Summary / International Patient Summary profiles;
//   - ReadLUCDA reads the national CDA Patient Summary of the Luxembourg shared
//     care record (templates 1.3.182.11.9 / 1.3.182.11.10.x, French labels).
//
// Build writes the pivot L3 document from a Summary, every coded element
// through the eHDSI Master Value Catalogue (internal/terminology): the MVC code
// with its English display in code, the national code kept in translation,
// and a narrative generated from the entries in the document language (fr-LU
// by default). BuildL1 renders the same Summary as a PDF and wraps it.
//
// Everything here is pure and deterministic: the document id is derived from
// a hash of the national content, times come from the national document or
// from Options, and the same input always gives the same bytes.
package ps
