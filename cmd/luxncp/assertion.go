package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/wssec"
)

const assertionUsage = `Usage:
  luxncp assertion hcp --country FR --role pharmacist|physician|nurse [--purpose TREATMENT|EMERGENCY] [--valid 1h]
                       [--permissions PRD-006,PRD-010,…] [--name NAME] [--org ORGANISATION] [--pki-dir var/pki]
  luxncp assertion trc --country FR --hcp FILE --patient ID [--root 1.3.182.4.4] [--valid 1h] [--pki-dir var/pki]

Prints a signed eHDSI SAML assertion made with that country's development
seal key (var/pki/<cc>-seal.key). The HCP identity assertion vouches for a
health professional; the TRC assertion confirms a treatment relationship with
one patient and refers to the HCP assertion in FILE (use '-' for stdin).
`

func defaultPKIDir() string {
	return filepath.Join(envOr("LUXNCP_STATE_DIR", "var"), "pki")
}

func loadIdentity(pkiDir, country string) (*ncpclient.Identity, error) {
	cc := strings.ToLower(country)
	if len(cc) != 2 {
		return nil, badUsage("--country: %q is not a two-letter country code (FR, BE, DE, NL, PT, LU)", country)
	}
	cred, err := pki.LoadCredential(pkiDir, cc, pki.KindSeal)
	if err != nil {
		return nil, fmt.Errorf("seal key for %s: %w (run 'make run' once, or 'luxncp pki init', to create the dev PKI)", strings.ToUpper(cc), err)
	}
	return &ncpclient.Identity{Country: strings.ToUpper(cc), Seal: wssec.Signer{Key: cred.Signer, Cert: cred.Cert}}, nil
}

func runAssertion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, assertionUsage)
		return nil
	}
	kind := args[0]
	fs := newFlagSet("assertion "+kind, assertionUsage, stderr)
	country := fs.String("country", "", "issuing country (its dev seal key signs)")
	pkiDir := fs.String("pki-dir", defaultPKIDir(), "directory of the dev PKI")
	valid := fs.Duration("valid", time.Hour, "validity (HCP at most 4h, TRC at most 2h)")
	purpose := fs.String("purpose", "TREATMENT", "purpose of use: TREATMENT or EMERGENCY")
	role := fs.String("role", "physician", "HCP role: physician, gp, specialist, nurse, midwife, dentist, pharmacist")
	perms := fs.String("permissions", "", "comma-separated XSPA permissions (default: the role's eHDSI set)")
	name := fs.String("name", "", "professional's name")
	org := fs.String("org", "", "organisation")
	hcpFile := fs.String("hcp", "", "TRC: file holding the HCP assertion ('-': stdin)")
	patient := fs.String("patient", "", "TRC: patient id")
	root := fs.String("root", ehdsi.OIDMatricule, "TRC: patient id assigning authority (OID)")
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
	var a *etree.Element
	switch kind {
	case "hcp":
		pu := strings.ToUpper(*purpose)
		if pu != "TREATMENT" && pu != "EMERGENCY" {
			return badUsage("--purpose: %q is not an eHDSI purpose of use (TREATMENT or EMERGENCY)", *purpose)
		}
		p := ncpclient.DemoProfessional(id.Country, *role)
		p.Role, p.Purpose = *role, pu
		if *name != "" {
			p.Name = *name
		}
		if *org != "" {
			p.Organisation = *org
		}
		if *perms != "" {
			p.Permissions = strings.Split(*perms, ",")
		}
		a, err = id.HCP(p, *valid)
	case "trc":
		if *hcpFile == "" || *patient == "" {
			return badUsage("trc needs --hcp FILE and --patient ID")
		}
		var raw []byte
		if *hcpFile == "-" {
			raw, err = io.ReadAll(os.Stdin)
		} else {
			raw, err = os.ReadFile(*hcpFile)
		}
		if err != nil {
			return err
		}
		doc := etree.NewDocument()
		if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
			return fmt.Errorf("%s: not an XML assertion", *hcpFile)
		}
		a, err = id.TRC(doc.Root(), wssec.PatientID{Extension: *patient, Root: *root}, strings.ToUpper(*purpose), *valid)
	default:
		return badUsage("unknown assertion kind %q (hcp or trc)", kind)
	}
	if err != nil {
		return err
	}
	b, err := wssec.Serialize(a)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(b, '\n'))
	return err
}
