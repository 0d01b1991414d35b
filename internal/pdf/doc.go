// Package pdf writes small text documents as PDF/A-2b (ISO 19005-2 level B,
// on ISO 32000-1): DejaVu Sans and DejaVu Sans Bold embedded as subset
// CIDFontType2 fonts with Identity-H encoding and ToUnicode maps (Latin,
// Greek and Cyrillic print and extract as written), XMP metadata with the
// PDF/A identification, an sRGB output intent with an ICC profile luxncp
// builds itself, A4 pages, wrapped paragraphs, headings, key/value lists and
// simple ruled tables. The fonts are compiled in (fonts/README.md: source
// and licence); nothing depends on the fonts of the machine.
//
// luxncp uses it for the PDF inside level-1 (nonXMLBody) eHDSI documents,
// whose XCA metadata declares the PDF/A format. The output is
// deterministic: no creation dates, a file identifier derived from the
// content, the same calls give the same bytes.
package pdf
