// Command lambdazip writes a reproducible zip for an AWS Lambda deployment
// package: entries sorted by name, fixed timestamps (1980-01-01 00:00 UTC,
// the earliest a zip can hold), fixed permissions (0755 for bootstrap and
// other executables named with -x, 0644 otherwise), Deflate at the default
// level. The same inputs give the same bytes, so the same source gives the
// same hash. Used by scripts/build-lambda.
//
//	lambdazip -o dist/xcpd.zip bootstrap=/tmp/build/xcpd/bootstrap [name=path ...]
package main

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// epoch is the fixed modification time of every entry.
var epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one file of the archive.
type entry struct {
	Name string // path inside the zip
	Data []byte
	Exec bool
}

// write writes entries as a deterministic zip to w.
func write(w io.Writer, entries []entry) error {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].Name == sorted[i-1].Name {
			return fmt.Errorf("duplicate entry %q", sorted[i].Name)
		}
	}
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, flate.DefaultCompression)
	})
	for _, e := range sorted {
		if e.Name == "" || strings.HasPrefix(e.Name, "/") || strings.Contains(e.Name, "..") {
			return fmt.Errorf("bad entry name %q", e.Name)
		}
		h := &zip.FileHeader{Name: e.Name, Method: zip.Deflate, Modified: epoch}
		mode := os.FileMode(0o644)
		if e.Exec {
			mode = 0o755
		}
		h.SetMode(mode)
		f, err := zw.CreateHeader(h)
		if err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
		if _, err := f.Write(e.Data); err != nil {
			return fmt.Errorf("zip %s: %w", e.Name, err)
		}
	}
	return zw.Close()
}

func main() {
	out := flag.String("o", "", "output zip file")
	flag.Parse()
	if err := run(*out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

func run(out string, args []string) error {
	if out == "" || len(args) == 0 {
		return errors.New("usage: lambdazip -o OUT.zip name=path [name=path ...]")
	}
	var entries []entry
	for _, a := range args {
		name, path, ok := strings.Cut(a, "=")
		if !ok {
			return fmt.Errorf("argument %q: want name=path", a)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		st, err := os.Stat(path)
		if err != nil {
			return err
		}
		entries = append(entries, entry{Name: name, Data: data, Exec: name == "bootstrap" || st.Mode()&0o111 != 0})
	}
	var buf bytes.Buffer
	if err := write(&buf, entries); err != nil {
		return err
	}
	tmp := out + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}
