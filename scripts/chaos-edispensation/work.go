package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

// item is a prescription item of the demo national record the pharmacies
// dispense (active, consent given, 1 to 6 dispensations allowed).
type item struct{ patient, presc, rx, atc string }

var pool = []item{
	{"1971011007114", "ep-0003", "rx-0003", "A02BC01"},
	{"1971011007114", "ep-0004", "rx-0004", "R03AC02"},
	{"1985093013982", "ep-0007", "rx-0007", "C09DA01"},
	{"2003051325617", "ep-0013", "rx-0013", "R06AE07"},
	{"1941090302146", "ep-0016", "rx-0016", "B01AA07"},
	{"1962031411774", "ep-0024", "rx-0024", "C09BB04"},
	{"1972040828579", "ep-0014", "rx-0014", "R03AK06"},
	{"1972040828579", "ep-0015", "rx-0015", "S01EE01"},
	{"1941090302146", "ep-0017", "rx-0017", "A10BA02"},
	{"1966080908399", "ep-0019", "rx-0019", "A10AE04"},
	{"1994022727854", "ep-0025", "rx-0025", "C10BA06"},
	{"1944093024127", "ep-0027", "rx-0027", "R03AK07"},
}

// edRoot is the root of the eDispensation ids; the extension names the run.
const edRoot = "2.16.17.710.790.1000.990.1.16"

// prRoot is the root of Luxembourg prescription ids in eDispensations.
const prRoot = ehdsi.HomeCommunityLU + ".100"

// countries of the pharmacies, round robin.
var countries = []string{"FR", "BE", "DE"}

// outcome of an operation after its retries.
type outcome struct {
	success bool
	code    string // the refusal's eHDSI code
	gaveUp  bool   // no definitive answer before the deadline
}

// record is one eDispensation of the run and what its owner was told.
type record struct {
	id        string
	country   string
	it        item
	at        time.Time
	submit    outcome
	discarded bool // the owner's discard got Success
	// discardUnknown: the owner's discard got no definitive answer.
	discardUnknown bool
}

// pharmacy is one client: a country's dev TLS identity and seal.
type pharmacy struct {
	country string
	client  ncpclient.Client
	id      *ncpclient.Identity
	hcp     *etree.Element
}

type workload struct {
	o       options
	url     string
	rep     *report
	ph      map[string]*pharmacy
	ops     atomic.Int64
	retries atomic.Int64

	mu      sync.Mutex
	records []*record
}

func newWorkload(o options, pkiDir, gwURL string, rep *report) (*workload, error) {
	pem, err := os.ReadFile(filepath.Join(pkiDir, "ca.pem"))
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	w := &workload{o: o, url: gwURL + ehdsi.PathXDR, rep: rep, ph: map[string]*pharmacy{}}
	for _, cc := range countries {
		tlsCred, err := pki.LoadCredential(pkiDir, strings.ToLower(cc), pki.KindTLS)
		if err != nil {
			return nil, err
		}
		seal, err := pki.LoadCredential(pkiDir, strings.ToLower(cc), pki.KindSeal)
		if err != nil {
			return nil, err
		}
		p := &pharmacy{country: cc, id: &ncpclient.Identity{Country: cc, Seal: wssec.Signer{Key: seal.Signer, Cert: seal.Cert}}}
		p.client.HTTP = ncpclient.NewMTLSClient(tlsCred.TLSCertificate(), roots, 10*time.Second)
		if p.hcp, err = p.id.HCP(ncpclient.DemoProfessional(cc, "pharmacist"), time.Hour); err != nil {
			return nil, err
		}
		w.ph[cc] = p
	}
	return w, nil
}

// transient codes: the national record or the outbox was not available;
// the pharmacy tries again.
var transient = map[string]bool{string(ehdsi.ErrEDRegistryNotAvailable): true, string(ehdsi.ErrEDNotStored): true}

