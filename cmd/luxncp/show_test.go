package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/soap"
)

// element parses one XML element.
func element(t *testing.T, s string) *etree.Element {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(s); err != nil {
		t.Fatal(err)
	}
	return d.Root()
}

// writeResponse marshals a SOAP response into a file, as curl saves it.
func writeResponse(t *testing.T, resp soap.Response, mtom bool) string {
	t.Helper()
	_, data, err := soap.Writer{Boundary: "MIMEBoundary_show"}.Marshal(resp, mtom)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "response")
	if err := os.WriteFile(f, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

const (
	nsHL7     = `xmlns="urn:hl7-org:v3"`
	rsFailure = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
	rsSuccess = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
)

func xcpdBody(code, detail string) string {
	return `<PRPA_IN201306UV02 ` + nsHL7 + `><acknowledgement><acknowledgementDetail><code code="` + detail + `"/><text>why</text></acknowledgementDetail></acknowledgement>` +
		`<controlActProcess><queryAck><queryResponseCode code="` + code + `"/></queryAck></controlActProcess></PRPA_IN201306UV02>`
}

func registryBody(status string) string {
	return `<rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="` + status + `"><rs:RegistryErrorList>` +
		`<rs:RegistryError errorCode="ERROR_ED_GENERIC" codeContext="no such prescription" severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"/></rs:RegistryErrorList></rs:RegistryResponse>`
}

// TestShowExitStatus: show exits 1 on a fault, an XCPD answer other than
// OK and an ebXML Failure; 0 on success; 2 on wrong arguments.
func TestShowExitStatus(t *testing.T) {
	_, fault := soap.FaultBody(ehdsi.Sender(ehdsi.ErrSecGeneric, "no client certificate", nil))
	cases := []struct {
		name, want string
		body       *etree.Element
		action     string
		code       int
	}{
		{"xcpd OK", "XCPD        OK", element(t, xcpdBody("OK", "")), "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery", 0},
		{"xcpd AE", "ERROR_PI_INCORRECT_FORMATTING", element(t, xcpdBody("AE", "ERROR_PI_INCORRECT_FORMATTING")), "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery", 1},
		{"xcpd NF", "XCPD        NF", element(t, xcpdBody("NF", "ERROR_PI_NO_MATCH")), "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery", 1},
		{"fault", "SOAP fault  ERROR_SEC_GENERIC", fault, soap.ActionFault, 1},
		{"xdr failure", "XDR         Failure", element(t, registryBody(rsFailure)), "urn:ihe:iti:2007:CrossGatewayDocumentProvideResponse", 1},
		{"xdr success", "XDR         Success", element(t, registryBody(rsSuccess)), "urn:ihe:iti:2007:CrossGatewayDocumentProvideResponse", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := writeResponse(t, soap.Response{Action: tc.action, Body: tc.body}, false)
			code, out, errs := runCLI(t, "show", f)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d (want %d)\n%s%s", code, tc.code, out, errs)
			}
			if tc.code == 1 && !strings.Contains(errs, "the answer is a failure") {
				t.Errorf("stderr %q", errs)
			}
		})
	}
	if code, _, errs := runCLI(t, "show", "--bogus"); code != 2 || !strings.Contains(errs, "-bogus") {
		t.Errorf("bad flag: %d %s", code, errs)
	}
	garbage := filepath.Join(t.TempDir(), "g")
	os.WriteFile(garbage, []byte("<html>not soap</html>"), 0o644)
	if code, _, errs := runCLI(t, "show", garbage); code != 1 || !strings.Contains(errs, "not an eHDSI SOAP 1.2 response") {
		t.Errorf("garbage: %d %s", code, errs)
	}
}

// TestShowMTOM: an XCA retrieve answered as MTOM/XOP (what 'request
// xca-retrieve --mtom' gets) is read with internal/soap's multipart reader
// and its attachments are saved.
func TestShowMTOM(t *testing.T) {
	f := retrieveResponseFile(t)
	out := t.TempDir()
	code, stdout, errs := runCLI(t, "show", "--out", out, f)
	if code != 0 || !strings.Contains(stdout, "XCA retrieve Success, 1 document(s) (MTOM)") {
		t.Fatalf("exit %d\n%s%s", code, stdout, errs)
	}
	got, err := os.ReadFile(filepath.Join(out, "1.3.182.9_ep-0003.L3.xml"))
	if err != nil || string(got) != string(retrievedCDA) {
		t.Fatalf("saved document %q, %v", got, err)
	}
	if code, _, errs := runCLI(t, "show", "--out", out, "--content-type", "text/xml", f); code != 1 || !strings.Contains(errs, "SOAP 1.1") {
		t.Fatalf("wrong --content-type: exit %d, %s", code, errs)
	}
}

var retrievedCDA = []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Synthetic ePrescription</title></ClinicalDocument>`)

// retrieveResponseFile writes an MTOM XCA retrieve answer with one document.
func retrieveResponseFile(t *testing.T) string {
	t.Helper()
	resp := soap.Response{Action: "urn:ihe:iti:2007:CrossGatewayRetrieveResponse"}
	body := element(t, `<xdsb:RetrieveDocumentSetResponse xmlns:xdsb="urn:ihe:iti:xds-b:2007"><rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0" status="`+rsSuccess+`"/>`+
		`<xdsb:DocumentResponse><xdsb:HomeCommunityId>urn:oid:1.3.182.2.12.10000734.6.1</xdsb:HomeCommunityId><xdsb:RepositoryUniqueId>1.3.182.2.12.10000734.6.1</xdsb:RepositoryUniqueId>`+
		`<xdsb:DocumentUniqueId>1.3.182.9^ep-0003.L3</xdsb:DocumentUniqueId><xdsb:mimeType>text/xml</xdsb:mimeType><xdsb:Document/></xdsb:DocumentResponse></xdsb:RetrieveDocumentSetResponse>`)
	resp.Attach(body.FindElement(".//Document"), "text/xml", retrievedCDA, true)
	resp.Body = body
	return writeResponse(t, resp, true)
}

// TestShowNeverWritesIntoTheCurrentFolder: without --out nothing is saved;
// with --out the folder is created; --ids on a retrieve prints ids only.
func TestShowNeverWritesIntoTheCurrentFolder(t *testing.T) {
	f := retrieveResponseFile(t)
	cwd, _ := os.Getwd()
	before, _ := os.ReadDir(cwd)
	code, stdout, errs := runCLI(t, "show", f)
	after, _ := os.ReadDir(cwd)
	if code != 0 || !strings.Contains(stdout, "--out DIR saves it") || len(after) != len(before) {
		t.Fatalf("show without --out: %d %s %s; files %d → %d", code, stdout, errs, len(before), len(after))
	}
	out := filepath.Join(t.TempDir(), "new", "folder")
	if code, stdout, errs := runCLI(t, "show", "--out", out, f); code != 0 || !strings.Contains(stdout, "saved") {
		t.Fatalf("show --out into a missing folder: %d %s %s", code, stdout, errs)
	}
	code, stdout, _ = runCLI(t, "show", "--ids", f)
	if code != 0 || strings.Contains(stdout, "XCA retrieve") || strings.Count(strings.TrimSpace(stdout), "\n") != 0 || strings.TrimSpace(stdout) == "" {
		t.Fatalf("show --ids on a retrieve: %d %q", code, stdout)
	}
}
