package node_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/evidence"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/soap"
	"github.com/luxncp/luxncp/internal/testkit"
	"github.com/luxncp/luxncp/internal/wssec"
)

func luSeal(t *testing.T) *wssec.Signer {
	c := testkit.Credential(t, "lu", pki.KindSeal)
	return &wssec.Signer{Key: c.Signer, Cert: c.Cert}
}

// digestOf is what the partner can compute from the message it sent or
// received.
func digestOf(t *testing.T, env *soap.Envelope) []byte {
	t.Helper()
	d, err := evidence.MessageDigest(env.Body, env.Content)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// listEP has a French pharmacy list the ePrescriptions of patient p08.
func listEP(t *testing.T, g *gateway) (*pharmacist, wssec.PatientID, *etree.Element, []ncpclient.ListedDocument) {
	ph, pid, trc, _, docs, _ := listEPOf(t, g, "1971011007114")
	return ph, pid, trc, docs
}

// listEPOf has a French pharmacy list the ePrescriptions of a patient.
func listEPOf(t *testing.T, g *gateway, patient string) (ph *pharmacist, pid wssec.PatientID, trc *etree.Element, status string, docs []ncpclient.ListedDocument, errs []ncpclient.RegistryError) {
	ph = newPharmacist(t, "fr", "pharmacist")
	pid = wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	trc = ph.trc(patient)
	rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassEP), false, ph.hcp, trc)
	status, docs, errs = ncpclient.ParseQueryResponse(rep.Env.Body)
	return ph, pid, trc, status, docs, errs
}

