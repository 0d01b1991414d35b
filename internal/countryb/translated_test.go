package countryb

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/terminology"
)

// englishATC is the catalogue without German or French ATC names: the
// peer documents, wholly translated by the catalogue, then have terms
// shown in English.
type englishATC struct{ render.Translator }

func (e englishATC) Translate(c terminology.Coding, langs ...string) (terminology.Translated, bool) {
	if c.System == terminology.OIDATC {
		return e.Translator.Translate(c, "en")
	}
	return e.Translator.Translate(c, langs...)
}

// TestUntranslatedTermsListed: a caller asking for JSON gets the translated
// CDA with the untranslated terms listed by code system, code and display
// as received; without Accept: application/json the answer is unchanged.
func TestUntranslatedTermsListed(t *testing.T) {
	e := newEnvWith(t, map[string]peer.Mode{"FR": peer.ModeNone}, envOptions{config: func(c *Config) { c.Translator = englishATC{c.Translator} }})
	prof, _ := peer.Profile("FR")
	pt := prof.Patients[0]
	body, _ := json.Marshal(RetrieveRequest{Professional: physician(), Patient: Identifier{Root: prof.PatientRoot, Extension: pt.ID},
		Document: DocumentRef{ID: e.peers["FR"].Documents(pt.ID, ehdsi.ClassPS)[0], RepositoryID: prof.HomeCommunityID + ".7",
			HomeCommunityID: prof.HomeCommunityID, Class: "PS"}, Format: "translated", Lang: "de"})
	req, err := http.NewRequest(http.MethodPost, e.api.URL+"/api/v1/countries/FR/documents/retrieve", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token(t, "lu-hcp-2001"))
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("%d %s %.300s", res.StatusCode, res.Header.Get("Content-Type"), b)
	}
	var rr RetrieveResponse
	if err := json.Unmarshal(b, &rr); err != nil {
		t.Fatal(err)
	}
	tr := rr.Translation
	if tr == nil || tr.Lang != "de" || tr.Untranslated == 0 || len(tr.UntranslatedTerms) == 0 || len(tr.UntranslatedTerms) > tr.Untranslated {
		t.Fatalf("translation report %+v", tr)
	}
	for _, term := range tr.UntranslatedTerms {
		if term.Code == "" || term.CodeSystem == "" || term.Status == "" || term.Status == "translated" {
			t.Errorf("listed term %+v", term)
		}
	}
	if !bytes.Contains(rr.Document, []byte("<translation")) || !bytes.Contains(rr.Document, []byte("ClinicalDocument")) || rr.Format != "translated" {
		t.Errorf("document not carried: %.200s", rr.Document)
	}
	// The same call without Accept: the CDA itself, the count in a header.
	st, h, doc := e.post(t, "/api/v1/countries/FR/documents/retrieve", json.RawMessage(body))
	if st != 200 || !bytes.HasPrefix(bytes.TrimSpace(doc), []byte("<")) || h.Get("X-Luxncp-Untranslated") != strconv.Itoa(tr.Untranslated) {
		t.Errorf("plain retrieve: %d %v %.100s", st, h, doc)
	}
}
