package soap

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

// fuzzLimits keep each fuzz input cheap; the limits themselves are under test.
var fuzzLimits = Limits{MaxBytes: 256 << 10, MaxDepth: 32, MaxElements: 5000, MaxAttachments: 8}

// checkRead asserts Read's contract on any input: a Sender fault, or an
// envelope with an Action and a Body whose contents resolve without panic.
func checkRead(t *testing.T, r *http.Request) {
	env, err := Read(r, fuzzLimits)
	if err != nil {
		var f *ehdsi.Fault
		if !errors.As(err, &f) || f.Kind != ehdsi.KindSender || f.Message() == "" {
			t.Fatalf("error is not a public Sender fault: %#v", err)
		}
		return
	}
	if env.Action == "" || env.Body == nil || env.Doc == nil {
		t.Fatalf("incomplete envelope: %+v", env)
	}
	var walk func(e *etree.Element, depth int)
	walk = func(e *etree.Element, depth int) {
		if depth > fuzzLimits.MaxDepth {
			t.Fatalf("tree deeper than the limit")
		}
		_, _ = env.Content(e)
		for _, c := range e.ChildElements() {
			walk(c, depth+1)
		}
	}
	walk(env.Body, 0)
}

func FuzzRead(f *testing.F) {
	for _, tc := range readCases() {
		if !strings.HasPrefix(tc.ctype, MediaMultipart) {
			f.Add(tc.ctype, tc.soapAct, []byte(tc.body))
		}
	}
	f.Add(ctPlain, "", fillTemplate(f, readShared(f, "xcpd/request/XCPD_request_envelope_DK-template.xml"), "HCP_assertion_XCPD_DK-template.xml"))
	f.Add("application/soap+xml", "", capturedEnvelope(f))
	f.Fuzz(func(t *testing.T, ctype, soapAction string, body []byte) {
		checkRead(t, newRequest("", ctype, soapAction, string(body)))
	})
}

func FuzzReadMTOM(f *testing.F) {
	for _, tc := range readCases() {
		if strings.HasPrefix(tc.ctype, MediaMultipart) {
			_, params, _ := mimeParams(tc.ctype)
			f.Add(params, []byte(tc.body))
		}
	}
	for _, mtom := range []bool{true} {
		ctype, data, err := fixedWriter().Marshal(retrieveResponse(mtom, []byte("<a/>"), []byte{0, 1, 2}), mtom)
		if err != nil {
			f.Fatal(err)
		}
		_, params, _ := mimeParams(ctype)
		f.Add(params, data)
	}
	f.Fuzz(func(t *testing.T, params string, body []byte) {
		checkRead(t, newRequest("", MediaMultipart+"; "+params, "", string(body)))
	})
}

// mimeParams splits "type; params" for seeding.
func mimeParams(ct string) (string, string, bool) {
	return strings.Cut(ct, "; ")
}
