package evidence

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/testutil"
	"github.com/luxncp/luxncp/internal/wssec"
)

// t0 is a time at which the dev PKI (made at the current time) is valid.
var t0 = clock.Now().UTC().Truncate(time.Second).Add(123 * time.Millisecond)

func seal(t testing.TB, cc string) wssec.Signer {
	c := testkit.Credential(t, cc, pki.KindSeal)
	return wssec.Signer{Key: c.Signer, Cert: c.Cert}
}

func params(t *testing.T) Params {
	fr := testkit.Credential(t, "fr", pki.KindTLS)
	d := sha256.Sum256([]byte("message"))
	return Params{Kind: Origin, Code: Acceptance, ID: "5b1f0c7e-3f4a-4e7a-9d51-0c1e2f3a4b5c",
		Sender: Party{Names: []string{"LU", "ncp-lu.luxncp"}}, Recipient: Party{Names: []string{"FR", "ncp-fr"}, Cert: fr.Cert},
		AuthTime: t0, EventTime: t0, SubmissionTime: t0, Subject: "EHDSI-32", MessageID: "urn:uuid:1", Digest: d[:]}
}

func verifier(t *testing.T) Verifier { return Verifier{Trust: testkit.Trust(t), Country: "LU"} }

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, k := range []Kind{Origin, Receipt} {
		p := params(t)
		p.Kind = k
		data, err := Sign(p, seal(t, "lu"))
		if err != nil {
			t.Fatal(err)
		}
		ev, err := verifier(t).Verify(data)
		if err != nil {
			t.Fatalf("%s: %v\n%s", k, err, data)
		}
		if ev.Kind != k || ev.Code != Acceptance || ev.ID != p.ID || ev.Subject != "EHDSI-32" || ev.MessageID != "urn:uuid:1" ||
			!bytes.Equal(ev.Digest, p.Digest) || !ev.EventTime.Equal(t0) || ev.Recipient.Cert == nil || ev.Policy != k.policy() {
			t.Fatalf("%s read back as %+v", k, ev)
		}
	}
}

// TestBuildOrderAndDeterminism: the children follow REMEvidenceType's
// sequence and the same parameters give the same bytes.
func TestBuildOrderAndDeterminism(t *testing.T) {
	p := params(t)
	p.Issuer = seal(t, "lu").Cert
	p.Code, p.Reason = Rejection, "ERROR_GENERIC_DOCUMENT_MISSING"
	a, err := Build(p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Build(p)
	ab, _ := wssec.Serialize(a)
	bb, _ := wssec.Serialize(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("Build is not deterministic")
	}
	var got []string
	for _, c := range a.ChildElements() {
		got = append(got, c.Tag)
	}
	want := "EventCode EventReasons EvidenceIdentifier EvidenceIssuerPolicyID EvidenceIssuerDetails SenderAuthenticationDetails EventTime SubmissionTime SenderDetails RecipientsDetails SenderMessageDetails"
	if strings.Join(got, " ") != want {
		t.Fatalf("children %v", got)
	}
	if err := checkSequence(a, false); err != nil {
		t.Fatal(err)
	}
	// Out of order, repeated, unknown, missing: refused.
	for name, mutate := range map[string]func(*etree.Element){
		"swapped":  func(e *etree.Element) { c := e.SelectElement("EventTime"); e.RemoveChild(c); e.InsertChildAt(0, c) },
		"repeated": func(e *etree.Element) { e.AddChild(e.SelectElement("SenderMessageDetails").Copy()) },
		"unknown":  func(e *etree.Element) { e.CreateElement("Patient") },
		"missing":  func(e *etree.Element) { e.RemoveChild(e.SelectElement("SenderDetails")) },
	} {
		c := a.Copy()
		mutate(c)
		if err := checkSequence(c, false); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestTamperedRefused: any change to the signed document, a seal of
// another country or an untrusted one, is refused.
func TestTamperedRefused(t *testing.T) {
	data, err := Sign(params(t), seal(t, "lu"))
	if err != nil {
		t.Fatal(err)
	}
	for name, alt := range map[string][]byte{
		"event code": bytes.Replace(data, []byte(">Acceptance<"), []byte(">Rejection<"), 1),
		"message id": bytes.Replace(data, []byte("urn:uuid:1"), []byte("urn:uuid:2"), 1),
		"event time": bytes.Replace(data, []byte("<EventTime>"+xsTime(t0)), []byte("<EventTime>"+xsTime(t0.Add(time.Minute))), 1),
		"truncated":  data[:len(data)/2],
	} {
		if bytes.Equal(alt, data) {
			t.Fatalf("%s: no change made", name)
		}
		if _, err := verifier(t).Verify(alt); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", name, err)
		}
	}
	fr, err := Sign(params(t), seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t).Verify(fr); err == nil || !strings.Contains(err.Error(), "FR") && !strings.Contains(err.Error(), "fr") {
		t.Errorf("French seal: %v", err)
	}
}

// TestXmlsec1VerifiesEvidence: an independent implementation accepts the
// signature, and refuses it once altered.
func TestXmlsec1VerifiesEvidence(t *testing.T) {
	bin := testutil.Tool(t, "xmlsec1")
	data, err := Sign(params(t), seal(t, "lu"))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "nro.xml")
	os.WriteFile(f, data, 0o644)
	args := []string{"--verify", "--enabled-reference-uris", "empty", "--trusted-pem", filepath.Join(testkit.PKIDir(t), "ca.pem"),
		"--verification-time", t0.Format("2006-01-02 15:04:05")}
	if out, err := exec.Command(bin, append(args, f)...).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 rejected our evidence: %v\n%s", err, out)
	}
	os.WriteFile(f, bytes.Replace(data, []byte("EHDSI-32"), []byte("EHDSI-22"), 1), 0o644)
	if out, err := exec.Command(bin, append(args, f)...).CombinedOutput(); err == nil {
		t.Fatalf("xmlsec1 accepted altered evidence:\n%s", out)
	}
}

