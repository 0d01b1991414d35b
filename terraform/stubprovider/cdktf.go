package main

// Deriving the hashicorp/aws schema from the @cdktf/provider-aws npm
// package. No npm package ships the provider's `terraform providers schema
// -json` document itself; @cdktf/provider-aws is generated from it by
// cdktf's provider generator and carries, for every resource and data
// source, the generated TypeScript (as the source map embedded in each
// lib/<type>/index.js): one interface per configuration block whose members
// name the Terraform argument (the registry link anchor) and whether it is
// optional, one comment per attribute with the schema's own flags
// ("// <name> - computed: <bool>, optional: <bool>, required: <bool>"), the
// getter that reads it (its type), and synthesizeHclAttributes (block or
// attribute, list/set/single nesting). This file reads those back into the
// JSON form of `terraform providers schema -json`.
//
// What the generated code does not carry, and so the derived schema lacks:
// descriptions, deprecation and sensitivity flags, and min_items beyond "a
// required block needs one" and max_items beyond "a block cdktf exposes as
// a single object has at most one". Framework single nested blocks appear as
// lists of at most one (cdktf renders both alike) except `timeouts`, which
// cdktf marks as a struct.

import (
	"archive/tar"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"
	"unicode"
)

// cdktfPackage is the unpacked part of the npm tarball that matters: the
// TypeScript source of each generated file, by Terraform type name.
type cdktfPackage struct {
	provider    string            // TypeScript source of the provider file
	resources   map[string]string // aws_x -> TypeScript source
	dataSources map[string]string
	version     string // provider version the package was generated from
}

var (
	tfTypeAssign  = regexp.MustCompile(`(\w+)\.tfResourceType = "(aws_\w+)";`)
	sourceMapData = regexp.MustCompile(`sourceMappingURL=data:application/json;base64,(\S+)`)
	providerVer   = regexp.MustCompile(`providerVersion: '([0-9.]+)'`)
)

// readCDKTFPackage reads the npm tarball (package/lib/<dir>/index.js).
func readCDKTFPackage(tgz string) (*cdktfPackage, error) {
	f, err := os.Open(tgz)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tgz, err)
	}
	p := &cdktfPackage{resources: map[string]string{}, dataSources: map[string]string{}}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", tgz, err)
		}
		if path.Base(h.Name) != "index.js" || path.Dir(path.Dir(h.Name)) != "package/lib" {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", tgz, h.Name, err)
		}
		js := string(data)
		isProvider := path.Base(path.Dir(h.Name)) == "provider"
		m := tfTypeAssign.FindStringSubmatch(js)
		if m == nil && !isProvider {
			continue
		}
		ts, err := embeddedSource(js)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", h.Name, err)
		}
		switch {
		case isProvider:
			p.provider = ts
			if v := providerVer.FindStringSubmatch(ts); v != nil {
				p.version = v[1]
			}
		case strings.Contains(ts, "extends cdktf.TerraformDataSource"):
			p.dataSources[m[2]] = ts
		default:
			p.resources[m[2]] = ts
		}
	}
	if p.provider == "" {
		return nil, fmt.Errorf("%s: no package/lib/provider/index.js", tgz)
	}
	return p, nil
}

func embeddedSource(js string) (string, error) {
	m := sourceMapData.FindStringSubmatch(js)
	if m == nil {
		return "", errors.New("no embedded source map")
	}
	raw, err := base64.StdEncoding.DecodeString(m[1])
	if err != nil {
		return "", fmt.Errorf("source map: %w", err)
	}
	var sm struct {
		SourcesContent []string `json:"sourcesContent"`
	}
	if err := json.Unmarshal(raw, &sm); err != nil {
		return "", fmt.Errorf("source map: %w", err)
	}
	if len(sm.SourcesContent) != 1 {
		return "", fmt.Errorf("source map has %d sources, want 1", len(sm.SourcesContent))
	}
	return sm.SourcesContent[0], nil
}

