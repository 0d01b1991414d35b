package terminology

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// MaxCTSFileBytes caps one licensed CTS export file.
const MaxCTSFileBytes = 256 << 20

// CTSRow is one designation of an eHDSI CTS export (see
// translations/licensed/README.md for the format).
type CTSRow struct {
	ValueSet string // value set OID, may be empty
	System   string // code system OID
	Code     string
	Lang     string
	Term     string
}

// ParseCTS parses one CTS export file: delimited text (comma, semicolon or
// tab, detected from the header line), header names matched
// case-insensitively. It is the parser of outside input in this package.
func ParseCTS(name string, b []byte) ([]CTSRow, error) {
	if len(b) > MaxCTSFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, MaxCTSFileBytes)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	line := b
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		line = b[:i]
	}
	comma := ','
	switch {
	case bytes.Count(line, []byte("\t")) > bytes.Count(line, []byte(",")):
		comma = '\t'
	case bytes.Count(line, []byte(";")) > bytes.Count(line, []byte(",")):
		comma = ';'
	}
	t, err := readTable(name, b, comma)
	if err != nil {
		return nil, err
	}
	vsCol := t.col("valueSetOid", "valueSetId", "value_set_oid", "valueset")
	sysCol := t.col("codeSystemOid", "codeSystemId", "code_system_oid", "codeSystem")
	codeCol := t.col("code", "conceptCode", "concept_code")
	langCol := t.col("language", "languageCode", "lang")
	termCol := t.col("designation", "translation", "term", "display")
	for n, i := range map[string]int{"code system": sysCol, "code": codeCol, "language": langCol, "designation": termCol} {
		if i < 0 {
			return nil, fmt.Errorf("%s: no %s column", name, n)
		}
	}
	rows := make([]CTSRow, 0, len(t.rows))
	for i, r := range t.rows {
		row := CTSRow{ValueSet: get(r, vsCol), System: get(r, sysCol), Code: get(r, codeCol), Lang: get(r, langCol), Term: get(r, termCol)}
		if row.Code == "" && row.Term == "" {
			continue // blank line
		}
		if row.Code == "" || row.System == "" || row.Lang == "" {
			return nil, fmt.Errorf("%s: row %d: code, code system and language are required", name, i+2)
		}
		if strings.ContainsAny(row.Code, "\r\n") {
			return nil, fmt.Errorf("%s: row %d: line break in code", name, i+2)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// loadLicensed reads every *.csv, *.tsv and *.txt file in dir of fsys.
func (c *Catalogue) loadLicensed(fsys fs.FS, dir string) error {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		if dir == "licensed" {
			return nil // no embedded slot in this data set
		}
		return fmt.Errorf("terminology: licensed translations: %w", err)
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		switch path.Ext(e.Name()) {
		case ".csv", ".tsv", ".txt":
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	sort.Strings(names)
	for _, n := range names {
		b, err := fs.ReadFile(fsys, path.Join(dir, n))
		if err != nil {
			return fmt.Errorf("terminology: licensed translations: %w", err)
		}
		rows, err := ParseCTS(n, b)
		if err != nil {
			return fmt.Errorf("terminology: licensed translations: %w", err)
		}
		c.applyCTS(rows)
	}
	return nil
}

func (c *Catalogue) applyCTS(rows []CTSRow) {
	for _, r := range rows {
		lang := canonLang(r.Lang)
		if r.ValueSet != "" && parentLangRoot(lang) == "en" {
			vs := c.valueSet(r.ValueSet, "")
			sys, _ := c.sysOID(r.System)
			if _, ok := vs.concepts[sc{sys, r.Code}]; !ok {
				c.addConcept(vs, sys, r.Code, r.Term)
			}
			continue
		}
		c.addDesignation(r.System, r.Code, lang, r.Term)
		c.licensedRows++
	}
}

func parentLangRoot(tag string) string {
	for p := parentLang(tag); p != ""; p = parentLang(tag) {
		tag = p
	}
	return tag
}
