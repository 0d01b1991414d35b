package soap

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// Values luxncp puts on the wire.
const (
	// ActionFault is the WS-Addressing action of a SOAP fault.
	ActionFault = "http://www.w3.org/2005/08/addressing/soap/fault"
	// NSErrorCode is the namespace of the fault Subcode carrying the eHDSI
	// error code as a QName (prefix "ehdsi"). The same code is in
	// soap:Detail as an ebRS RegistryError, the form OpenNCP-based
	// gateways already parse for eHDSI errors.
	NSErrorCode = "urn:ehdsi:error"
	// NSRS is the ebRS 3.0 namespace of RegistryErrorList.
	NSRS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
	// RootContentID is the Content-ID of the root part of MTOM responses.
	RootContentID = "root.message@luxncp"
)

// Response is a SOAP 1.2 message luxncp sends.
type Response struct {
	Action    string // WS-Addressing Action (required)
	RelatesTo string // the request's MessageID, when known
	MessageID string // empty: a random urn:uuid
	// To is an optional WS-Addressing To (set it when sending requests).
	To string
	// Headers are extra header blocks (e.g. wsse:Security when sending a
	// request), written as they are, after the WS-Addressing headers. They
	// must declare the namespaces they use.
	Headers []*etree.Element
	// Body is the single child of soap:Body. It must declare the
	// namespaces it uses; it is written as it is and not modified.
	Body *etree.Element
	// Attachments are the MIME parts of an MTOM message; the body refers
	// to each with xop:Include href="cid:<ContentID>". Only with mtom.
	Attachments []Attachment

	inline int // bytes of base64 text Attach put in the body
}

// Attach makes elem carry data: as an xop:Include child referring to a new
// attachment when mtom is true, otherwise as inline base64 text (what
// OpenNCP-based partners send and expect in plain SOAP). Content-IDs are
// numbered in call order, so output is deterministic.
func (r *Response) Attach(elem *etree.Element, contentType string, data []byte, mtom bool) {
	if !mtom {
		n := base64.StdEncoding.EncodedLen(len(data))
		var sb strings.Builder // encodes straight into the string: one allocation
		sb.Grow(n)
		enc := base64.NewEncoder(base64.StdEncoding, &sb)
		enc.Write(data)
		enc.Close()
		elem.SetText(sb.String())
		r.inline += n
		return
	}
	id := fmt.Sprintf("%d.att@luxncp", len(r.Attachments)+1)
	inc := elem.CreateElement("xop:Include")
	inc.CreateAttr("xmlns:xop", NSXOP)
	inc.CreateAttr("href", "cid:"+id)
	r.Attachments = append(r.Attachments, Attachment{ContentID: id, ContentType: contentType, Data: data})
}

// NewElement returns an element named prefix:local (local alone when prefix
// is empty) that declares ns for that prefix (the default namespace when
// prefix is empty).
func NewElement(prefix, local, ns string) *etree.Element {
	e := etree.NewElement(local)
	e.Space = prefix
	if prefix == "" {
		e.CreateAttr("xmlns", ns)
	} else {
		e.CreateAttr("xmlns:"+prefix, ns)
	}
	return e
}

// Writer writes responses and faults. The zero value is ready to use and
// draws message ids and MIME boundaries from crypto/rand.
type Writer struct {
	// Rand is the source of message ids and boundaries; nil is crypto/rand.
	Rand io.Reader
	// Boundary, when set, is the MIME boundary of MTOM messages.
	Boundary string
}

// Write serialises resp with a zero Writer. See Writer.Write.
func Write(w http.ResponseWriter, resp Response, mtom bool) error {
	return Writer{}.Write(w, resp, mtom)
}

// WriteFault writes f with a zero Writer. See Writer.WriteFault.
func WriteFault(w http.ResponseWriter, f *ehdsi.Fault, relatesTo string) error {
	return Writer{}.WriteFault(w, f, relatesTo)
}

// WriteError writes any error as a SOAP fault: the *ehdsi.Fault in its
// chain, or else a Receiver fault with ERROR_GENERIC and its generic public
// text (the error itself is never sent). It returns the fault it wrote, so
// that the caller can log its cause once.
func (wr Writer) WriteError(w http.ResponseWriter, err error, relatesTo string) (*ehdsi.Fault, error) {
	f := ehdsi.AsFault(err, ehdsi.ErrGeneric)
	return f, wr.WriteFault(w, f, relatesTo)
}

