package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/wssec"
)

const requestUsage = `Usage:
  luxncp request xcpd         --country FR --patient ID [--root 1.3.182.4.4] [--family F --birth-date YYYY-MM-DD]
  luxncp request xca-query    --country FR --patient ID --class 57833-6|60591-5|11502-2|18748-4|34105-7
  luxncp request xca-retrieve --country FR --patient ID --doc DOCUMENT_UNIQUE_ID [--repo REPOSITORY_ID] [--mtom]
  luxncp request xdr-submit   --country FR --patient ID --prescription ep-0003 --item rx-0003 [--atc A02BC01] [--ed FILE] [--ed-id ID]
  luxncp request xdr-discard  --country FR --patient ID --prescription ep-0003 --item rx-0003 [--atc A02BC01] [--ed FILE] [--ed-id ID]
  common: [--hcp FILE] [--role pharmacist|physician|nurse] [--to https://127.0.0.1:8443] [--pki-dir var/pki]

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
	fs := newFlagSet("request "+kind, requestUsage, stderr)
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
	class := fs.String("class", "57833-6", "xca-query: document class code (LOINC)")
	docID := fs.String("doc", "", "xca-retrieve: document unique id")
	repo := fs.String("repo", "", "xca-retrieve: repository unique id (default: the root of --doc)")
	mtom := fs.Bool("mtom", false, "send as MTOM/XOP (the answer then comes as MTOM)")
	prescription := fs.String("prescription", "", "xdr: Luxembourg prescription (document) id, e.g. ep-0003")
	item := fs.String("item", "", "xdr: prescription item id, e.g. rx-0003")
	edFile := fs.String("ed", "", "xdr: eDispensation CDA file (default: generate one)")
	atc := fs.String("atc", "", "xdr: ATC code of the dispensed medicine (luxncp checks it against the prescribed one), e.g. A02BC01")
	edID := fs.String("ed-id", "", "xdr: eDispensation document id extension (default: derived from --item and the country)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *country == "" {
		return badUsage("--country is required")
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
	base := strings.TrimSuffix(*to, "/")
	pid := wssec.PatientID{Extension: *patient, Root: *root}
	trc := func() (*etree.Element, error) {
		if *patient == "" {
			return nil, badUsage("--patient is required")
		}
		return id.TRC(hcp, pid, "TREATMENT", time.Hour)
	}
	var req ncpclient.Request
	switch kind {
	case "xcpd":
		if *patient == "" && *family == "" && *birth == "" {
			return badUsage("xcpd needs --patient ID, or demographics (--family, --given, --birth-date)")
		}
		req = ncpclient.Request{
			URL: base + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD, Assertions: []*etree.Element{hcp},
			Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{
				SenderHCID: senderHCID(id.Country), ReceiverHCID: ehdsi.HomeCommunityLU,
				PatientID: *patient, PatientRoot: *root, Family: *family, Given: *given, BirthDate: *birth,
			}),
		}
	case "xca-query":
		if !knownClass(*class) {
			return badUsage("--class: %q is not a class luxncp serves (%s)", *class, strings.Join(queryClasses, ", "))
		}
		t, err := trc()
		if err != nil {
			return err
		}
		req = ncpclient.Request{URL: base + ehdsi.PathXCA, Action: ehdsi.ActionXCAQuery, Assertions: []*etree.Element{hcp, t},
			Body: ncpclient.XCAQueryBody(pid, *class)}
	case "xca-retrieve":
		t, err := trc()
		if err != nil {
			return err
		}
		if *docID == "" {
			return badUsage("--doc is required (a DocumentUniqueId from xca-query)")
		}
		r := *repo
		if r == "" {
			r, _, _ = strings.Cut(*docID, "^")
		}
		req = ncpclient.Request{URL: base + ehdsi.PathXCA, Action: ehdsi.ActionXCARetrieve, Assertions: []*etree.Element{hcp, t}, MTOM: *mtom,
			Body: ncpclient.XCARetrieveBody(ncpclient.DocRef{HomeCommunityID: ehdsi.HomeCommunityLU, RepositoryUniqueID: r, DocumentUniqueID: *docID})}
	case "xdr-submit", "xdr-discard":
		t, err := trc()
		if err != nil {
			return err
		}
		var ed []byte
		docRoot := senderHCID(id.Country) + ".16"
		ext := *edID
		if ext == "" {
			ext = "ed-" + strings.ToLower(id.Country) + "-" + *item
		}
		if *edFile != "" {
			if ed, err = os.ReadFile(*edFile); err != nil {
				return err
			}
		} else {
			if *prescription == "" || *item == "" {
				return badUsage("--prescription and --item are required to generate an eDispensation (or give --ed FILE)")
			}
			pro := ncpclient.DemoProfessional(id.Country, "pharmacist")
			ed = ncpclient.EDocument(ncpclient.Dispensed{
				DocumentID: wssec.PatientID{Root: docRoot, Extension: ext}, Patient: pid, PatientName: "Patient",
				Prescription: wssec.PatientID{Root: ehdsi.HomeCommunityLU + ".100", Extension: *prescription},
				Item:         wssec.PatientID{Root: ehdsi.HomeCommunityLU + ".100", Extension: *item},
				ProductCode:  "0000000", ProductName: "Dispensed as prescribed", ATC: *atc, Quantity: 1,
				Pharmacist: pro.Name, Pharmacy: pro.Organisation, Country: id.Country, Time: clock.Now(),
			})
		}
		req = ncpclient.Request{URL: base + ehdsi.PathXDR, Action: ehdsi.ActionXDR, Assertions: []*etree.Element{hcp, t},
			Body: ncpclient.XDRBody(ncpclient.XDRSubmission{Discard: kind == "xdr-discard", Patient: pid,
				DocumentUID: docRoot + "^" + ext, SubmissionSetID: docRoot + ".1", SourceID: senderHCID(id.Country), Document: ed})}
	default:
		return badUsage("unknown request kind %q (xcpd, xca-query, xca-retrieve, xdr-submit, xdr-discard)", kind)
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

// queryClasses are the document classes an XCA query may ask luxncp for.
var queryClasses = []string{ehdsi.ClassPS, ehdsi.ClassEP, ehdsi.ClassLab, ehdsi.ClassImaging, ehdsi.ClassDischarge}

func knownClass(c string) bool {
	for _, k := range queryClasses {
		if k == c {
			return true
		}
	}
	return false
}
