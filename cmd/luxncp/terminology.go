package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/luxncp/luxncp/internal/terminology"
)

const terminologyUsage = `usage:
  luxncp terminology import [--from DIR] [--out DIR] [--exclude NAMES]
      rebuild translations/mvc/ and manifest.json from the shared reference
      terminology (default --from ../shared/reference/terminology --out translations)
  luxncp terminology coverage [--licensed DIR] [DIR…]
      per value set, how many codes of the national documents (FHIR JSON,
      LU CDA XML) under DIR map to the MVC (default internal/national/demo/data)
  luxncp terminology coverage --lang de|fr|en [--licensed DIR] [FILE…]
      how many coded terms of the CDA documents FILE (paths or globs; default
      the shared PS and eP samples ../shared/reference/cda/samples/{ps,ep}/*.xml)
      get a display in the language (over all terms, and over terminology
      terms: without the untranslated terms of code systems the catalogue
      does not know), and the misses by code system
  luxncp terminology lookup [--lang LANG] [--licensed DIR] <system> <code>
      the MVC code, displays per language and mapping path of one code
      (system: OID, urn:oid:…, FHIR URI or a short name: atc, edqm, icd10,
      snomed, loinc, ucum, lu-product, unit)

Licensed translations (eHDSI CTS export) are read from --licensed, or from
$` + terminology.EnvLicensedDir + ` when the flag is absent.
`

func runTerminology(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, terminologyUsage)
		return nil
	}
	switch args[0] {
	case "import":
		return terminologyImport(args[1:], stdout, stderr)
	case "coverage":
		return terminologyCoverage(args[1:], stdout, stderr)
	case "lookup":
		return terminologyLookup(args[1:], stdout, stderr)
	}
	fmt.Fprint(stderr, terminologyUsage)
	return badUsage("unknown terminology command %q (import, coverage, lookup)", args[0])
}

func terminologyImport(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("terminology import", terminologyUsage, stderr)
	from := fl.String("from", filepath.Join("..", "shared", "reference", "terminology"), "reference terminology directory")
	out := fl.String("out", "translations", "translations directory to update")
	exclude := fl.String("exclude", strings.Join(terminology.DefaultExclude(), ","), "comma-separated value set names to leave out")
	if err := parseFlags(fl, args); err != nil {
		return err
	}
	var opt terminology.ImportOptions
	opt.Exclude = []string{}
	for _, n := range strings.Split(*exclude, ",") {
		if n = strings.TrimSpace(n); n != "" {
			opt.Exclude = append(opt.Exclude, n)
		}
	}
	files, err := terminology.Import(os.DirFS(*from), os.DirFS(*out), opt)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*out, terminology.MVCDir), 0o755); err != nil {
		return err
	}
	var written, same, removed int
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(*out, filepath.FromSlash(n))
		if old, err := os.ReadFile(p); err == nil && bytes.Equal(old, files[n]) {
			same++
			continue
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", p)
		written++
	}
	// Files under mvc/ that the import no longer produces are stale.
	ents, err := os.ReadDir(filepath.Join(*out, terminology.MVCDir))
	if err != nil {
		return err
	}
	for _, e := range ents {
		n := terminology.MVCDir + "/" + e.Name()
		if _, ok := files[n]; !ok && !e.IsDir() {
			if err := os.Remove(filepath.Join(*out, terminology.MVCDir, e.Name())); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "removed %s\n", n)
			removed++
		}
	}
	fmt.Fprintf(stdout, "import: %d files written, %d unchanged, %d removed\n", written, same, removed)
	return nil
}

// defaultCoverageDir holds the demo national documents.
const defaultCoverageDir = "internal/national/demo/data"

func loadCatalogue(licensed string) (*terminology.Catalogue, error) {
	if licensed == "" {
		licensed = os.Getenv(terminology.EnvLicensedDir)
	}
	return terminology.LoadLicensedDir(licensed)
}

func terminologyCoverage(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("terminology coverage", terminologyUsage, stderr)
	licensed := fl.String("licensed", "", "directory of licensed CTS exports (default $"+terminology.EnvLicensedDir+")")
	lang := fl.String("lang", "", "report display coverage in this language over CDA documents (de, fr, en)")
	if err := parseFlags(fl, reorderFlags(args, map[string]bool{"licensed": true, "lang": true})); err != nil {
		return err
	}
	if *lang != "" {
		cat, err := loadCatalogue(*licensed)
		if err != nil {
			return err
		}
		return langCoverage(cat, *lang, fl.Args(), stdout)
	}
	dirs := fl.Args()
	explicit := len(dirs) > 0
	if !explicit {
		dirs = []string{defaultCoverageDir}
	}
	cat, err := loadCatalogue(*licensed)
	if err != nil {
		return err
	}
	var sets []terminology.DocumentSet
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			if !explicit && errors.Is(err, os.ErrNotExist) {
				fmt.Fprintf(stderr, "luxncp terminology coverage: %s does not exist yet; no documents scanned\n", d)
				continue
			}
			return err
		}
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", d)
		}
		name := filepath.ToSlash(filepath.Clean(d))
		sets = append(sets, terminology.DocumentSet{FS: os.DirFS(d), Root: ".", Name: name})
	}
	rep, err := cat.Coverage(sets...)
	if err != nil {
		return err
	}
	return rep.WriteTable(stdout, strings.Join(dirs, ", "))
}

