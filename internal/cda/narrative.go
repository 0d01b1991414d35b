package cda

import "github.com/beevik/etree"

// AppendSection appends component/section under body with the given
// templateIds, id, LOINC code (written as is: section codes are MVC codes),
// title, and returns the section and its empty <text> for the narrative.
func AppendSection(body *etree.Element, templateIDs []string, id II, code Coded, title string) (section, text *etree.Element) {
	c := body.CreateElement("component")
	c.CreateAttr("typeCode", "COMP")
	c.CreateAttr("contextConductionInd", "true")
	s := c.CreateElement("section")
	s.CreateAttr("classCode", "DOCSECT")
	s.CreateAttr("moodCode", "EVN")
	for _, t := range templateIDs {
		AppendTemplateID(s, t)
	}
	if id.Root != "" {
		AppendII(s, "id", id)
	}
	AppendCoded(s, "code", code)
	s.CreateElement("title").SetText(title)
	return s, s.CreateElement("text")
}

// Cell is one narrative table cell: text, with an optional ID (the target of
// a <reference value="#ID"/> from an entry).
type Cell struct {
	Text string
	ID   string
}

// AppendTable writes a narrative <table> with a header row and rows of plain
// text cells under text. IDs, when set, go on a <content ID> around the cell
// text so entries can reference it.
func AppendTable(text *etree.Element, headers []string, rows [][]Cell) *etree.Element {
	t := text.CreateElement("table")
	t.CreateAttr("border", "1")
	if len(headers) > 0 {
		tr := t.CreateElement("thead").CreateElement("tr")
		for _, h := range headers {
			tr.CreateElement("th").SetText(h)
		}
	}
	tb := t.CreateElement("tbody")
	for _, r := range rows {
		tr := tb.CreateElement("tr")
		for _, c := range r {
			td := tr.CreateElement("td")
			if c.ID != "" {
				ct := td.CreateElement("content")
				ct.CreateAttr("ID", c.ID)
				ct.SetText(c.Text)
			} else {
				td.SetText(c.Text)
			}
		}
	}
	return t
}

// AppendParagraph writes <paragraph> with text (and an optional ID).
func AppendParagraph(text *etree.Element, s, id string) *etree.Element {
	p := text.CreateElement("paragraph")
	if id != "" {
		p.CreateAttr("ID", id)
	}
	p.SetText(s)
	return p
}

// AppendTextReference writes <text><reference value="#id"/></text> under an entry.
func AppendTextReference(entry *etree.Element, id string) *etree.Element {
	t := entry.CreateElement("text")
	t.CreateElement("reference").CreateAttr("value", "#"+id)
	return t
}
