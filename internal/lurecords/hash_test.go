package lurecords_test

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/lurecords"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

// checkListing lists class for pid and retrieves every entry: each
// entry's size and hash must be the retrieved document's. It returns the
// entries.
func checkListing(t *testing.T, p *lurecords.Provider, pid wssec.PatientID, class string, now time.Time) []xca.Entry {
	t.Helper()
	l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{class}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Entries {
		d, err := p.Retrieve(context.Background(), xca.RetrieveRequest{UniqueID: e.UniqueID, Patient: pid, Now: now})
		if err != nil {
			t.Fatalf("retrieve %s: %v", e.UniqueID, err)
		}
		h := sha1.Sum(d.Data)
		if e.Size != len(d.Data) || e.Hash != hex.EncodeToString(h[:]) {
			t.Errorf("%s listed with size %d hash %s; the document has %d bytes, hash %x", e.UniqueID, e.Size, e.Hash, len(d.Data), h)
		}
	}
	return l.Entries
}

// TestListingHashIsDocuments: the size and SHA-1 an eP or PS listing gives
// (computed once with the cached document) are the bytes a retrieve
// returns, listing after listing, for the demo record's patients; and
// when the national prescription changes (a dose, then withdrawn), the
// next listing says so at once: new hashes, then the item withheld.
func TestListingHashIsDocuments(t *testing.T) {
	terms, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	be, err := demo.New("")
	if err != nil {
		t.Fatal(err)
	}
	nc, err := national.NewClient("http://national.invalid/fhir", national.WithHTTPClient(&http.Client{Transport: testutil.InProcess{Handler: be}}))
	if err != nil {
		t.Fatal(err)
	}
	p := &lurecords.Provider{National: nc, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct{ patient, class string }{{"1971011007114", ehdsi.ClassEP}, {"1962031411774", ehdsi.ClassPS}} {
		pid := wssec.PatientID{Extension: c.patient, Root: ehdsi.OIDMatricule}
		for range 2 { // built, then from the cache
			if len(checkListing(t, p, pid, c.class, now)) == 0 {
				t.Fatalf("%s: nothing listed for %s", c.class, c.patient)
			}
		}
	}

	pid := wssec.PatientID{Extension: "1941090302146", Root: ehdsi.OIDMatricule}
	rec := &fakeRecord{bundles: map[string][]byte{"ep-0017": fixture(t, "ep-0017")}}
	p = &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	before := checkListing(t, p, pid, ehdsi.ClassEP, now)
	rec.bundles = map[string][]byte{"ep-0017": editRequest(t, fixture(t, "ep-0017"), func(mr map[string]any) {
		mr["note"] = []any{map[string]any{"text": "changed in the national record"}}
		for _, di := range mr["dosageInstruction"].([]any) {
			di.(map[string]any)["text"] = "one tablet at night"
		}
	})}
	after := checkListing(t, p, pid, ehdsi.ClassEP, now)
	if len(after) != len(before) || after[0].Hash == before[0].Hash {
		t.Errorf("after a national change: %d entries, hash %s (was %s): a stale document was listed", len(after), after[0].Hash, before[0].Hash)
	}
	rec.bundles = map[string][]byte{"ep-0017": editRequest(t, fixture(t, "ep-0017"), func(mr map[string]any) { mr["status"] = "cancelled" })}
	if withdrawn := checkListing(t, p, pid, ehdsi.ClassEP, now); len(withdrawn) != 0 {
		t.Errorf("a withdrawn prescription is still listed: %+v", withdrawn)
	}
}

// editRequest applies edit to the MedicationRequest of a national bundle.
func editRequest(t *testing.T, bundle []byte, edit func(map[string]any)) []byte {
	var b map[string]any
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	for _, e := range b["entry"].([]any) {
		if r := e.(map[string]any)["resource"].(map[string]any); r["resourceType"] == "MedicationRequest" {
			edit(r)
		}
	}
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
