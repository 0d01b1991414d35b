// Command terraform-provider-aws (stub) serves the schema of the subset of
// hashicorp/aws resources luxncp's terraform/ uses, over Terraform plugin
// protocol 5, and nothing else: enough for `terraform validate` to run
// offline and reject misspelled or missing arguments and attributes. It
// cannot plan or apply. The schema is schema.json beside this file, in the
// format of `terraform providers schema -json`, derived mechanically from
// the provider's published schema (README.md beside this file):
//
//	scripts/provider-schema   # = go run . -subset .. -cdktf <@cdktf/provider-aws tarball> > schema.json
//
// or, where the Terraform registry is reachable, from the real provider:
//
//	cd terraform && terraform init -backend=false && terraform providers schema -json > /tmp/aws-schema.json
//	go run . -subset .. < /tmp/aws-schema.json > schema.json   # in terraform/stubprovider
//
// -subset keeps the provider block and the resource and data source types
// that .tf files under the given directories mention.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
)

//go:embed schema.json
var schemaJSON []byte

const providerAddress = "registry.terraform.io/hashicorp/aws"

func main() {
	subset := flag.String("subset", "", "print the schema of the provider and the types the .tf files under this directory use, and exit; from the full schema JSON on stdin, or from -cdktf")
	cdktf := flag.String("cdktf", "", "with -subset: derive the schema from this @cdktf/provider-aws npm tarball instead of stdin")
	flag.Parse()
	if *subset != "" {
		var err error
		if *cdktf != "" {
			err = writeCDKTFSubset(os.Stdout, *cdktf, *subset)
		} else {
			err = writeSubset(os.Stdout, os.Stdin, *subset)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "stub provider:", err)
			os.Exit(1)
		}
		return
	}
	schemas, err := loadSchemas(schemaJSON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "stub provider:", err)
		os.Exit(1)
	}
	if err := tf5server.Serve(providerAddress, func() tfprotov5.ProviderServer { return &server{schemas} }); err != nil {
		fmt.Fprintln(os.Stderr, "stub provider:", err)
		os.Exit(1)
	}
}

// JSON form of `terraform providers schema -json`.
type jsonSchemas struct {
	FormatVersion   string                        `json:"format_version"`
	ProviderSchemas map[string]jsonProviderSchema `json:"provider_schemas"`
}

type jsonProviderSchema struct {
	Provider          *jsonSchema            `json:"provider"`
	ResourceSchemas   map[string]*jsonSchema `json:"resource_schemas"`
	DataSourceSchemas map[string]*jsonSchema `json:"data_source_schemas"`
}

type jsonSchema struct {
	Version int64      `json:"version"`
	Block   *jsonBlock `json:"block"`
}

type jsonBlock struct {
	Attributes map[string]*jsonAttribute `json:"attributes,omitempty"`
	BlockTypes map[string]*jsonNested    `json:"block_types,omitempty"`
}

type jsonAttribute struct {
	Type      json.RawMessage `json:"type"`
	Required  bool            `json:"required,omitempty"`
	Optional  bool            `json:"optional,omitempty"`
	Computed  bool            `json:"computed,omitempty"`
	Sensitive bool            `json:"sensitive,omitempty"`
}

type jsonNested struct {
	NestingMode string     `json:"nesting_mode"`
	Block       *jsonBlock `json:"block"`
	MinItems    int64      `json:"min_items,omitempty"`
	MaxItems    int64      `json:"max_items,omitempty"`
}

type schemas struct {
	provider    *tfprotov5.Schema
	resources   map[string]*tfprotov5.Schema
	dataSources map[string]*tfprotov5.Schema
}

