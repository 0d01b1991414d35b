package pki

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// The trust-list format (docs/trust.md): PEM certificates, each preceded by
// the lines "Country: XX" and "Role: tls|seal" naming its entry. Text
// outside PEM blocks is ignored by OpenSSL and by AWS, so a trust-list file
// is also a plain PEM bundle; lines starting with # are comments. A folder
// holds any number of such files (*.pem); in a file named <cc>-<role>.pem
// the attributes default to that country and role.

// MaxTrustListBytes bounds one trust-list file.
const MaxTrustListBytes = 8 << 20

// ParseTrustList reads trust-list data; defCountry and defRole (may be
// empty) apply to blocks that name no country or role.
func ParseTrustList(data []byte, defCountry string, defRole Role) ([]Entry, error) {
	if len(data) > MaxTrustListBytes {
		return nil, fmt.Errorf("trust list larger than %d bytes", MaxTrustListBytes)
	}
	var out []Entry
	rest := data
	for n := 1; ; n++ {
		i := bytes.Index(rest, []byte("-----BEGIN "))
		if i < 0 {
			break
		}
		country, role := defCountry, defRole
		for _, line := range strings.Split(string(rest[:i]), "\n") {
			line = strings.TrimSpace(line)
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.HasPrefix(line, "#") {
				continue
			}
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "country":
				country = strings.TrimSpace(v)
			case "role":
				role = Role(strings.ToLower(strings.TrimSpace(v)))
			}
		}
		blk, after := pem.Decode(rest[i:])
		if blk == nil {
			return nil, fmt.Errorf("block %d: malformed PEM", n)
		}
		rest = after
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("block %d: %s: a trust list holds certificates only", n, blk.Type)
		}
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", n, err)
		}
		e := Entry{Country: strings.ToUpper(country), Role: role, Cert: cert}
		if err := e.Check(); err != nil {
			return nil, fmt.Errorf("block %d (%s): %w", n, cert.Subject.CommonName, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// Check validates an entry's attributes.
func (e Entry) Check() error {
	if len(e.Country) != 2 || e.Country[0] < 'A' || e.Country[0] > 'Z' || e.Country[1] < 'A' || e.Country[1] > 'Z' {
		return fmt.Errorf("country %q: want \"Country: XX\" (ISO 3166 alpha-2)", e.Country)
	}
	if e.Role != RoleTLS && e.Role != RoleSeal {
		return fmt.Errorf("role %q: want \"Role: tls\" or \"Role: seal\"", e.Role)
	}
	if e.Cert == nil {
		return errors.New("no certificate")
	}
	return nil
}

// FormatTrustList writes entries in the trust-list format.
func FormatTrustList(entries []Entry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		fmt.Fprintf(&b, "# %s\nCountry: %s\nRole: %s\n", e.Cert.Subject.String(), e.Country, e.Role)
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: e.Cert.Raw})
	}
	return b.Bytes()
}

// TrustFileName is the conventional file of a country's role in a
// trust-list folder: "<cc>-<role>.pem".
func TrustFileName(cc string, r Role) string { return strings.ToLower(cc) + "-" + string(r) + ".pem" }

// defaultsOf returns the country and role a file name gives.
func defaultsOf(name string) (string, Role) {
	base := strings.TrimSuffix(filepath.Base(name), ".pem")
	cc, r, ok := strings.Cut(base, "-")
	if !ok || len(cc) != 2 || (Role(r) != RoleTLS && Role(r) != RoleSeal) {
		return "", ""
	}
	return strings.ToUpper(cc), Role(r)
}

// TrustFileError is a trust-list file that cannot be read or parsed.
type TrustFileError struct {
	File string
	Err  error
}

func (e *TrustFileError) Error() string {
	if pe := (*fs.PathError)(nil); errors.As(e.Err, &pe) && pe.Path == e.File {
		return e.Err.Error() // already names the file
	}
	return e.File + ": " + e.Err.Error()
}
func (e *TrustFileError) Unwrap() error { return e.Err }

// ReadTrustFile reads one trust-list file.
func ReadTrustFile(path string) ([]Entry, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &TrustFileError{File: path, Err: err}
	}
	cc, r := defaultsOf(path)
	entries, err := ParseTrustList(data, cc, r)
	if err != nil {
		return nil, &TrustFileError{File: path, Err: err}
	}
	for i := range entries {
		entries[i].Source = filepath.Base(path)
	}
	return entries, nil
}

// LoadTrustList reads the trust list at path: a file, or a folder whose
// *.pem files are read in name order.
func LoadTrustList(path string) ([]Entry, error) {
	files, err := trustFiles(path)
	if err != nil {
		return nil, err
	}
	var out []Entry
	for _, f := range files {
		es, err := ReadTrustFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no trust-list entries", path)
	}
	return out, nil
}

func trustFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(d.Name(), ".pem") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// FileSource is a trust list in a file or folder; its version is the
// names, sizes and modification times of its files.
type FileSource struct{ Path string }

// Load implements TrustSource.
func (s FileSource) Load(_ context.Context, since string) ([]Entry, string, error) {
	files, err := trustFiles(s.Path)
	if err != nil {
		return nil, "", err
	}
	var v strings.Builder
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(&v, "%s:%d:%d;", filepath.Base(f), st.Size(), st.ModTime().UnixNano())
	}
	if v.String() == since {
		return nil, since, nil
	}
	entries, err := LoadTrustList(s.Path)
	if err != nil {
		return nil, "", err
	}
	return entries, v.String(), nil
}

// AddToTrustList adds entries to the trust list at path: in a folder, to
// the file of their country and role (<cc>-<role>.pem); otherwise to the
// file itself. Certificates already listed for the same country and role
// are skipped. It returns the file written and the entries added.
func AddToTrustList(path string, entries []Entry) (string, []Entry, error) {
	if len(entries) == 0 {
		return "", nil, errors.New("nothing to add")
	}
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, TrustFileName(entries[0].Country, entries[0].Role))
	}
	var have []Entry
	if _, err := os.Stat(file); err == nil {
		if have, err = ReadTrustFile(file); err != nil {
			return "", nil, err
		}
	}
	var added []Entry
	for _, e := range entries {
		if err := e.Check(); err != nil {
			return "", nil, err
		}
		dup := false
		for _, h := range append(have, added...) {
			if h.Country == e.Country && h.Role == e.Role && bytes.Equal(h.Cert.Raw, e.Cert.Raw) {
				dup = true
			}
		}
		if !dup {
			added = append(added, e)
		}
	}
	if len(added) == 0 {
		return file, nil, nil
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return "", nil, err
	}
	return file, added, writeFile(file, FormatTrustList(append(have, added...)), 0o644)
}
