package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/soap"
)

const showUsage = `Usage:
  luxncp show [--out DIR] [--ids] [--content-type TYPE] [FILE]
Reads an eHDSI SOAP 1.2 response (FILE or stdin), plain or MTOM/XOP
multipart (as 'curl' prints it for requests made with 'request … --mtom'),
and prints what it says: a SOAP fault and its eHDSI code, an XCPD match, the
documents of an XCA query, the documents of an XCA retrieve (saved under
--out DIR when it is given, the folder created if needed; never into the
current folder by default), or an XDR result. --ids prints only the document
unique ids, of a query's or a retrieve's documents.

An MTOM body is recognised by its first line (the MIME boundary) and its
first part is taken as the SOAP envelope; give the response's Content-Type
with --content-type when its root part is not the first.

Exit status:
  0  the answer says success (XCPD OK; ebXML Success or PartialSuccess)
  1  the answer is a failure: a SOAP fault, an XCPD answer other than OK
     (AE, NF, QE), an ebXML Failure status; or the input is not a readable
     eHDSI SOAP response
  2  wrong arguments
`

// failedAnswer is a response that says the transaction failed (exit 1).
type failedAnswer struct{ what string }

func (f failedAnswer) Error() string { return "the answer is a failure: " + f.what }

func runShow(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("show", showUsage, stderr)
	out := fs.String("out", "", "directory to save retrieved documents in (created if needed; default: don't save)")
	ids := fs.Bool("ids", false, "print only the document unique ids of a query or retrieve response, one per line")
	ctype := fs.String("content-type", "", "Content-Type the response came with (default: MTOM when the input starts with a MIME boundary, else application/soap+xml)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return badUsage("show reads one FILE (got %d arguments)", fs.NArg())
	}
	data, err := readInput(fs.Arg(0))
	if err != nil {
		return err
	}
	env, err := readResponse(data, *ctype)
	if err != nil {
		return fmt.Errorf("not an eHDSI SOAP 1.2 response: %w", err)
	}
	return summarise(stdout, env, *out, *ids)
}

// readInput reads FILE, or stdin when name is empty.
func readInput(name string) ([]byte, error) {
	if name == "" {
		data, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("stdin: %w", err)
		}
		return data, nil
	}
	return os.ReadFile(name)
}

// readResponse parses a response body, plain or MTOM/XOP, with
// internal/soap's reader (the one the gateway uses on partners' answers).
func readResponse(data []byte, contentType string) (*soap.Envelope, error) {
	if contentType == "" {
		contentType = sniffContentType(data)
	}
	resp := &http.Response{
		Header:        http.Header{"Content-Type": {contentType}},
		Body:          io.NopCloser(bytes.NewReader(data)),
		ContentLength: int64(len(data)),
	}
	// The gateway's limits, with room for large retrieved documents.
	return soap.ReadResponse(resp, soap.Limits{MaxBytes: 64 << 20})
}