// tsFile is what one generated TypeScript file says about the schema.
type tsFile struct {
	interfaces map[string][]ifaceMember
	classes    map[string][]classMember
	classBase  map[string]string
	hcl        map[string]map[string]hclInfo // interface name -> argument -> HCL shape
}

type ifaceMember struct {
	name     string // Terraform name
	optional bool
	tsType   string
}

type classMember struct {
	name                         string
	computed, optional, required bool
	body                         string // the lines after the flags comment
}

type hclInfo struct {
	isBlock bool
	kind    string // simple, list, set, map, struct
}

var (
	ifaceStart = regexp.MustCompile(`^export interface (\w+)`)
	classStart = regexp.MustCompile(`^export class (\w+) extends cdktf\.(\w+)`)
	hclFunc    = regexp.MustCompile(`^export function (\w+)ToHclTerraform\(`)
	anchor     = regexp.MustCompile(`#(\w+) \w+#\w+\}`)
	readonlyRe = regexp.MustCompile(`^\s+readonly (\w+)(\?)?: (.+);$`)
	flagsRe    = regexp.MustCompile(`^\s+// (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$`)
	hclEntry   = regexp.MustCompile(`(?m)^\s+(\w+): \{\n\s+value: .*\n\s+isBlock: (true|false),\n\s+type: "(\w+)",\n\s+storageClassType: "\w+",`)
	newNested  = regexp.MustCompile(`new (\w+?)(OutputReference|List|Map)\(this, "\w+"(?:, (true|false))?\)`)
	getterRe   = regexp.MustCompile(`return (cdktf\.Fn\.tolist\()?this\.(get\w*Attribute|interpolationForAttribute)\('\w+'\)`)
)

func parseTS(src string) *tsFile {
	f := &tsFile{interfaces: map[string][]ifaceMember{}, classes: map[string][]classMember{}, classBase: map[string]string{}, hcl: map[string]map[string]hclInfo{}}
	lines := strings.Split(src, "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if !strings.HasPrefix(line, "export ") {
			continue
		}
		end := i + 1 // the declaration's closing brace, at column 0
		for end < len(lines) && lines[end] != "}" {
			end++
		}
		switch {
		case ifaceStart.MatchString(line):
			name := ifaceStart.FindStringSubmatch(line)[1]
			var members []ifaceMember
			tfName := ""
			for _, l := range lines[i+1 : end] {
				if m := anchor.FindStringSubmatch(l); m != nil {
					tfName = m[1]
				}
				if m := readonlyRe.FindStringSubmatch(l); m != nil {
					members = append(members, ifaceMember{name: tfName, optional: m[2] == "?", tsType: m[3]})
					tfName = ""
				}
			}
			f.interfaces[name] = members
			i = end
		case classStart.MatchString(line):
			m := classStart.FindStringSubmatch(line)
			name := m[1]
			f.classBase[name] = m[2]
			var members []classMember
			for j := i + 1; j < end; j++ {
				fm := flagsRe.FindStringSubmatch(lines[j])
				if fm == nil {
					if strings.Contains(lines[j], "synthesizeHclAttributes()") {
						k := j + 1
						for k < end && lines[k] != "  }" {
							k++
						}
						f.hcl[name+"Config"] = hclEntries(strings.Join(lines[j:k], "\n"))
					}
					continue
				}
				k := j + 1
				for k < end && !flagsRe.MatchString(lines[k]) && strings.TrimSpace(lines[k]) != "" {
					k++
				}
				members = append(members, classMember{name: fm[1], computed: fm[2] == "true", optional: fm[3] == "true", required: fm[4] == "true", body: strings.Join(lines[j+1:k], "\n")})
			}
			f.classes[name] = members
			i = end
		case hclFunc.MatchString(line):
			fn := hclFunc.FindStringSubmatch(line)[1]
			f.hcl[upperFirst(fn)] = hclEntries(strings.Join(lines[i:end], "\n"))
			i = end
		}
	}
	return f
}

