package evidence

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"fmt"

	"github.com/beevik/etree"
	"github.com/russellhaering/goxmldsig/etreeutils"

	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/wssec"
)

// MessageDigest is the SHA-256 of a SOAP message as evidence states it:
// the exclusive-c14n form of the body's content element (body, the only
// child of soap:Body), with every xop:Include replaced by the base64 text
// of the MIME part it refers to (the XOP-reconstituted message: the same
// content sent inline or as MTOM has the same digest). The WS-Addressing
// MessageID is stated beside the digest. resolve returns the bytes an
// xop:Include refers to (soap.Envelope.Content).
//
// body may sit inside its envelope: it is digested with the namespaces it
// inherits. body itself is not modified.
func MessageDigest(body *etree.Element, resolve func(inc *etree.Element) ([]byte, error)) ([]byte, error) {
	if body == nil {
		return nil, fmt.Errorf("evidence: digest: no message body")
	}
	var el *etree.Element
	if p := body.Parent(); p == nil || p.Tag == "" {
		el = body.Copy()
	} else {
		ctx, err := etreeutils.NSBuildParentContext(body)
		if err != nil {
			return nil, fmt.Errorf("evidence: digest: namespaces: %w", err)
		}
		if el, err = etreeutils.NSDetatch(ctx, body); err != nil {
			return nil, fmt.Errorf("evidence: digest: namespaces: %w", err)
		}
	}
	var incs []*etree.Element
	collectIncludes(el, &incs)
	for _, inc := range incs {
		data, err := resolve(inc)
		if err != nil {
			return nil, fmt.Errorf("evidence: digest: %w", err)
		}
		p := inc.Parent()
		p.RemoveChild(inc)
		p.SetText(base64.StdEncoding.EncodeToString(data))
	}
	// Exclusive c14n written straight into the hash: a retrieve response
	// holds whole documents, and the canonical bytes were built only to be
	// hashed. TestMessageDigestIsC14N compares it with dsig's Canonicalize.
	h := sha256.New()
	w := bufio.NewWriterSize(h, 4<<10)
	if err := wssec.WriteExcC14N(w, el); err != nil {
		return nil, fmt.Errorf("evidence: digest: c14n: %w", err)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("evidence: digest: %w", err)
	}
	return h.Sum(nil), nil
}

func collectIncludes(el *etree.Element, out *[]*etree.Element) {
	for _, c := range el.ChildElements() {
		if c.Tag == "Include" && c.NamespaceURI() == soap.NSXOP {
			*out = append(*out, c)
			continue
		}
		collectIncludes(c, out)
	}
}

// ResponseDigest is MessageDigest of a response luxncp sends.
func ResponseDigest(resp *soap.Response) ([]byte, error) {
	atts := make(map[string]soap.Attachment, len(resp.Attachments))
	for _, a := range resp.Attachments {
		atts[a.ContentID] = a
	}
	env := &soap.Envelope{Attachments: atts}
	return MessageDigest(resp.Body, env.Content)
}
