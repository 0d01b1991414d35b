package main

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestWriteDeterministic(t *testing.T) {
	a := []entry{{Name: "bootstrap", Data: []byte("\x7fELF fake"), Exec: true}, {Name: "config/defaults.json", Data: []byte(`{}`)}}
	b := []entry{a[1], a[0]} // other order
	var x, y bytes.Buffer
	if err := write(&x, a); err != nil {
		t.Fatal(err)
	}
	if err := write(&y, b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x.Bytes(), y.Bytes()) {
		t.Fatal("same entries in another order gave different bytes")
	}
	zr, err := zip.NewReader(bytes.NewReader(x.Bytes()), int64(x.Len()))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name string
		mode os.FileMode
	}{{"bootstrap", 0o755}, {"config/defaults.json", 0o644}}
	for i, f := range zr.File {
		if f.Name != want[i].name || f.Mode().Perm() != want[i].mode || !f.Modified.Equal(epoch) {
			t.Errorf("entry %d = %s %v %v, want %s %v %v", i, f.Name, f.Mode(), f.Modified, want[i].name, want[i].mode, epoch)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	for _, es := range [][]entry{
		{{Name: "a"}, {Name: "a"}},
		{{Name: "../etc/passwd"}},
		{{Name: "/abs"}},
		{{Name: ""}},
	} {
		if err := write(&bytes.Buffer{}, es); err == nil {
			t.Errorf("write(%v) succeeded", es)
		}
	}
}

// run on files with different timestamps and modes gives the same bytes.
func TestRunIgnoresFileMetadata(t *testing.T) {
	dir := t.TempDir()
	var sums [2][32]byte
	for i := range 2 {
		p := filepath.Join(dir, "bootstrap")
		if err := os.WriteFile(p, []byte("binary"), 0o700+os.FileMode(i)*0o50); err != nil {
			t.Fatal(err)
		}
		mt := time.Date(2020+i, 1, 1, 0, 0, 0, 0, time.UTC)
		if err := os.Chtimes(p, mt, mt); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, "out.zip")
		if err := run(out, []string{"bootstrap=" + p}); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		sums[i] = sha256.Sum256(data)
	}
	if sums[0] != sums[1] {
		t.Fatal("file timestamps or modes leaked into the zip")
	}
}

// TestBuildLambdaReproducible runs scripts/build-lambda twice on a tiny
// function in a temporary module and expects identical zips with an
// arm64 Linux executable called bootstrap inside.
func TestBuildLambdaReproducible(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-compiles twice; skipped with -short")
	}
	if runtime.GOOS != "linux" {
		t.Skip("build-lambda is a bash script for Linux")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	mod := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(mod, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/fn\n\ngo 1.22\n")
	write("functions/hello/main.go", "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(\"hello\") }\n")
	write("functions/notes/README.md", "not a function\n")
	var hashes []string
	for i := range 2 {
		dist := filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command("bash", filepath.Join(repo, "scripts/build-lambda"))
		cmd.Env = append(os.Environ(), "LAMBDA_ROOT="+mod, "DIST_DIR="+dist)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("build-lambda (run %d): %v\n%s", i, err, out)
		}
		if !strings.Contains(string(out), "hello.zip") {
			t.Errorf("build-lambda did not report the zip:\n%s", out)
		}
		if _, err := os.Stat(filepath.Join(dist, "notes.zip")); err == nil {
			t.Error("a directory without main.go was packaged")
		}
		data, err := os.ReadFile(filepath.Join(dist, "hello.zip"))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, sha(data))
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" || zr.File[0].Mode().Perm() != 0o755 {
			t.Fatalf("zip entries = %v", zr.File)
		}
		rc, err := zr.File[0].Open()
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, 20)
		if _, err := rc.Read(head); err != nil {
			t.Fatal(err)
		}
		rc.Close()
		// ELF magic, 64-bit, little endian; e_machine 0xB7 = AArch64.
		if string(head[:4]) != "\x7fELF" || head[4] != 2 || head[18] != 0xB7 {
			t.Errorf("bootstrap is not an arm64 ELF: % x", head)
		}
	}
	if hashes[0] != hashes[1] {
		t.Error("two builds of the same source gave different zips")
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return string(s[:])
}
