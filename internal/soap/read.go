package soap

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// Namespaces of the protocols this package speaks.
const (
	NSSOAP12     = "http://www.w3.org/2003/05/soap-envelope"
	NSSOAP11     = "http://schemas.xmlsoap.org/soap/envelope/"
	NSAddressing = "http://www.w3.org/2005/08/addressing"
	NSWSSE       = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
	NSXOP        = "http://www.w3.org/2004/08/xop/include"
)

// Media types.
const (
	MediaSOAP12    = "application/soap+xml"
	MediaXOP       = "application/xop+xml"
	MediaMultipart = "multipart/related"
)

// ReadFaultCode is the eHDSI code of the faults Read returns. Read cannot
// know the transaction; a caller that wants a transaction-specific code
// (e.g. ERROR_PI_INCORRECT_FORMATTING) may overwrite Fault.Code.
const ReadFaultCode = ehdsi.ErrGeneric

// Attachment is one MIME part of an MTOM/XOP message.
type Attachment struct {
	ContentID   string // without the angle brackets
	ContentType string
	Data        []byte
}

// Envelope is a SOAP 1.2 request as read from the wire.
type Envelope struct {
	// Doc is the parsed envelope, exactly as received (never re-serialised:
	// signature checks canonicalise from it).
	Doc *etree.Document
	// Header is soap:Header, nil when absent.
	Header *etree.Element
	// Body is the first (and only) child element of soap:Body.
	Body *etree.Element
	// WS-Addressing values, whitespace-trimmed. ReplyTo is ReplyTo/Address.
	Action, MessageID, To, ReplyTo string
	// Security is the wsse:Security header block, nil when absent.
	Security *etree.Element
	// MTOM is true when the request came as multipart/related;
	// type="application/xop+xml".
	MTOM bool
	// Attachments are the MIME parts other than the root, by Content-ID
	// without angle brackets. Nil for plain SOAP.
	Attachments map[string]Attachment
}

// senderFault is the one constructor of Read's faults.
func senderFault(public string, cause error) *ehdsi.Fault {
	return ehdsi.Sender(ReadFaultCode, public, cause)
}

// Read parses an HTTP request as a SOAP 1.2 message, plain
// (application/soap+xml) or MTOM/XOP (multipart/related;
// type="application/xop+xml"). Zero fields of lim take their defaults.
// Every failure is an *ehdsi.Fault of kind KindSender; when the envelope was
// refused after its root was read, the returned Envelope is not nil but
// carries only the request's MessageID (for logs and the fault's RelatesTo).
func Read(r *http.Request, lim Limits) (*Envelope, error) {
	if r.Method != http.MethodPost {
		return nil, senderFault("SOAP requests must use HTTP POST", fmt.Errorf("method %q", r.Method))
	}
	return readMessage(r.Header, r.Body, r.ContentLength, lim, true)
}

// ReadResponse parses a partner's HTTP response as a SOAP 1.2 message with
// the checks of Read, except that WS-Addressing Action may be absent. A
// SOAP fault parses like any message; see Envelope.Fault. Failures are the
// same *ehdsi.Fault values as Read's (KindSender: the partner sent a bad
// message); a client maps them onto its own codes.
func ReadResponse(resp *http.Response, lim Limits) (*Envelope, error) {
	return readMessage(resp.Header, resp.Body, resp.ContentLength, lim, false)
}