// systemShortNames lets operators type `lookup atc H03AA01`.
var systemShortNames = map[string]string{
	"atc": terminology.OIDATC, "edqm": terminology.OIDEDQM, "ucum": terminology.OIDUCUM,
	"snomed": terminology.OIDSNOMED, "sct": terminology.OIDSNOMED, "loinc": terminology.OIDLOINC,
	"icd10": terminology.OIDICD10, "icd-10": terminology.OIDICD10, "lu-product": terminology.OIDLUProduct,
	"unit": "", "text": "",
}

func terminologyLookup(args []string, stdout, stderr io.Writer) error {
	fl := newFlagSet("terminology lookup", terminologyUsage, stderr)
	lang := fl.String("lang", "", "language for the translated display (BCP 47, e.g. fr, de-LU)")
	licensed := fl.String("licensed", "", "directory of licensed CTS exports (default $"+terminology.EnvLicensedDir+")")
	if err := parseFlags(fl, reorderFlags(args, map[string]bool{"lang": true, "licensed": true})); err != nil {
		return err
	}
	if fl.NArg() != 2 {
		return badUsage("lookup needs <system> <code>, e.g. luxncp terminology lookup atc H03AA01 --lang fr (got %d argument(s))", fl.NArg())
	}
	system, code := fl.Arg(0), fl.Arg(1)
	if s, ok := systemShortNames[strings.ToLower(system)]; ok {
		system = s
	}
	cat, err := loadCatalogue(*licensed)
	if err != nil {
		return err
	}
	r := cat.Lookup(system, code)
	var b strings.Builder
	sysLabel := r.System
	if r.SystemName != "" {
		sysLabel += " (" + r.SystemName + ")"
	}
	if r.System == "" {
		sysLabel = "(free text)"
	}
	fmt.Fprintf(&b, "code      %s\nsystem    %s\n", code, sysLabel)
	if system != "" && system != r.System {
		fmt.Fprintf(&b, "          given as %s\n", system)
	}
	if !r.KnownSystem {
		b.WriteString("          unknown code system\n")
	}
	if p := r.Product; p != nil {
		kind := "curated"
		if p.Synthetic {
			kind = "synthetic"
		}
		fmt.Fprintf(&b, "\nLU product %s (%s)\n", p.Name, kind)
		writeCoding(&b, "ATC", p.ATC)
		writeCoding(&b, "dose form", p.DoseForm)
		writeCoding(&b, "package", p.Package)
		writeCoding(&b, "route", p.Route)
		fmt.Fprintf(&b, "  %-10s %s %s\n", "strength", p.Strength.Value, p.Strength.Unit)
		for i, in := range p.Ingredients {
			atc := "no ATC"
			if in.ATC.Code != "" {
				atc = "ATC " + in.ATC.Code
			}
			fmt.Fprintf(&b, "  %-10s %s %s %s (%s)\n", fmt.Sprintf("ingr. %d", i+1), in.Name, in.Strength.Value, in.Strength.Unit, atc)
		}
	}
	if len(r.In) > 0 {
		b.WriteString("\nin value sets (already MVC)\n")
		for _, h := range r.In {
			fmt.Fprintf(&b, "  %-28s %-38s %s\n", h.Name, h.ValueSet, h.Display)
		}
	}
	if len(r.Transcodes) > 0 {
		b.WriteString("\nmaps to\n")
		for _, m := range r.Transcodes {
			fmt.Fprintf(&b, "  %-28s %s %q (%s %s)\n", m.Name, m.Result.MVC.Code, m.Result.MVC.Display, m.Result.MVC.SystemName, m.Result.MVC.System)
			fmt.Fprintf(&b, "  %-28s path: %s\n", "", strings.Join(m.Result.Path, " → "))
		}
	}
	if len(r.In) == 0 && len(r.Transcodes) == 0 {
		b.WriteString("\nnot in any loaded value set and no mapping: emitted with nullFlavor (RNFA/O) or rejected (R)\n")
	}
	if len(r.Displays) > 0 {
		b.WriteString("\ndisplays\n")
		for _, d := range r.Displays {
			fmt.Fprintf(&b, "  %-6s %s\n", d.Lang, d.Text)
		}
	}
	if *lang != "" {
		target := terminology.Coding{Code: code, System: system}
		if len(r.In) == 0 && len(r.Transcodes) > 0 {
			target = r.Transcodes[0].Result.MVC
		}
		t, ok := cat.Translate(target, *lang)
		switch {
		case !ok:
			fmt.Fprintf(&b, "\nin %s: no display\n", *lang)
		case t.Fallback:
			fmt.Fprintf(&b, "\nin %s: %s  (fell back to %s)\n", *lang, t.Text, t.Lang)
		default:
			fmt.Fprintf(&b, "\nin %s: %s\n", *lang, t.Text)
		}
	}
	_, err = io.WriteString(stdout, b.String())
	return err
}

func writeCoding(b *strings.Builder, label string, c terminology.Coding) {
	if c.Code == "" {
		fmt.Fprintf(b, "  %-10s (no mapping)\n", label)
		return
	}
	fmt.Fprintf(b, "  %-10s %s %s\n", label, c.Code, c.Display)
}

// reorderFlags moves flags (and the values of those in withValue) before the
// positional arguments, so `lookup atc H03AA01 --lang fr` works.
func reorderFlags(args []string, withValue map[string]bool) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") && len(a) > 1 {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if withValue[name] && !strings.Contains(name, "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}
