package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/zclconf/go-cty/cty"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsrun"
	"github.com/luxncp/luxncp/internal/countryb"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/peer"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
)

// buildFunctions builds every functions/<name> binary (the bootstraps
// make lambda zips) into a temporary directory.
func buildFunctions(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	c := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./functions/...")
	c.Dir = testutil.RepoRoot(t)
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", err, out)
	}
	return dir
}

// TestAllFunctionsOnTheEmulators deploys every function of terraform/ on
// independent AWS emulators (awsrun: the resources main.tf creates, each
// function's environment evaluated from main.tf) and runs the real
// function binaries under a local Lambda Runtime API, behind a local API
// Gateway front (mutual TLS, payload 2.0, terraform's routes). Through it:
// XCPD, XCA list + retrieve, an XDR eDispensation delivered by the
// dispatcher function from SQS, the patient's access log read back from
// the S3 audit sink, and the maintenance function's three tasks.
func TestAllFunctionsOnTheEmulators(t *testing.T) {
	ctx := context.Background()
	fns := buildFunctions(t)
	b, err := demo.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fhir := testServer(t, b)
	idp, idpURL := startIDP(t)
	luCN := testkit.Credential(t, "lu", pki.KindTLS).Cert.Subject.CommonName
	// A simulated French NCP, listed in the directory the operator
	// uploads; it serves once the deployment's KMS TLS client certificate
	// is on its trust list (below).
	fr := newLatePeer(t, "FR")
	dirJSON := directoryJSON(t, fr.entry)
	var logs syncBuffer
	aw, err := awsrun.Start(ctx, awsrun.Options{
		TerraformDir: filepath.Join(testutil.RepoRoot(t), "terraform"), FunctionsDir: fns, WorkDir: t.TempDir(),
		Addr: "127.0.0.1:0", Domain: "ncp.example.lu", ServerCert: testkit.Credential(t, "lu", pki.KindTLS).TLSCertificate(),
		ClientCAs: testkit.CAPool(t),
		// What the operator uploads (docs/deploy.md).
		Uploads: awsrun.Uploads{TrustList: pki.FormatTrustList(testkit.Trust(t).Entries()), Directory: dirJSON},
		Vars: map[string]cty.Value{
			"national_fhir_base_url": cty.StringVal(fhir + "/fhir"), "identity_issuer_url": cty.StringVal(idpURL),
			"identity_audience": cty.StringVal("luxncp"),
			"api_callers":       cty.MapVal(map[string]cty.Value{luCN: cty.ListVal([]cty.Value{cty.StringVal("*")})}),
		},
		FunctionLog: &logs,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(aw.Close)
	if len(aw.Functions) != 6 {
		t.Fatalf("functions started: %d, want the 6 of terraform/main.tf", len(aw.Functions))
	}
	g := &gateway{url: aw.URL, idp: idp}
	fr.serve(t, aw)
	defer func() {
		if t.Failed() {
			t.Logf("function logs:\n%s", logs.String())
		}
	}()

	// Country B answers on the api function (not the catch-all 404).
	req, _ := http.NewRequest(http.MethodGet, g.url+"/api/v1/countries", nil)
	req.Header.Set("Authorization", "Bearer "+g.token(t, "professional", "lu-hcp-2001"))
	res, err := testkit.Client(t, "lu").HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/countries: HTTP %d, want 200 (Country B on)", res.StatusCode)
	}

	// Country B: a Luxembourg physician retrieves a French patient's
	// Patient Summary from the simulated French NCP, over mutual TLS signed
	// in KMS.
	prof, _ := peer.Profile("FR")
	pt := prof.Patients[0]
	id := countryb.Identifier{Root: prof.PatientRoot, Extension: pt.ID}
	doc := countryb.DocumentRef{ID: fr.peer.Documents(pt.ID, ehdsi.ClassPS)[0], RepositoryID: prof.HomeCommunityID + ".7", HomeCommunityID: prof.HomeCommunityID, Class: "PS"}
	physician := countryb.Professional{ID: "lu-hcp-2001", Name: "Dr Marc Weber", Role: "physician", Organisation: "Centre Hospitalier Emile Mayrisch",
		FacilityType: "Hospital", Locality: "Esch-sur-Alzette"}
	if code, b := apiPost(t, g, "/api/v1/countries/FR/patients/search", countryb.SearchRequest{Professional: physician, Identifiers: []countryb.Identifier{id}}); code != http.StatusOK || !strings.Contains(string(b), pt.Family) {
		t.Fatalf("Country B search: HTTP %d %s", code, b)
	}
	if code, b := apiPost(t, g, "/api/v1/countries/FR/documents/retrieve", countryb.RetrieveRequest{Professional: physician, Patient: id, Document: doc, Format: "original"}); code != http.StatusOK || !bytes.Contains(b, []byte("ClinicalDocument")) {
		t.Fatalf("Country B retrieve: HTTP %d %.300s", code, b)
	}

	// XCPD, XCA list + retrieve.
	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114"
	trc, docs := identifyAndListEP(t, g, ph, patient)
	d := docs[0]
	rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
		ncpclient.DocRef{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID}), true, ph.hcp, trc)
	st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
	if err != nil || !ncpclient.IsSuccess(st) || len(got) != 1 || !bytes.Contains(got[0].Data, []byte("ClinicalDocument")) {
		t.Fatalf("retrieve: %s %d %+v %v", st, len(got), errs, err)
	}

	// XDR: accepted into the DynamoDB outbox and queued on SQS; the
	// dispatcher function, invoked from the queue, delivers it.
	ed := dispensation{id: "aws-1", patient: patient, presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 1}
	if ok, e := xdrSend(t, g, ph, ed, patient, false); !ok {
		t.Fatalf("XDR refused: %+v", e)
	}
	delivered := false
	for i := 0; i < 240 && !delivered; i++ { // up to 2 min on a loaded machine; typically under a second
		if delivered = effects(t, fhir+"/fhir", "rx-0003") == 1; !delivered {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !delivered {
		t.Fatal("the eDispensation never reached the national record through the SQS-triggered dispatcher")
	}

	// The patient reads who saw their record: from the S3 audit sink.
	tok := g.token(t, "patient", patient)
	code, log := accessLogAs(t, g, patient, tok, "")
	if code != http.StatusOK || len(log.Accesses) < 3 {
		t.Fatalf("access log: HTTP %d, %d accesses", code, len(log.Accesses))
	}

	// The maintenance function, as EventBridge invokes it.
	maintenance := func(task string) map[string]any {
		t.Helper()
		out, err := aw.Functions["maintenance"].Invoke(ctx, []byte(`{"task":"`+task+`"}`))
		if err != nil {
			t.Fatalf("maintenance %s: %v", task, err)
		}
		var r map[string]any
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("maintenance %s: %s: %v", task, out, err)
		}
		return r
	}
	if r := maintenance("outbox-sweep"); r["status"] != "swept" {
		t.Errorf("outbox-sweep: %v", r)
	}
	if r := maintenance("certificate-expiry"); r["status"] != "checked" || r["certificates"].(float64) < 3 {
		t.Errorf("certificate-expiry: %v (want the seal, the TLS client certificate and the trust list's)", r)
	}
	// directory-refresh: the incoming directory is validated and published.
	be := newLatePeer(t, "BE") // listed, never called
	incoming := directoryJSON(t, fr.entry, be.entry)
	if _, err := aw.Clients.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(awsrun.ConfigBucket), Key: aws.String("directory/incoming.json"),
		Body: bytes.NewReader(incoming)}); err != nil {
		t.Fatal(err)
	}
	if r := maintenance("directory-refresh"); r["status"] != "published" || r["countries"].(float64) < 1 {
		t.Errorf("directory-refresh: %v", r)
	}
	pub, err := aw.Clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(awsrun.ConfigBucket), Key: aws.String(awsconfig.KeyDirectory)})
	if err != nil {
		t.Fatal(err)
	}
	published, _ := io.ReadAll(pub.Body)
	pub.Body.Close()
	if !bytes.Contains(published, []byte(`"BE"`)) || !bytes.Contains(published, []byte(`"FR"`)) {
		t.Errorf("published directory: %.300s", published)
	}
	if _, err := aw.Functions["maintenance"].Invoke(ctx, []byte(`{"task":"no-such-task"}`)); err == nil {
		t.Error("an unknown task: no function error")
	}
}

