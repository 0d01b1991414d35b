package cda

import "encoding/base64"

// BuildL1 builds a PDF-embedded (level 1) pivot document: the header of h
// and a nonXMLBody carrying pdf as base64 (mediaType application/pdf).
// h.TemplateIDs must name the L1 template (ePrescription …1.1.6, Patient
// Summary …1.1.7).
func BuildL1(h Header, term Terminology, pdf []byte) ([]byte, error) {
	if len(pdf) == 0 {
		return nil, missing("PDF content")
	}
	d, err := NewDocument(h, term)
	if err != nil {
		return nil, err
	}
	c := d.Root.CreateElement("component")
	c.CreateAttr("typeCode", "COMP")
	c.CreateAttr("contextConductionInd", "true")
	b := c.CreateElement("nonXMLBody")
	b.CreateAttr("classCode", "DOCBODY")
	b.CreateAttr("moodCode", "EVN")
	t := b.CreateElement("text")
	t.CreateAttr("mediaType", "application/pdf")
	t.CreateAttr("representation", "B64")
	t.SetText(base64.StdEncoding.EncodeToString(pdf))
	return d.Bytes()
}