func loadSchemas(data []byte) (*schemas, error) {
	var js jsonSchemas
	if err := json.Unmarshal(data, &js); err != nil {
		return nil, fmt.Errorf("parse schema: %w", err)
	}
	ps, ok := js.ProviderSchemas[providerAddress]
	if !ok || ps.Provider == nil {
		return nil, fmt.Errorf("schema has no %s provider", providerAddress)
	}
	s := &schemas{resources: map[string]*tfprotov5.Schema{}, dataSources: map[string]*tfprotov5.Schema{}}
	var err error
	if s.provider, err = convertSchema(ps.Provider); err != nil {
		return nil, fmt.Errorf("provider: %w", err)
	}
	for name, r := range ps.ResourceSchemas {
		if s.resources[name], err = convertSchema(r); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for name, d := range ps.DataSourceSchemas {
		if s.dataSources[name], err = convertSchema(d); err != nil {
			return nil, fmt.Errorf("data %s: %w", name, err)
		}
	}
	return s, nil
}

func convertSchema(js *jsonSchema) (*tfprotov5.Schema, error) {
	if js.Block == nil {
		return nil, errors.New("no block")
	}
	b, err := convertBlock(js.Block)
	if err != nil {
		return nil, err
	}
	return &tfprotov5.Schema{Version: js.Version, Block: b}, nil
}

var nesting = map[string]tfprotov5.SchemaNestedBlockNestingMode{
	"single": tfprotov5.SchemaNestedBlockNestingModeSingle,
	"list":   tfprotov5.SchemaNestedBlockNestingModeList,
	"set":    tfprotov5.SchemaNestedBlockNestingModeSet,
	"map":    tfprotov5.SchemaNestedBlockNestingModeMap,
	"group":  tfprotov5.SchemaNestedBlockNestingModeGroup,
}

func convertBlock(jb *jsonBlock) (*tfprotov5.SchemaBlock, error) {
	b := &tfprotov5.SchemaBlock{}
	for _, name := range sortedKeys(jb.Attributes) {
		ja := jb.Attributes[name]
		t, err := tftypes.ParseJSONType(ja.Type) //nolint:staticcheck // the schema JSON's own type encoding
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		b.Attributes = append(b.Attributes, &tfprotov5.SchemaAttribute{
			Name: name, Type: t, Required: ja.Required, Optional: ja.Optional, Computed: ja.Computed, Sensitive: ja.Sensitive,
		})
	}
	for _, name := range sortedKeys(jb.BlockTypes) {
		jn := jb.BlockTypes[name]
		mode, ok := nesting[jn.NestingMode]
		if !ok {
			return nil, fmt.Errorf("block %s: nesting mode %q", name, jn.NestingMode)
		}
		inner, err := convertBlock(jn.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		b.BlockTypes = append(b.BlockTypes, &tfprotov5.SchemaNestedBlock{TypeName: name, Block: inner, Nesting: mode, MinItems: jn.MinItems, MaxItems: jn.MaxItems})
	}
	return b, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var typeRef = regexp.MustCompile(`(?m)^\s*(resource|data)\s+"(aws_[a-z0-9_]+)"`)

// usedTypes lists the resource and data source types the .tf files under
// dir declare.
func usedTypes(dir string) (resources, dataSources []string, err error) {
	used := map[string]map[string]bool{"resource": {}, "data": {}}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == "stubprovider") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".tf") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range typeRef.FindAllStringSubmatch(string(src), -1) {
			used[m[1]][m[2]] = true
		}
		return nil
	})
	return sortedKeys(used["resource"]), sortedKeys(used["data"]), err
}

// writeSubset filters a full schema (`terraform providers schema -json`)
// to the types used under dir.
func writeSubset(w io.Writer, r io.Reader, dir string) error {
	var full jsonSchemas
	if err := json.NewDecoder(r).Decode(&full); err != nil {
		return fmt.Errorf("parse full schema: %w", err)
	}
	ps, ok := full.ProviderSchemas[providerAddress]
	if !ok {
		return fmt.Errorf("no %s provider in the input", providerAddress)
	}
	resources, dataSources, err := usedTypes(dir)
	if err != nil {
		return err
	}
	out := jsonProviderSchema{Provider: ps.Provider, ResourceSchemas: map[string]*jsonSchema{}, DataSourceSchemas: map[string]*jsonSchema{}}
	for _, name := range resources {
		s, ok := ps.ResourceSchemas[name]
		if !ok {
			return fmt.Errorf("resource type %s is not in the provider schema", name)
		}
		out.ResourceSchemas[name] = s
	}
	for _, name := range dataSources {
		s, ok := ps.DataSourceSchemas[name]
		if !ok {
			return fmt.Errorf("data source %s is not in the provider schema", name)
		}
		out.DataSourceSchemas[name] = s
	}
	return encodeSchema(w, full.FormatVersion, out)
}