// TestDigestInlineEqualsMTOM: the digest covers the XOP-reconstituted
// content, so a document sent inline or as an MTOM part digests alike,
// and another document does not.
func TestDigestInlineEqualsMTOM(t *testing.T) {
	doc := []byte("<ClinicalDocument/>")
	mk := func(data []byte, mtom bool) *soap.Response {
		r := &soap.Response{Action: "x", Body: soap.NewElement("xdsb", "RetrieveDocumentSetResponse", "urn:ihe:iti:xds-b:2007")}
		r.Attach(r.Body.CreateElement("xdsb:Document"), "text/xml", data, mtom)
		return r
	}
	inline, err := ResponseDigest(mk(doc, false))
	if err != nil {
		t.Fatal(err)
	}
	mtom, err := ResponseDigest(mk(doc, true))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := ResponseDigest(mk([]byte("<ClinicalDocument a='1'/>"), true))
	if !bytes.Equal(inline, mtom) || bytes.Equal(inline, other) {
		t.Fatalf("inline %x, mtom %x, other %x", inline, mtom, other)
	}
}

// TestFileStoreAppendOnly: stored once, indexed, never overwritten (by
// renameat2 and by the portable link), no temporary file left; the
// directory check finds a changed, a missing and an unindexed file.
func TestFileStoreAppendOnly(t *testing.T) {
	for _, linkOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("linkOnly=%v", linkOnly), func(t *testing.T) { testFileStoreAppendOnly(t, linkOnly) })
	}
}

