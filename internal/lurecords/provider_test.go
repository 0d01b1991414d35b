package lurecords_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/lurecords"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/terminology"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

// fakeRecord is a national source with one patient and chosen ePrescriptions.
type fakeRecord struct {
	national.Source
	bundles   map[string][]byte
	noConsent bool
}

func (f *fakeRecord) Consent(context.Context, string) (national.Consent, error) {
	return national.Consent{CrossBorder: !f.noConsent}, nil
}

// TestListOutcomesSpeakOpenNCP: nothing found is the class's not-found
// code as a Warning (eP ERROR_EP_NOT_FOUND), no consent is
// ERROR_PS_NO_CONSENT for every class, as OpenNCP's XCAServiceImpl answers.
func TestListOutcomesSpeakOpenNCP(t *testing.T) {
	pid := wssec.PatientID{Extension: "1941090302146", Root: ehdsi.OIDMatricule}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	p := &lurecords.Provider{National: &fakeRecord{}, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{ehdsi.ClassEP}, Now: now})
	if err != nil || len(l.Entries) != 0 || len(l.Notes) != 1 || l.Notes[0].Code != ehdsi.ErrEPNotFound || l.Notes[0].Severity() != ehdsi.SeverityWarning {
		t.Errorf("eP nothing found: %+v, %v", l, err)
	}
	p.National = &fakeRecord{noConsent: true}
	for _, class := range []string{ehdsi.ClassPS, ehdsi.ClassEP, ehdsi.ClassLab} {
		_, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{class}, Now: now})
		var f *ehdsi.Fault
		if !errors.As(err, &f) || f.Code != ehdsi.ErrPSNoConsent || f.Severity() != ehdsi.SeverityError || f.Kind != ehdsi.KindApplication {
			t.Errorf("%s no consent: %v", class, err)
		}
	}
}

func (f *fakeRecord) ListDocuments(_ context.Context, m, class string) ([]national.DocumentRef, error) {
	if class != ehdsi.ClassEP {
		return nil, nil
	}
	var out []national.DocumentRef
	for id := range f.bundles {
		out = append(out, national.DocumentRef{ID: id, Matricule: m, ClassCode: class, Created: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), ContentType: "application/fhir+json"})
	}
	return out, nil
}

func (f *fakeRecord) Fetch(_ context.Context, ref national.DocumentRef) ([]byte, string, error) {
	return f.bundles[ref.ID], "application/fhir+json", nil
}