func hclEntries(chunk string) map[string]hclInfo {
	out := map[string]hclInfo{}
	for _, m := range hclEntry.FindAllStringSubmatch(chunk, -1) {
		out[m[1]] = hclInfo{isBlock: m[2] == "true", kind: m[3]}
	}
	return out
}

func upperFirst(s string) string {
	r := []rune(s)
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

// deriveBlock converts the configuration interface iface (and its class,
// when cdktf generated one) into a schema block.
func (f *tsFile) deriveBlock(iface, class string) (*jsonBlock, error) {
	members, ok := f.interfaces[iface]
	if !ok {
		return nil, fmt.Errorf("no interface %s", iface)
	}
	flags := map[string]classMember{}
	for _, cm := range f.classes[class] {
		flags[cm.name] = cm
	}
	hcl := f.hcl[iface]
	b := &jsonBlock{Attributes: map[string]*jsonAttribute{}, BlockTypes: map[string]*jsonNested{}}
	for _, m := range members {
		if m.name == "" {
			return nil, fmt.Errorf("%s: a member without a registry anchor (%s)", iface, m.tsType)
		}
		h, ok := hcl[m.name]
		if !ok {
			return nil, fmt.Errorf("%s.%s: not in synthesizeHclAttributes", iface, m.name)
		}
		cm, hasFlags := flags[m.name]
		nested, single := nestedInterface(m.tsType)
		if nested != "" && h.isBlock {
			inner, err := f.deriveBlock(nested, nested+"OutputReference")
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", iface, m.name, err)
			}
			n := &jsonNested{Block: inner}
			switch h.kind {
			case "list":
				n.NestingMode = "list"
			case "set":
				n.NestingMode = "set"
			case "struct":
				n.NestingMode = "single"
			default:
				return nil, fmt.Errorf("%s.%s: block kind %q", iface, m.name, h.kind)
			}
			if n.NestingMode != "single" {
				if !m.optional {
					n.MinItems = 1
				}
				if single {
					n.MaxItems = 1
				}
			}
			b.BlockTypes[m.name] = n
			continue
		}
		var t any
		if nested != "" {
			ot, err := f.objectType(nested)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", iface, m.name, err)
			}
			t = wrap(h.kind, ot)
		} else {
			var err error
			if t, err = primitiveType(m.tsType, h.kind); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", iface, m.name, err)
			}
		}
		a, err := attribute(t)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", iface, m.name, err)
		}
		a.Required, a.Optional = !m.optional, m.optional
		if hasFlags {
			a.Required, a.Optional, a.Computed = cm.required, cm.optional, cm.computed
		}
		b.Attributes[m.name] = a
	}
	// Attributes the provider computes and nobody sets.
	for _, cm := range f.classes[class] {
		if _, set := b.Attributes[cm.name]; set || b.BlockTypes[cm.name] != nil {
			continue
		}
		if !cm.computed || cm.optional || cm.required {
			return nil, fmt.Errorf("%s.%s: flagged settable but not in %s", class, cm.name, iface)
		}
		t, err := f.memberType(cm)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", class, cm.name, err)
		}
		a, err := attribute(t)
		if err != nil {
			return nil, err
		}
		a.Computed = true
		b.Attributes[cm.name] = a
	}
	return b, nil
}

// objectType is the cty object type of a nested attribute's interface.
func (f *tsFile) objectType(iface string) (any, error) {
	if _, ok := f.interfaces[iface]; !ok {
		return f.classObjectType(iface + "OutputReference")
	}
	b, err := f.deriveBlock(iface, iface+"OutputReference")
	if err != nil {
		return nil, err
	}
	return blockObjectType(b), nil
}

