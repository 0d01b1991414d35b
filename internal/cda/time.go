package cda

import (
	"strings"
	"time"
)

// TS formats t as an HL7 v3 TS with seconds and time zone
// (YYYYMMDDHHMMSS+ZZZZ), the form eHDSI requires (TS.EPSOS.TZ).
func TS(t time.Time) string { return t.Format("20060102150405-0700") }

// DateTS turns a FHIR date or dateTime ("2024", "2024-03", "2024-03-05",
// "2024-03-05T10:00:00+01:00") into an HL7 TS of the same precision. An
// empty or unparsable value gives "".
func DateTS(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if strings.Contains(s, "T") {
		for _, layout := range []string{time.RFC3339Nano, time.RFC3339, "2006-01-02T15:04:05"} {
			if t, err := time.Parse(layout, s); err == nil {
				if layout == "2006-01-02T15:04:05" {
					return t.Format("20060102150405")
				}
				return TS(t)
			}
		}
		return ""
	}
	for _, l := range [][2]string{{"2006", "2006"}, {"2006-01", "200601"}, {"2006-01-02", "20060102"}} {
		if len(s) == len(l[0]) {
			if t, err := time.Parse(l[0], s); err == nil {
				return t.Format(l[1])
			}
		}
	}
	return ""
}

// ParseTS reads an HL7 TS (any precision from year to seconds, optional
// fraction and time zone). Without a zone, the time is taken as UTC.
func ParseTS(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	zone := ""
	if i := strings.IndexAny(s, "+-"); i > 0 {
		s, zone = s[:i], s[i:]
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	layouts := map[int]string{4: "2006", 6: "200601", 8: "20060102", 10: "2006010215", 12: "200601021504", 14: "20060102150405"}
	layout, ok := layouts[len(s)]
	if !ok {
		return time.Time{}, false
	}
	if zone != "" {
		if len(zone) != 5 {
			return time.Time{}, false
		}
		t, err := time.Parse(layout+"-0700", s+zone)
		return t, err == nil
	}
	t, err := time.Parse(layout, s)
	return t, err == nil
}