// WriteError writes err with a zero Writer. See Writer.WriteError.
func WriteError(w http.ResponseWriter, err error, relatesTo string) (*ehdsi.Fault, error) {
	return Writer{}.WriteError(w, err, relatesTo)
}

// Write serialises resp once and sends it with HTTP 200: as plain
// application/soap+xml, or, when mtom is true, as multipart/related with an
// application/xop+xml root part and one MIME part per attachment.
func (wr Writer) Write(w http.ResponseWriter, resp Response, mtom bool) error {
	// The envelope is serialised into a pooled buffer, put back once w has
	// taken the bytes (a Write does not keep its slice).
	env := getBuffer()
	defer putBuffer(env)
	ctype, body, err := wr.marshal(env, resp, mtom)
	if err != nil {
		return err
	}
	return send(w, http.StatusOK, ctype, body)
}

func send(w http.ResponseWriter, status int, ctype string, body []byte) error {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		return fmt.Errorf("write SOAP response: %w", err)
	}
	return nil
}

// Marshal returns the Content-Type and bytes of resp, plain or MTOM. It is
// what Write sends, and what a client posts as a request.
func (wr Writer) Marshal(resp Response, mtom bool) (string, []byte, error) {
	return wr.marshal(new(bytes.Buffer), resp, mtom)
}

// marshal is Marshal serialising the envelope into env (empty). A plain
// message's bytes are env's; an MTOM message's are a buffer of their own.
func (wr Writer) marshal(env *bytes.Buffer, resp Response, mtom bool) (string, []byte, error) {
	if resp.Action == "" {
		return "", nil, errors.New("soap: response without Action")
	}
	if strings.ContainsFunc(resp.Action, unicode.IsControl) {
		return "", nil, fmt.Errorf("soap: control character in Action %q", resp.Action)
	}
	if resp.Body == nil {
		return "", nil, errors.New("soap: response without Body")
	}
	if !mtom && len(resp.Attachments) > 0 {
		return "", nil, errors.New("soap: attachments in a plain SOAP response; use Response.Attach with mtom=false")
	}
	if mtom {
		if err := checkIncludes(resp); err != nil {
			return "", nil, err
		}
	}
	msgID := resp.MessageID
	if msgID == "" {
		id, err := wr.uuid()
		if err != nil {
			return "", nil, err
		}
		msgID = id
	}
	env.Grow(2048 + resp.inline)
	writeEnvelope(env, resp, msgID)
	if !mtom {
		ctype := mime.FormatMediaType(MediaSOAP12, map[string]string{"charset": "UTF-8", "action": resp.Action})
		if ctype == "" {
			return "", nil, fmt.Errorf("soap: action %q cannot go in a Content-Type", resp.Action)
		}
		return ctype, env.Bytes(), nil
	}
	boundary, err := wr.boundary(env.Bytes(), resp.Attachments)
	if err != nil {
		return "", nil, err
	}
	size := env.Len() + 512
	for _, a := range resp.Attachments {
		size += len(a.Data) + 256
	}
	var out bytes.Buffer
	out.Grow(size)
	mw := multipart.NewWriter(&out)
	if err := mw.SetBoundary(boundary); err != nil {
		return "", nil, fmt.Errorf("soap: MIME boundary: %w", err)
	}
	root := textproto.MIMEHeader{}
	root.Set("Content-Type", MediaXOP+`; charset=UTF-8; type="`+MediaSOAP12+`"`)
	root.Set("Content-Transfer-Encoding", "binary")
	root.Set("Content-ID", "<"+RootContentID+">")
	pw, err := mw.CreatePart(root)
	if err != nil {
		return "", nil, fmt.Errorf("soap: MTOM root part: %w", err)
	}
	pw.Write(env.Bytes())
	for _, a := range resp.Attachments {
		h := textproto.MIMEHeader{}
		ct := a.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		h.Set("Content-Type", ct)
		h.Set("Content-Transfer-Encoding", "binary")
		h.Set("Content-ID", "<"+a.ContentID+">")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return "", nil, fmt.Errorf("soap: MTOM part: %w", err)
		}
		pw.Write(a.Data)
	}
	if err := mw.Close(); err != nil {
		return "", nil, fmt.Errorf("soap: MTOM close: %w", err)
	}
	ctype := mime.FormatMediaType(MediaMultipart, map[string]string{
		"boundary": boundary, "type": MediaXOP, "start": "<" + RootContentID + ">",
		"start-info": MediaSOAP12, "action": resp.Action,
	})
	if ctype == "" {
		return "", nil, fmt.Errorf("soap: action %q cannot go in a Content-Type", resp.Action)
	}
	return ctype, out.Bytes(), nil
}