func readMessage(h http.Header, rc io.Reader, declared int64, lim Limits, request bool) (*Envelope, error) {
	lim = lim.withDefaults()
	if rc == nil {
		return nil, senderFault("empty request body", nil)
	}
	ct := h.Get("Content-Type")
	media, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, senderFault("missing or malformed Content-Type; expected application/soap+xml or multipart/related (MTOM)", err)
	}
	switch media {
	case MediaSOAP12:
		if err := checkCharset(params); err != nil {
			return nil, err
		}
	case MediaMultipart:
		if !strings.EqualFold(params["type"], MediaXOP) {
			return nil, senderFault(`multipart/related request is not MTOM/XOP: type must be "application/xop+xml"`, fmt.Errorf("type %q", params["type"]))
		}
	case "text/xml":
		return nil, senderFault("Content-Type text/xml is SOAP 1.1; SOAP 1.2 (application/soap+xml) is required", nil)
	default:
		return nil, senderFault("wrong Content-Type; expected application/soap+xml or multipart/related (MTOM)", fmt.Errorf("media type %q", media))
	}
	buf := getBuffer()
	pooled := true // false once something returned may alias buf's bytes
	defer func() {
		if pooled {
			putBuffer(buf)
		}
	}()
	body, err := readBody(buf, rc, declared, lim.MaxBytes)
	if err != nil {
		return nil, err
	}
	// Actions announced outside the envelope; each must match wsa:Action.
	var announced []string
	if v := strings.Trim(strings.TrimSpace(h.Get("SOAPAction")), `"`); v != "" && request {
		announced = append(announced, v)
	}
	if v := params["action"]; v != "" {
		announced = append(announced, v)
	}
	xmlData := body
	var atts map[string]Attachment
	if media == MediaMultipart {
		// The parts are read through copies today; the body stays out of
		// the pool all the same, so that no attachment can ever alias a
		// reused buffer.
		pooled = false
		root, rootAction, parts, err := readMultipart(body, params, lim)
		if err != nil {
			return nil, err
		}
		if rootAction != "" {
			announced = append(announced, rootAction)
		}
		xmlData, atts = root, parts
	}

	env, err := parseEnvelope(xmlData, lim, request)
	if err != nil {
		return env, err // env: nil, or only the MessageID of a refused envelope
	}
	env.MTOM = media == MediaMultipart
	env.Attachments = atts
	for _, a := range announced {
		if a != env.Action && (request || env.Action != "") {
			return nil, senderFault("WS-Addressing Action does not match the SOAP action of the HTTP request", fmt.Errorf("announced %q, envelope %q", a, env.Action))
		}
	}
	return env, nil
}

// readBody reads at most limit bytes into buf (empty); more is a fault. A
// declared length within the limit sizes the buffer at once. The bytes
// returned are buf's: they live as long as the caller keeps buf.
func readBody(buf *bytes.Buffer, rc io.Reader, declared, limit int64) ([]byte, error) {
	if declared > limit {
		return nil, senderFault(fmt.Sprintf("request body larger than %d bytes", limit), fmt.Errorf("Content-Length %d", declared))
	}
	// The declared length is the caller's word: grow with what arrives,
	// never preallocate it.
	buf.Grow(int(min(max(declared, 0), 64<<10)) + bytes.MinRead)
	_, err := buf.ReadFrom(io.LimitReader(rc, limit+1))
	data := buf.Bytes()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, senderFault(fmt.Sprintf("request body larger than %d bytes", min(limit, mbe.Limit)), err)
		}
		return nil, senderFault("request body could not be read", err)
	}
	if int64(len(data)) > limit {
		return nil, senderFault(fmt.Sprintf("request body larger than %d bytes", limit), nil)
	}
	if len(data) == 0 {
		return nil, senderFault("empty request body", nil)
	}
	return data, nil
}

func checkCharset(params map[string]string) error {
	if cs, ok := params["charset"]; ok && !utf8Compatible(cs) {
		return senderFault("unsupported charset; UTF-8 is required", fmt.Errorf("charset %q", cs))
	}
	return nil
}

// ParseEnvelope parses a SOAP 1.2 envelope from bytes with the checks of
// Read (limits, no DTD, WS-Addressing). It is what Read does with the body
// of a plain request or the root part of an MTOM one; the announced SOAP
// action is not checked.
func ParseEnvelope(data []byte, lim Limits) (*Envelope, error) {
	return parseEnvelope(data, lim.withDefaults(), true)
}