// TestEvidenceOverTheWire: a French pharmacy retrieves an ePrescription
// (released), asks for one that does not exist (rejected), dispenses and
// discards; each transaction leaves the NRR of the request and the NRO of
// the response, signed by Luxembourg's seal, whose message digests are
// those the partner computes from what it sent and received.
func TestEvidenceOverTheWire(t *testing.T) {
	g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) { o.EvidenceSeal = luSeal(t) })
	ph, pid, trc, docs := listEP(t, g)
	var l3 *ncpclient.ListedDocument
	for i := range docs {
		if strings.Contains(docs[i].UniqueID, "ep-0003") && !docs[i].L1 {
			l3 = &docs[i]
		}
	}
	if l3 == nil {
		t.Fatalf("ep-0003 not listed: %+v", docs)
	}
	type exchange struct {
		event, code   string
		request, resp []byte // digests the partner computes
		respID        string
	}
	var want []exchange
	// call runs one transaction; the request's digest is recomputed from
	// the plain SOAP request as sent (MTOM requests: not compared).
	call := func(event, code string, mtom bool, build func() *ncpclient.Reply) {
		rep := build()
		var reqDigest []byte
		if !mtom {
			sent, err := soap.ParseDocument(rep.RequestBytes, soap.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			reqDigest = digestOf(t, &soap.Envelope{Body: sent.Root().FindElement("./Body/*")})
		}
		want = append(want, exchange{event, code, reqDigest, digestOf(t, rep.Env), rep.Env.MessageID})
	}
	retrieve := func(ref ncpclient.DocRef, mtom bool) func() *ncpclient.Reply {
		return func() *ncpclient.Reply {
			return ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(ref), mtom, ph.hcp, trc)
		}
	}
	ref := ncpclient.DocRef{HomeCommunityID: l3.HomeCommunityID, RepositoryUniqueID: l3.RepositoryUniqueID, DocumentUniqueID: l3.UniqueID}
	call("EHDSI-32", "Acceptance", true, retrieve(ref, true))
	missing := ref
	missing.DocumentUniqueID += "-missing"
	call("", "Rejection", false, retrieve(missing, false))

	ed := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: "2.16.17.710.790.1000.990.1.16", Extension: "ed-fr-0101"},
		Patient:    pid, PatientGiven: "Thomas", PatientName: "Lefebvre",
		Prescription: wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "ep-0003"},
		Item:         wssec.PatientID{Root: "1.3.182.2.12.10000734.6.1.100", Extension: "rx-0003"},
		ProductCode:  "3400930000001", ProductName: "Oméprazole 20 mg", ATC: "A02BC01", Quantity: 1,
		Pharmacist: "Claire Martin", Pharmacy: "Pharmacie du Centre", Country: "FR", Time: clock.Now(),
	})
	sub := ncpclient.XDRSubmission{Patient: pid, DocumentUID: "2.16.17.710.790.1000.990.1.16^ed-fr-0101", SubmissionSetID: "2.16.17.710.790.1000.990.1.99.1", SourceID: "2.16.17.710.790.1000.990.1", Document: ed}
	xdr := func() *ncpclient.Reply {
		rep := ph.call(g.url+ehdsi.PathXDR, ehdsi.ActionXDR, ncpclient.XDRBody(sub), false, ph.hcp, trc)
		if st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body); !ncpclient.IsSuccess(st) {
			t.Fatalf("XDR: %s %+v", st, errs)
		}
		return rep
	}
	call("EHDSI-41", "Acceptance", false, xdr)
	sub.Discard = true
	call("EHDSI-42", "Acceptance", false, xdr)

	dir := filepath.Join(g.state, "evidence")
	entries, err := evidence.ReadIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2*len(want) {
		t.Fatalf("%d evidences for %d transactions, want an NRR and an NRO each: %+v", len(entries), len(want), entries)
	}
	v := evidence.Verifier{Trust: testkit.Trust(t), Country: "LU"}
	for i, w := range want {
		for j, kind := range []string{"nrr", "nro"} {
			e := entries[2*i+j]
			ev, err := evidence.VerifyFile(filepath.Join(dir, filepath.FromSlash(e.File)), v)
			if err != nil {
				t.Fatalf("%s %s: %v", w.event, kind, err)
			}
			if e.Kind != kind || string(ev.Code) != w.code || (w.event != "" && ev.Subject != w.event) || ev.Kind.Short() != kind {
				t.Fatalf("transaction %d %s: %+v / %s %s %s", i, kind, e, ev.Kind, ev.Code, ev.Subject)
			}
			digest := w.resp
			if kind == "nrr" {
				digest = w.request
			} else if ev.MessageID != w.respID {
				t.Fatalf("NRO of %s names message %s, the response was %s", w.event, ev.MessageID, w.respID)
			}
			if digest != nil && !bytes.Equal(ev.Digest, digest) {
				t.Fatalf("%s %s: digest %x, the partner computes %x", w.event, kind, ev.Digest, digest)
			}
			if kind == "nro" && ev.Recipient.Cert == nil || kind == "nrr" && (ev.Sender.Cert == nil || ev.Sender.Names[0] != "FR") {
				t.Fatalf("%s %s: parties %+v → %+v", w.event, kind, ev.Sender, ev.Recipient)
			}
		}
	}
	// The audit chain names every evidence, before it was written.
	if rep, err := evidence.CheckDir(dir, filepath.Join(g.state, "audit"), v); err != nil || !rep.OK() || rep.Named != len(entries) {
		t.Fatalf("evidence directory: %v %+v", err, rep)
	}
}

type failingStore struct{}

func (failingStore) Put(context.Context, evidence.Entry, []byte) error {
	return errors.New("disk full")
}

// TestNoReleaseWithoutEvidence: when the evidence cannot be stored, the
// document is not released.
func TestNoReleaseWithoutEvidence(t *testing.T) {
	g := startOpts(t, slog.New(slog.NewTextHandler(io.Discard, nil)), 5*time.Second, func(o *node.Options) {
		o.EvidenceSeal, o.Evidence = luSeal(t), failingStore{}
	})
	ph, _, trc, docs := listEP(t, g)
	if len(docs) == 0 {
		t.Fatal("nothing listed")
	}
	r, err := ph.client.Call(context.Background(), ncpclient.Request{URL: g.url + ehdsi.PathXCA, Action: ehdsi.ActionXCARetrieve,
		Body:       ncpclient.XCARetrieveBody(ncpclient.DocRef{RepositoryUniqueID: docs[0].RepositoryUniqueID, DocumentUniqueID: docs[0].UniqueID}),
		Assertions: []*etree.Element{ph.hcp, trc}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Fault == nil || bytes.Contains(r.Raw, []byte("ClinicalDocument")) {
		t.Fatalf("document released without evidence: status %d", r.Status)
	}
	if _, err := os.Stat(filepath.Join(g.state, "evidence")); !os.IsNotExist(err) {
		t.Fatalf("evidence directory written by a failing store: %v", err)
	}
}
