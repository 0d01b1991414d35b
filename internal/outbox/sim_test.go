package outbox_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
)

// refNational is the reference model of the national record: one record
// per key (its conditional create), dispensable up to allowed per
// prescription item, with outages, lost answers (the effect happens, the
// answer does not arrive: a crash between the national effect and the
// outbox update) and permanent refusals (409) injected by the schedule.
type refNational struct {
	allowed  map[string]int
	records  map[string]*refRecord
	creates  map[string]int // effects per key (must stay ≤ 1)
	down     bool
	loseNext bool
	refuse   map[string]bool // prescriptions the record refuses (409) from now on
}

type refRecord struct {
	presc  string
	active bool
}

func (n *refNational) active(presc string) []string {
	var out []string
	for k, r := range n.records {
		if r.presc == presc && r.active {
			out = append(out, k)
		}
	}
	return out
}

func (n *refNational) lost() error {
	if n.loseNext {
		n.loseNext = false
		return fmt.Errorf("%w: answer lost", national.ErrUnavailable)
	}
	return nil
}

func (n *refNational) RecordDispense(_ context.Context, d national.Dispense) error {
	if n.down {
		return fmt.Errorf("%w: down", national.ErrUnavailable)
	}
	if n.records[d.Key] != nil {
		return n.lost()
	}
	if n.refuse[d.PrescriptionID] || len(n.active(d.PrescriptionID)) >= n.allowed[d.PrescriptionID] {
		return fmt.Errorf("create: %w", national.ErrConflict)
	}
	n.records[d.Key] = &refRecord{presc: d.PrescriptionID, active: true}
	n.creates[d.Key]++
	return n.lost()
}

func (n *refNational) CancelDispense(_ context.Context, key string) error {
	if n.down {
		return fmt.Errorf("%w: down", national.ErrUnavailable)
	}
	r := n.records[key]
	if r == nil {
		return fmt.Errorf("cancel: %w", national.ErrNotFound)
	}
	r.active = false
	return n.lost()
}

// simulation is one seeded schedule against the file outbox.
type simulation struct {
	t     *testing.T
	seed  uint64
	rng   *rand.Rand
	dir   string
	now   time.Time
	store *outbox.FileStore
	disp  *outbox.Dispatcher
	nat   *refNational
	// The reference model of luxncp's answers.
	acked     map[string]outbox.Message // Success answered for a dispense
	refused   map[string]bool           // keys only ever refused
	discarded map[string]bool           // discard answered Success
	refusedRx map[string]bool           // prescriptions the national record refused (409)
	next      int
}

var simPrescriptions = []string{"rx-1", "rx-2", "rx-3"}

func (s *simulation) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("seed %d (replay: LUXNCP_SIM_SEED=%d go test ./internal/outbox -run TestSimulation): %s", s.seed, s.seed, fmt.Sprintf(format, args...))
}

