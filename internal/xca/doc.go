// Package xca answers IHE ITI-38 Cross Gateway Query (FindDocuments) and
// ITI-39 Cross Gateway Retrieve as eHDSI profiles them for Country A, for
// every document kind — Patient Summary, ePrescription and original
// clinical documents — over one responder. What documents exist and what
// they contain is a Provider's business; this package checks the request
// (TRC assertion for exactly the queried patient, permissions per document
// class), writes ebRIM metadata (DocumentEntry ExtrinsicObjects, L1/L3 XFRM
// associations) and the retrieve response: inline base64 for a plain SOAP
// request, a separate MIME part for an MTOM request.
package xca
