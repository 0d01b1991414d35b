package xca_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/dialect"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
	"github.com/luxncp/luxncp/internal/xca"
)

// bytesOf serialises el as it goes on the wire: the SOAP writer's bytes
// of the Body child (its escaping, not etree's: `'` stays a quote).
func bytesOf(t *testing.T, el *etree.Element) []byte {
	t.Helper()
	_, b, err := soap.Writer{}.Marshal(soap.Response{Action: "urn:test", MessageID: "urn:uuid:0", Body: el}, false)
	if err != nil {
		t.Fatal(err)
	}
	const open, end = "<env:Body>", "</env:Body>"
	i, j := bytes.Index(b, []byte(open)), bytes.LastIndex(b, []byte(end))
	if i < 0 || j < i {
		t.Fatalf("no Body in %s", b)
	}
	return b[i+len(open) : j]
}

// harness checks text patterns the way a partner's load-test suite does:
// regular expressions over the serialised message, no XML parser.
func harness(t *testing.T, what string, b []byte, want map[string]int) {
	t.Helper()
	if regexp.MustCompile(`<rim:`).Match(b) {
		t.Errorf("%s: ebRIM written with the rim: prefix; OpenNCP writes the default namespace", what)
	}
	for pat, n := range want {
		if got := len(regexp.MustCompile(pat).FindAll(b, -1)); got != n {
			t.Errorf("%s: %d matches of %q, want %d", what, got, pat, n)
		}
	}
}

func xmllint(t *testing.T, xsd string, b []byte) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "m.xml")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(testutil.Tool(t, "xmllint"), "--noout", "--nonet", "--schema", xsd, f).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
}

// TestWireLikeOpenNCP pins the exact bytes of an eP query, an eP list and an
// eDispensation submission (golden files), checks them the way a partner's
// harness does (text patterns such as `<ExternalIdentifier `) and against
// the ebRS 3.0 / XDS.b schemas.
func TestWireLikeOpenNCP(t *testing.T) {
	pid := wssec.PatientID{Extension: "1990010112385", Root: ehdsi.OIDMatricule}
	query := bytesOf(t, ncpclient.XCAQueryBody(pid, ehdsi.ClassEP))
	testutil.Golden(t, "wire/query-request-ep.xml", query)
	harness(t, "eP query", query, map[string]int{
		`<AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">`: 1, `<Slot name="\$XDSDocumentEntry`: 3,
		`<Value>\('57833-6\^\^2.16.840.1.113883.6.1'\)</Value>`:        1,
		`<Value>'1990010112385\^\^\^&amp;1.3.182.4.4&amp;ISO'</Value>`: 1,
	})
	xmllint(t, testutil.Shared(t, "reference", "wire", "xsd", "xds-b-ebrs30", "schema", "query.xsd"), query)

	l3 := xca.Entry{UniqueID: "1.3.182.2.12.10000734.6.1.4^ep-1.L3", RepositoryUniqueID: "1.3.182.2.12.10000734.6.1.4", HomeCommunityID: ehdsi.HomeCommunityLU,
		Patient: pid, ClassCode: ehdsi.ClassEP, Level: xca.L3, Title: "ePrescription", Description: "Amlodipine 5 mg tablet",
		Created: time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC), Author: "Dr Anne Schmit", Size: 1234, Hash: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		EventCodes: dialect.EPEventCodes(dialect.EPItem{Dispensable: true, ATC: "C08CA01", ATCName: "amlodipine", DoseForm: "10219000", DoseFormName: "Tablet",
			Strength: "5 mg", SubstitutionCode: "N", SubstitutionName: "none"})}
	l1 := l3
	l1.UniqueID, l1.Level, l1.Title, l1.TransformOf = "1.3.182.2.12.10000734.6.1.4^ep-1.L1", xca.L1, "ePrescription (PDF)", l3.UniqueID
	list := bytesOf(t, xca.QueryResponse(xca.Listing{Entries: []xca.Entry{l3, l1}}))
	testutil.Golden(t, "wire/query-response-ep.xml", list)
	harness(t, "eP list", list, map[string]int{
		`<ExtrinsicObject `: 2, `<ExternalIdentifier `: 4, `<Association `: 1,
		`nodeRepresentation="urn:ihe:iti:xdw:2011:eventCode:open"`: 2,
		`nodeRepresentation="urn:epsos:ep:pre:2010"`:               1,
		`nodeRepresentation="C08CA01"`:                             2,
	})
	xmllint(t, testutil.Shared(t, "reference", "wire", "xsd", "xds-b-ebrs30", "schema", "query.xsd"), list)

	sub := bytesOf(t, ncpclient.XDRBody(ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^ed-1",
		SubmissionSetID: "2.16.17.710.790.1000.990.1.16.1", SourceID: "2.16.17.710.790.1000.990.1", Document: []byte("<ClinicalDocument/>"),
		Now: time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)}))
	testutil.Golden(t, "wire/xdr-submit.xml", sub)
	harness(t, "eD submission", sub, map[string]int{
		`<ExtrinsicObject `: 1, `<ExternalIdentifier `: 5, `<RegistryPackage `: 1,
		`nodeRepresentation="urn:epSOS:ep:dis:2010"`: 1,
	})
	xmllint(t, testutil.Shared(t, "reference", "wire", "xsd", "xds-b-ebrs30", "schema", "IHEXDS.xsd"), sub)
}