func blockObjectType(b *jsonBlock) any {
	attrs := map[string]any{}
	for name, a := range b.Attributes {
		var t any
		_ = json.Unmarshal(a.Type, &t)
		attrs[name] = t
	}
	for name, n := range b.BlockTypes {
		attrs[name] = wrap(n.NestingMode, blockObjectType(n.Block)) // "single" stays an object
	}
	return []any{"object", attrs}
}

// classObjectType is the type of a computed nested object: every member of
// its output reference class.
func (f *tsFile) classObjectType(class string) (any, error) {
	members, ok := f.classes[class]
	if !ok {
		return nil, fmt.Errorf("no class %s", class)
	}
	attrs := map[string]any{}
	for _, cm := range members {
		t, err := f.memberType(cm)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", class, cm.name, err)
		}
		attrs[cm.name] = t
	}
	return []any{"object", attrs}, nil
}

// Computed maps the framework provider returns (cdktf.StringMap and kin).
var (
	cdktfMap      = regexp.MustCompile(`new cdktf\.(\w+Map)\(this, "\w+"\)`)
	cdktfMapTypes = map[string]any{
		"StringMap":  []any{"map", "string"},
		"NumberMap":  []any{"map", "number"},
		"BooleanMap": []any{"map", "bool"},
		"AnyMap":     []any{"map", "dynamic"},
	}
)

var getterTypes = map[string]any{
	"getStringAttribute":          "string",
	"getNumberAttribute":          "number",
	"getBooleanAttribute":         "bool",
	"getListAttribute":            []any{"list", "string"},
	"getNumberListAttribute":      []any{"list", "number"},
	"getStringMapAttribute":       []any{"map", "string"},
	"getNumberMapAttribute":       []any{"map", "number"},
	"getBooleanMapAttribute":      []any{"map", "bool"},
	"getAnyMapAttribute":          []any{"map", "dynamic"},
	"interpolationForAttribute":   "dynamic",
	"getBooleanListAttribute":     []any{"list", "bool"},
	"getNumberSetAttribute":       []any{"set", "number"},
	"getStringSetAttribute":       []any{"set", "string"},
	"getStringListAttribute":      []any{"list", "string"},
	"getListOfStringMapAttribute": []any{"list", []any{"map", "string"}},
}

// memberType reads a computed attribute's type from its getter.
func (f *tsFile) memberType(cm classMember) (any, error) {
	if m := cdktfMap.FindStringSubmatch(cm.body); m != nil {
		t, ok := cdktfMapTypes[m[1]]
		if !ok {
			return nil, fmt.Errorf("cdktf.%s", m[1])
		}
		return t, nil
	}
	if m := newNested.FindStringSubmatch(cm.body); m != nil {
		ot, err := f.classObjectType(m[1] + "OutputReference")
		if err != nil {
			return nil, err
		}
		switch {
		case m[2] == "Map":
			return []any{"map", ot}, nil
		case m[2] == "List" && m[3] == "true":
			return []any{"set", ot}, nil
		case m[2] == "List":
			return []any{"list", ot}, nil
		}
		return ot, nil
	}
	m := getterRe.FindStringSubmatch(cm.body)
	if m == nil {
		return nil, errors.New("no getter")
	}
	t, ok := getterTypes[m[2]]
	if !ok {
		return nil, fmt.Errorf("getter %s", m[2])
	}
	if m[1] != "" { // cdktf.Fn.tolist(...): a set
		if l, ok := t.([]any); ok && l[0] == "list" {
			return []any{"set", l[1]}, nil
		}
	}
	return t, nil
}

