package terminology

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
)

// table is a parsed CSV file with a header row.
type table struct {
	name   string
	head   []string       // header as written
	header map[string]int // lower-case header → column
	rows   [][]string
}

// readTable parses CSV (comma by default) with a header row. It tolerates a
// UTF-8 BOM and CRLF line ends, and trims spaces around fields.
func readTable(name string, b []byte, comma rune) (*table, error) {
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(b))
	if comma != 0 {
		r.Comma = comma
	}
	r.FieldsPerRecord = -1
	r.ReuseRecord = false
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	t := &table{name: name, header: make(map[string]int, len(head))}
	for i, h := range head {
		h = strings.TrimSpace(h)
		t.head = append(t.head, h)
		if _, dup := t.header[strings.ToLower(h)]; !dup {
			t.header[strings.ToLower(h)] = i
		}
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		t.rows = append(t.rows, rec)
	}
	return t, nil
}

// col returns the index of the first header among names, or -1.
func (t *table) col(names ...string) int {
	for _, n := range names {
		if i, ok := t.header[strings.ToLower(n)]; ok {
			return i
		}
	}
	return -1
}

// need returns the column indexes of names, or an error naming the first missing one.
func (t *table) need(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		if idx[i] = t.col(n); idx[i] < 0 {
			return nil, fmt.Errorf("%s: missing column %q", t.name, n)
		}
	}
	return idx, nil
}

// get returns row[i] or "" when i is out of range (ragged rows, absent column).
func get(row []string, i int) string {
	if i < 0 || i >= len(row) {
		return ""
	}
	return row[i]
}

// writeCSV renders rows (header first) with LF line ends.
func writeCSV(rows [][]string) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.WriteAll(rows) // writes to a bytes.Buffer cannot fail
	return buf.Bytes()
}