// boundary returns the fixed boundary, or a random one, that occurs in
// none of the parts.
func (wr Writer) boundary(root []byte, atts []Attachment) (string, error) {
	clash := func(b string) bool {
		delim := []byte("--" + b)
		if bytes.Contains(root, delim) {
			return true
		}
		for _, a := range atts {
			if bytes.Contains(a.Data, delim) {
				return true
			}
		}
		return false
	}
	if wr.Boundary != "" {
		if clash(wr.Boundary) {
			return "", errors.New("soap: the MIME boundary occurs in the content")
		}
		return wr.Boundary, nil
	}
	for range 4 {
		r, err := wr.random(24)
		if err != nil {
			return "", err
		}
		if b := "MIMEBoundary_" + hex.EncodeToString(r); !clash(b) {
			return b, nil
		}
	}
	return "", errors.New("soap: no MIME boundary free of the content")
}

// checkIncludes makes sure every xop:Include in the body names an
// attachment and every attachment is referred to.
func checkIncludes(resp Response) error {
	ids := make(map[string]bool, len(resp.Attachments))
	for _, a := range resp.Attachments {
		if a.ContentID == "" || strings.ContainsAny(a.ContentID, "<>\r\n") {
			return fmt.Errorf("soap: invalid attachment Content-ID %q", a.ContentID)
		}
		if ids[a.ContentID] {
			return fmt.Errorf("soap: duplicate attachment Content-ID %q", a.ContentID)
		}
		ids[a.ContentID] = true
	}
	used := map[string]bool{}
	var walk func(e *etree.Element) error
	walk = func(e *etree.Element) error {
		if e.Tag == "Include" && e.NamespaceURI() == NSXOP {
			id, ok := cidFromURL(e.SelectAttrValue("href", ""))
			if !ok || !ids[id] {
				return fmt.Errorf("soap: xop:Include refers to no attachment (%q)", e.SelectAttrValue("href", ""))
			}
			used[id] = true
		}
		for _, c := range e.ChildElements() {
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(resp.Body); err != nil {
		return err
	}
	if len(used) != len(ids) {
		return errors.New("soap: an attachment is not referred to by any xop:Include")
	}
	return nil
}

// writeEnvelope writes the envelope with its WS-Addressing headers, the
// extra headers and the body, each serialised once as given.
func writeEnvelope(buf *bytes.Buffer, resp Response, msgID string) {
	buf.WriteString(`<?xml version="1.0" encoding="UTF-8"?>`)
	buf.WriteString(`<env:Envelope xmlns:env="` + NSSOAP12 + `" xmlns:wsa="` + NSAddressing + `"><env:Header>`)
	hdr := func(name, value string, mu bool) {
		e := etree.NewElement(name)
		e.Space = "wsa"
		if mu {
			e.CreateAttr("env:mustUnderstand", "1")
		}
		e.SetText(value)
		writeXML(buf, e)
	}
	if resp.To != "" {
		hdr("To", resp.To, true)
	}
	hdr("Action", resp.Action, true)
	hdr("MessageID", msgID, false)
	if resp.RelatesTo != "" {
		hdr("RelatesTo", resp.RelatesTo, false)
	}
	for _, h := range resp.Headers {
		writeXML(buf, h)
	}
	buf.WriteString(`</env:Header><env:Body>`)
	writeXML(buf, resp.Body)
	buf.WriteString(`</env:Body></env:Envelope>`)
}

// WriteFault writes a SOAP 1.2 fault for f: env:Sender with HTTP 400,
// env:Receiver with HTTP 500 (also for a KindApplication fault, which
// should have travelled in a normal response). The Reason is f.Message(),
// never f.Cause. The eHDSI code goes in Code/Subcode/Value as the QName
// ehdsi:<code> (when the code is a valid XML name; the numeric legacy codes
// are not) and, always, in Detail as an ebRS RegistryErrorList with one
// RegistryError (errorCode, codeContext, severity, location), as OpenNCP
// reports eHDSI errors. relatesTo is the request MessageID when known.
func (wr Writer) WriteFault(w http.ResponseWriter, f *ehdsi.Fault, relatesTo string) error {
	return wr.WriteFaultStatus(w, f, relatesTo, 0)
}

// WriteFaultStatus writes f with an HTTP status of its own (0: the
// fault's), e.g. 503 when the gateway is busy.
func (wr Writer) WriteFaultStatus(w http.ResponseWriter, f *ehdsi.Fault, relatesTo string, status int) error {
	st, body := FaultBody(f)
	if status == 0 {
		status = st
	}
	ctype, data, err := wr.Marshal(Response{Action: ActionFault, RelatesTo: relatesTo, Body: body}, false)
	if err != nil {
		return err
	}
	return send(w, status, ctype, data)
}

// FaultBody returns the HTTP status and the env:Fault element WriteFault
// writes for f.
func FaultBody(f *ehdsi.Fault) (int, *etree.Element) {
	if f == nil {
		f = ehdsi.Receiver(ehdsi.ErrGeneric, "", nil)
	}
	code := f.Code
	if code == "" {
		code = ehdsi.ErrGeneric
	}
	msg := f.Message()
	if msg == "" {
		msg = ehdsi.Describe(code)
	}
	if msg == "" {
		msg = string(code)
	}
	value, status := "env:Receiver", http.StatusInternalServerError
	if f.Kind == ehdsi.KindSender {
		value, status = "env:Sender", http.StatusBadRequest
	}
	fault := NewElement("env", "Fault", NSSOAP12)
	c := fault.CreateElement("env:Code")
	c.CreateElement("env:Value").SetText(value)
	if isNCName(string(code)) {
		v := c.CreateElement("env:Subcode").CreateElement("env:Value")
		v.CreateAttr("xmlns:ehdsi", NSErrorCode)
		v.SetText("ehdsi:" + string(code))
	}
	t := fault.CreateElement("env:Reason").CreateElement("env:Text")
	t.CreateAttr("xml:lang", "en")
	t.SetText(msg)
	sev := string(f.Severity())
	list := fault.CreateElement("env:Detail").CreateElement("rs:RegistryErrorList")
	list.CreateAttr("xmlns:rs", NSRS)
	list.CreateAttr("highestSeverity", sev)
	re := list.CreateElement("rs:RegistryError")
	re.CreateAttr("codeContext", msg)
	re.CreateAttr("errorCode", string(code))
	re.CreateAttr("severity", sev)
	if f.Location != "" {
		re.CreateAttr("location", f.Location)
	}
	return status, fault
}

// isNCName reports whether s can be the local part of a QName (ASCII subset
// is enough for eHDSI codes).
func isNCName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z'):
		case i > 0 && (r == '-' || r == '.' || (r >= '0' && r <= '9')):
		default:
			return false
		}
	}
	return true
}

