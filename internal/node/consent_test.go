package node_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/wssec"
)

// withdrawable is the national record with a switch: once withdrawn, the
// patient's cross-border consent is withdrawn in the national system.
type withdrawable struct {
	national.Source
	withdrawn atomic.Bool
}

func (w *withdrawable) Consent(ctx context.Context, m string) (national.Consent, error) {
	c, err := w.Source.Consent(ctx, m)
	if w.withdrawn.Load() {
		c.CrossBorder = false
	}
	return c, err
}

// TestConsentWithdrawnTakesEffectOnTheNextRequest: luxncp keeps no consent
// cache (maximum staleness zero): the request right after the national
// system records a withdrawal is refused, documents already listed and
// built included.
func TestConsentWithdrawnTakesEffectOnTheNextRequest(t *testing.T) {
	var nat *withdrawable
	g := startOpts(t, quietLog(), 5*time.Second, func(o *node.Options) {
		nat = &withdrawable{Source: o.National}
		o.National = nat
	})
	ph := newPharmacist(t, "be", "physician")
	const patient = "1962031411774" // Paul Thill
	pid := wssec.PatientID{Extension: patient, Root: ehdsi.OIDMatricule}
	trc := ph.trc(patient)
	list := func() ([]ncpclient.ListedDocument, []ncpclient.RegistryError) {
		rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCAQuery, ncpclient.XCAQueryBody(pid, ehdsi.ClassPS), false, ph.hcp, trc)
		_, docs, errs := ncpclient.ParseQueryResponse(rep.Env.Body)
		return docs, errs
	}
	before, _ := list()
	if len(before) == 0 {
		t.Fatal("no Patient Summary before the withdrawal")
	}
	d := before[0]
	retrieve := func() (string, int, []ncpclient.RegistryError) {
		rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
			ncpclient.DocRef{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID}), false, ph.hcp, trc)
		st, got, errs, _ := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
		return st, len(got), errs
	}
	if st, n, errs := retrieve(); !ncpclient.IsSuccess(st) || n != 1 {
		t.Fatalf("retrieve before the withdrawal: %s %d %+v", st, n, errs)
	}
	nat.withdrawn.Store(true)
	docs, errs := list()
	if len(docs) != 0 || len(errs) == 0 || errs[0].Code != string(ehdsi.ErrPSNoConsent) {
		t.Fatalf("the list right after the withdrawal: %d documents, %+v", len(docs), errs)
	}
	if st, n, errs := retrieve(); n != 0 || len(errs) == 0 || errs[0].Code != string(ehdsi.ErrPSNoConsent) {
		t.Fatalf("the retrieve right after the withdrawal: %s %d %+v", st, n, errs)
	}
}
