package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/luxncp/luxncp/internal/idtoken"
	"github.com/luxncp/luxncp/internal/matricule"
)

const tokenUsage = `Usage:
  luxncp token professional [--id lu-hcp-2001] [flags]
  luxncp token patient [--matricule 1971011007114] [flags]
  luxncp token supervisor [--id lu-dpo-0001] [flags]
  luxncp token list
Prints a development identity token (a signed JWT) of a demo person, signed
with the key of the development identity provider 'luxncp serve' runs
(<state>/idp): send it as 'Authorization: Bearer <token>' to /api/v1/.
'luxncp token list' names the demo people. Development only: the national
identity provider issues the real tokens.
`

func runToken(_ context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || isHelpFlag(args[0]) {
		fmt.Fprint(stderr, tokenUsage)
		if len(args) == 0 {
			return badUsage("token: professional, patient, supervisor or list required")
		}
		return nil
	}
	kind, args := args[0], args[1:]
	if kind == "list" {
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tKEY\tNAME\tORGANISATION\tNOTE")
		for _, p := range idtoken.DemoPeople() {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.Kind, p.Key, p.Claims.Name, p.Claims.Organisation, p.Note)
		}
		return tw.Flush()
	}
	def := map[string]string{"professional": "lu-hcp-2001", "patient": "1971011007114", "supervisor": "lu-dpo-0001"}[kind]
	if def == "" {
		fmt.Fprint(stderr, tokenUsage)
		return badUsage("token: unknown kind %q (professional, patient, supervisor, list)", kind)
	}
	fs := newFlagSet("token "+kind, tokenUsage, stderr)
	var key *string
	if kind == "patient" {
		key = fs.String("matricule", def, "the patient's matricule (any valid one; the demo patients have names)")
	} else {
		key = fs.String("id", def, "the demo person ('luxncp token list')")
	}
	stateDir := fs.String("state-dir", envOr("LUXNCP_STATE_DIR", "var"), "state directory of 'luxncp serve' (env LUXNCP_STATE_DIR)")
	issuer := fs.String("issuer", "", "issuer URL (default: the one 'luxncp serve' wrote to <state>/idp/issuer)")
	audience := fs.String("audience", idtoken.DevAudience, "audience (aud)")
	valid := fs.Duration("valid", 10*time.Minute, "validity")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *valid <= 0 || *valid > 12*time.Hour {
		return badUsage("--valid: %s is not between 0 and 12h", *valid)
	}
	p, ok := idtoken.DemoPersonOf(kind, *key)
	if !ok && kind == "patient" {
		m, err := matricule.Parse(*key)
		if err != nil {
			return badUsage("--matricule: %q is not a matricule: %v", *key, err)
		}
		p = idtoken.DemoPerson{Kind: kind, Key: m.Digits}
		p.Claims = idtoken.Claims{Matricule: m.Digits, ACR: idtoken.ACRSubstantial, AMR: []string{"pwd", "otp"}}
		p.Claims.Subject = "citizen:" + m.Digits
		ok = true
	}
	if !ok {
		return badUsage("--id: no demo %s %q ('luxncp token list')", kind, *key)
	}
	dir := filepath.Join(*stateDir, "idp")
	iss := *issuer
	if iss == "" {
		b, err := os.ReadFile(filepath.Join(dir, idtoken.DevIssuerFile))
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no development identity provider in %s: start 'make run' (or 'luxncp serve') first, or pass --issuer", dir)
		}
		if err != nil {
			return err
		}
		iss = strings.TrimSpace(string(b))
	}
	if _, err := os.Stat(filepath.Join(dir, idtoken.DevKeyFile)); err != nil {
		return fmt.Errorf("no development identity provider key in %s: start 'make run' (or 'luxncp serve') first", dir)
	}
	idp, err := idtoken.OpenDevIssuer(dir, iss)
	if err != nil {
		return err
	}
	c := p.Claims
	c.Audience = jwt.Audience{*audience}
	tok, err := idp.Mint(c, *valid)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, tok)
	return nil
}
