package demo

import (
	"regexp"
	"time"
)

// Anchor is the day the ePrescription fixtures under data/eprescriptions are
// written as of: "issued three weeks ago", "expires in a month" are dates
// relative to it. The backend moves every ePrescription's timeline by the
// whole days between Anchor and its clock's today, so a prescription valid for
// 25 more days in the fixtures is valid for 25 more days whenever the demo
// runs — today, in CI next year, or with LUXNCP_CLOCK_OFFSET=8760h — and an
// expired one stays expired. Birth dates are never moved (the matricule
// encodes them). Patient Summaries and original clinical documents are
// history and are served as written.
//
// With a clock at Anchor (WithClock) the fixtures are served byte for byte,
// which is what golden-file tests use.
var Anchor = time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)

// shiftDays is the number of whole days from anchor to now's UTC date; zero
// when anchor is zero.
func shiftDays(anchor, now time.Time) int {
	if anchor.IsZero() {
		return 0
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.UTC().Date()
		return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	}
	return int(day(now).Sub(day(anchor)).Hours() / 24)
}

// datedMember matches a JSON member whose string value starts with a FHIR
// date (YYYY-MM-DD, possibly followed by a time and zone).
var datedMember = regexp.MustCompile(`"([A-Za-z]+)"(\s*:\s*)"(\d{4}-\d{2}-\d{2})`)

// unmoved are the members that keep their date whatever the shift.
var unmoved = map[string]bool{"birthDate": true, "deceasedDateTime": true}

// shiftTimeline moves every date in a fixture's JSON by days, except the
// members in unmoved. The time of day and zone that follow a date are kept.
func shiftTimeline(raw []byte, days int) []byte {
	if days == 0 {
		return raw
	}
	return datedMember.ReplaceAllFunc(raw, func(m []byte) []byte {
		g := datedMember.FindSubmatch(m)
		if unmoved[string(g[1])] {
			return m
		}
		d, err := time.Parse(time.DateOnly, string(g[3]))
		if err != nil {
			return m
		}
		out := append([]byte(nil), m[:len(m)-len(g[3])]...)
		return append(out, d.AddDate(0, 0, days).Format(time.DateOnly)...)
	})
}
