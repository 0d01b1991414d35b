// Package testutil holds helpers shared by luxncp's tests: locating the
// repository and the ../shared reference material, golden files with an
// -update flag, and the validate-cda runner.
package testutil

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Update rewrites golden files instead of comparing with them: go test ./... -update
var Update = flag.Bool("update", false, "rewrite golden files under testdata/")

// RepoRoot returns the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// SharedDir returns ../shared beside the repository: the eHDSI reference
// material (schemas, schematrons, samples, terminology exports). CI has it; a
// test that needs it fails with one line naming the missing path.
func SharedDir(t testing.TB) string {
	t.Helper()
	d := filepath.Join(RepoRoot(t), "..", "shared")
	if _, err := os.Stat(filepath.Join(d, "reference")); err != nil {
		t.Fatalf("../shared (the eHDSI reference material, see README) is missing: %s not found", filepath.Join(d, "reference"))
	}
	return d
}

// Shared joins elements under SharedDir and fails, naming the path, when it
// does not exist (for a glob pattern: when its folder does not exist).
func Shared(t testing.TB, elem ...string) string {
	t.Helper()
	p := filepath.Join(append([]string{SharedDir(t)}, elem...)...)
	check := p
	for strings.ContainsAny(filepath.Base(check), "*?[") {
		check = filepath.Dir(check) // a glob: its folder must exist
	}
	if _, err := os.Stat(check); err != nil {
		t.Fatalf("../shared is incomplete: %s not found", p)
	}
	return p
}

// Tool returns the path of a command-line tool a test needs. There is no
// skip: scripts/install-test-tools (run by make test) installs every tool the
// tests use, and a missing one fails the test saying so.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s is not installed: run scripts/install-test-tools (make test does)", name)
	}
	return p
}

// Golden compares got with testdata/<name>, or rewrites it under -update.
func Golden(t testing.TB, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file %s: %v (run with -update to create it)", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run with -update to accept); got %d bytes, want %d", path, len(got), len(want))
	}
}

// ValidateCDA runs ../shared/tools/validate-cda auto on files, all in one
// call (each call compiles the schematron: seconds). It fails the test with
// the validator's report when any file fails.
func ValidateCDA(t testing.TB, files ...string) {
	t.Helper()
	validateCDA(t, []string{"auto"}, files)
}

// ValidateLegacyCDA checks files against the pre-2022 epSOS schema
// (validate-cda --legacy-xsd, urn:epsos-org:ep:medication), XSD only: the
// shared schematrons are the current eHDSI ones.
func ValidateLegacyCDA(t testing.TB, files ...string) {
	t.Helper()
	validateCDA(t, []string{"--legacy-xsd", "--no-schematron", "auto"}, files)
}

func validateCDA(t testing.TB, args, files []string) {
	t.Helper()
	if len(files) == 0 {
		t.Fatal("ValidateCDA: no files")
	}
	tool := Shared(t, "tools", "validate-cda")
	cmd := exec.Command(tool, append(args, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("validate-cda failed: %v\n%s", err, out)
	}
	t.Logf("validate-cda: %d files passed", len(files))
}
