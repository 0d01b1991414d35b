package demo

import (
	"bytes"
	"testing"
	"time"
)

func TestShiftTimeline(t *testing.T) {
	in := []byte(`{"birthDate":"1983-03-05","timestamp":"2026-11-16T10:00:00+01:00","validityPeriod":{"start":"2026-11-16","end": "2027-02-16"},"note":"see 2026-11-16"}`)
	got := shiftTimeline(in, 400)
	want := []byte(`{"birthDate":"1983-03-05","timestamp":"2027-12-21T10:00:00+01:00","validityPeriod":{"start":"2027-12-21","end": "2028-03-22"},"note":"see 2026-11-16"}`)
	if !bytes.Equal(got, want) {
		t.Fatalf("shift 400:\n got %s\nwant %s", got, want)
	}
	if got := shiftTimeline(in, 0); !bytes.Equal(got, in) {
		t.Fatalf("shift 0 changed the fixture: %s", got)
	}
}

// The embedded ePrescriptions keep their distance to today whatever the
// date: one valid for 25 more days at Anchor is valid for 25 more days a year
// later, and the expired one stays expired.
func TestEmbeddedTimelineFollowsTheClock(t *testing.T) {
	for _, ahead := range []int{0, 12, 365, 800} {
		now := Anchor.AddDate(0, 0, ahead).Add(15 * time.Hour)
		b, err := New("", WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatal(err)
		}
		short := b.ix.prescByID["ep-0012"]
		if short == nil {
			t.Fatal("fixture ep-0012 missing")
		}
		if left := short.validityEnd.Sub(now); left < 24*24*time.Hour || left > 26*24*time.Hour {
			t.Errorf("ahead %d days: ep-0012 valid for %v more, want about 25 days", ahead, left)
		}
		if exp := b.ix.prescByID["ep-0009"]; !exp.validityEnd.Before(now) {
			t.Errorf("ahead %d days: ep-0009 no longer expired (%v)", ahead, exp.validityEnd)
		}
		if p := b.ix.byIdent[ident("urn:oid:1.3.182.4.4", short.doc.patient.key)]; p == nil || !bytes.Contains(short.doc.content, []byte(`"birthDate":"`+p.res.BirthDate+`"`)) {
			t.Errorf("ahead %d days: the patient's birth date moved in the served bundle", ahead)
		}
	}
}
