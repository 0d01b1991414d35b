// Package pdf writes small text documents as PDF 1.4 (ISO 32000-1 subset):
// the standard Type 1 fonts Helvetica and Helvetica-Bold with WinAnsiEncoding
// (so French and German accented letters print), A4 pages, wrapped
// paragraphs, headings, key/value lists and simple ruled tables.
//
// luxncp uses it for the PDF inside level-1 (nonXMLBody) eHDSI documents. The
// output is deterministic: no creation dates, no random file ids, the same
// calls give the same bytes.
package pdf