// open (re)opens the outbox from disk: a crash and restart.
func (s *simulation) open() {
	st, err := outbox.OpenFile(s.dir)
	if err != nil {
		s.fail("reopen: %v", err)
	}
	s.store = st
	s.disp = &outbox.Dispatcher{Queue: st, National: s.nat, Now: func() time.Time { return s.now },
		Jitter: func(n int64) int64 { return s.rng.Int64N(n) }, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

// submit is what the XDR responder does once the clinical checks passed:
// ask the national record, then Dispense. During an outage it refuses.
func (s *simulation) submit(m outbox.Message) (outbox.Verdict, bool) {
	if s.nat.down {
		return 0, false // ERROR_ED_REGISTRY_NOT_AVAILABLE, no effect
	}
	r := outbox.Reservation{Allowed: s.nat.allowed[m.PrescriptionID], National: s.nat.active(m.PrescriptionID)}
	_, v, err := s.store.Dispense(context.Background(), m, r)
	if err != nil {
		s.fail("dispense: %v", err)
	}
	return v, true
}

func (s *simulation) newMessage(presc, matricule string) outbox.Message {
	s.next++
	return outbox.Message{Key: "ed-" + strconv.Itoa(s.next), Kind: outbox.KindDispense, PrescriptionID: presc, Matricule: matricule,
		Country: "FR", ContentHash: "h" + strconv.Itoa(s.next), Accepted: s.now}
}

func (s *simulation) pick() (outbox.Message, bool) {
	if len(s.acked) == 0 {
		return outbox.Message{}, false
	}
	keys := make([]string, 0, len(s.acked))
	for k := range s.acked {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return s.acked[keys[s.rng.IntN(len(keys))]], true
}

func (s *simulation) step() {
	ctx := context.Background()
	switch op := s.rng.IntN(12); op {
	case 0, 1, 2: // a new dispensation
		m := s.newMessage(simPrescriptions[s.rng.IntN(len(simPrescriptions))], "p1")
		v, answered := s.submit(m)
		switch {
		case !answered || v == outbox.Exhausted:
			s.refused[m.Key] = true
		case v == outbox.Accepted:
			s.acked[m.Key] = m
		default:
			s.fail("new id %s: verdict %v", m.Key, v)
		}
	case 3: // the pharmacy's resend
		if m, ok := s.pick(); ok {
			if v, answered := s.submit(m); answered && v != outbox.Duplicate && !(v == outbox.Discarded && s.discarded[m.Key]) {
				s.fail("resend of %s: verdict %v", m.Key, v)
			}
		}
	case 4: // the same id for another patient
		if m, ok := s.pick(); ok {
			m.Matricule, m.ContentHash = "p2", "other"
			if v, answered := s.submit(m); answered && v != outbox.Conflict {
				s.fail("conflicting id %s: verdict %v", m.Key, v)
			}
		}
	case 5: // the owner's discard
		if m, ok := s.pick(); ok {
			got, _ := s.store.Get(ctx, m.Key)
			if got.State == outbox.StateDead {
				break // refused: never applied
			}
			if _, _, err := s.store.Accept(ctx, outbox.Message{Key: outbox.CancelKey(m.Key), Kind: outbox.KindCancel, Target: m.Key,
				PrescriptionID: m.PrescriptionID, Matricule: m.Matricule, Country: m.Country, Accepted: s.now}); err != nil {
				s.fail("discard: %v", err)
			}
			s.discarded[m.Key] = true
		}
	case 6: // crash and restart at this point
		s.open()
	case 7: // national outage starts or ends
		s.nat.down = !s.nat.down
	case 8: // the next national answer is lost after its effect
		s.nat.loseNext = true
	case 9: // the national record refuses a prescription for good (409)
		if s.rng.IntN(8) == 0 {
			rx := simPrescriptions[s.rng.IntN(len(simPrescriptions))]
			s.nat.refuse[rx], s.refusedRx[rx] = true, true
		}
	default: // time passes, the dispatcher runs
		s.now = s.now.Add(time.Duration(s.rng.IntN(600)) * time.Second)
		if _, err := s.disp.RunOnce(ctx); err != nil {
			s.fail("dispatch: %v", err)
		}
	}
	s.checkAlways()
}

// checkAlways: the reservations never let the national record hold more
// than allowed, and no key ever had two effects.
func (s *simulation) checkAlways() {
	for _, rx := range simPrescriptions {
		if n := len(s.nat.active(rx)); n > s.nat.allowed[rx] {
			s.fail("%s: %d active national dispensations, %d allowed", rx, n, s.nat.allowed[rx])
		}
	}
	for k, n := range s.nat.creates {
		if n > 1 {
			s.fail("%s applied %d times", k, n)
		}
	}
}

// checkEventually, once the national record is back and the dispatcher
// has drained: every Success is exactly one national effect (or, where
// the record refused the prescription for good, a dead letter), every
// refusal none, every discard reversed.
func (s *simulation) checkEventually() {
	ctx := context.Background()
	s.nat.down, s.nat.loseNext = false, false
	for i := 0; i < 200; i++ {
		s.now = s.now.Add(time.Hour)
		if _, err := s.disp.RunOnce(ctx); err != nil {
			s.fail("drain: %v", err)
		}
	}
	if p, _ := s.store.List(ctx, outbox.StatePending); len(p) > 0 {
		s.fail("%d messages still pending after the drain: %+v", len(p), p[0])
	}
	for k, m := range s.acked {
		rec := s.nat.records[k]
		got, _ := s.store.Get(ctx, k)
		switch {
		case got.State == outbox.StateDead:
			if !s.refusedRx[m.PrescriptionID] || rec != nil {
				s.fail("%s dead without a permanent refusal (record %v): %s", k, rec, got.LastError)
			}
		case rec == nil:
			s.fail("acknowledged %s never reached the national record (state %s)", k, got.State)
		case rec.active == s.discarded[k]:
			s.fail("%s: national active=%v, discarded=%v", k, rec.active, s.discarded[k])
		}
	}
	for k := range s.refused {
		if s.nat.records[k] != nil {
			s.fail("refused %s has a national effect", k)
		}
	}
	if d, _ := s.store.List(ctx, outbox.StateDead); len(d) > 0 {
		for _, m := range d {
			if m.Kind == outbox.KindDispense && !s.refusedRx[m.PrescriptionID] {
				s.fail("dead letter %s not caused by a permanent refusal: %s", m.Key, m.LastError)
			}
		}
	}
}

// simDir is where a schedule keeps its outbox: tmpfs when there is one
// (thousands of fsync'd schedules), else the test's temporary directory.
func simDir(t *testing.T) string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "luxncp-sim-")
		if err == nil {
			t.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}

// TestSimulation runs seeded random schedules of submit, resend,
// conflicting id, discard, crash and restart, national outage, lost
// national answer, national 409 and dispatcher passes against the file
// outbox and a reference model of the national record, checking the
// invariants after every step and at the end. LUXNCP_SIM_SCHEDULES sets
// how many (default 2000; 200 with -short), LUXNCP_SIM_SEED replays one.
func TestSimulation(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	if v := os.Getenv("LUXNCP_SIM_SCHEDULES"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			t.Fatal(err)
		}
	}
	first := uint64(1)
	if v := os.Getenv("LUXNCP_SIM_SEED"); v != "" {
		seed, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		first, n = seed, 1
	}
	steps := 0
	for seed := first; seed < first+uint64(n); seed++ {
		s := &simulation{t: t, seed: seed, rng: rand.New(rand.NewPCG(seed, 14)), dir: simDir(t),
			now:   time.Date(2026, 11, 24, 8, 0, 0, 0, time.UTC),
			nat:   &refNational{allowed: map[string]int{"rx-1": 1, "rx-2": 2, "rx-3": 3}, records: map[string]*refRecord{}, creates: map[string]int{}, refuse: map[string]bool{}},
			acked: map[string]outbox.Message{}, refused: map[string]bool{}, discarded: map[string]bool{}, refusedRx: map[string]bool{}}
		s.open()
		for i := 0; i < 40; i++ {
			s.step()
			steps++
		}
		s.checkEventually()
	}
	t.Logf("%d schedules, %d steps", n, steps)
}
