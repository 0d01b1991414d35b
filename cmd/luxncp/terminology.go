package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
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
	return fmt.Errorf("unknown subcommand %q", args[0])
}

func terminologyImport(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("terminology import", flag.ContinueOnError)
	fl.SetOutput(stderr)
	from := fl.String("from", filepath.Join("..", "shared", "reference", "terminology"), "reference terminology directory")
	out := fl.String("out", "translations", "translations directory to update")
	exclude := fl.String("exclude", strings.Join(terminology.DefaultExclude(), ","), "comma-separated value set names to leave out")
	if err := fl.Parse(args); err != nil {
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

func terminologyCoverage(args []string, stdout, stderr io.Writer) error {
	return errors.New("coverage: not implemented yet")
}

func terminologyLookup(args []string, stdout, stderr io.Writer) error {
	return errors.New("lookup: not implemented yet")
}
