package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/luxncp/luxncp/internal/render"
	"github.com/luxncp/luxncp/internal/terminology"
)

// defaultLangCoverageFiles are the shared eHDSI Patient Summary and
// ePrescription samples (read where they are, never copied).
var defaultLangCoverageFiles = []string{
	filepath.Join("..", "shared", "reference", "cda", "samples", "ps", "*.xml"),
	filepath.Join("..", "shared", "reference", "cda", "samples", "ep", "*.xml"),
}

// maxMissCodes bounds the codes printed per code system.
const maxMissCodes = 12

// langCoverage reports, for the coded terms of the CDA documents in files
// (paths or glob patterns), how many translation shows in lang (render's
// own rules: the term's code, then its <translation> children), and lists
// the misses by code system. A second total leaves out the terms no
// terminology could translate: those shown untranslated whose code system
// the catalogue does not know (translations/systems.csv), i.e. local
// identifiers and placeholder or mistyped OIDs.
func langCoverage(cat *terminology.Catalogue, lang string, files []string, stdout io.Writer) error {
	lang, err := render.CheckLang(lang)
	if err != nil {
		return badUsage("%v", err)
	}
	explicit := len(files) > 0
	if !explicit {
		files = defaultLangCoverageFiles
	}
	var paths []string
	for _, f := range files {
		m, err := filepath.Glob(f)
		if err != nil {
			return badUsage("%s: %v", f, err)
		}
		if len(m) == 0 {
			return fmt.Errorf("%s: no such file", f)
		}
		paths = append(paths, m...)
	}
	type miss struct {
		terms int
		codes map[string]int
	}
	misses := map[string]*miss{}
	var terms, shown, english, local int
	localSystems := map[string]bool{}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "document\tterms\tin %s\tEnglish\tas received\n", lang)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if len(b) > terminology.MaxDocumentBytes {
			return fmt.Errorf("%s: larger than %d bytes", p, terminology.MaxDocumentBytes)
		}
		_, rep, err := render.Translate(b, cat, lang)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		en := 0
		for _, u := range rep.Untranslated {
			if u.Status == render.StatusEnglish {
				en++
			}
			sys := u.System
			if oid, name, ok := cat.CodeSystem(u.System); ok && name != "" {
				sys = oid + " (" + name + ")"
			} else {
				local++
				localSystems[u.System] = true
			}
			m := misses[sys]
			if m == nil {
				m = &miss{codes: map[string]int{}}
				misses[sys] = m
			}
			m.terms++
			m.codes[u.Code]++
		}
		terms, shown, english = terms+rep.Terms, shown+rep.Translated, english+en
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", filepath.ToSlash(p), rep.Terms, rep.Translated, en, rep.Terms-rep.Translated-en)
	}
	fmt.Fprintf(tw, "total\t%d\t%d (%s)\t%d\t%d\n", terms, shown, percent(shown, terms), english, terms-shown-english)
	fmt.Fprintf(tw, "terminology terms\t%d\t%d (%s)\t%d\t%d\n", terms-local, shown, percent(shown, terms-local), english, terms-shown-english-local)
	if err := tw.Flush(); err != nil {
		return err
	}
	if local > 0 {
		ls := make([]string, 0, len(localSystems))
		for s := range localSystems {
			ls = append(ls, s)
		}
		sort.Strings(ls)
		fmt.Fprintf(stdout, "\nterminology terms leave out %d terms of code systems the catalogue does not know (local identifiers, placeholder or mistyped OIDs: %s)\n",
			local, strings.Join(ls, " "))
	}
	if len(misses) == 0 {
		_, err := fmt.Fprintf(stdout, "\nevery coded term has a display in %s\n", lang)
		return err
	}
	fmt.Fprintf(stdout, "\nnot in %s, by code system (terms, distinct codes: codes)\n", lang)
	systems := make([]string, 0, len(misses))
	for s := range misses {
		systems = append(systems, s)
	}
	sort.Slice(systems, func(i, j int) bool {
		if misses[systems[i]].terms != misses[systems[j]].terms {
			return misses[systems[i]].terms > misses[systems[j]].terms
		}
		return systems[i] < systems[j]
	})
	for _, s := range systems {
		m := misses[s]
		codes := make([]string, 0, len(m.codes))
		for c := range m.codes {
			codes = append(codes, c)
		}
		sort.Strings(codes)
		more := ""
		if len(codes) > maxMissCodes {
			more = fmt.Sprintf(" … (+%d)", len(codes)-maxMissCodes)
			codes = codes[:maxMissCodes]
		}
		fmt.Fprintf(stdout, "  %-72s %4d %4d: %s%s\n", s, m.terms, len(m.codes), strings.Join(codes, " "), more)
	}
	return nil
}

func percent(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", float64(n)*100/float64(of))
}
