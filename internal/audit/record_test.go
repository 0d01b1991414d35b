package audit

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type memSink struct {
	recs []Record
	err  error
}

func (m *memSink) Write(_ context.Context, r Record) error {
	if m.err != nil {
		return m.err
	}
	m.recs = append(m.recs, r)
	return nil
}

func TestRecorderDefaults(t *testing.T) {
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	tests := []struct {
		name  string
		event Event
		check func(t *testing.T, e Event)
	}{
		{"side A fills the provider", Event{Type: EventPSList, Consumer: testFR}, func(t *testing.T, e Event) {
			if e.Provider != testLU || e.Consumer != testFR {
				t.Fatalf("provider %+v consumer %+v", e.Provider, e.Consumer)
			}
		}},
		{"side B fills the consumer", Event{Type: EventPSList, Side: SideB, Provider: testFR}, func(t *testing.T, e Event) {
			if e.Consumer != testLU || e.Provider != testFR {
				t.Fatalf("provider %+v consumer %+v", e.Provider, e.Consumer)
			}
		}},
		{"time and source", Event{Type: EventPSList}, func(t *testing.T, e Event) {
			if !e.Time.Equal(now) || e.Time.Location() != time.UTC || e.AuditSourceID != DefaultAuditSourceID {
				t.Fatalf("time %v source %q", e.Time, e.AuditSourceID)
			}
		}},
		{"given values kept", Event{Type: EventPSList, Time: testTime, AuditSourceID: "LU-2", Provider: testFR}, func(t *testing.T, e Event) {
			if !e.Time.Equal(testTime) || e.AuditSourceID != "LU-2" || e.Provider != testFR {
				t.Fatalf("%+v", e)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &memSink{}
			r := &Recorder{Sink: m, Self: testLU, Now: func() time.Time { return now }}
			if err := r.Record(context.Background(), tc.event); err != nil {
				t.Fatal(err)
			}
			if len(m.recs) != 1 || !strings.HasPrefix(m.recs[0].ID, "urn:uuid:") || !strings.Contains(m.recs[0].Message, "<AuditMessage>") {
				t.Fatalf("records %+v", m.recs)
			}
			tc.check(t, m.recs[0].Event)
		})
	}
}

func TestRecorderErrors(t *testing.T) {
	boom := errors.New("disk full")
	r := &Recorder{Sink: &memSink{err: boom}, Self: testLU}
	if err := r.Record(context.Background(), Event{Type: EventPSList}); !errors.Is(err, boom) {
		t.Fatalf("sink error not returned: %v", err)
	}
	if err := r.Record(context.Background(), Event{Type: "nope"}); !errors.Is(err, ErrInvalidEvent) {
		t.Fatalf("invalid event: %v", err)
	}
}

func TestTee(t *testing.T) {
	a, b := &memSink{}, &memSink{err: errors.New("down")}
	rec := testRecord(t, 1)
	if err := Tee(a, b).Write(context.Background(), rec); err == nil {
		t.Fatal("Tee hid a failing sink")
	}
	if len(a.recs) != 1 {
		t.Fatal("Tee skipped the healthy sink")
	}
	if err := Tee(a).Write(context.Background(), rec); err != nil || len(a.recs) != 2 {
		t.Fatalf("err %v, %d records", err, len(a.recs))
	}
}

func TestNewUUID(t *testing.T) {
	a, b := NewUUID(), NewUUID()
	if a == b || len(a) != len("urn:uuid:")+36 || a[len("urn:uuid:")+14] != '4' {
		t.Fatalf("%s %s", a, b)
	}
}