// parseEnvelope reads a SOAP 1.2 envelope. When the envelope is refused
// after its root was read, the Envelope returned beside the error carries only
// the request's wsa:MessageID (if it has one), so that the refusal is logged
// and answered (RelatesTo) under the partner's message id.
func parseEnvelope(data []byte, lim Limits, requireAction bool) (env *Envelope, err error) {
	data = bytes.TrimPrefix(data, utf8BOM)
	doc, err := parseXML(data, lim)
	if err != nil {
		return nil, parseFault(err, lim)
	}
	root := doc.Root()
	if root == nil {
		return nil, senderFault("request is not well-formed XML", errors.New("no root"))
	}
	if root.Tag != "Envelope" || root.NamespaceURI() != NSSOAP12 {
		if root.Tag == "Envelope" && root.NamespaceURI() == NSSOAP11 {
			return nil, senderFault("SOAP 1.1 envelope; SOAP 1.2 is required", nil)
		}
		return nil, senderFault("not a SOAP 1.2 envelope", fmt.Errorf("root {%s}%s", root.NamespaceURI(), root.Tag))
	}
	defer func() {
		if err != nil {
			env = nil
			if id := headerMessageID(root); id != "" {
				env = &Envelope{MessageID: id}
			}
		}
	}()
	env = &Envelope{Doc: doc}
	var bodyEl *etree.Element
	for _, tok := range root.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, senderFault("text content directly in soap:Envelope", nil)
			}
		case *etree.Element:
			if t.NamespaceURI() != NSSOAP12 {
				return nil, senderFault("unexpected element in soap:Envelope", fmt.Errorf("element {%s}%s", t.NamespaceURI(), t.Tag))
			}
			switch {
			case t.Tag == "Header" && env.Header == nil && bodyEl == nil:
				env.Header = t
			case t.Tag == "Body" && bodyEl == nil:
				bodyEl = t
			default:
				return nil, senderFault("unexpected or repeated element in soap:Envelope; expected Header then Body", fmt.Errorf("element %s", t.Tag))
			}
		}
	}
	if bodyEl == nil {
		return nil, senderFault("soap:Body missing", nil)
	}
	for _, tok := range bodyEl.Child {
		switch t := tok.(type) {
		case *etree.CharData:
			if !t.IsWhitespace() {
				return nil, senderFault("text content directly in soap:Body", nil)
			}
		case *etree.Element:
			if env.Body != nil {
				return nil, senderFault("soap:Body has more than one child element", nil)
			}
			env.Body = t
		}
	}
	if env.Body == nil {
		return nil, senderFault("soap:Body is empty", nil)
	}
	if err := env.readHeader(requireAction); err != nil {
		return nil, err
	}
	return env, nil
}

// parseFault turns a parse error into the public fault.
func parseFault(err error, lim Limits) *ehdsi.Fault {
	switch {
	case errors.Is(err, errTooDeep):
		return senderFault(fmt.Sprintf("XML nesting deeper than %d", lim.MaxDepth), err)
	case errors.Is(err, errTooMany):
		return senderFault(fmt.Sprintf("XML has more than %d elements", lim.MaxElements), err)
	case errors.Is(err, errTooManyAttrs):
		return senderFault(fmt.Sprintf("an XML element has more than %d attributes", lim.MaxAttributes), err)
	case errors.Is(err, errDTD):
		return senderFault("DTDs and entity declarations are not allowed", err)
	case errors.Is(err, errProcInst):
		return senderFault("XML processing instructions are not allowed", err)
	case errors.Is(err, errCharset):
		return senderFault("unsupported charset; UTF-8 is required", err)
	case errors.Is(err, errNamespaceQuirk):
		return senderFault("ambiguous XML names or namespace declarations", err)
	default:
		return senderFault(msgNotWellFormed, err)
	}
}

const msgNotWellFormed = "request is not well-formed XML"

