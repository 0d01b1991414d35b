package conformance

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
)

func TestBuildRaw(t *testing.T) {
	valid := []byte(`<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Header>` +
		`<wsa:Action xmlns:wsa="http://www.w3.org/2005/08/addressing">` + ehdsi.ActionXCPD + `</wsa:Action></env:Header><env:Body><x/></env:Body></env:Envelope>`)
	for kind := range knownRaw {
		t.Run(kind, func(t *testing.T) {
			r, err := BuildRaw(kind, ehdsi.PathXCPD, valid, soapCT, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			switch kind {
			case "valid", "wrong-body", "wrong-content-type":
				if !bytes.Equal(r.Body, valid) {
					t.Error("body changed")
				}
			case "http-get":
				if r.Method != http.MethodGet {
					t.Error("not a GET")
				}
			case "empty-body":
				if len(r.Body) != 0 {
					t.Error("body not empty")
				}
			case "oversized":
				if len(r.Body) <= 1<<20 {
					t.Errorf("%d bytes, want more than the limit", len(r.Body))
				}
			case "missing-action":
				if bytes.Contains(r.Body, []byte("Action")) {
					t.Error("Action header still there")
				}
			case "wrong-action":
				if !bytes.Contains(r.Body, []byte(ehdsi.ActionXCAQuery)) || !strings.Contains(r.ContentType, ehdsi.ActionXCAQuery) {
					t.Error("action not replaced")
				}
			case "dtd-entity-bomb", "external-entity":
				if !bytes.Contains(r.Body, []byte("<!ENTITY")) {
					t.Error("no entity declaration")
				}
			default:
				if bytes.Equal(r.Body, valid) && r.ContentType == soapCT {
					t.Error("nothing broken")
				}
			}
		})
	}
	if _, err := BuildRaw("nonsense", "/", valid, soapCT, 1); err == nil {
		t.Error("unknown kind accepted")
	}
}
