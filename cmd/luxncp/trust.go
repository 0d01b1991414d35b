package main

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/pki"
)

const trustUsage = `Usage:
  luxncp trust list [--trust PATH] [--role tls|seal] [--pem]
      the trust list: per country and role, each anchor (certificate or CA) and
      its expiry; --pem prints the anchors as a plain PEM bundle (e.g. the tls
      ones for the API Gateway mTLS truststore)
  luxncp trust check [--trust PATH] [--role tls|seal] FILE
      would the certificate in FILE (PEM: leaf first, then its intermediates)
      be accepted, for which country, or why not; exit status 1 when refused
  luxncp trust add --country CC --role tls|seal [--trust PATH] FILE
      list the certificates of FILE (a partner's CA or its own certificate)
      for country CC and role; running gateways pick the change up within
      LUXNCP_TRUST_REFRESH (docs/trust.md)
`

func runTrust(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		fmt.Fprint(stdout, trustUsage)
		return nil
	}
	cmd := args[0]
	if cmd != "list" && cmd != "check" && cmd != "add" {
		return badUsage("unknown trust command %q (list, check, add)", cmd)
	}
	cfg, err := node.FromEnv(nil)
	if err != nil {
		return err
	}
	fs := newFlagSet("trust "+cmd, trustUsage, stderr)
	path := fs.String("trust", cfg.TrustBundle, "trust list, a folder or a file (env LUXNCP_TRUST_BUNDLE)")
	roleFlag := fs.String("role", "", "tls or seal")
	country := fs.String("country", "", "country of the entries to add (ISO 3166 alpha-2)")
	asPEM := fs.Bool("pem", false, "list: print the anchors as plain PEM")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	role := pki.Role(strings.ToLower(*roleFlag))
	if role != "" && role != pki.RoleTLS && role != pki.RoleSeal {
		return badUsage("--role: %q is not tls or seal", *roleFlag)
	}
	now := clock.Now()
	switch cmd {
	case "list":
		if fs.NArg() != 0 {
			return badUsage("trust list takes no arguments")
		}
		entries, err := pki.LoadTrustList(*path)
		if err != nil {
			return err
		}
		if *asPEM {
			for _, e := range entries {
				if role == "" || e.Role == role {
					pem.Encode(stdout, &pem.Block{Type: "CERTIFICATE", Bytes: e.Cert.Raw})
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "COUNTRY\tROLE\tANCHOR\tKIND\tEXPIRES\tFILE")
		for _, e := range entries {
			if role != "" && e.Role != role {
				continue
			}
			kind := "certificate"
			if e.Cert.IsCA {
				kind = "CA"
			}
			exp := e.Cert.NotAfter.UTC().Format("2006-01-02")
			if now.After(e.Cert.NotAfter) {
				exp += " (EXPIRED)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Country, e.Role, e.Cert.Subject.String(), kind, exp, e.Source)
		}
		return tw.Flush()
	case "check":
		if fs.NArg() != 1 {
			return badUsage("trust check needs one certificate file")
		}
		certs, err := pki.ReadCertificates(fs.Arg(0))
		if err != nil {
			return err
		}
		ts, err := pki.LoadTrustStore(*path)
		if err != nil {
			return err
		}
		uses := map[pki.Role]pki.Use{pki.RoleTLS: pki.UseTLSClient, pki.RoleSeal: pki.UseSeal}
		accepted := 0
		for _, r := range pki.Roles {
			if role != "" && r != role {
				continue
			}
			cc, err := ts.Verify(certs[0], certs[1:], now, uses[r])
			if err != nil {
				fmt.Fprintf(stdout, "%s: refused: the certificate %s (%v)\n", r, pki.Reason(err), err)
				continue
			}
			accepted++
			fmt.Fprintf(stdout, "%s: accepted for %s (%s, expires %s)\n", r, cc, certs[0].Subject.String(), certs[0].NotAfter.UTC().Format(time.DateOnly))
		}
		if accepted == 0 {
			return errors.New("not accepted for any role asked")
		}
		return nil
	}
	// add
	if fs.NArg() != 1 {
		return badUsage("trust add needs one certificate file")
	}
	if role == "" {
		return badUsage("--role is required (tls or seal)")
	}
	cc := strings.ToUpper(*country)
	if len(cc) != 2 {
		return badUsage("--country: %q is not a two-letter country code", *country)
	}
	certs, err := pki.ReadCertificates(fs.Arg(0))
	if err != nil {
		return err
	}
	var entries []pki.Entry
	for _, c := range certs {
		if err := checkAnchor(c, cc, now); err != nil {
			return fmt.Errorf("%s: %w", c.Subject.String(), err)
		}
		entries = append(entries, pki.Entry{Country: cc, Role: role, Cert: c})
	}
	file, added, err := pki.AddToTrustList(*path, entries)
	if err != nil {
		return err
	}
	for _, e := range added {
		fmt.Fprintf(stdout, "listed %s for %s %s in %s\n", e.Cert.Subject.String(), e.Country, e.Role, file)
	}
	if len(added) < len(entries) {
		fmt.Fprintf(stdout, "%d already listed\n", len(entries)-len(added))
	}
	return nil
}

// checkAnchor refuses what a trust list must not hold: an expired or weak
// certificate, or a partner's own certificate of another country.
func checkAnchor(c *x509.Certificate, cc string, now time.Time) error {
	if now.After(c.NotAfter) || now.Before(c.NotBefore) {
		return pki.ErrExpired
	}
	if err := pki.CheckAlgorithms(c); err != nil && !c.IsCA {
		return err
	}
	if !c.IsCA {
		if got, err := pki.Country(c); err != nil || got != cc {
			return fmt.Errorf("%w: the certificate says C=%s, the entry %s", pki.ErrCountryMismatch, got, cc)
		}
	}
	return nil
}