// mustUnderstand reports whether a header block carries
// soap:mustUnderstand="1" or "true".
func mustUnderstand(e *etree.Element) bool {
	for _, a := range e.Attr {
		if a.Key == "mustUnderstand" && a.Space != "" && a.NamespaceURI() == NSSOAP12 {
			v := strings.TrimSpace(a.Value)
			return v == "1" || v == "true"
		}
	}
	return false
}

func (e *Envelope) readHeader(requireAction bool) error {
	var actions int
	seen := map[string]bool{}
	if e.Header != nil {
		for h := range e.Header.ChildElementsSeq() {
			ns := h.NamespaceURI()
			switch {
			case ns == NSAddressing:
				switch h.Tag {
				case "Action", "MessageID", "To", "ReplyTo":
					if seen[h.Tag] {
						if h.Tag == "Action" {
							return senderFault("more than one WS-Addressing Action header", nil)
						}
						return senderFault("more than one WS-Addressing "+h.Tag+" header", nil)
					}
					seen[h.Tag] = true
				}
				switch h.Tag {
				case "Action":
					actions++
					e.Action = strings.TrimSpace(h.Text())
				case "MessageID":
					e.MessageID = strings.TrimSpace(h.Text())
				case "To":
					e.To = strings.TrimSpace(h.Text())
				case "ReplyTo":
					if a := h.SelectElement("Address"); a != nil && a.NamespaceURI() == NSAddressing {
						e.ReplyTo = strings.TrimSpace(a.Text())
					}
				}
			case ns == NSWSSE && h.Tag == "Security":
				if e.Security != nil {
					return senderFault("more than one wsse:Security header", nil)
				}
				e.Security = h
			default:
				if mustUnderstand(h) {
					return senderFault("a header block marked mustUnderstand is not understood", fmt.Errorf("header {%s}%s", ns, h.Tag))
				}
			}
		}
	}
	if requireAction && (actions == 0 || e.Action == "") {
		return senderFault("WS-Addressing Action header missing", nil)
	}
	return nil
}

// Content returns the bytes elem carries: the attachment an xop:Include
// (elem itself or its only child element) refers to by a cid: URL, or else
// the base64 text content of elem, decoded.
func (e *Envelope) Content(elem *etree.Element) ([]byte, error) {
	if elem == nil {
		return nil, senderFault("document content missing", nil)
	}
	inc := elem
	if !(elem.Tag == "Include" && elem.NamespaceURI() == NSXOP) {
		inc = nil
		for _, c := range elem.ChildElements() {
			if c.Tag == "Include" && c.NamespaceURI() == NSXOP {
				if inc != nil {
					return nil, senderFault("more than one xop:Include in one element", nil)
				}
				inc = c
			} else {
				return nil, senderFault("unexpected element inside base64 content", fmt.Errorf("element %s", c.Tag))
			}
		}
	}
	if inc != nil {
		if inc != elem && strings.TrimSpace(elem.Text()) != "" {
			return nil, senderFault("base64 text beside an xop:Include", nil)
		}
		href := strings.TrimSpace(inc.SelectAttrValue("href", ""))
		id, ok := cidFromURL(href)
		if !ok {
			return nil, senderFault("xop:Include href is not a cid: URL", fmt.Errorf("href %q", href))
		}
		a, ok := e.Attachments[id]
		if !ok {
			return nil, senderFault("xop:Include refers to a MIME part that is not in the message", fmt.Errorf("cid %q", id))
		}
		return a.Data, nil
	}
	data, err := decodeBase64(elem.Text())
	if err != nil {
		return nil, senderFault("content is not valid base64", err)
	}
	return data, nil
}

// cidFromURL turns "cid:abc%40x" into "abc@x" (RFC 2392).
func cidFromURL(href string) (string, bool) {
	if len(href) < 5 || !strings.EqualFold(href[:4], "cid:") {
		return "", false
	}
	id, err := url.PathUnescape(href[4:])
	if err != nil || id == "" {
		return "", false
	}
	return strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">"), true
}