func fixture(t *testing.T, id string) []byte {
	b, err := os.ReadFile(filepath.Join(testutil.RepoRoot(t), "internal", "national", "demo", "data", "eprescriptions", id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// merge adds the MedicationRequest and Medication of other fixtures to the
// first one's Bundle: a national prescription of several items.
func merge(t *testing.T, ids ...string) []byte {
	var base map[string]any
	json.Unmarshal(fixture(t, ids[0]), &base)
	entries := base["entry"].([]any)
	for _, id := range ids[1:] {
		var b map[string]any
		json.Unmarshal(fixture(t, id), &b)
		for _, e := range b["entry"].([]any) {
			r := e.(map[string]any)["resource"].(map[string]any)
			if rt := r["resourceType"]; rt == "MedicationRequest" || rt == "Medication" {
				entries = append(entries, e)
			}
		}
	}
	base["entry"] = entries
	out, _ := json.Marshal(base)
	return out
}

// TestMultiItemPrescription: eHDSI allows one item per eP document, so a
// national prescription of three items is offered as three L3+L1 pairs,
// each retrievable, and validated by the eHDSI rules.
func TestMultiItemPrescription(t *testing.T) {
	terms, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	const matricule = "1941090302146"
	rec := &fakeRecord{bundles: map[string][]byte{"ep-0017": merge(t, "ep-0017", "ep-0016", "ep-0018")}}
	p := &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	pid := wssec.PatientID{Extension: matricule, Root: ehdsi.OIDMatricule}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{ehdsi.ClassEP}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Entries) != 6 {
		t.Fatalf("%d entries, %d notes (%+v); want 3 items × (L3, L1)", len(l.Entries), len(l.Notes), l.Notes)
	}
	dir := t.TempDir()
	var files []string
	for _, e := range l.Entries {
		if !strings.Contains(e.UniqueID, "~rx-") {
			t.Errorf("item document id %s does not name its item", e.UniqueID)
		}
		d, err := p.Retrieve(context.Background(), xca.RetrieveRequest{UniqueID: e.UniqueID, Patient: pid, Now: now})
		if err != nil {
			t.Fatalf("retrieve %s: %v", e.UniqueID, err)
		}
		if len(d.Data) != e.Size {
			t.Errorf("%s: retrieved %d bytes, listed %d (not deterministic)", e.UniqueID, len(d.Data), e.Size)
		}
		f := filepath.Join(dir, strings.NewReplacer("^", "_", "~", "_").Replace(e.UniqueID)+".xml")
		os.WriteFile(f, d.Data, 0o644)
		files = append(files, f)
	}
	// Another patient's TRC finds nothing.
	if _, err := p.Retrieve(context.Background(), xca.RetrieveRequest{UniqueID: l.Entries[0].UniqueID, Patient: wssec.PatientID{Extension: "x", Root: "1.2.3"}, Now: now}); err == nil {
		t.Error("retrieved with a foreign patient id")
	}
	if !testing.Short() {
		testutil.ValidateCDA(t, files...)
	}
}

// TestEPEventCodes: every eP list entry carries the eventCodeList OpenNCP
// writes — the dispensable flag first (an OpenNCP client treats a missing
// flag as not dispensable), then ATC, dose form, strength, substitution —
// from the national data, on the L3 and the L1 alike.
func TestEPEventCodes(t *testing.T) {
	terms, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := &fakeRecord{bundles: map[string][]byte{"ep-0017": fixture(t, "ep-0017")}}
	p := &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	pid := wssec.PatientID{Extension: "1941090302146", Root: ehdsi.OIDMatricule}
	l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{ehdsi.ClassEP}, Now: time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)})
	if err != nil || len(l.Entries) != 2 {
		t.Fatalf("entries %d notes %+v err %v", len(l.Entries), l.Notes, err)
	}
	for _, e := range l.Entries {
		ec := e.EventCodes
		if len(ec) < 3 || ec[0].Code != "urn:ihe:iti:xdw:2011:eventCode:open" || ec[0].Scheme != "1.3.6.1.4.1.19376.1.2.3" || ec[0].Display != "Open" {
			t.Fatalf("%s: event codes %+v", e.UniqueID, ec)
		}
		systems := map[string]string{}
		for _, c := range ec[1:] {
			systems[c.Scheme] = c.Code
		}
		if systems["2.16.840.1.113883.6.73"] == "" || systems["2.16.840.1.113883.5.1070"] == "" {
			t.Errorf("%s: no ATC or substitution code in %+v", e.UniqueID, ec)
		}
	}
	body := xca.QueryResponse(l)
	if n := len(body.FindElements(".//Classification[@classificationScheme='urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4'][@nodeRepresentation='urn:ihe:iti:xdw:2011:eventCode:open']")); n != 2 {
		t.Errorf("%d open eventCode classifications on the wire, want 2", n)
	}
}

