package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/luxncp/luxncp/internal/audit"
)

const auditUsage = `usage:
  luxncp audit verify [--state-dir ./var] [--json]
        check the hash-chained audit trail; names every edited, deleted,
        inserted or reordered record; exit status 1 when it does not verify
  luxncp audit patient <matricule> [--state-dir ./var] [--json]
        list who accessed the patient's data: when, what, professional, role,
        organisation, country, documents, outcome`

func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, auditUsage)
		return nil
	}
	fs := newFlagSet("audit "+args[0], auditUsage+"\n", stderr)
	stateDir := fs.String("state-dir", envOr("LUXNCP_STATE_DIR", "var"), "state directory holding audit/ (env LUXNCP_STATE_DIR)")
	auditDir := fs.String("audit-dir", envOr("LUXNCP_AUDIT_DIR", ""), "audit chain directory (default <state-dir>/audit; env LUXNCP_AUDIT_DIR)")
	asJSON := fs.Bool("json", false, "print JSON")
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
	case "patient":
		if len(pos) != 1 {
			return badUsage("patient needs one matricule\n%s", auditUsage)
		}
		return auditPatient(dir, pos[0], *asJSON, stdout)
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
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
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

func auditPatient(dir, matricule string, asJSON bool, stdout io.Writer) error {
	m, err := audit.NormalizeMatricule(matricule)
	if err != nil {
		return err
	}
	acc, err := audit.PatientAccess(dir, m)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(audit.AccessLog{Matricule: m, Accesses: acc})
	}
	if len(acc) == 0 {
		fmt.Fprintf(stdout, "no access to the data of patient %s recorded in %s\n", m, dir)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tCOUNTRY\tPROFESSIONAL\tROLE\tORGANISATION\tWHAT\tDOCUMENTS\tOUTCOME")
	for _, a := range acc {
		outcome := a.Outcome
		if a.ErrorCode != "" {
			outcome += " (" + a.ErrorCode + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			a.Time.Format("2006-01-02 15:04:05"), dash(a.Country), dash(a.Professional), dash(a.Role),
			dash(a.Organisation), a.What, dash(strings.Join(a.Documents, " ")), outcome)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