// decodeBase64 decodes standard base64, ignoring whitespace (XML Schema
// base64Binary allows it; OpenNCP wraps lines). Text without whitespace
// (luxncp's own, most partners') is decoded as it is, without a cleaned copy.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		s = strings.Map(func(r rune) rune {
			switch r {
			case ' ', '\t', '\r', '\n':
				return -1
			}
			return r
		}, s)
	}
	return base64.StdEncoding.DecodeString(s)
}

// Fault returns the SOAP fault the body carries, or nil when the body is
// not an env:Fault. Kind is KindSender for an env:Sender code and
// KindReceiver otherwise; Code is the eHDSI code from the Detail's
// RegistryError (luxncp's and OpenNCP's form) or else from the first
// Subcode; Public is the first Reason text. Nothing in it is verified: it
// is what the partner said.
func (e *Envelope) Fault() *ehdsi.Fault {
	b := e.Body
	if b == nil || b.Tag != "Fault" || b.NamespaceURI() != NSSOAP12 {
		return nil
	}
	f := &ehdsi.Fault{Kind: ehdsi.KindReceiver}
	child := func(el *etree.Element, tag string) *etree.Element {
		if el == nil {
			return nil
		}
		for _, c := range el.ChildElements() {
			if c.Tag == tag && c.NamespaceURI() == NSSOAP12 {
				return c
			}
		}
		return nil
	}
	localPart := func(qname string) string {
		qname = strings.TrimSpace(qname)
		if i := strings.LastIndexByte(qname, ':'); i >= 0 {
			return qname[i+1:]
		}
		return qname
	}
	code := child(b, "Code")
	if v := child(code, "Value"); v != nil && localPart(v.Text()) == "Sender" {
		f.Kind = ehdsi.KindSender
	}
	if v := child(child(code, "Subcode"), "Value"); v != nil {
		f.Code = ehdsi.Code(localPart(v.Text()))
	}
	if t := child(child(b, "Reason"), "Text"); t != nil {
		f.Public = strings.TrimSpace(t.Text())
	}
	if d := child(b, "Detail"); d != nil {
		for _, re := range d.FindElements(".//RegistryError") {
			if re.NamespaceURI() == NSRS && re.SelectAttrValue("errorCode", "") != "" {
				f.Code = ehdsi.Code(re.SelectAttrValue("errorCode", ""))
				f.Location = re.SelectAttrValue("location", "")
				break
			}
		}
	}
	return f
}

// Limits bound what Read accepts from outside. A zero field means the
// default of DefaultLimits.
type Limits struct {
	// MaxBytes caps the HTTP request body (the whole multipart for MTOM).
	MaxBytes int64
	// MaxDepth caps element nesting in the SOAP envelope (Envelope is 1).
	MaxDepth int
	// MaxElements caps the number of elements in the SOAP envelope.
	MaxElements int
	// MaxAttachments caps the MIME parts of an MTOM message besides the root.
	MaxAttachments int
	// MaxAttributes caps the attributes (namespace declarations included)
	// of one element.
	MaxAttributes int
}

// Defaults of Limits.
const (
	DefaultMaxBytes       = 10 << 20
	DefaultMaxDepth       = 64
	DefaultMaxElements    = 100000
	DefaultMaxAttachments = 32
	DefaultMaxAttributes  = 64
)

// DefaultLimits returns the limits luxncp applies unless configured:
// 10 MiB, depth 64, 100 000 elements, 32 attachments, 64 attributes per
// element.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:       DefaultMaxBytes,
		MaxDepth:       DefaultMaxDepth,
		MaxElements:    DefaultMaxElements,
		MaxAttachments: DefaultMaxAttachments,
		MaxAttributes:  DefaultMaxAttributes,
	}
}

// withDefaults fills zero (or negative) fields with the defaults.
func (l Limits) withDefaults() Limits { return l.Or(DefaultLimits()) }