// TestClosedEPListed: a prescription that is not dispensable (expired,
// fully dispensed, stopped …) is listed, L3 and L1, with OpenNCP's closed
// dispensable flag so that a pharmacist abroad sees it as not dispensable,
// and can still be retrieved; only a cancelled one, which no pivot
// ePrescription may carry, is withheld with WARNING_EP_GENERIC.
func TestClosedEPListed(t *testing.T) {
	terms, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	rec := &fakeRecord{bundles: map[string][]byte{"ep-0017": fixture(t, "ep-0017"), "ep-0009": fixture(t, "ep-0009"),
		"ep-0008": fixture(t, "ep-0008"), "ep-0026": fixture(t, "ep-0026"), "ep-0010": fixture(t, "ep-0010")}}
	p := &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	pid := wssec.PatientID{Extension: "1941090302146", Root: ehdsi.OIDMatricule}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{ehdsi.ClassEP}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	flag := map[string]string{}
	for _, e := range l.Entries {
		if len(e.EventCodes) == 0 {
			t.Fatalf("%s: no dispensable flag", e.UniqueID)
		}
		flag[e.UniqueID] = e.EventCodes[0].Code
	}
	want := map[string]string{"ep-0017": "open", "ep-0009": "closed", "ep-0008": "closed", "ep-0026": "closed"}
	for id, state := range want {
		for _, lvl := range []string{".L3", ".L1"} {
			uid := lurecords.RootEP + "^" + id + lvl
			if got := flag[uid]; got != "urn:ihe:iti:xdw:2011:eventCode:"+state {
				t.Errorf("%s: flag %q, want %s", uid, got, state)
			}
		}
	}
	if len(l.Entries) != 2*len(want) {
		t.Errorf("%d entries, want %d", len(l.Entries), 2*len(want))
	}
	if len(l.Notes) != 1 || l.Notes[0].Code != ehdsi.WarningEPGeneric || l.Notes[0].Location != "ep-0010" || l.Notes[0].Severity() != ehdsi.SeverityWarning {
		t.Errorf("notes %+v, want one WARNING_EP_GENERIC for the cancelled ep-0010", l.Notes)
	}
	// A closed item stays readable, and what a partner reads is eHDSI-valid.
	dir := t.TempDir()
	var files []string
	for _, id := range []string{"ep-0009", "ep-0008", "ep-0026"} {
		for _, lvl := range []string{".L3", ".L1"} {
			uid := lurecords.RootEP + "^" + id + lvl
			d, err := p.Retrieve(context.Background(), xca.RetrieveRequest{UniqueID: uid, Patient: pid, Now: now})
			if err != nil || len(d.Data) == 0 {
				t.Fatalf("retrieve closed %s: %v", uid, err)
			}
			f := filepath.Join(dir, id+lvl+".xml")
			os.WriteFile(f, d.Data, 0o644)
			files = append(files, f)
		}
	}
	if !testing.Short() {
		testutil.ValidateCDA(t, files...)
	}
	body := xca.QueryResponse(l)
	if n := len(body.FindElements(".//Classification[@classificationScheme='urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4'][@nodeRepresentation='urn:ihe:iti:xdw:2011:eventCode:closed']")); n != 6 {
		t.Errorf("%d closed eventCode classifications on the wire, want 6", n)
	}
}

// TestParsedPrescriptionShared: the parsed national prescription is cached
// and shared by concurrent lists and retrieves (run with -race): each
// answer is byte-for-byte the uncached provider's, and a changed bundle is
// parsed anew.
func TestParsedPrescriptionShared(t *testing.T) {
	terms, err := terminology.Load()
	if err != nil {
		t.Fatal(err)
	}
	pid := wssec.PatientID{Extension: "1941090302146", Root: ehdsi.OIDMatricule}
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	rec := &fakeRecord{bundles: map[string][]byte{"ep-0017": merge(t, "ep-0017", "ep-0016", "ep-0018")}}
	cached := &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian()}
	plain := &lurecords.Provider{National: rec, Terminology: terms, HomeCommunityID: ehdsi.HomeCommunityLU, Custodian: lurecords.DefaultCustodian(), CacheSize: -1}
	docs := func(p *lurecords.Provider) (map[string]string, error) {
		l, err := p.List(context.Background(), xca.Query{Patient: pid, ClassCodes: []string{ehdsi.ClassEP}, Now: now})
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, e := range l.Entries {
			d, err := p.Retrieve(context.Background(), xca.RetrieveRequest{UniqueID: e.UniqueID, Patient: pid, Now: now})
			if err != nil {
				return nil, fmt.Errorf("retrieve %s: %w", e.UniqueID, err)
			}
			out[e.UniqueID] = string(d.Data)
		}
		return out, nil
	}
	want, err := docs(plain)
	if err != nil || len(want) != 6 {
		t.Fatalf("uncached: %d documents, %v; want 6", len(want), err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			got, err := docs(cached)
			if err == nil && !maps.Equal(got, want) {
				err = errors.New("a cached answer differs from the uncached one")
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	rec.bundles = map[string][]byte{"ep-0017": fixture(t, "ep-0017")}
	got, err := docs(cached)
	if err != nil || len(got) != 2 {
		t.Errorf("after the national prescription changed to one item: %d documents, %v; want 2", len(got), err)
	}
}