// send submits or discards r from pharmacy p until a definitive answer
// (Success, or a refusal other than "not available"), or ctx ends.
func (w *workload) send(ctx context.Context, p *pharmacy, r *record, discard bool) outcome {
	pid := wssec.PatientID{Extension: r.it.patient, Root: ehdsi.OIDMatricule}
	owner := w.ph[r.country]
	pro := ncpclient.DemoProfessional(owner.country, "pharmacist")
	doc := ncpclient.EDocument(ncpclient.Dispensed{
		DocumentID: wssec.PatientID{Root: edRoot, Extension: r.id}, Patient: pid, PatientName: "Patient",
		Prescription: wssec.PatientID{Root: prRoot, Extension: r.it.presc},
		Item:         wssec.PatientID{Root: prRoot, Extension: r.it.rx},
		ProductCode:  "0000000", ProductName: "Dispensed as prescribed", ATC: r.it.atc, Quantity: 1,
		Pharmacist: pro.Name, Pharmacy: pro.Organisation, Country: owner.country, Time: r.at,
	})
	backoff := 50 * time.Millisecond
	faults := 0
	for {
		trc, err := p.id.TRC(p.hcp, pid, "TREATMENT", time.Hour)
		if err != nil {
			return outcome{gaveUp: true, code: err.Error()}
		}
		rep, err := p.client.Call(ctx, ncpclient.Request{URL: w.url, Action: ehdsi.ActionXDR, Assertions: []*etree.Element{p.hcp, trc},
			Body: ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: discard, Patient: pid, DocumentUID: edRoot + "^" + r.id,
				SubmissionSetID: edRoot + ".1", SourceID: edRoot, Document: doc})})
		switch {
		case err != nil, rep.Env == nil: // killed mid-request, restarting, 503
		case rep.Fault != nil:
			// A SOAP fault is an answer; a few in a row while the
			// gateway restarts are not.
			if faults++; faults >= 5 {
				return outcome{code: "fault " + string(rep.Fault.Code) + " " + rep.Fault.Public}
			}
		default:
			st, errs := ncpclient.ParseRegistryResponse(rep.Env.Body)
			if ncpclient.IsSuccess(st) {
				return outcome{success: true}
			}
			code := st
			if len(errs) > 0 {
				code = errs[0].Code
			}
			if !transient[code] {
				return outcome{code: code}
			}
		}
		w.retries.Add(1)
		select {
		case <-ctx.Done():
			return outcome{gaveUp: true}
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// run drives o.Clients pharmacies until o.Ops operations are done or ctx
// ends; an operation started before the end gets 30 s more to finish.
func (w *workload) run(ctx context.Context) {
	var wg sync.WaitGroup
	for c := range w.o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.client(ctx, c)
		}()
	}
	wg.Wait()
	w.rep.Retries = w.retries.Load()
}

// opCtx is the context of one operation: it outlives the run's end by 30 s,
// so that an operation in flight gets a definitive answer.
func opCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second+untilDeadline(ctx))
}

func untilDeadline(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return d.Sub(clock.Now())
	}
	return 0
}

func (w *workload) take() bool { return w.ops.Add(1) <= int64(w.o.Ops) }

func (w *workload) client(ctx context.Context, c int) {
	rng := rand.New(rand.NewPCG(uint64(w.o.Seed), uint64(c)+2))
	cc := countries[c%len(countries)]
	p := w.ph[cc]
	held := map[string][]*record{} // this pharmacy's dispensations not discarded, per item
	for n := 0; ctx.Err() == nil && w.take(); n++ {
		r := &record{id: fmt.Sprintf("chaos-%d-%d-%d", w.o.Seed, c, n), country: cc, it: pool[rng.IntN(len(pool))], at: clock.Now()}
		octx, cancel := opCtx(ctx)
		r.submit = w.send(octx, p, r, false)
		w.mu.Lock()
		w.records = append(w.records, r)
		w.rep.Submits++
		switch {
		case r.submit.success:
			w.rep.Accepted++
		case r.submit.gaveUp:
			w.rep.GaveUp++
		default:
			w.rep.Refused[r.submit.code]++
		}
		w.mu.Unlock()
		if r.submit.success {
			held[r.it.rx] = append(held[r.it.rx], r)
		}
		if r.submit.success && rng.IntN(10) < 3 && w.take() {
			// The pharmacy's software resends: Success, no second effect.
			if out := w.send(octx, p, r, false); !out.success && !out.gaveUp {
				w.violation("resend of accepted %s answered %s", r.id, out.code)
			}
			w.count(&w.rep.Resends)
		}
		if rng.IntN(10) < 2 && w.take() {
			// Another country's pharmacy discards one of this run's
			// dispensations: refused, no effect.
			if t := w.foreign(rng, cc); t != nil {
				if out := w.send(octx, p, t, true); out.success {
					w.violation("%s discarded %s of %s: Success", cc, t.id, t.country)
				}
				w.count(&w.rep.ForeignDiscard)
			}
		}
		// The pharmacy discards: at random, and its oldest dispensation of
		// an item it was told is exhausted (so the run keeps dispensing).
		var victim *record
		switch {
		case r.submit.success && rng.IntN(10) < 3:
			victim = r
		case r.submit.code == string(ehdsi.ErrEPAlreadyDispensed) && len(held[r.it.rx]) > 0:
			victim = held[r.it.rx][0]
		}
		if victim != nil && w.take() {
			w.discard(octx, p, victim, rng)
			held[victim.it.rx] = slices.DeleteFunc(held[victim.it.rx], func(x *record) bool { return x == victim })
		}
		cancel()
	}
}