func testFileStoreAppendOnly(t *testing.T, linkOnly bool) {
	dir := t.TempDir()
	st := &FileStore{Dir: dir, linkOnly: linkOnly}
	defer st.Close()
	p := params(t)
	data, err := Sign(p, seal(t, "lu"))
	if err != nil {
		t.Fatal(err)
	}
	e := Entry{ID: p.ID, Kind: "nro", Code: Acceptance, Event: "EHDSI-32", MessageID: p.MessageID, Time: t0}
	if err := st.Put(context.Background(), e, data); err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), e, []byte("<other/>")); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("the same evidence was stored twice (overwritten): %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, filepath.FromSlash(e.Name()))); !bytes.Equal(got, data) {
		t.Fatal("the stored evidence was changed")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(filepath.Join(dir, filepath.FromSlash(e.Name()))), "*")); len(left) != 1 {
		t.Fatalf("files beside the evidence: %v", left)
	}
	auditDir := filepath.Join(t.TempDir(), "audit")
	writeAudit(t, auditDir, audit.Event{Type: audit.EventEPRetrieve, ResponseMessageID: "urn:uuid:r", Evidence: []string{p.ID}})
	rep, err := CheckDir(dir, auditDir, verifier(t))
	if err != nil || !rep.OK() || rep.Checked != 1 {
		t.Fatalf("clean store: %v %+v", err, rep)
	}
	name := filepath.Join(dir, filepath.FromSlash(e.Name()))
	os.Chmod(name, 0o600)
	os.WriteFile(name, bytes.Replace(data, []byte("EHDSI-32"), []byte("EHDSI-22"), 1), 0o600)
	os.WriteFile(filepath.Join(filepath.Dir(name), "stray.xml"), data, 0o600)
	rep, err = CheckDir(dir, auditDir, verifier(t))
	if err != nil || rep.OK() || len(rep.Problems) != 3 { // changed digest, bad signature, unindexed
		t.Fatalf("tampered store: %v %+v", err, rep)
	}
}

