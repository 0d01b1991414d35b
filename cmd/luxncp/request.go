package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
)

const requestUsage = `Usage:
  luxncp request xcpd --country FR --patient ID [--root 1.3.182.4.4] [--family F --birth-date YYYY-MM-DD]
                      [--hcp FILE] [--role pharmacist] [--pki-dir var/pki]

Prints a complete, signed eHDSI SOAP 1.2 request envelope as a Country B
node of --country would send it (with a fresh HCP assertion made with that
country's dev seal, or the one in --hcp FILE), ready to post with curl. The
Content-Type to send goes to stderr.
`

func runRequest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, requestUsage)
		return nil
	}
	kind := args[0]
	fs := flag.NewFlagSet("request "+kind, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, requestUsage) }
	country := fs.String("country", "", "requesting country")
	pkiDir := fs.String("pki-dir", defaultPKIDir(), "directory of the dev PKI")
	patient := fs.String("patient", "", "patient id")
	root := fs.String("root", ehdsi.OIDMatricule, "patient id assigning authority")
	family := fs.String("family", "", "family name (demographic search)")
	given := fs.String("given", "", "given name")
	birth := fs.String("birth-date", "", "birth date YYYY-MM-DD")
	hcpFile := fs.String("hcp", "", "HCP assertion file (default: mint one)")
	role := fs.String("role", "pharmacist", "HCP role when minting")
	to := fs.String("to", "https://127.0.0.1:8443", "target base URL (for wsa:To)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *country == "" {
		return errors.New("--country is required")
	}
	id, err := loadIdentity(*pkiDir, *country)
	if err != nil {
		return err
	}
	var hcp *etree.Element
	if *hcpFile != "" {
		raw, err := os.ReadFile(*hcpFile)
		if err != nil {
			return err
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
			return fmt.Errorf("%s: not an XML assertion", *hcpFile)
		}
		hcp = doc.Root()
	} else if hcp, err = id.HCP(ncpclient.DemoProfessional(id.Country, *role), time.Hour); err != nil {
		return err
	}
	var req ncpclient.Request
	switch kind {
	case "xcpd":
		req = ncpclient.Request{
			URL: strings.TrimSuffix(*to, "/") + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{
				SenderHCID: senderHCID(id.Country), ReceiverHCID: ehdsi.HomeCommunityLU,
				PatientID: *patient, PatientRoot: *root, Family: *family, Given: *given, BirthDate: *birth,
			}),
		}
	default:
		return fmt.Errorf("unknown request kind %q", kind)
	}
	var c ncpclient.Client
	ctype, body, err := c.Marshal(req)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "Content-Type: %s\n", ctype)
	_, err = stdout.Write(append(body, '\n'))
	return err
}

// senderHCID is the home community id of a dev country (public test values).
func senderHCID(country string) string {
	switch strings.ToUpper(country) {
	case "FR":
		return "2.16.17.710.790.1000.990.1"
	case "BE":
		return "1.3.6.1.4.1.48336"
	case "DE":
		return "2.16.17.710.803.1000.990.1"
	case "NL":
		return "2.16.17.710.810.1000.990.1"
	case "PT":
		return "2.16.17.710.820.1000.990.1"
	}
	return ehdsi.HomeCommunityLU
}
