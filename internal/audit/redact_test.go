package audit

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
)

func TestRedactingHandler(t *testing.T) {
	const (
		matricule = "1990010112385"
		name      = "Camille Exemple"
		birth     = "1990-01-01"
	)
	var buf bytes.Buffer
	log := slog.New(RedactingHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	emit := func(l slog.Level) {
		bound := log.With(Private("patient", matricule), "family", "Exemple")
		bound.Log(context.Background(), l, "lookup for "+matricule+" done",
			Private("who", name),
			"birthDate", birth,
			"err", errors.New("no match for "+matricule),
			"detail", "id="+matricule,
			slog.Group("req", "name", name, "count", 3),
			"ts", "1732406400000123", // not 13 digits: kept
		)
	}
	for _, l := range []slog.Level{slog.LevelInfo, slog.LevelWarn, slog.LevelError} {
		buf.Reset()
		emit(l)
		out := buf.String()
		for _, secret := range []string{matricule, "Camille", "Exemple", birth} {
			if strings.Contains(out, secret) {
				t.Errorf("level %s leaks %q: %s", l, secret, out)
			}
		}
		if !strings.Contains(out, Redacted) || !strings.Contains(out, "1732406400000123") || !strings.Contains(out, `"count":3`) {
			t.Errorf("level %s: over-redacted or nothing redacted: %s", l, out)
		}
	}
	buf.Reset()
	emit(slog.LevelDebug)
	if out := buf.String(); !strings.Contains(out, matricule) || !strings.Contains(out, name) {
		t.Errorf("debug level should keep patient data: %s", out)
	}
	// Private is safe under a handler that knows nothing about it.
	buf.Reset()
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", Private("patient", matricule))
	if strings.Contains(buf.String(), matricule) {
		t.Errorf("Private leaks under a plain handler: %s", buf.String())
	}
}

func TestRedactText(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"1990010112385", Redacted},
		{"a1990010112385b", "a" + Redacted + "b"},
		{"199001011238", "199001011238"},
		{"19900101123855", "19900101123855"},
		{"x 1990010112385 and 1893120105732.", "x " + Redacted + " and " + Redacted + "."},
	}
	for _, tc := range tests {
		if got := RedactText(tc.in); got != tc.want {
			t.Errorf("RedactText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
