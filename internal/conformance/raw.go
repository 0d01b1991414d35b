package conformance

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
)

const soapCT = `application/soap+xml; charset=UTF-8; action="` + ehdsi.ActionXCPD + `"`

var actionHeader = regexp.MustCompile(`<(\w+:)?Action\b[^>]*>[^<]*</(\w+:)?Action>`)

// RawRequest is a deliberately broken HTTP request.
type RawRequest struct {
	Method, Path, ContentType string
	Body                      []byte
}

// BuildRaw builds the broken request of kind. valid is a complete, valid
// XCPD request envelope (with its content type) that the mutations start
// from; maxBody is the target's request size limit.
func BuildRaw(kind, path string, valid []byte, validCT string, maxBody int64) (RawRequest, error) {
	r := RawRequest{Method: http.MethodPost, Path: path, ContentType: validCT, Body: valid}
	envOpen := `<env:Envelope xmlns:env="` + soap.NSSOAP12 + `" xmlns:wsa="` + soap.NSAddressing + `"><env:Header><wsa:Action env:mustUnderstand="1">` +
		ehdsi.ActionXCPD + `</wsa:Action><wsa:MessageID>` + soap.NewMessageID() + `</wsa:MessageID></env:Header><env:Body>`
	envClose := `</env:Body></env:Envelope>`
	switch kind {
	case "valid", "wrong-body": // wrong-body: the caller put another transaction's body in valid
	case "malformed-xml":
		r.Body = valid[:len(valid)/2]
	case "not-xml":
		r.Body = []byte(`{"resourceType":"Bundle","note":"this is JSON, not SOAP"}`)
	case "empty-body":
		r.Body = nil
	case "oversized":
		// Valid XML: whitespace after the root element, beyond the limit.
		pad := int(maxBody) + 64<<10 - len(valid)
		r.Body = append(append([]byte{}, valid...), bytes.Repeat([]byte(" "), max(pad, 1))...)
	case "wrong-action":
		r.Body = bytes.Replace(valid, []byte(">"+ehdsi.ActionXCPD+"<"), []byte(">"+ehdsi.ActionXCAQuery+"<"), 1)
		r.ContentType = strings.Replace(validCT, ehdsi.ActionXCPD, ehdsi.ActionXCAQuery, 1)
	case "unknown-action":
		r.Body = bytes.Replace(valid, []byte(">"+ehdsi.ActionXCPD+"<"), []byte(">urn:example:conformance:UnknownAction<"), 1)
		r.ContentType = strings.Replace(validCT, ehdsi.ActionXCPD, "urn:example:conformance:UnknownAction", 1)
	case "missing-action":
		r.Body = actionHeader.ReplaceAll(valid, nil)
	case "wrong-content-type":
		r.ContentType = "text/plain; charset=UTF-8"
	case "soap11":
		r.Body = bytes.ReplaceAll(valid, []byte(soap.NSSOAP12), []byte(soap.NSSOAP11))
		r.ContentType = "text/xml; charset=UTF-8"
	case "dtd-entity-bomb":
		var b strings.Builder
		b.WriteString(`<?xml version="1.0"?><!DOCTYPE env:Envelope [<!ENTITY lol0 "lol">`)
		for i := 1; i <= 9; i++ {
			fmt.Fprintf(&b, `<!ENTITY lol%d "%s">`, i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
		}
		b.WriteString(`]>` + envOpen + `<bomb>&lol9;</bomb>` + envClose)
		r.Body = []byte(b.String())
	case "external-entity":
		r.Body = []byte(`<?xml version="1.0"?><!DOCTYPE env:Envelope [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>` +
			envOpen + `<xxe>&xxe;</xxe>` + envClose)
	case "too-deep":
		n := 10000
		r.Body = []byte(envOpen + strings.Repeat("<d>", n) + strings.Repeat("</d>", n) + envClose)
	case "too-many-elements":
		r.Body = []byte(envOpen + "<many>" + strings.Repeat("<e/>", 250000) + "</many>" + envClose)
	case "empty-soap-body":
		r.Body = []byte(envOpen + envClose)
	case "bad-multipart":
		r.ContentType = `multipart/related; type="application/xop+xml"; boundary="conformance"; start="<root@conformance>"; start-info="application/soap+xml"`
		r.Body = []byte("--conformance\r\nContent-Type: application/xop+xml\r\n\r\nthis part is not XML\r\n")
	case "http-get":
		r.Method, r.Body, r.ContentType = http.MethodGet, nil, ""
	default:
		return r, fmt.Errorf("unknown raw kind %q", kind)
	}
	return r, nil
}

func rawPath(endpoint string) string {
	switch endpoint {
	case "xca":
		return ehdsi.PathXCA
	case "xdr":
		return ehdsi.PathXDR
	case "unknown":
		return "/openncp-ws-server/services/Conformance_Unknown_Service"
	}
	return ehdsi.PathXCPD
}

func (x *exchange) runRaw(ctx context.Context) []string {
	raw := x.c.Request.Raw
	p, _ := x.patient()
	if p.ID == "" {
		for _, k := range []string{"ep", "ps"} {
			if pt, ok := x.r.Profile.Patient(k); ok {
				p = pt
				break
			}
		}
	}
	// The valid base request: an XCPD by id with a valid HCP assertion.
	as, err := x.r.Creds.assertions(x.c, nil, nil, false)
	if err != nil {
		return []string{"assertions: " + err.Error()}
	}
	body := ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: x.r.SenderHCID, ReceiverHCID: x.r.Profile.HomeCommunityID, PatientID: p.ID, PatientRoot: p.Root, Now: x.r.now()})
	if raw.Kind == "wrong-body" {
		_, pid := x.patient()
		body = ncpclient.XCAQueryBody(pid, ehdsi.ClassPS)
	}
	x.msgID = soap.NewMessageID()
	path := rawPath(raw.Endpoint)
	ctype, valid, err := x.r.Client.Marshal(ncpclient.Request{URL: x.r.url(path), Action: ehdsi.ActionXCPD, Body: body, Assertions: as, MessageID: x.msgID})
	if err != nil {
		return []string{"marshal: " + err.Error()}
	}
	rr, err := BuildRaw(raw.Kind, path, valid, ctype, x.r.Profile.MaxBodyBytes)
	if err != nil {
		return []string{err.Error()}
	}
	cl := x.client()
	if cl == nil {
		return []string{"this case needs a client without a TLS certificate, which the runner does not have"}
	}
	rep, err := x.send(ctx, "raw "+raw.Kind, cl, rr.Method, x.r.url(rr.Path), rr.ContentType, rr.Body)
	rep, bad, ok := x.transport(rep, err)
	if !ok {
		return bad
	}
	o := observe(rep)
	x.record(o)
	if rep.Env == nil && rep.Fault == nil && x.c.Expect.Outcome == OutcomeFault && x.c.Expect.PlainHTTPOK {
		// A plain HTTP error (404, 405, 413, 415) is an acceptable refusal here.
		e := x.c.Expect
		e.Outcome = ""
		if len(e.HTTP) > 0 && !containsInt(e.HTTP, rep.Status) {
			bad = append(bad, fmt.Sprintf("HTTP status %d, expected one of %v", rep.Status, e.HTTP))
		}
	} else {
		bad = append(bad, checkOutcome(x.c.Expect, rep.Status, o)...)
	}
	if bytes.Contains(rep.Raw, []byte("root:x:0:0")) || bytes.Contains(rep.Raw, []byte("lollollollollollol")) {
		bad = append(bad, "the reply echoes expanded entity content")
	}
	if rep.Fault != nil && rep.Fault.Public != "" && (bytes.Contains([]byte(rep.Fault.Public), []byte("goroutine")) || bytes.Contains([]byte(rep.Fault.Public), []byte(".go:"))) {
		bad = append(bad, "the fault reason leaks internals")
	}
	return bad
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
