// Package terraform_test checks luxncp's Terraform configuration offline:
// the invariants of issue 10 asserted over the HCL (github.com/hashicorp/
// hcl/v2), and, with a Terraform CLI built by scripts/install-terraform,
// `terraform fmt -check -recursive` and `terraform validate` against the
// stub provider in stubprovider/ (the hashicorp/aws schema subset in
// stubprovider/schema.json). No network, no AWS account.
package terraform_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

var (
	docOutputCmd  = regexp.MustCompile("terraform output (?:-raw |-json )?([a-z_]+)")
	docOutputWord = regexp.MustCompile("output `([a-z_]+)`")
	backticked    = regexp.MustCompile("`([a-z_]+)`")
)

// docs/deploy.md uses only outputs examples/production has (each passing
// on the root module's output of the same name), and its Outputs table
// lists exactly the example's outputs.
func TestDeployDocOutputsExist(t *testing.T) {
	c := load(t)
	root := map[string]bool{}
	for _, o := range c.blocks(".", "output") {
		root[o.Labels[0]] = true
	}
	example := map[string]bool{}
	for _, o := range c.blocks("examples/production", "output") {
		name := o.Labels[0]
		example[name] = true
		if v := c.text(o, attr(t, o.Body, "value")); v != "module.luxncp."+name || !root[name] {
			t.Errorf("examples/production output %s = %s: want module.luxncp.%s, a root output", name, v, name)
		}
	}
	src, err := os.ReadFile("../docs/deploy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(src)
	used := map[string]bool{}
	for _, re := range []*regexp.Regexp{docOutputCmd, docOutputWord} {
		for _, m := range re.FindAllStringSubmatch(doc, -1) {
			used[m[1]] = true
		}
	}
	_, table, ok := strings.Cut(doc, "\n### Outputs\n")
	if !ok {
		t.Fatal("docs/deploy.md has no \"### Outputs\" section")
	}
	table, _, _ = strings.Cut(table, "\n## ")
	listed := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.Contains(cells[1], "`") {
			continue
		}
		for _, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
			listed[m[1]] = true
			used[m[1]] = true
		}
	}
	if len(used) < 10 {
		t.Fatalf("found only %d outputs in docs/deploy.md: is the scan still working?", len(used))
	}
	for _, name := range sortedKeys(used) {
		if !example[name] {
			t.Errorf("docs/deploy.md uses output %q, which examples/production does not have", name)
		}
	}
	for _, name := range sortedKeys(example) {
		if !listed[name] {
			t.Errorf("examples/production output %q is not in docs/deploy.md's Outputs table", name)
		}
	}
}