// discard is the owner's discard of r (Success expected), sometimes sent
// twice.
func (w *workload) discard(ctx context.Context, p *pharmacy, r *record, rng *rand.Rand) {
	out := w.send(ctx, p, r, true)
	if !out.success && !out.gaveUp {
		w.violation("the owner's discard of %s answered %s", r.id, out.code)
	}
	w.mu.Lock()
	r.discarded, r.discardUnknown = out.success, out.gaveUp
	w.rep.Discards++
	w.mu.Unlock()
	if out.success && rng.IntN(10) < 3 && w.take() {
		if again := w.send(ctx, p, r, true); !again.success && !again.gaveUp {
			w.violation("the owner's second discard of %s answered %s", r.id, again.code)
		}
		w.count(&w.rep.Discards)
	}
}

func (w *workload) count(n *int) {
	w.mu.Lock()
	*n++
	w.mu.Unlock()
}

func (w *workload) violation(format string, a ...any) {
	w.mu.Lock()
	w.rep.Violations = append(w.rep.Violations, fmt.Sprintf(format, a...))
	w.mu.Unlock()
}

// foreign is an accepted dispensation of another country (nil: none yet).
func (w *workload) foreign(rng *rand.Rand, cc string) *record {
	w.mu.Lock()
	defer w.mu.Unlock()
	var cands []*record
	for _, r := range w.records {
		if r.country != cc && r.submit.success {
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	return cands[rng.IntN(len(cands))]
}

// allowances reads how many dispensations each pool item allows in all
// (1 + numberOfRepeatsAllowed), from the national record.
func allowances(c *http.Client, natURL string) (map[string]int, error) {
	out := map[string]int{}
	for _, it := range pool {
		var b struct {
			Entry []struct {
				Resource struct {
					ResourceType    string `json:"resourceType"`
					DispenseRequest struct {
						Repeats int `json:"numberOfRepeatsAllowed"`
					} `json:"dispenseRequest"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := getJSON(c, natURL+"/Bundle/"+it.presc, &b); err != nil {
			return nil, err
		}
		for _, e := range b.Entry {
			if e.Resource.ResourceType == "MedicationRequest" {
				out[it.rx] = 1 + e.Resource.DispenseRequest.Repeats
			}
		}
		if out[it.rx] == 0 {
			return nil, fmt.Errorf("national record: %s has no MedicationRequest", it.presc)
		}
	}
	return out, nil
}

func getJSON(c *http.Client, url string, v any) error {
	res, err := c.Get(url)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// check compares what the pharmacies were told with the national record.
func check(rep *report, w *workload, c *http.Client, natURL string, allowed map[string]int) {
	bad := func(format string, a ...any) { rep.Violations = append(rep.Violations, fmt.Sprintf(format, a...)) }
	type effect struct{ status string }
	effects := map[string][]effect{} // eDispensation id → national dispensations
	for _, it := range pool {
		var b struct {
			Entry []struct {
				Resource struct {
					Status     string `json:"status"`
					Identifier []struct {
						System string `json:"system"`
						Value  string `json:"value"`
					} `json:"identifier"`
				} `json:"resource"`
			} `json:"entry"`
		}
		if err := getJSON(c, natURL+"/MedicationDispense?prescription="+it.rx, &b); err != nil {
			bad("national record: %v", err)
			continue
		}
		active := 0
		for _, e := range b.Entry {
			rep.Records++
			if e.Resource.Status != "entered-in-error" {
				active++
			}
			for _, id := range e.Resource.Identifier {
				if id.System == "urn:oid:"+edRoot {
					effects[id.Value] = append(effects[id.Value], effect{e.Resource.Status})
				}
			}
		}
		rep.Checks++
		if active > allowed[it.rx] {
			bad("%s: %d active national dispensations, %d allowed", it.rx, active, allowed[it.rx])
		}
	}
	known := map[string]bool{}
	for _, r := range w.records {
		known[r.id] = true
		got := effects[r.id]
		rep.Checks++
		switch {
		case len(got) > 1:
			bad("%s: %d national dispensations (applied twice)", r.id, len(got))
		case r.submit.success && len(got) == 0:
			bad("%s: Success but no national dispensation (lost)", r.id)
		case !r.submit.success && !r.submit.gaveUp && len(got) > 0:
			bad("%s: refused (%s) but recorded nationally", r.id, r.submit.code)
		case r.discarded && got[0].status != "entered-in-error":
			bad("%s: discard answered Success but the national dispensation is %s", r.id, got[0].status)
		case !r.discarded && !r.discardUnknown && len(got) == 1 && got[0].status == "entered-in-error":
			bad("%s: reversed nationally without a successful discard by its owner", r.id)
		}
	}
	prefix := fmt.Sprintf("chaos-%d-", w.o.Seed)
	for id := range effects {
		rep.Checks++
		if strings.HasPrefix(id, prefix) && !known[id] {
			bad("%s: a national dispensation nobody submitted", id)
		}
	}
}
