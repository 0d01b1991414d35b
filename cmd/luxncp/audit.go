package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/clock"
)

const auditUsage = `usage:
  luxncp audit verify [--state-dir ./var] [--json]
        check the hash-chained audit trail; names every edited, deleted,
        inserted or reordered record; exit status 1 when it does not verify
  luxncp audit quarantine --reason "<incident>" --operator <name> [--state-dir ./var]
        with the gateway stopped, keep every intact record, move the damaged
        tail of the last segment file (unchanged) to audit/quarantine/ and
        go on with a gap record linked to the last record kept, naming the
        records lost, the file and its SHA-256, the operator and the reason
        (docs/audit.md)
  luxncp audit patient <matricule> [--state-dir ./var] [--json]
        list who accessed the patient's data: when, what, professional, role,
        organisation, country, documents, outcome, the identifier as sent;
        any form of the matricule (13-digit or legacy 11-digit, with spaces,
        dots, dashes or slashes); partner-supplied text is printed with
        control characters escaped (--json: as recorded)`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, auditUsage)
		return nil
	}
	fs := newFlagSet("audit "+args[0], auditUsage+"\n", stderr)
	stateDir := fs.String("state-dir", envOr("LUXNCP_STATE_DIR", "var"), "state directory holding audit/ (env LUXNCP_STATE_DIR)")
	auditDir := fs.String("audit-dir", envOr("LUXNCP_AUDIT_DIR", ""), "audit chain directory (default <state-dir>/audit; env LUXNCP_AUDIT_DIR)")
	asJSON := fs.Bool("json", false, "print JSON")
	reason := fs.String("reason", "", "quarantine: why (incident, ticket)")
	operator := fs.String("operator", "", "quarantine: who runs the procedure")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	dir := *auditDir
	if dir == "" {
		dir = audit.Dir(*stateDir)
	}
	switch args[0] {
	case "verify":
		if len(pos) != 0 {
			return badUsage("verify takes no arguments\n%s", auditUsage)
		}
		return auditVerify(dir, *asJSON, stdout)
	case "quarantine":
		if len(pos) != 0 {
			return fmt.Errorf("quarantine takes no arguments\n%s", auditUsage)
		}
		g, err := audit.Quarantine(dir, *reason, *operator, clock.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "quarantined %s (sha256 %s); records 1–%d kept; records %d–%d left the chain; gap record %d written\nnow run: luxncp audit verify\n",
			g.File, g.SHA256, g.From-1, g.From, g.To, g.To+1)
		return nil
	case "patient":
		if len(pos) != 1 {
			return badUsage("patient needs one matricule\n%s", auditUsage)
		}
		return auditPatient(ctx, dir, pos[0], *asJSON, stdout)
	}
	return badUsage("unknown audit command %q\n%s", args[0], auditUsage)
}

// parseInterspersed parses flags placed before or after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

func auditVerify(dir string, asJSON bool, stdout io.Writer) error {
	rep, err := audit.Verify(dir)
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "audit chain %s: %d records in %d segment files\n", dir, rep.Records, rep.Segments)
		if rep.LastSeq > 0 {
			fmt.Fprintf(stdout, "last record %d, hash %s\n", rep.LastSeq, rep.LastHash)
		}
		for _, n := range rep.Notices {
			fmt.Fprintf(stdout, "notice: %s\n", n)
		}
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "PROBLEM %s\n", p)
		}
		if rep.OK() {
			fmt.Fprintln(stdout, "OK: every record is intact, in order, and linked to the previous one")
		}
	}
	if !rep.OK() {
		return errors.New("the audit chain does not verify")
	}
	return nil
}

func auditPatient(ctx context.Context, dir, id string, asJSON bool, stdout io.Writer) error {
	log, err := audit.PatientAccess(ctx, audit.DirReader{Dir: dir}, nil, id)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(stdout, log)
	}
	m, acc := log.Matricule, log.Accesses
	if len(acc) == 0 {
		fmt.Fprintf(stdout, "no access to the data of patient %s recorded in %s\n", safe(m), safe(dir))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tCOUNTRY\tPROFESSIONAL\tROLE\tORGANISATION\tWHAT\tDOCUMENTS\tOUTCOME\tAS SENT")
	for _, a := range acc {
		outcome := a.Outcome
		if a.ErrorCode != "" {
			outcome += " (" + a.ErrorCode + ")"
		}
		row := []string{a.Time.Format("2006-01-02 15:04:05"), a.Country, a.Professional, a.Role,
			a.Organisation, a.What, strings.Join(a.Documents, " "), outcome, a.Identifier}
		for i, f := range row {
			row[i] = dash(safe(f))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// safe escapes what a terminal or the table would interpret in a
// partner-supplied string: control characters (newline, tab, escape …),
// Unicode line separators and bidirectional overrides, and invalid UTF-8,
// so a field can neither forge a row nor hide text. The backslash is
// escaped too, so the escaping cannot be forged.
func safe(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', r == '\u200e', r == '\u200f',
			r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
