package soap

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// ErrTooLarge is wrapped by the faults of ParseDocument and ContentLimit
// when a document exceeds a byte limit.
var ErrTooLarge = errors.New("document too large")

// ParseDocument parses an XML document (not a SOAP envelope) of at most
// lim.MaxBytes bytes with the checks of Read: limits counted while the tokens stream (the tree never
// grows past MaxElements), no DTD or entity declaration, no processing
// instruction but the XML declaration, UTF-8 only, no ambiguous names.
// A leading UTF-8 byte order mark is skipped. Failures are *ehdsi.Fault of
// kind KindSender whose public message names the broken limit or rule.
func ParseDocument(data []byte, lim Limits) (*etree.Document, error) {
	lim = lim.withDefaults()
	data = bytes.TrimPrefix(data, utf8BOM)
	if int64(len(data)) > lim.MaxBytes {
		return nil, senderFault(fmt.Sprintf("document larger than %d bytes", lim.MaxBytes),
			fmt.Errorf("%w: %d bytes", ErrTooLarge, len(data)))
	}
	doc, err := parseXML(data, lim)
	if err != nil {
		return nil, documentFault(err, lim)
	}
	return doc, nil
}

// documentFault is parseFault with the wording of a document.
func documentFault(err error, lim Limits) *ehdsi.Fault {
	f := parseFault(err, lim)
	if f.Public == msgNotWellFormed {
		f.Public = "the document is not well-formed XML"
	}
	return f
}

// ContentLimit is Content refusing, before anything is decoded, content
// whose decoded size would exceed max bytes (max <= 0: no limit). The size
// of base64 text is known from its length, that of an MTOM part from the
// part itself.
func (e *Envelope) ContentLimit(elem *etree.Element, max int64) ([]byte, error) {
	if max > 0 && elem != nil {
		var n int64
		if elem.Tag == "Include" && elem.NamespaceURI() == NSXOP {
			n = e.includeSize(elem)
		} else {
			for _, c := range elem.ChildElements() {
				n += e.includeSize(c)
			}
			for _, t := range elem.Child {
				if cd, ok := t.(*etree.CharData); ok {
					n += int64(base64.StdEncoding.DecodedLen(len(cd.Data)))
				}
			}
		}
		if n > max {
			return nil, senderFault(fmt.Sprintf("document larger than %d bytes", max), fmt.Errorf("%w: about %d bytes", ErrTooLarge, n))
		}
	}
	return e.Content(elem)
}

// includeSize is the size of the MIME part an xop:Include refers to (0
// when it is not one; Content reports the error).
func (e *Envelope) includeSize(inc *etree.Element) int64 {
	if inc.Tag != "Include" || inc.NamespaceURI() != NSXOP {
		return 0
	}
	if id, ok := cidFromURL(inc.SelectAttrValue("href", "")); ok {
		return int64(len(e.Attachments[id].Data))
	}
	return 0
}

// LimitedContent adapts an Envelope to readers that call Content (such as
// ncpclient.ParseRetrieveResponse) so that they decode nothing larger than
// Max bytes.
type LimitedContent struct {
	Env *Envelope
	Max int64
}

// Content is Env.ContentLimit(elem, Max).
func (l LimitedContent) Content(elem *etree.Element) ([]byte, error) {
	return l.Env.ContentLimit(elem, l.Max)
}
