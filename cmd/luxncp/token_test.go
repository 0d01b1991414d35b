package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/idtoken"
)

// TestTokenCommand: `luxncp token` mints tokens the gateway's verifier
// accepts for the issuer `luxncp serve` wrote, names the demo people, and
// reports argument mistakes with exit 2, a missing dev provider with exit 1.
func TestTokenCommand(t *testing.T) {
	state := t.TempDir()
	dir := filepath.Join(state, "idp")
	if code, _, errs := runCLI(t, "token", "professional", "--state-dir", state); code != 1 || !strings.Contains(errs, "make run") {
		t.Fatalf("no dev provider yet: exit %d %q", code, errs)
	}
	idp, err := idtoken.OpenDevIssuer(dir, "http://127.0.0.1:8081/idp")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, idtoken.DevIssuerFile), []byte(idp.URL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	v := &idtoken.Verifier{Issuer: idp.URL, Audience: idtoken.DevAudience, Keys: idtoken.StaticKeys{Set: idp.KeySet()}}
	for _, args := range [][]string{
		{"token", "professional", "--state-dir", state, "--id", "lu-pharm-3001"},
		{"token", "patient", "--state-dir", state, "--matricule", "1990 0101 12385"},
		{"token", "supervisor", "--state-dir", state},
	} {
		code, out, errs := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errs)
		}
		c, err := v.Verify(context.Background(), strings.TrimSpace(out))
		if err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if args[1] == "patient" && c.Matricule != "1990010112385" {
			t.Fatalf("patient token for %q", c.Matricule)
		}
	}
	if code, out, _ := runCLI(t, "token", "list"); code != 0 || !strings.Contains(out, "lu-hcp-2002") {
		t.Fatalf("token list: %d\n%s", code, out)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token"}, "professional, patient, supervisor or list required"},
		{[]string{"token", "robot"}, `unknown kind "robot"`},
		{[]string{"token", "professional", "--id", "lu-nobody"}, `--id: no demo professional "lu-nobody"`},
		{[]string{"token", "patient", "--matricule", "1971011007115"}, "--matricule"},
		{[]string{"token", "professional", "--valid", "48h"}, "--valid"},
	} {
		if code, _, errs := runCLI(t, tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errs)
		}
	}
}
