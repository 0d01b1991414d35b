// Package terraform_test checks luxncp's Terraform configuration offline:
// the invariants of issue 10 asserted over the HCL (github.com/hashicorp/
// hcl/v2), and, with a Terraform CLI built by scripts/install-terraform,
// `terraform fmt -check -recursive` and `terraform validate` against the
// stub provider in stubprovider/ (the hashicorp/aws schema subset in
// stubprovider/schema.json). No network, no AWS account.
package terraform_test
