// Package orcd wraps Luxembourg's original clinical documents (PDF) into the
// eHDSI Original Clinical Document (OrCD) CDA documents of MyHealth@EU:
// laboratory result report (LOINC 11502-2, template
// 1.3.6.1.4.1.12559.11.10.1.3.1.1.8), hospital discharge report (34105-7,
// …1.1.9) and medical imaging report (18748-4, …1.1.10). The PDF travels
// unchanged, base64-encoded in the nonXMLBody.
//
// The header follows the eHDSI PDF-embedded documents (recordTarget,
// author, custodian, legalAuthenticator, documentationOf, relatedDocument),
// built by internal/cda. Build is pure and deterministic: the document id is
// derived from a hash of the original document and its metadata.
package orcd