func (wr Writer) random(n int) ([]byte, error) {
	src := wr.Rand
	if src == nil {
		src = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(src, b); err != nil {
		return nil, fmt.Errorf("soap: random: %w", err)
	}
	return b, nil
}

// uuid returns a random (version 4) urn:uuid.
func (wr Writer) uuid() (string, error) {
	b, err := wr.random(16)
	if err != nil {
		return "", err
	}
	return "urn:uuid:" + formatV4(b), nil
}

// writeXML serialises an etree token as it is (no indentation, prefixes
// kept), escaping so that a reader gets back exactly the same text: unlike
// etree's default, '\r' in text and tab, newline and '\r' in attribute
// values are written as character references (a parser would otherwise
// normalise them). Plain ASCII text (base64 documents) is copied without a
// per-rune loop, which is most of the cost of writing inline documents.
func writeXML(buf *bytes.Buffer, tok etree.Token) {
	switch t := tok.(type) {
	case *etree.Element:
		buf.WriteByte('<')
		writeName(buf, t.Space, t.Tag)
		for _, a := range t.Attr {
			buf.WriteByte(' ')
			writeName(buf, a.Space, a.Key)
			buf.WriteString(`="`)
			escape(buf, a.Value, true)
			buf.WriteByte('"')
		}
		if len(t.Child) == 0 {
			buf.WriteString("/>")
			return
		}
		buf.WriteByte('>')
		for _, c := range t.Child {
			writeXML(buf, c)
		}
		buf.WriteString("</")
		writeName(buf, t.Space, t.Tag)
		buf.WriteByte('>')
	case *etree.CharData:
		if t.IsCData() {
			buf.WriteString("<![CDATA[")
			buf.WriteString(strings.ReplaceAll(t.Data, "]]>", "]]]]><![CDATA[>"))
			buf.WriteString("]]>")
			return
		}
		escape(buf, t.Data, false)
	case *etree.Comment:
		buf.WriteString("<!--")
		buf.WriteString(t.Data)
		buf.WriteString("-->")
	case *etree.ProcInst:
		buf.WriteString("<?")
		buf.WriteString(t.Target)
		if t.Inst != "" {
			buf.WriteByte(' ')
			buf.WriteString(t.Inst)
		}
		buf.WriteString("?>")
	case *etree.Directive:
		buf.WriteString("<!")
		buf.WriteString(t.Data)
		buf.WriteByte('>')
	}
}

func writeName(buf *bytes.Buffer, space, local string) {
	if space != "" {
		buf.WriteString(space)
		buf.WriteByte(':')
	}
	buf.WriteString(local)
}

// Byte classes for the fast path: 1 needs escaping in text, 2 in
// attribute values. Read-only after initialisation.
var escapeClass = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c >= 0x80, c == '&', c == '<', c == '>', c == '\r':
			t[c] = 1 | 2
		case c == '\n', c == '\t':
			t[c] = 2
		case c < 0x20:
			t[c] = 1 | 2
		case c == '"':
			t[c] = 2
		}
	}
	return t
}()