// sniffContentType: a body that starts with "--boundary" is MTOM/XOP.
func sniffContentType(data []byte) string {
	rest, ok := bytes.CutPrefix(bytes.TrimLeft(data, " \t\r\n"), []byte("--"))
	if !ok {
		return soap.MediaSOAP12
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	return mime.FormatMediaType(soap.MediaMultipart, map[string]string{
		"type": soap.MediaXOP, "boundary": strings.TrimSpace(string(line)),
	})
}

// summarise prints the response and returns failedAnswer when it says the
// transaction failed.
func summarise(w io.Writer, env *soap.Envelope, out string, ids bool) error {
	if f := env.Fault(); f != nil {
		fmt.Fprintf(w, "SOAP fault  %s\n  reason    %s\n", f.Code, f.Public)
		return failedAnswer{"SOAP fault " + string(f.Code)}
	}
	body := env.Body
	switch body.Tag {
	case "PRPA_IN201306UV02":
		return showXCPD(w, body)
	case "AdhocQueryResponse":
		return showQuery(w, body, ids)
	case "RetrieveDocumentSetResponse":
		return showRetrieve(w, env, out, ids)
	case "RegistryResponse":
		status, errs := ncpclient.ParseRegistryResponse(body)
		fmt.Fprintf(w, "XDR         %s\n", shortStatus(status))
		printErrors(w, errs)
		return checkStatus("XDR", status)
	}
	fmt.Fprintf(w, "%s (action %s)\n", body.Tag, env.Action)
	return nil
}

// checkStatus fails on an ebXML Failure (or missing) status.
func checkStatus(what, status string) error {
	switch shortStatus(status) {
	case "Success", "PartialSuccess":
		return nil
	case "":
		return failedAnswer{what + " answer without a status"}
	}
	return failedAnswer{what + " status " + shortStatus(status)}
}

func showXCPD(w io.Writer, body *etree.Element) error {
	qrc := ""
	if e := body.FindElement(".//queryAck/queryResponseCode"); e != nil {
		qrc = e.SelectAttrValue("code", "")
	}
	fmt.Fprintf(w, "XCPD        %s\n", qrc)
	if d := body.FindElement(".//acknowledgementDetail/code"); d != nil {
		text := ""
		if t := body.FindElement(".//acknowledgementDetail/text"); t != nil {
			text = t.Text()
		}
		fmt.Fprintf(w, "  code      %s\n  text      %s\n", d.SelectAttrValue("code", ""), text)
	}
	for _, p := range body.FindElements(".//subject1/patient") {
		printPatient(w, p)
	}
	if qrc != "OK" {
		return failedAnswer{"XCPD " + qrc}
	}
	return nil
}

func printPatient(w io.Writer, p *etree.Element) {
	for _, id := range p.SelectElements("id") {
		fmt.Fprintf(w, "  id        %s (%s)\n", id.SelectAttrValue("extension", ""), id.SelectAttrValue("root", ""))
	}
	if n := p.FindElement("./patientPerson/name"); n != nil {
		var parts []string
		for _, c := range n.ChildElements() {
			parts = append(parts, strings.TrimSpace(c.Text()))
		}
		fmt.Fprintf(w, "  name      %s\n", strings.Join(parts, " "))
	}
	if b := p.FindElement("./patientPerson/birthTime"); b != nil {
		fmt.Fprintf(w, "  born      %s\n", b.SelectAttrValue("value", ""))
	}
}

func showQuery(w io.Writer, body *etree.Element, ids bool) error {
	status, docs, errs := ncpclient.ParseQueryResponse(body)
	if ids {
		for _, d := range docs {
			fmt.Fprintln(w, d.UniqueID)
		}
		return checkStatus("XCA query", status)
	}
	fmt.Fprintf(w, "XCA query   %s, %d document(s)\n", shortStatus(status), len(docs))
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
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
	printErrors(w, errs)
	return checkStatus("XCA query", status)
}

func showRetrieve(w io.Writer, env *soap.Envelope, out string, ids bool) error {
	status, docs, errs, err := ncpclient.ParseRetrieveResponse(env, env.Body)
	if err != nil {
		return err
	}
	if ids {
		for _, d := range docs {
			fmt.Fprintln(w, d.UniqueID)
		}
		return checkStatus("XCA retrieve", status)
	}
	if out != "" && len(docs) > 0 {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return fmt.Errorf("--out: %w", err)
		}
	}
	form := ""
	if env.MTOM {
		form = " (MTOM)"
	}
	fmt.Fprintf(w, "XCA retrieve %s, %d document(s)%s\n", shortStatus(status), len(docs), form)
	for _, d := range docs {
		if out == "" {
			fmt.Fprintf(w, "  document  %s (%d bytes; --out DIR saves it)\n", d.UniqueID, len(d.Data))
			continue
		}
		name := strings.NewReplacer("^", "_", "/", "_", "\\", "_").Replace(d.UniqueID) + ".xml"
		path := filepath.Join(out, name)
		if err := os.WriteFile(path, d.Data, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(w, "  saved     %s (%d bytes)\n", path, len(d.Data))
	}
	printErrors(w, errs)
	return checkStatus("XCA retrieve", status)
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
