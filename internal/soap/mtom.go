package soap

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/textproto"
	"strings"
)

// trimCID strips surrounding whitespace and angle brackets from a
// Content-ID header or start parameter.
func trimCID(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "<")
	s = strings.TrimSuffix(s, ">")
	return strings.TrimSpace(s)
}

// readMultipart splits an MTOM/XOP message (XOP §4, MTOM §3): the root part
// is the one whose Content-ID equals the start parameter (the first part
// when there is none) and must be application/xop+xml with a SOAP 1.2 type;
// every other part becomes an attachment keyed by its Content-ID. It
// returns the root XML, the action announced in the root part's type
// parameter, and the attachments.
func readMultipart(body []byte, params map[string]string, lim Limits) ([]byte, string, map[string]Attachment, error) {
	boundary := params["boundary"]
	if boundary == "" {
		return nil, "", nil, senderFault("multipart/related without boundary", nil)
	}
	start := trimCID(params["start"])
	if si, ok := params["start-info"]; ok {
		if m, _, err := mime.ParseMediaType(si); err != nil || m != MediaSOAP12 {
			return nil, "", nil, senderFault(`MTOM start-info must be "application/soap+xml"`, fmt.Errorf("start-info %q", si))
		}
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var (
		root       []byte
		rootAction string
		rootFound  bool
		atts       = map[string]Attachment{}
		n          int
	)
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", nil, senderFault("malformed MIME multipart", err)
		}
		n++
		if n > lim.MaxAttachments+1 {
			return nil, "", nil, senderFault(fmt.Sprintf("more than %d MIME attachments", lim.MaxAttachments), nil)
		}
		data, err := readPart(p)
		if err != nil {
			return nil, "", nil, err
		}
		cid := trimCID(p.Header.Get("Content-ID"))
		isRoot := !rootFound && ((start == "" && n == 1) || (start != "" && cid == start))
		if isRoot {
			action, err := checkRootType(p.Header)
			if err != nil {
				return nil, "", nil, err
			}
			root, rootAction, rootFound = data, action, true
			continue
		}
		if cid == "" {
			return nil, "", nil, senderFault("MIME part without Content-ID", nil)
		}
		if _, dup := atts[cid]; dup || (rootFound && cid == start) {
			return nil, "", nil, senderFault("two MIME parts with the same Content-ID", nil)
		}
		atts[cid] = Attachment{ContentID: cid, ContentType: p.Header.Get("Content-Type"), Data: data}
	}
	if !rootFound {
		return nil, "", nil, senderFault("MTOM root part (start) not found", fmt.Errorf("start %q", start))
	}
	return root, rootAction, atts, nil
}

// readPart reads a part's body (already bounded by the request limit) and
// undoes its Content-Transfer-Encoding.
func readPart(p *multipart.Part) ([]byte, error) {
	data, err := io.ReadAll(p)
	if err != nil {
		return nil, senderFault("malformed MIME multipart", err)
	}
	switch cte := strings.ToLower(strings.TrimSpace(p.Header.Get("Content-Transfer-Encoding"))); cte {
	case "", "binary", "8bit", "7bit":
		return data, nil
	case "base64":
		out, err := decodeBase64(string(data))
		if err != nil {
			return nil, senderFault("MIME part is not valid base64", err)
		}
		return out, nil
	case "quoted-printable":
		// NextRawPart leaves quoted-printable alone; decode it here.
		out, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(data)))
		if err != nil {
			return nil, senderFault("MIME part is not valid quoted-printable", err)
		}
		return out, nil
	default:
		return nil, senderFault("unsupported Content-Transfer-Encoding", fmt.Errorf("cte %q", cte))
	}
}

// checkRootType checks the root part is application/xop+xml with
// type="application/soap+xml" and returns its action parameter, if any.
func checkRootType(h textproto.MIMEHeader) (string, error) {
	media, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || media != MediaXOP {
		return "", senderFault(`MTOM root part must be "application/xop+xml"`, fmt.Errorf("root content type %q", h.Get("Content-Type")))
	}
	if err := checkCharset(params); err != nil {
		return "", err
	}
	typ, tparams, err := mime.ParseMediaType(params["type"])
	if err != nil || typ != MediaSOAP12 {
		return "", senderFault(`MTOM root part type must be "application/soap+xml"`, errors.Join(err, fmt.Errorf("type %q", params["type"])))
	}
	action := tparams["action"]
	if action == "" {
		action = params["action"]
	}
	return action, nil
}
