package main

import (
	"context"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/luxncp/luxncp/internal/kmssigner"
	"github.com/luxncp/luxncp/internal/pki"
)

const pkiUsage = `Usage:
  luxncp pki init [--pki-dir var/pki]
      create the development PKI (what 'luxncp serve' does on first start):
      ca.pem and, for lu fr be de nl pt, <cc>-tls.pem/.key and <cc>-seal.pem/.key
  luxncp pki csr --kms-key ARN --cn NAME [--country LU] [--org ORG] [--dns NAME,…]
      print a PKCS #10 certificate request signed by a KMS key (the production
      seal or TLS key never leaves KMS): send it to the eHDSI certificate authority
  luxncp pki csr --key FILE --cn NAME …
      the same for a PEM private key file
`

func runPKI(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, pkiUsage)
		return nil
	}
	fs := newFlagSet("pki "+args[0], pkiUsage, stderr)
	dir := fs.String("pki-dir", defaultPKIDir(), "directory of the dev PKI")
	kmsKey := fs.String("kms-key", "", "KMS key id or ARN")
	keyFile := fs.String("key", "", "PEM private key file")
	cn := fs.String("cn", "", "subject common name")
	country := fs.String("country", "LU", "subject country (C=)")
	org := fs.String("org", "Agence eSanté Luxembourg", "subject organisation (O=)")
	dns := fs.String("dns", "", "comma-separated DNS names (TLS certificates)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "init":
		gen, err := pki.EnsureDev(*dir, pki.DevOptions{})
		if err != nil {
			return err
		}
		if gen {
			fmt.Fprintf(stdout, "development PKI created in %s\n", *dir)
		} else {
			fmt.Fprintf(stdout, "development PKI already complete in %s\n", *dir)
		}
		return nil
	case "csr":
		if *cn == "" {
			return badUsage("--cn is required")
		}
		subject := pkix.Name{CommonName: *cn, Country: []string{strings.ToUpper(*country)}, Organization: []string{*org}}
		var names []string
		if *dns != "" {
			names = strings.Split(*dns, ",")
		}
		switch {
		case *kmsKey != "":
			cfg, err := config.LoadDefaultConfig(ctx)
			if err != nil {
				return fmt.Errorf("aws config: %w", err)
			}
			s, err := kmssigner.New(ctx, kms.NewFromConfig(cfg), *kmsKey, kmssigner.Options{})
			if err != nil {
				return err
			}
			csr, err := kmssigner.CreateCSR(nil, s, subject, names)
			if err != nil {
				return err
			}
			_, err = stdout.Write(csr)
			return err
		case *keyFile != "":
			key, err := pki.ReadKey(*keyFile)
			if err != nil {
				return err
			}
			csr, err := kmssigner.CreateCSR(nil, key, subject, names)
			if err != nil {
				return err
			}
			_, err = stdout.Write(csr)
			return err
		}
		return badUsage("csr needs --kms-key ARN or --key FILE")
	}
	fmt.Fprint(stderr, pkiUsage)
	return badUsage("unknown pki command %q (init, csr)", args[0])
}
