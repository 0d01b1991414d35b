package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/outbox"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// backend starts the demo national backend (in memory) and a client for it.
func backend(t *testing.T) (*national.Client, string) {
	t.Helper()
	b, err := demo.New("")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	c, err := national.NewClient(srv.URL+"/fhir", national.WithTimeout(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c, srv.URL + "/fhir"
}

// effects counts the live MedicationDispense resources of a prescription.
func effects(t *testing.T, base, rx string) int {
	t.Helper()
	res, err := http.Get(base + "/MedicationDispense?prescription=" + rx)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b struct {
		Entry []struct {
			Resource struct {
				Status string `json:"status"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.NewDecoder(res.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range b.Entry {
		if e.Resource.Status != "entered-in-error" {
			n++
		}
	}
	return n
}

func msg(key, rx, matricule string) outbox.Message {
	return outbox.Message{Key: key, Kind: outbox.KindDispense, PrescriptionID: rx, Matricule: matricule, Accepted: clock.Now()}
}

// TestCrashBetweenAcceptAndForward: a message accepted and then "lost" by a
// crashed process is delivered exactly once by the next one.
func TestCrashBetweenAcceptAndForward(t *testing.T) {
	nat, base := backend(t)
	dir := t.TempDir()
	s1, err := outbox.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ins, err := s1.Accept(context.Background(), msg("2.25.1^ed-1", "rx-0003", "1971011007114")); err != nil || !ins {
		t.Fatalf("accept = %v, %v", ins, err)
	}
	// Crash: s1 is abandoned without delivery or close. A new process opens
	// the same directory.
	s2, err := outbox.OpenFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := &outbox.Dispatcher{Queue: s2, National: nat, Log: quiet}
	res, err := d.RunOnce(context.Background())
	if err != nil || res.Delivered != 1 {
		t.Fatalf("RunOnce = %+v, %v", res, err)
	}
	if n := effects(t, base, "rx-0003"); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
	// Nothing left to do; a second pass has no effect.
	if res, _ := d.RunOnce(context.Background()); res.Delivered != 0 {
		t.Errorf("second pass delivered %d", res.Delivered)
	}
	if n := effects(t, base, "rx-0003"); n != 1 {
		t.Fatalf("effects after second pass = %d, want 1", n)
	}
}

// crashAfterApply applies at the national side, then "crashes" before the
// outbox learns it was delivered.
type crashAfterApply struct {
	national.Dispensations
	crashes int
}

func (c *crashAfterApply) RecordDispense(ctx context.Context, d national.Dispense) error {
	err := c.Dispensations.RecordDispense(ctx, d)
	if c.crashes > 0 && err == nil {
		c.crashes--
		return national.ErrUnavailable
	}
	return err
}

// TestCrashAfterNationalApply: the national side applied the dispense but
// the acknowledgement was lost; redelivery with the same key has no second
// effect.
func TestCrashAfterNationalApply(t *testing.T) {
	nat, base := backend(t)
	s, _ := outbox.OpenFile(t.TempDir())
	s.Accept(context.Background(), msg("2.25.2^ed-2", "rx-0004", "1971011007114"))
	now := clock.Now()
	d := &outbox.Dispatcher{Queue: s, National: &crashAfterApply{Dispensations: nat, crashes: 1}, Log: quiet,
		Now: func() time.Time { return now }, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	if res, _ := d.RunOnce(context.Background()); res.Retried != 1 {
		t.Fatalf("first pass %+v", res)
	}
	now = now.Add(time.Second)
	if res, _ := d.RunOnce(context.Background()); res.Delivered != 1 {
		t.Fatalf("second pass %+v", res)
	}
	if n := effects(t, base, "rx-0004"); n != 1 {
		t.Fatalf("effects = %d, want 1", n)
	}
}

// TestConcurrentDuplicateAccept: two clients submit the same eDispensation
// at once; one message, one effect.
func TestConcurrentDuplicateAccept(t *testing.T) {
	nat, base := backend(t)
	s, _ := outbox.OpenFile(t.TempDir())
	var wg sync.WaitGroup
	inserted := make(chan bool, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ins, err := s.Accept(context.Background(), msg("2.25.3^ed-3", "rx-0007", "1985093013982"))
			if err != nil {
				t.Error(err)
			}
			inserted <- ins
		}()
	}
	wg.Wait()
	close(inserted)
	n := 0
	for ins := range inserted {
		if ins {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d inserts, want 1", n)
	}
	d := &outbox.Dispatcher{Queue: s, National: nat, Log: quiet}
	d.RunOnce(context.Background())
	if e := effects(t, base, "rx-0007"); e != 1 {
		t.Fatalf("effects = %d, want 1", e)
	}
}

// TestPoisonAndReplay: a dispense the national side refuses goes to the
// dead letters; replay puts it back.
func TestPoisonAndReplay(t *testing.T) {
	nat, _ := backend(t)
	s, _ := outbox.OpenFile(t.TempDir())
	s.Accept(context.Background(), msg("2.25.4^ed-4", "rx-0010", "1987031419966")) // cancelled prescription
	d := &outbox.Dispatcher{Queue: s, National: nat, Log: quiet}
	if res, _ := d.RunOnce(context.Background()); res.Dead != 1 {
		t.Fatalf("pass %+v", res)
	}
	dead, _ := s.List(context.Background(), outbox.StateDead)
	if len(dead) != 1 || dead[0].LastError == "" {
		t.Fatalf("dead = %+v", dead)
	}
	if err := s.Replay(context.Background(), "2.25.4^ed-4"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Get(context.Background(), "2.25.4^ed-4"); m.State != outbox.StatePending {
		t.Errorf("state after replay %s", m.State)
	}
	if err := s.Replay(context.Background(), "nope"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("replay unknown: %v", err)
	}
}

// TestCancelWaitsForItsDispense and reverses exactly once.
func TestCancelAfterDispense(t *testing.T) {
	nat, base := backend(t)
	s, _ := outbox.OpenFile(t.TempDir())
	ctx := context.Background()
	now := clock.Now()
	s.Accept(ctx, outbox.Message{Key: "cancel:2.25.5^ed-5", Kind: outbox.KindCancel, Target: "2.25.5^ed-5", PrescriptionID: "rx-0011", Accepted: now.Add(-time.Second)})
	m := msg("2.25.5^ed-5", "rx-0011", "1987031419966")
	m.Accepted = now
	s.Accept(ctx, m)
	fake := now
	d := &outbox.Dispatcher{Queue: s, National: nat, Log: quiet, Now: func() time.Time { return fake }, MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	d.RunOnce(ctx) // the cancel (accepted first) waits; the dispense goes through
	if e := effects(t, base, "rx-0011"); e != 1 {
		t.Fatalf("effects after dispense = %d", e)
	}
	fake = fake.Add(time.Second)
	d.RunOnce(ctx)
	if e := effects(t, base, "rx-0011"); e != 0 {
		t.Fatalf("effects after cancel = %d, want 0", e)
	}
	if m, _ := s.Get(ctx, "cancel:2.25.5^ed-5"); m.State != outbox.StateDelivered {
		t.Errorf("cancel state %s", m.State)
	}
}