// writeAudit appends records of evs to the audit chain in dir.
func writeAudit(t *testing.T, dir string, evs ...audit.Event) {
	t.Helper()
	sink, err := audit.OpenFile(dir, audit.FileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	for _, ev := range evs {
		ev.Time, ev.AuditSourceID = t0, "LU-1"
		if err := sink.Write(context.Background(), audit.Record{ID: audit.NewUUID(), Event: ev, Message: "<AuditMessage/>"}); err != nil {
			t.Fatal(err)
		}
	}
}

// storeTransactions stores the NRR and NRO of n transactions and writes
// the audit records naming them, as the gateway does: the record first.
func storeTransactions(t *testing.T, n int) (dir, auditDir string, resps []string) {
	t.Helper()
	root := t.TempDir()
	dir, auditDir = filepath.Join(root, "evidence"), filepath.Join(root, "audit")
	em := &Emitter{Seal: seal(t, "lu"), Store: &FileStore{Dir: dir}}
	for i := range n {
		resp := soap.NewMessageID()
		resps = append(resps, resp)
		ev := audit.Event{Type: audit.EventEPRetrieve, ResponseMessageID: resp, Outcome: audit.OutcomeSuccess}
		ev.Evidence = em.IDs(ev)
		writeAudit(t, auditDir, ev)
		for _, k := range []Kind{Receipt, Origin} {
			p := params(t)
			p.Kind, p.ID, p.MessageID = k, ID(k, resp), resp
			p.EventTime = t0.Add(time.Duration(i) * time.Second)
			data, err := Sign(p, em.Seal)
			if err != nil {
				t.Fatal(err)
			}
			e := Entry{ID: p.ID, Kind: k.Short(), Code: p.Code, Event: p.Subject, MessageID: resp, Time: p.EventTime}
			if err := em.Store.Put(context.Background(), e, data); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir, auditDir, resps
}

// removePairs deletes the evidence files of transactions (by response
// MessageID) and their index lines, leaving the other lines as they were.
func removePairs(t *testing.T, dir string, resps ...string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	removed := 0
	for _, line := range strings.SplitAfter(string(data), "\n") {
		drop := false
		for _, r := range resps {
			if strings.Contains(line, r) {
				drop = true
			}
		}
		if !drop {
			kept = append(kept, line)
			continue
		}
		var e Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(e.File))); err != nil {
			t.Fatal(err)
		}
		removed++
	}
	if removed != 2*len(resps) {
		t.Fatalf("removed %d files", removed)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(strings.Join(kept, "")), 0o600); err != nil {
		t.Fatal(err)
	}
}

func problems(rep *Report) string {
	var b strings.Builder
	for _, p := range rep.Problems {
		b.WriteString(p.File + ": " + p.Reason + "\n")
	}
	return b.String()
}

// TestCheckDirFindsRemovedEvidence: the outside tester's attack — two
// evidence pairs removed with their index lines — is found, whether cut
// from the tail (only the audit records, which still name them, show it)
// or from the middle (the index chain breaks too).
func TestCheckDirFindsRemovedEvidence(t *testing.T) {
	for name, pick := range map[string]func([]string) []string{
		"tail":   func(r []string) []string { return r[2:] },
		"middle": func(r []string) []string { return r[1:3] },
	} {
		t.Run(name, func(t *testing.T) {
			dir, auditDir, resps := storeTransactions(t, 4)
			rep, err := CheckDir(dir, auditDir, verifier(t))
			if err != nil || !rep.OK() || rep.Checked != 8 || rep.Named != 8 {
				t.Fatalf("clean store: %v %+v", err, rep)
			}
			gone := pick(resps)
			removePairs(t, dir, gone...)
			rep, err = CheckDir(dir, auditDir, verifier(t))
			if err != nil || rep.OK() || rep.Checked != 4 {
				t.Fatalf("two pairs removed, yet: %v %+v", err, rep)
			}
			out := problems(rep)
			for _, r := range gone {
				for _, k := range []Kind{Receipt, Origin} {
					if !strings.Contains(out, "names evidence "+ID(k, r)) {
						t.Errorf("removed %s of %s not reported:\n%s", k.Short(), r, out)
					}
				}
			}
			if broke := strings.Contains(out, "breaks the index chain"); broke != (name == "middle") {
				t.Errorf("index chain reported broken: %v\n%s", broke, out)
			}
		})
	}
}

// TestIndexChainAndNaming: the index is a hash chain continued across
// restarts; evidence no audit record names, and an index line edited or
// removed at the start, are reported.
func TestIndexChainAndNaming(t *testing.T) {
	dir, auditDir, _ := storeTransactions(t, 2)
	entries, _ := ReadIndex(dir)
	if len(entries) != 4 || entries[0].Seq != 1 || entries[0].Prev != "" || entries[3].Seq != 4 || len(entries[3].Prev) != 64 {
		t.Fatalf("index not chained: %+v", entries)
	}
	// Another store on the directory (a restart) continues the chain; an
	// evidence no audit record names is reported.
	p := params(t)
	p.ID = "5b1f0c7e-0000-4e7a-9d51-0c1e2f3a4b5c"
	data, _ := Sign(p, seal(t, "lu"))
	if err := (&FileStore{Dir: dir}).Put(context.Background(), Entry{ID: p.ID, Kind: "nro", Code: Acceptance, Time: t0.Add(time.Hour)}, data); err != nil {
		t.Fatal(err)
	}
	rep, _ := CheckDir(dir, auditDir, verifier(t))
	if out := problems(rep); len(rep.Problems) != 1 || !strings.Contains(out, p.ID+" is named by no audit record") {
		t.Fatalf("unnamed evidence: %s", out)
	}
	// The first line removed (file kept): the chain breaks at the new first line.
	idx := filepath.Join(dir, IndexFile)
	raw, _ := os.ReadFile(idx)
	os.WriteFile(idx, raw[bytes.IndexByte(raw, '\n')+1:], 0o600)
	rep, _ = CheckDir(dir, auditDir, verifier(t))
	if out := problems(rep); !strings.Contains(out, "line 1 breaks the index chain") || !strings.Contains(out, "not in the index") {
		t.Fatalf("first line removed: %s", out)
	}
}

// TestPutAfterUnchainedIndex: a store whose index predates the chain keeps
// storing (evidence is never refused for it), chained after the old lines.
func TestPutAfterUnchainedIndex(t *testing.T) {
	dir := t.TempDir()
	old := `{"id":"a","kind":"nro","code":"Acceptance","event":"EHDSI-32","time":"2026-01-01T00:00:00Z","file":"x.xml","sha256":"00"}`
	os.WriteFile(filepath.Join(dir, IndexFile), []byte(old+"\n"+old+"\n"), 0o600)
	p := params(t)
	data, _ := Sign(p, seal(t, "lu"))
	if err := (&FileStore{Dir: dir}).Put(context.Background(), Entry{ID: p.ID, Kind: "nro", Code: Acceptance, Time: t0}, data); err != nil {
		t.Fatal(err)
	}
	entries, _, err := readIndex(dir)
	if err != nil || len(entries) != 3 || entries[2].Seq != 3 || entries[2].Prev != lineHash([]byte(old)) {
		t.Fatalf("%v %+v", err, entries)
	}
}
