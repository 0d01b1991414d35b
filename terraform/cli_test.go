package terraform_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// buildBudget bounds building Terraform inside the tests.
const buildBudget = 9 * time.Minute

var (
	tfOnce sync.Once
	tfBin  string
	tfErr  error
	tfLog  string
)

// terraformCLI returns the Terraform CLI from scripts/install-terraform
// (built once from the Go module proxy and cached). When it cannot be
// built the test is skipped, loudly.
func terraformCLI(t *testing.T) string {
	t.Helper()
	tfOnce.Do(func() {
		start := clock.Now()
		var stderr bytes.Buffer
		// A cold build costs about 5.5 CPU-minutes; bound it so that a
		// starved machine skips these checks rather than timing out the
		// package (run `make tools` first to build it outside the tests).
		ctx, cancel := context.WithTimeout(context.Background(), buildBudget)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "../scripts/install-terraform")
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		cmd.WaitDelay = 10 * time.Second
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		tfBin, tfErr = strings.TrimSpace(string(out)), err
		tfLog = stderr.String() + "(" + clock.Now().Sub(start).Round(time.Millisecond).String() + ")"
	})
	if tfErr != nil || tfBin == "" {
		t.Fatalf("scripts/install-terraform could not provide Terraform (%v); run it by hand to see why.\n%s", tfErr, tfLog)
	}
	t.Logf("terraform: %s %s", tfBin, tfLog)
	return tfBin
}

func run(t *testing.T, dir string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestTerraformFmt(t *testing.T) {
	tf := terraformCLI(t)
	out, err := run(t, ".", []string{"CHECKPOINT_DISABLE=1"}, tf, "fmt", "-check", "-recursive", "-diff", "-no-color", ".")
	if err != nil {
		t.Fatalf("terraform fmt -check -recursive: %v (run `terraform fmt -recursive terraform/`)\n%s", err, out)
	}
}

// stubMirror builds the stub provider into a filesystem mirror and writes a
// CLI configuration that installs hashicorp/aws only from it.
func stubMirror(t *testing.T) (env []string) {
	t.Helper()
	root := t.TempDir()
	const version = "6.25.0" // the hashicorp/aws release schema.json is derived from (scripts/provider-schema)
	dir := filepath.Join(root, "mirror", "registry.terraform.io", "hashicorp", "aws", version, "linux_amd64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	start := clock.Now()
	out, err := run(t, "stubprovider", []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}, "go", "build", "-o", filepath.Join(dir, "terraform-provider-aws_v"+version), ".")
	if err != nil {
		t.Fatalf("build stub provider: %v\n%s", err, out)
	}
	t.Logf("stub provider built in %v", clock.Now().Sub(start).Round(time.Millisecond))
	cfg := filepath.Join(root, "cli.tfrc")
	content := `provider_installation {
  filesystem_mirror {
    path    = "` + filepath.Join(root, "mirror") + `"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
disable_checkpoint = true
`
	if err := os.WriteFile(cfg, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"TF_CLI_CONFIG_FILE=" + cfg, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1", "TF_PLUGIN_CACHE_DIR="}
}

// copyConfig copies the .tf files (and examples' data) to a temporary
// directory, so init writes nothing into the repository.
func copyConfig(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".terraform" || d.Name() == "stubprovider" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, path), 0o755)
		}
		if !strings.HasSuffix(path, ".tf") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, path), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func validate(t *testing.T, tf, dir string, env []string) (string, error) {
	t.Helper()
	// The root module takes the aws.replica provider from its caller
	// (configuration_aliases, as examples/production passes it); Terraform
	// 1.5's validate of the module on its own finds no configuration for
	// it, so validating the root (the directory with modules/) gets one for
	// the time of the run. examples/production validates the real wiring.
	if _, err := os.Stat(filepath.Join(dir, "modules")); err == nil {
		extra := filepath.Join(dir, "validate_providers_test_only.tf")
		if err := os.WriteFile(extra, []byte("provider \"aws\" {\n  alias = \"replica\"\n}\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(extra)
	}
	if out, err := run(t, dir, env, tf, "init", "-backend=false", "-input=false", "-no-color"); err != nil {
		t.Fatalf("terraform init (offline, stub provider) in %s: %v\n%s", dir, err, out)
	}
	return run(t, dir, env, tf, "validate", "-no-color")
}

func TestTerraformValidate(t *testing.T) {
	tf := terraformCLI(t)
	env := stubMirror(t)
	src := copyConfig(t)
	for _, dir := range []string{".", "examples/production"} {
		start := clock.Now()
		out, err := validate(t, tf, filepath.Join(src, dir), env)
		if err != nil || !strings.Contains(out, "Success! The configuration is valid.") {
			t.Errorf("terraform validate %s: %v\n%s", dir, err, out)
			continue
		}
		t.Logf("terraform validate %s: ok (%v)", dir, clock.Now().Sub(start).Round(time.Millisecond))
	}

	// The stub's schema catches what a real provider would: a misspelled
	// argument and a reference to an attribute that does not exist.
	mutations := []struct {
		name, file, old, new, want string
	}{
		{"misspelled argument", "modules/function/main.tf", "memory_size ", "memory_sise ", `An argument named "memory_sise" is not expected here`},
		{"unknown attribute", "modules/keys/outputs.tf", "aws_kms_key.seal.arn", "aws_kms_key.seal.key_arn", `This object has no argument, nested block, or exported attribute named "key_arn"`},
		{"missing required block", "modules/gateway/main.tf", "security_policy = \"TLS_1_2\"", "", `The argument "security_policy" is required`},
		{"missing required argument of a new resource", "modules/function/main.tf", "function_version = var.pinned_version", "# function_version = var.pinned_version", `The argument "function_version" is required`},
		{"list block used as an object", "modules/gateway/main.tf", "domain_name_configuration[0].target_domain_name", "domain_name_configuration.target_domain_name", `Block type "domain_name_configuration" is represented by a list of objects`},
	}
	for _, m := range mutations {
		t.Run(m.name, func(t *testing.T) {
			mut := copyConfig(t)
			p := filepath.Join(mut, m.file)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(data, []byte(m.old)) {
				t.Fatalf("%s no longer contains %q: update the mutation", m.file, m.old)
			}
			if err := os.WriteFile(p, bytes.Replace(data, []byte(m.old), []byte(m.new), 1), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := validate(t, tf, mut, env)
			if err == nil || !strings.Contains(strings.Join(strings.Fields(out), " "), m.want) {
				t.Errorf("validate accepted the mutation or said something else (err %v):\n%s", err, out)
			}
		})
	}
}
