package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/luxncp/luxncp/internal/evidence"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
)

const evidenceUsage = `usage:
  luxncp evidence verify [--state-dir ./var] [--json] (FILE… | --all)
        check non-repudiation evidence (ETSI REM, docs/evidence.md): the
        enveloped signature by a Luxembourg seal trusted at the evidence's
        time (trust list <state-dir>/pki/trust, as the node), the REM
        structure and the message digest; --all checks every file of
        <state-dir>/evidence against the index's SHA-256, the index's hash
        chain, and the audit chain (<state-dir>/audit): every evidence an
        audit record names is there, every evidence is named; it finds
        missing, unindexed and unnamed files; exit status 1 when anything
        does not verify
  luxncp evidence list [--state-dir ./var] [--json]
        list the stored evidence: time, kind (nro: origin of luxncp's
        response, nrr: receipt of the partner's request), event code,
        eHDSI event, partner, message id, file; partner-supplied text is
        printed with control characters escaped (--json: as recorded)`

func runEvidence(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, evidenceUsage)
		return nil
	}
	fs := newFlagSet("evidence "+args[0], evidenceUsage+"\n", stderr)
	stateDir := fs.String("state-dir", envOr("LUXNCP_STATE_DIR", "var"), "state directory (env LUXNCP_STATE_DIR)")
	dir := fs.String("evidence-dir", envOr("LUXNCP_EVIDENCE_DIR", ""), "evidence directory (default <state-dir>/evidence; env LUXNCP_EVIDENCE_DIR)")
	auditDir := fs.String("audit-dir", envOr("LUXNCP_AUDIT_DIR", ""), "audit chain the evidence is checked against (default <state-dir>/audit; env LUXNCP_AUDIT_DIR)")
	trust := fs.String("trust", envOr("LUXNCP_TRUST_BUNDLE", ""), "trust list, a folder or a file (default <state-dir>/pki/trust, the node's; env LUXNCP_TRUST_BUNDLE)")
	country := fs.String("country", envOr("LUXNCP_COUNTRY", "LU"), "country the seal must name (env LUXNCP_COUNTRY)")
	all := fs.Bool("all", false, "verify: every evidence file of the directory")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return err
	}
	// The node's own defaults (node.Config.Defaults), not a copy of them.
	cfg := node.Config{StateDir: *stateDir, PKIDir: envOr("LUXNCP_PKI_DIR", ""), TrustBundle: *trust,
		AuditDir: *auditDir, EvidenceDir: *dir}.Defaults()
	*dir = cfg.EvidenceDir
	switch args[0] {
	case "list":
		if len(pos) != 0 || *all {
			return badUsage("list takes no arguments\n%s", evidenceUsage)
		}
		return evidenceList(*dir, *asJSON, stdout)
	case "verify":
		if *all == (len(pos) > 0) {
			return badUsage("verify needs FILE… or --all\n%s", evidenceUsage)
		}
		ts, err := pki.LoadTrustStore(cfg.TrustBundle)
		if err != nil {
			return err
		}
		v := evidence.Verifier{Trust: ts, Country: strings.ToUpper(*country)}
		if *all {
			return evidenceVerifyAll(*dir, cfg.AuditDir, v, *asJSON, stdout)
		}
		return evidenceVerifyFiles(pos, v, *asJSON, stdout)
	}
	return badUsage("unknown evidence command %q\n%s", args[0], evidenceUsage)
}

func evidenceList(dir string, asJSON bool, stdout io.Writer) error {
	entries, err := evidence.ReadIndex(dir)
	if err != nil {
		return err
	}
	if asJSON {
		if entries == nil {
			entries = []evidence.Entry{}
		}
		return printJSON(stdout, entries)
	}
	if len(entries) == 0 {
		fmt.Fprintf(stdout, "no evidence in %s\n", safe(dir))
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME (UTC)\tKIND\tCODE\tEVENT\tPARTNER\tMESSAGE ID\tREQUEST MESSAGE ID\tFILE")
	for _, e := range entries {
		row := []string{e.Time.UTC().Format("2006-01-02 15:04:05.000"), e.Kind, string(e.Code), e.Event, e.Partner, e.MessageID, e.RequestMessageID, e.File}
		for i, f := range row {
			row[i] = dash(safe(f))
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// verified is what verify prints per file.
type verified struct {
	File      string   `json:"file"`
	OK        bool     `json:"ok"`
	Error     string   `json:"error,omitempty"`
	Kind      string   `json:"kind,omitempty"`
	Code      string   `json:"code,omitempty"`
	Event     string   `json:"event,omitempty"`
	MessageID string   `json:"messageId,omitempty"`
	Sender    []string `json:"sender,omitempty"`
	Recipient []string `json:"recipient,omitempty"`
	EventTime string   `json:"eventTime,omitempty"`
	Digest    string   `json:"sha256,omitempty"`
}

func evidenceVerifyFiles(files []string, v evidence.Verifier, asJSON bool, stdout io.Writer) error {
	var out []verified
	failed := 0
	for _, f := range files {
		r := verified{File: f}
		ev, err := evidence.VerifyFile(f, v)
		if err != nil {
			failed++
			r.Error = err.Error()
		} else {
			r.OK, r.Kind, r.Code, r.Event, r.MessageID = true, ev.Kind.Short(), string(ev.Code), ev.Subject, ev.MessageID
			r.Sender, r.Recipient = ev.Sender.Names, ev.Recipient.Names
			r.EventTime, r.Digest = ev.EventTime.UTC().Format("2006-01-02T15:04:05.000Z"), hex.EncodeToString(ev.Digest)
		}
		out = append(out, r)
	}
	if asJSON {
		if err := printJSON(stdout, out); err != nil {
			return err
		}
	} else {
		for _, r := range out {
			if !r.OK {
				fmt.Fprintf(stdout, "FAILED %s: %s\n", safe(r.File), safe(r.Error))
				continue
			}
			fmt.Fprintf(stdout, "OK %s: %s %s %s, %s → %s, message %s at %s, message sha256 %s\n", safe(r.File), r.Kind, safe(r.Code), safe(r.Event),
				safe(strings.Join(r.Sender, " ")), safe(strings.Join(r.Recipient, " ")), safe(r.MessageID), r.EventTime, r.Digest)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d evidence files do not verify", failed, len(files))
	}
	return nil
}

func evidenceVerifyAll(dir, auditDir string, v evidence.Verifier, asJSON bool, stdout io.Writer) error {
	rep, err := evidence.CheckDir(dir, auditDir, v)
	if err != nil {
		return err
	}
	if asJSON {
		if err := printJSON(stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "evidence %s: %d indexed files checked; the audit chain %s names %d\n", safe(dir), rep.Checked, safe(auditDir), rep.Named)
		for _, p := range rep.Problems {
			fmt.Fprintf(stdout, "PROBLEM %s: %s\n", safe(p.File), safe(p.Reason))
		}
		if rep.OK() {
			fmt.Fprintln(stdout, "OK: every evidence is intact, signed by a trusted seal, indexed in an unbroken chain and named by the audit chain")
		}
	}
	if !rep.OK() {
		return errors.New("the evidence does not verify")
	}
	return nil
}