// Or fills the zero (or negative) fields of l from d.
func (l Limits) Or(d Limits) Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = d.MaxDepth
	}
	if l.MaxElements <= 0 {
		l.MaxElements = d.MaxElements
	}
	if l.MaxAttachments <= 0 {
		l.MaxAttachments = d.MaxAttachments
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = d.MaxAttributes
	}
	return l
}

// Sentinel causes of parse failures; the public fault message is chosen from them.
var (
	errTooDeep        = errors.New("xml: nesting too deep")
	errTooMany        = errors.New("xml: too many elements")
	errTooManyAttrs   = errors.New("xml: too many attributes")
	errDTD            = errors.New("xml: DTD or entity declaration present")
	errProcInst       = errors.New("xml: processing instruction present")
	errCharset        = errors.New("xml: unsupported charset")
	errNotWellFormed  = errors.New("xml: not well-formed")
	errNamespaceQuirk = errors.New("xml: ambiguous name or namespace")
)

const (
	nsXML   = "http://www.w3.org/XML/1998/namespace"
	nsXMLNS = "http://www.w3.org/2000/xmlns/"
)

// utf8BOM is stripped before parsing; encoding/xml does not accept it.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// utf8Compatible reports whether an XML declaration's encoding label names
// UTF-8 or a subset of it.
func utf8Compatible(label string) bool {
	switch strings.ToLower(strings.TrimSpace(label)) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return true
	}
	return false
}

type nsBinding struct {
	prefix, uri string
}

// parseXML builds the etree document from data in one pass over the
// tokens, checking as it goes: well-formedness (including tag matching,
// which RawToken does not check), limits, no DTD, no processing
// instruction but a leading XML declaration, UTF-8 only, and no name that
// encoding/xml resolves ambiguously (unbound prefixes, empty prefix or
// local part, duplicate attributes by expanded name). The tree keeps every
// token as read, prefixes and whitespace included.
func parseXML(data []byte, lim Limits) (*etree.Document, error) {
	doc := etree.NewDocument()
	if err := buildTree(doc, data, lim); err != nil {
		return nil, err
	}
	return doc, nil
}