// writeCDKTFSubset derives the schema of the types used under dir from the
// @cdktf/provider-aws npm tarball (cdktf.go).
func writeCDKTFSubset(w io.Writer, tgz, dir string) error {
	p, err := readCDKTFPackage(tgz)
	if err != nil {
		return err
	}
	resources, dataSources, err := usedTypes(dir)
	if err != nil {
		return err
	}
	out, err := cdktfSchemas(p, resources, dataSources)
	if err != nil {
		return fmt.Errorf("%s (hashicorp/aws %s): %w", tgz, p.version, err)
	}
	return encodeSchema(w, "1.0", out)
}

func encodeSchema(w io.Writer, formatVersion string, ps jsonProviderSchema) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(jsonSchemas{FormatVersion: formatVersion, ProviderSchemas: map[string]jsonProviderSchema{providerAddress: ps}})
}

// server answers schema and validation calls; everything that would touch
// AWS is refused.
type server struct{ s *schemas }

var errStub = errors.New("luxncp stub provider: validation only; use the real hashicorp/aws provider to plan or apply")

func stubDiag() []*tfprotov5.Diagnostic {
	return []*tfprotov5.Diagnostic{{Severity: tfprotov5.DiagnosticSeverityError, Summary: errStub.Error()}}
}

func (p *server) GetMetadata(context.Context, *tfprotov5.GetMetadataRequest) (*tfprotov5.GetMetadataResponse, error) {
	resp := &tfprotov5.GetMetadataResponse{ServerCapabilities: &tfprotov5.ServerCapabilities{GetProviderSchemaOptional: false}}
	for _, name := range sortedKeys(p.s.resources) {
		resp.Resources = append(resp.Resources, tfprotov5.ResourceMetadata{TypeName: name})
	}
	for _, name := range sortedKeys(p.s.dataSources) {
		resp.DataSources = append(resp.DataSources, tfprotov5.DataSourceMetadata{TypeName: name})
	}
	return resp, nil
}

func (p *server) GetProviderSchema(context.Context, *tfprotov5.GetProviderSchemaRequest) (*tfprotov5.GetProviderSchemaResponse, error) {
	return &tfprotov5.GetProviderSchemaResponse{
		Provider:          p.s.provider,
		ResourceSchemas:   p.s.resources,
		DataSourceSchemas: p.s.dataSources,
		Functions:         map[string]*tfprotov5.Function{},
	}, nil
}

func (p *server) GetResourceIdentitySchemas(context.Context, *tfprotov5.GetResourceIdentitySchemasRequest) (*tfprotov5.GetResourceIdentitySchemasResponse, error) {
	return &tfprotov5.GetResourceIdentitySchemasResponse{IdentitySchemas: map[string]*tfprotov5.ResourceIdentitySchema{}}, nil
}

func (p *server) PrepareProviderConfig(_ context.Context, req *tfprotov5.PrepareProviderConfigRequest) (*tfprotov5.PrepareProviderConfigResponse, error) {
	return &tfprotov5.PrepareProviderConfigResponse{PreparedConfig: req.Config}, nil
}

func (p *server) ConfigureProvider(context.Context, *tfprotov5.ConfigureProviderRequest) (*tfprotov5.ConfigureProviderResponse, error) {
	return &tfprotov5.ConfigureProviderResponse{}, nil
}

func (p *server) StopProvider(context.Context, *tfprotov5.StopProviderRequest) (*tfprotov5.StopProviderResponse, error) {
	return &tfprotov5.StopProviderResponse{}, nil
}