// plainASCII reports whether s needs no escaping at all.
func plainASCII(s string, attr bool) bool {
	mask := uint8(1)
	if attr {
		mask = 2
	}
	for i := 0; i < len(s); i++ {
		if escapeClass[s[i]]&mask != 0 {
			return false
		}
	}
	return true
}

func escape(buf *bytes.Buffer, s string, attr bool) {
	if plainASCII(s, attr) {
		buf.WriteString(s)
		return
	}
	last := 0
	for i := 0; i < len(s); {
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch {
		case r == '&':
			esc = "&amp;"
		case r == '<':
			esc = "&lt;"
		case r == '>':
			esc = "&gt;"
		case r == '\r':
			esc = "&#xD;"
		case attr && r == '"':
			esc = "&quot;"
		case attr && r == '\n':
			esc = "&#xA;"
		case attr && r == '\t':
			esc = "&#x9;"
		case !validXMLChar(r) || (r == utf8.RuneError && width == 1):
			esc = "\uFFFD"
		}
		if esc != "" {
			buf.WriteString(s[last:i])
			buf.WriteString(esc)
			last = i + width
		}
		i += width
	}
	buf.WriteString(s[last:])
}

// validXMLChar is the XML 1.0 Char production.
func validXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// DocumentBytes returns what doc.WriteToBytes returns — the same bytes,
// etree's own writer and doc's settings — written straight into one buffer
// of about sizeHint bytes, without the 4 KB bufio layer and the doubling
// growth of WriteToBytes (a few KB of garbage per response and audit
// message on the hot path).
func DocumentBytes(doc *etree.Document, sizeHint int) []byte {
	var b bytes.Buffer
	b.Grow(max(sizeHint, 512))
	writeDocument(&b, doc)
	return b.Bytes()
}

// DocumentString returns DocumentBytes(doc) as a string: written into a
// pooled buffer and copied once, so that the string is the only allocation
// of the bytes (what a caller keeping a string, such as the audit record,
// would otherwise pay twice).
func DocumentString(doc *etree.Document) string {
	b := getBuffer()
	defer putBuffer(b)
	writeDocument(b, doc)
	return b.String()
}

func writeDocument(b *bytes.Buffer, doc *etree.Document) {
	for _, c := range doc.Child {
		c.WriteTo(b, &doc.WriteSettings)
	}
}

// ElementBytes returns el serialised alone with etree's default settings:
// the bytes of a document whose root is a copy of el (Copy, SetRoot,
// WriteToBytes), without copying el.
func ElementBytes(el *etree.Element) []byte {
	var b bytes.Buffer
	b.Grow(1024)
	el.WriteTo(&b, &etree.WriteSettings{})
	return b.Bytes()
}