// nestedInterface names the interface of a nested block or object
// argument, and whether cdktf exposes it as a single object (max_items 1).
func nestedInterface(tsType string) (name string, single bool) {
	t := strings.TrimSuffix(tsType, " | cdktf.IResolvable")
	if strings.HasSuffix(t, "[]") && isTypeName(strings.TrimSuffix(t, "[]")) {
		return strings.TrimSuffix(t, "[]"), false
	}
	if isTypeName(t) {
		return t, true
	}
	if strings.HasPrefix(t, "{ [key: string]: ") && isTypeName(strings.TrimSuffix(strings.TrimPrefix(t, "{ [key: string]: "), " }")) {
		return strings.TrimSuffix(strings.TrimPrefix(t, "{ [key: string]: "), " }"), false
	}
	return "", false
}

func isTypeName(s string) bool {
	return s != "" && unicode.IsUpper(rune(s[0])) && !strings.ContainsAny(s, " .[{|")
}

func primitiveType(tsType, kind string) (any, error) {
	elem := map[string]any{"string": "string", "number": "number", "boolean": "bool", "boolean | cdktf.IResolvable": "bool", "any": "dynamic"}
	t := strings.TrimSuffix(tsType, " | cdktf.IResolvable")
	if e, ok := elem[tsType]; ok && (kind == "simple" || kind == "") {
		return e, nil
	}
	if strings.HasSuffix(t, "[]") {
		e, ok := elem[strings.TrimSuffix(t, "[]")]
		if !ok {
			return nil, fmt.Errorf("element type %q", t)
		}
		switch kind {
		case "list", "set":
			return []any{kind, e}, nil
		}
		return nil, fmt.Errorf("collection %q of kind %q", t, kind)
	}
	if strings.HasPrefix(t, "{ [key: string]: ") {
		e, ok := elem[strings.TrimSuffix(strings.TrimPrefix(t, "{ [key: string]: "), " }")]
		if !ok {
			return nil, fmt.Errorf("map type %q", t)
		}
		return []any{"map", e}, nil
	}
	return nil, fmt.Errorf("type %q (%s)", tsType, kind)
}

func wrap(kind string, t any) any {
	switch kind {
	case "list", "set", "map":
		return []any{kind, t}
	}
	return t
}

func attribute(t any) (*jsonAttribute, error) {
	raw, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	return &jsonAttribute{Type: raw}, nil
}

// deriveTop derives the schema of a resource, data source or provider file.
func deriveTop(src, want string) (*jsonSchema, error) {
	if want != "" && !strings.Contains(src, `tfResourceType = "`+want+`"`) {
		return nil, errors.New("the file does not define it")
	}
	f := parseTS(src)
	for class, base := range f.classBase {
		switch base {
		case "TerraformResource", "TerraformDataSource", "TerraformProvider":
		default:
			continue
		}
		b, err := f.deriveBlock(class+"Config", class)
		if err != nil {
			return nil, err
		}
		if base == "TerraformProvider" {
			delete(b.Attributes, "alias") // cdktf's copy of the meta-argument
		}
		return &jsonSchema{Block: b}, nil
	}
	return nil, errors.New("no resource, data source or provider class")
}

// cdktfSchemas derives the provider schema and the schemas of the given
// resource and data source types.
func cdktfSchemas(p *cdktfPackage, resources, dataSources []string) (jsonProviderSchema, error) {
	out := jsonProviderSchema{}
	var err error
	if out.Provider, err = deriveTop(p.provider, ""); err != nil {
		return out, fmt.Errorf("provider: %w", err)
	}
	if out.ResourceSchemas, err = deriveAll("resource type", resources, p.resources); err != nil {
		return out, err
	}
	out.DataSourceSchemas, err = deriveAll("data source", dataSources, p.dataSources)
	return out, err
}

// deriveAll derives the named types from their generated sources.
func deriveAll(kind string, names []string, sources map[string]string) (map[string]*jsonSchema, error) {
	out := map[string]*jsonSchema{}
	for _, name := range names {
		src, ok := sources[name]
		if !ok {
			return nil, fmt.Errorf("%s %s is not in the package", kind, name)
		}
		s, err := deriveTop(src, name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", kind, name, err)
		}
		out[name] = s
	}
	return out, nil
}