// latePeer is a simulated NCP whose address (and directory entry) exists
// before its trust list is complete: it answers 503 until serve.
type latePeer struct {
	cc    string
	srv   *httptest.Server
	entry routing.Country
	mu    sync.Mutex
	peer  *peer.Peer
}

func newLatePeer(t *testing.T, cc string) *latePeer {
	t.Helper()
	p0, err := peer.New(peer.Options{Country: cc, PKIDir: testkit.PKIDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	lp := &latePeer{cc: cc}
	lp.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lp.mu.Lock()
		p := lp.peer
		lp.mu.Unlock()
		if p == nil {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		host.WithTLSPeer(p.Handler()).ServeHTTP(w, r)
	}))
	lp.srv.TLS = p0.TLSConfig()
	lp.srv.StartTLS()
	t.Cleanup(lp.srv.Close)
	lp.entry = p0.DirectoryEntry(lp.srv.URL)
	return lp
}

// serve starts answering as a peer whose trust list also lists the
// deployment's TLS client and seal certificates (those of its KMS keys,
// as a partner lists Luxembourg's production certificates).
func (lp *latePeer) serve(t *testing.T, aw *awsrun.Gateway) {
	t.Helper()
	entries := testkit.Trust(t).Entries()
	for key, role := range map[string]pki.Role{awsconfig.KeyTLSClient: pki.RoleTLS, awsconfig.KeySeal: pki.RoleSeal} {
		obj, err := aw.Clients.S3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(awsrun.ConfigBucket), Key: aws.String(key)})
		if err != nil {
			t.Fatal(err)
		}
		certPEM, _ := io.ReadAll(obj.Body)
		obj.Body.Close()
		certs, err := pki.ParseCertificates(certPEM)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, pki.Entry{Country: "LU", Role: role, Cert: certs[0]})
	}
	dir := t.TempDir()
	src := testkit.PKIDir(t)
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() != pki.TrustDir {
			if err := os.Symlink(filepath.Join(src, f.Name()), filepath.Join(dir, f.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, pki.TrustDir), pki.FormatTrustList(entries), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := peer.New(peer.Options{Country: lp.cc, PKIDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	lp.mu.Lock()
	lp.peer = p
	lp.mu.Unlock()
}

// directoryJSON is a directory document of countries.
func directoryJSON(t *testing.T, countries ...routing.Country) []byte {
	t.Helper()
	st, err := routing.NewStatic(countries...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// apiPost posts a JSON request to /api/v1 as Luxembourg's system for the
// professional lu-hcp-2001.
func apiPost(t *testing.T, g *gateway, path string, body any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, g.url+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+g.token(t, "professional", "lu-hcp-2001"))
	res, err := testkit.Client(t, "lu").HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// sealCertificate is a certificate for the KMS key (self-signed by KMS).
func sealCertificate(t *testing.T, cl node.AWSClients, keyARN string) []byte {
	t.Helper()
	b, err := awsrun.KMSCertificate(context.Background(), cl.KMS, keyARN, "seal.ncp.example.lu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
