package peer

import (
	"encoding/base64"
	"errors"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/pdf"
)

// L1 templates: the PDF-embedded variants of the pivot documents.
const (
	tplPSL1 = "1.3.6.1.4.1.12559.11.10.1.3.1.1.7"
	tplEPL1 = "1.3.6.1.4.1.12559.11.10.1.3.1.1.6"
)

// l1ID is the id of the L1 document derived from an L3 id.
func l1ID(l3 string) string { return l3 + ".1" }

// BuildL1 derives the PDF-embedded (L1) document from a peer's L3 pivot
// document: the same header (L1 template and its own id), and a
// nonXMLBody with a PDF of the sections' titles and narrative, as a
// country's NCP offers both forms.
func BuildL1(l3 []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(l3); err != nil {
		return nil, err
	}
	root := doc.Root()
	tpl := root.SelectElement("templateId")
	id := root.SelectElement("id")
	body := root.FindElement("./component/structuredBody")
	if tpl == nil || id == nil || body == nil {
		return nil, errors.New("peer: L3 document without templateId, id or structuredBody")
	}
	switch tpl.SelectAttrValue("root", "") {
	case tplPS:
		tpl.CreateAttr("root", tplPSL1)
	case tplEP:
		tpl.CreateAttr("root", tplEPL1)
	default:
		return nil, errors.New("peer: not a PS or eP L3 document")
	}
	newID := l1ID(id.SelectAttrValue("root", ""))
	id.CreateAttr("root", newID)
	if set := root.SelectElement("setId"); set != nil {
		set.CreateAttr("root", newID)
	}
	title := ""
	if t := root.SelectElement("title"); t != nil {
		title = t.Text()
	}
	p := pdf.New(title, "")
	p.Heading(1, title)
	if pt := root.FindElement("./recordTarget/patientRole/patient/name"); pt != nil {
		var parts []string
		for _, c := range pt.ChildElements() {
			parts = append(parts, strings.TrimSpace(c.Text()))
		}
		p.Paragraph(strings.Join(parts, " "))
	}
	for _, sec := range body.FindElements("./component/section") {
		if t := sec.SelectElement("title"); t != nil {
			p.Heading(2, t.Text())
		}
		if txt := sec.SelectElement("text"); txt != nil {
			var lines []string
			collect(txt, &lines)
			for _, l := range lines {
				p.Paragraph(l)
			}
		}
	}
	comp := body.Parent()
	comp.RemoveChild(body)
	nx := comp.CreateElement("nonXMLBody")
	nx.CreateAttr("classCode", "DOCBODY")
	nx.CreateAttr("moodCode", "EVN")
	t := nx.CreateElement("text")
	t.CreateAttr("mediaType", "application/pdf")
	t.CreateAttr("representation", "B64")
	t.SetText(base64.StdEncoding.EncodeToString(p.Bytes()))
	doc.WriteSettings.CanonicalEndTags = false
	return doc.WriteToBytes()
}

// collect flattens narrative into lines: one per paragraph, list item or
// table row.
func collect(el *etree.Element, out *[]string) {
	switch el.Tag {
	case "paragraph", "item", "tr", "content":
		var parts []string
		for _, c := range el.FindElements(".//*") {
			if len(c.ChildElements()) == 0 {
				if s := strings.TrimSpace(c.Text()); s != "" {
					parts = append(parts, s)
				}
			}
		}
		if s := strings.TrimSpace(el.Text()); s != "" {
			parts = append([]string{s}, parts...)
		}
		if len(parts) > 0 {
			*out = append(*out, strings.Join(parts, " · "))
		}
		return
	}
	for _, c := range el.ChildElements() {
		collect(c, out)
	}
}