func (p *server) ValidateResourceTypeConfig(context.Context, *tfprotov5.ValidateResourceTypeConfigRequest) (*tfprotov5.ValidateResourceTypeConfigResponse, error) {
	return &tfprotov5.ValidateResourceTypeConfigResponse{}, nil
}

func (p *server) UpgradeResourceState(context.Context, *tfprotov5.UpgradeResourceStateRequest) (*tfprotov5.UpgradeResourceStateResponse, error) {
	return &tfprotov5.UpgradeResourceStateResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) ReadResource(context.Context, *tfprotov5.ReadResourceRequest) (*tfprotov5.ReadResourceResponse, error) {
	return &tfprotov5.ReadResourceResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) PlanResourceChange(context.Context, *tfprotov5.PlanResourceChangeRequest) (*tfprotov5.PlanResourceChangeResponse, error) {
	return &tfprotov5.PlanResourceChangeResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) ApplyResourceChange(context.Context, *tfprotov5.ApplyResourceChangeRequest) (*tfprotov5.ApplyResourceChangeResponse, error) {
	return &tfprotov5.ApplyResourceChangeResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) ImportResourceState(context.Context, *tfprotov5.ImportResourceStateRequest) (*tfprotov5.ImportResourceStateResponse, error) {
	return &tfprotov5.ImportResourceStateResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) MoveResourceState(context.Context, *tfprotov5.MoveResourceStateRequest) (*tfprotov5.MoveResourceStateResponse, error) {
	return &tfprotov5.MoveResourceStateResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) UpgradeResourceIdentity(context.Context, *tfprotov5.UpgradeResourceIdentityRequest) (*tfprotov5.UpgradeResourceIdentityResponse, error) {
	return &tfprotov5.UpgradeResourceIdentityResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) GenerateResourceConfig(context.Context, *tfprotov5.GenerateResourceConfigRequest) (*tfprotov5.GenerateResourceConfigResponse, error) {
	return &tfprotov5.GenerateResourceConfigResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) ValidateDataSourceConfig(context.Context, *tfprotov5.ValidateDataSourceConfigRequest) (*tfprotov5.ValidateDataSourceConfigResponse, error) {
	return &tfprotov5.ValidateDataSourceConfigResponse{}, nil
}

func (p *server) ReadDataSource(context.Context, *tfprotov5.ReadDataSourceRequest) (*tfprotov5.ReadDataSourceResponse, error) {
	return &tfprotov5.ReadDataSourceResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) CallFunction(context.Context, *tfprotov5.CallFunctionRequest) (*tfprotov5.CallFunctionResponse, error) {
	return &tfprotov5.CallFunctionResponse{Error: &tfprotov5.FunctionError{Text: errStub.Error()}}, nil
}

func (p *server) GetFunctions(context.Context, *tfprotov5.GetFunctionsRequest) (*tfprotov5.GetFunctionsResponse, error) {
	return &tfprotov5.GetFunctionsResponse{Functions: map[string]*tfprotov5.Function{}}, nil
}

func (p *server) ValidateEphemeralResourceConfig(context.Context, *tfprotov5.ValidateEphemeralResourceConfigRequest) (*tfprotov5.ValidateEphemeralResourceConfigResponse, error) {
	return &tfprotov5.ValidateEphemeralResourceConfigResponse{}, nil
}

func (p *server) OpenEphemeralResource(context.Context, *tfprotov5.OpenEphemeralResourceRequest) (*tfprotov5.OpenEphemeralResourceResponse, error) {
	return &tfprotov5.OpenEphemeralResourceResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) RenewEphemeralResource(context.Context, *tfprotov5.RenewEphemeralResourceRequest) (*tfprotov5.RenewEphemeralResourceResponse, error) {
	return &tfprotov5.RenewEphemeralResourceResponse{Diagnostics: stubDiag()}, nil
}

func (p *server) CloseEphemeralResource(context.Context, *tfprotov5.CloseEphemeralResourceRequest) (*tfprotov5.CloseEphemeralResourceResponse, error) {
	return &tfprotov5.CloseEphemeralResourceResponse{Diagnostics: stubDiag()}, nil
}
