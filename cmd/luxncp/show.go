package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
)

const showUsage = `Usage:
  luxncp show [--out DIR] [--ids] [FILE]
Reads an eHDSI SOAP response (plain SOAP; FILE or stdin) and prints what it
says: a SOAP fault and its eHDSI code, an XCPD match, the documents of an XCA
query, the documents of an XCA retrieve (saved under --out), or an XDR result.
`

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, showUsage) }
	out := fs.String("out", ".", "directory for retrieved documents")
	ids := fs.Bool("ids", false, "print only the document unique ids of a query response, one per line")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var data []byte
	var err error
	if fs.NArg() > 0 {
		data, err = os.ReadFile(fs.Arg(0))
	} else {
		data, err = io.ReadAll(os.Stdin)
	}
	if err != nil {
		return err
	}
	env, err := soap.ParseEnvelope(data, soap.Limits{MaxBytes: 64 << 20})
	if err != nil {
		return fmt.Errorf("not a SOAP 1.2 message: %w", err)
	}
	if f := env.Fault(); f != nil {
		fmt.Fprintf(stdout, "SOAP fault  %s\n  reason    %s\n", f.Code, f.Public)
		return nil
	}
	body := env.Body
	switch body.Tag {
	case "PRPA_IN201306UV02":
		qrc := ""
		if e := body.FindElement(".//queryAck/queryResponseCode"); e != nil {
			qrc = e.SelectAttrValue("code", "")
		}
		fmt.Fprintf(stdout, "XCPD        %s\n", qrc)
		if d := body.FindElement(".//acknowledgementDetail/code"); d != nil {
			text := ""
			if t := body.FindElement(".//acknowledgementDetail/text"); t != nil {
				text = t.Text()
			}
			fmt.Fprintf(stdout, "  code      %s\n  text      %s\n", d.SelectAttrValue("code", ""), text)
		}
		for _, p := range body.FindElements(".//subject1/patient") {
			for _, id := range p.SelectElements("id") {
				fmt.Fprintf(stdout, "  id        %s (%s)\n", id.SelectAttrValue("extension", ""), id.SelectAttrValue("root", ""))
			}
			if n := p.FindElement("./patientPerson/name"); n != nil {
				var parts []string
				for _, c := range n.ChildElements() {
					parts = append(parts, strings.TrimSpace(c.Text()))
				}
				fmt.Fprintf(stdout, "  name      %s\n", strings.Join(parts, " "))
			}
			if b := p.FindElement("./patientPerson/birthTime"); b != nil {
				fmt.Fprintf(stdout, "  born      %s\n", b.SelectAttrValue("value", ""))
			}
		}
	case "AdhocQueryResponse":
		status, docs, errs := ncpclient.ParseQueryResponse(body)
		if *ids {
			for _, d := range docs {
				fmt.Fprintln(stdout, d.UniqueID)
			}
			return nil
		}
		fmt.Fprintf(stdout, "XCA query   %s, %d document(s)\n", shortStatus(status), len(docs))
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		if len(docs) > 0 {
			fmt.Fprintln(tw, "  LEVEL\tDOCUMENT UNIQUE ID\tTITLE\tDESCRIPTION")
		}
		for _, d := range docs {
			lvl := "L3"
			if d.L1 {
				lvl = "L1"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", lvl, d.UniqueID, d.Title, d.Description)
		}
		tw.Flush()
		printErrors(stdout, errs)
	case "RetrieveDocumentSetResponse":
		status, docs, errs, err := ncpclient.ParseRetrieveResponse(env, body)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "XCA retrieve %s, %d document(s)\n", shortStatus(status), len(docs))
		for _, d := range docs {
			name := strings.NewReplacer("^", "_", "/", "_").Replace(d.UniqueID) + ".xml"
			path := filepath.Join(*out, name)
			if err := os.WriteFile(path, d.Data, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "  saved     %s (%d bytes)\n", path, len(d.Data))
		}
		printErrors(stdout, errs)
	case "RegistryResponse":
		status, errs := ncpclient.ParseRegistryResponse(body)
		fmt.Fprintf(stdout, "XDR         %s\n", shortStatus(status))
		printErrors(stdout, errs)
	default:
		fmt.Fprintf(stdout, "%s (action %s)\n", body.Tag, env.Action)
	}
	return nil
}

func shortStatus(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func printErrors(w io.Writer, errs []ncpclient.RegistryError) {
	for _, e := range errs {
		fmt.Fprintf(w, "  %-8s  %s: %s", shortStatus(e.Severity), e.Code, e.Context)
		if e.Location != "" {
			fmt.Fprintf(w, " [%s]", e.Location)
		}
		fmt.Fprintln(w)
	}
}