func buildTree(doc *etree.Document, data []byte, lim Limits) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if utf8Compatible(label) {
			return r, nil
		}
		return nil, fmt.Errorf("%w %q", errCharset, label)
	}

	var (
		stack    []xml.Name // open elements, raw prefix and local name
		elems    = []*etree.Element{&doc.Element}
		scopes   []int       // len(bindings) at each open element
		bindings []nsBinding // in-scope prefix declarations, innermost last
		seen     []xml.Name  // reused by every element
		count    int
		rootSeen bool
		first    = true
	)
	lookup := func(prefix string) (string, bool) {
		if prefix == "xml" {
			return nsXML, true
		}
		for i := len(bindings) - 1; i >= 0; i-- {
			if bindings[i].prefix == prefix {
				return bindings[i].uri, bindings[i].uri != "" || prefix == ""
			}
		}
		return "", prefix == ""
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			if errors.Is(err, errCharset) {
				return err
			}
			return fmt.Errorf("%w: %w", errNotWellFormed, err)
		}
		isFirst := first
		first = false
		switch t := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				if rootSeen {
					return fmt.Errorf("%w: more than one root element", errNotWellFormed)
				}
				rootSeen = true
			}
			count++
			if count > lim.MaxElements {
				return errTooMany
			}
			if len(stack)+1 > lim.MaxDepth {
				return errTooDeep
			}
			if err := checkName(t.Name); err != nil {
				return err
			}
			if len(t.Attr) > lim.MaxAttributes {
				return errTooManyAttrs
			}
			scopes = append(scopes, len(bindings))
			// Declarations first: they apply to the element's own name and attributes.
			for _, a := range t.Attr {
				if err := checkName(a.Name); err != nil {
					return err
				}
				switch {
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if a.Value == nsXML || a.Value == nsXMLNS {
						return fmt.Errorf("%w: reserved namespace as default", errNamespaceQuirk)
					}
					bindings = append(bindings, nsBinding{"", a.Value})
				case a.Name.Space == "xmlns":
					if a.Value == "" || a.Name.Local == "xmlns" || a.Value == nsXMLNS ||
						(a.Name.Local == "xml") != (a.Value == nsXML) {
						return fmt.Errorf("%w: invalid prefix declaration", errNamespaceQuirk)
					}
					bindings = append(bindings, nsBinding{a.Name.Local, a.Value})
				}
			}
			if _, ok := lookup(t.Name.Space); !ok || t.Name.Space == "xmlns" {
				return fmt.Errorf("%w: unbound element prefix", errNamespaceQuirk)
			}
			el := etree.NewElement(t.Name.Local)
			el.Space = t.Name.Space
			if len(t.Attr) > 0 {
				el.Attr = make([]etree.Attr, 0, len(t.Attr)) // CreateAttr appends: one allocation
			}
			seen = seen[:0] // expanded names of this element's attributes so far
			for _, a := range t.Attr {
				key := xml.Name{Local: a.Name.Local}
				switch {
				case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
					key.Space = nsXMLNS
				case a.Name.Space != "":
					uri, ok := lookup(a.Name.Space)
					if !ok || uri == "" {
						return fmt.Errorf("%w: unbound attribute prefix", errNamespaceQuirk)
					}
					key.Space = uri
				}
				if key.Space == nsXMLNS && a.Name.Space == "" {
					key.Local = ""
				}
				if len(t.Attr) > 1 {
					if slices.Contains(seen, key) {
						return fmt.Errorf("%w: duplicate attribute", errNotWellFormed)
					}
					seen = append(seen, key)
				}
				if a.Name.Space == "" {
					el.CreateAttr(a.Name.Local, a.Value)
				} else {
					el.CreateAttr(a.Name.Space+":"+a.Name.Local, a.Value)
				}
			}
			elems[len(elems)-1].AddChild(el)
			elems = append(elems, el)
			stack = append(stack, t.Name)
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1] != t.Name {
				return fmt.Errorf("%w: mismatched end tag", errNotWellFormed)
			}
			stack = stack[:len(stack)-1]
			elems = elems[:len(elems)-1]
			bindings = bindings[:scopes[len(scopes)-1]]
			scopes = scopes[:len(scopes)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return fmt.Errorf("%w: text outside the root element", errNotWellFormed)
				}
			}
			// SetData sets the whitespace flag etree's own reader sets.
			elems[len(elems)-1].CreateText("").SetData(string(t))
		case xml.Comment:
			elems[len(elems)-1].CreateComment(string(t))
		case xml.ProcInst:
			if !(isFirst && t.Target == "xml") {
				return errProcInst
			}
			doc.CreateProcInst(t.Target, string(t.Inst))
		case xml.Directive:
			return errDTD
		}
	}
	if !rootSeen {
		return fmt.Errorf("%w: no root element", errNotWellFormed)
	}
	if len(stack) != 0 {
		return fmt.Errorf("%w: unclosed element", errNotWellFormed)
	}
	return nil
}

// checkName rejects names encoding/xml splits surprisingly: more than one
// colon, an empty prefix or local part (RawToken then returns the whole
// name as Local).
func checkName(n xml.Name) error {
	if n.Local == "" || strings.Contains(n.Local, ":") {
		return fmt.Errorf("%w: name with unexpected colon", errNamespaceQuirk)
	}
	return nil
}

// headerMessageID returns the first wsa:MessageID of a SOAP 1.2 envelope's
// header, or "".
func headerMessageID(root *etree.Element) string {
	for _, h := range root.ChildElements() {
		if h.Tag != "Header" || h.NamespaceURI() != NSSOAP12 {
			continue
		}
		for _, c := range h.ChildElements() {
			if c.Tag == "MessageID" && c.NamespaceURI() == NSAddressing {
				return strings.TrimSpace(c.Text())
			}
		}
	}
	return ""
}
