package audit

import (
	"context"
	"log/slog"
	"strings"
)

// Redacted replaces patient data in logs above debug level.
const Redacted = "[redacted]"

// Private wraps patient data (matricule, name, birth date, any patient id)
// for a log attribute: slog.Info("…", audit.Private("patient", m)). It
// prints as Redacted everywhere except through a RedactingHandler at debug
// level, so it is safe even under a plain handler.
func Private(key, value string) slog.Attr {
	return slog.Any(key, privateValue{value})
}

type privateValue struct{ v string }

// LogValue is what a handler that does not know privateValue prints.
func (privateValue) LogValue() slog.Value { return slog.StringValue(Redacted) }

// sensitiveKeys are attribute keys whose values RedactingHandler removes
// above debug level whatever their type (compared case-insensitively).
var sensitiveKeys = [...]string{
	"matricule", "patient", "patientid", "patient_id", "patientids",
	"name", "given", "family", "givenname", "familyname", "fullname",
	"birthdate", "birth_date", "dateofbirth", "dob",
}

// RedactingHandler wraps a slog.Handler so that patient data never reaches
// log records above debug level: values made with Private, attributes named
// in sensitiveKeys (matricule, patient, name, given,
// family, birthDate, dob …), and 13-digit runs (matricule-shaped numbers) in the
// message and in string values are replaced by Redacted. At debug level
// records pass unchanged.
func RedactingHandler(inner slog.Handler) slog.Handler {
	return &redacting{debug: inner, safe: inner}
}

type redacting struct {
	debug slog.Handler // with the bound attributes as given
	safe  slog.Handler // with the bound attributes redacted
}

func (h *redacting) Enabled(ctx context.Context, l slog.Level) bool {
	return h.debug.Enabled(ctx, l)
}

func (h *redacting) Handle(ctx context.Context, r slog.Record) error {
	if r.Level <= slog.LevelDebug {
		out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		r.Attrs(func(a slog.Attr) bool { out.AddAttrs(reveal(a)); return true })
		return h.debug.Handle(ctx, out)
	}
	out := slog.NewRecord(r.Time, r.Level, RedactText(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool { out.AddAttrs(redact(a)); return true })
	return h.safe.Handle(ctx, out)
}

func (h *redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	shown := make([]slog.Attr, len(attrs))
	hidden := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		shown[i], hidden[i] = reveal(a), redact(a)
	}
	return &redacting{debug: h.debug.WithAttrs(shown), safe: h.safe.WithAttrs(hidden)}
}

func (h *redacting) WithGroup(name string) slog.Handler {
	return &redacting{debug: h.debug.WithGroup(name), safe: h.safe.WithGroup(name)}
}

func reveal(a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindLogValuer:
		if p, ok := a.Value.Any().(privateValue); ok {
			return slog.String(a.Key, p.v)
		}
	case slog.KindGroup:
		g := a.Value.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = reveal(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	return a
}

func redact(a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindLogValuer {
		if _, ok := a.Value.Any().(privateValue); ok {
			return slog.String(a.Key, Redacted)
		}
	}
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		g := v.Group()
		out := make([]slog.Attr, len(g))
		for i, x := range g {
			out[i] = redact(x)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(out...)}
	}
	if sensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, RedactText(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, RedactText(err.Error()))
		}
		if s, ok := v.Any().(interface{ String() string }); ok {
			return slog.String(a.Key, RedactText(s.String()))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func sensitiveKey(k string) bool {
	for _, s := range sensitiveKeys {
		if strings.EqualFold(k, s) {
			return true
		}
	}
	return false
}

// RedactText replaces every run of exactly 13 digits (a matricule's shape)
// in s with Redacted.
func RedactText(s string) string {
	var b strings.Builder
	run := 0
	changed := false
	flush := func(end int) {
		if run == 13 {
			b.WriteString(Redacted)
			changed = true
		} else {
			b.WriteString(s[end-run : end])
		}
		run = 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' {
			run++
			continue
		}
		if run > 0 {
			flush(i)
		}
		b.WriteByte(c)
	}
	if run > 0 {
		flush(len(s))
	}
	if !changed {
		return s
	}
	return b.String()
}
