package clock_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/testutil"
)

// TestNothingElseReadsTheWallClock walks every Go file of the module (tests
// included: the time bomb that once turned main red was a test mixing a fixed
// clock with the real one) and refuses any reading of the wall clock outside
// this package: time.Now, time.Since, time.Until, and goxmldsig's real clock.
func TestNothingElseReadsTheWallClock(t *testing.T) {
	root := testutil.RepoRoot(t)
	banned := map[string]map[string]bool{
		"time":                                {"Now": true, "Since": true, "Until": true},
		"github.com/russellhaering/goxmldsig": {"NewRealClock": true},
	}
	self, _ := filepath.Abs(".")
	var offences []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || name == "var" || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			if path == self {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		local := map[string]map[string]bool{} // import name → banned functions
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			fns, ok := banned[p]
			if !ok {
				continue
			}
			name := filepath.Base(p)
			if p == "github.com/russellhaering/goxmldsig" {
				name = "dsig"
			}
			if imp.Name != nil {
				name = imp.Name.Name
			}
			local[name] = fns
		}
		tlsName := ""
		for _, imp := range f.Imports {
			if p, _ := strconv.Unquote(imp.Path.Value); p == "crypto/tls" {
				tlsName = "tls"
				if imp.Name != nil {
					tlsName = imp.Name.Name
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if lit, ok := n.(*ast.CompositeLit); ok && tlsName != "" && isSel(lit.Type, tlsName, "Config") && !hasKey(lit, "Time") {
				rel, _ := filepath.Rel(root, path)
				offences = append(offences, rel+":"+strconv.Itoa(fset.Position(lit.Pos()).Line)+": tls.Config without Time (certificates would be checked on the kernel's clock)")
				return true
			}
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && local[id.Name][sel.Sel.Name] {
				rel, _ := filepath.Rel(root, path)
				offences = append(offences, rel+":"+strconv.Itoa(fset.Position(sel.Pos()).Line)+": "+id.Name+"."+sel.Sel.Name)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range offences {
		t.Errorf("%s: read time through an injected clock, clock.Or(…) or clock.Now (clock.IODeadline for kernel deadlines; tls.Config{Time: clock.System()})", o)
	}
}

func isSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

func hasKey(lit *ast.CompositeLit, key string) bool {
	for _, el := range lit.Elts {
		if kv, ok := el.(*ast.KeyValueExpr); ok {
			if id, ok := kv.Key.(*ast.Ident); ok && id.Name == key {
				return true
			}
		}
	}
	return false
}

// TestOffset: the year-ahead run of `make test` really runs a year ahead. When
// LUXNCP_CLOCK_OFFSET is set, Now is that far from the kernel's clock (read
// here through IODeadline, the one unshifted reading).
func TestOffset(t *testing.T) {
	want, err := clock.Offset()
	if err != nil {
		t.Fatal(err) // a malformed offset must not silently mean "no offset"
	}
	got := clock.Now().Sub(clock.IODeadline(0))
	if d := got - want; d < -time.Second || d > time.Second {
		t.Fatalf("clock.Now is %v from the kernel clock, want %v", got, want)
	}
	t.Logf("offset %v", want)
}

func TestOffsetParsing(t *testing.T) {
	t.Setenv(clock.OffsetEnv, "8760h")
	if d, err := clock.Offset(); err != nil || d != 8760*time.Hour {
		t.Fatalf("Offset = %v, %v", d, err)
	}
	if got := clock.Now().Sub(clock.IODeadline(0)); got < 8759*time.Hour {
		t.Fatalf("Now is only %v ahead", got)
	}
	t.Setenv(clock.OffsetEnv, "a year")
	if _, err := clock.Offset(); err == nil || !strings.Contains(err.Error(), clock.OffsetEnv) {
		t.Fatalf("a malformed offset gave %v, want an error naming %s", err, clock.OffsetEnv)
	}
	t.Setenv(clock.OffsetEnv, "")
	if d, err := clock.Offset(); err != nil || d != 0 {
		t.Fatalf("empty offset = %v, %v", d, err)
	}
}

func TestElapsedSurvivesTheOffset(t *testing.T) {
	t.Setenv(clock.OffsetEnv, "8760h")
	now := clock.System()
	start := now()
	if d := clock.Since(now, start); d < 0 || d > time.Minute {
		t.Fatalf("elapsed %v", d)
	}
}

func TestFakeAndOr(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	f := clock.NewFake(at)
	if got := clock.Or(f.Now)(); !got.Equal(at) {
		t.Fatalf("Or(fake) = %v", got)
	}
	f.Advance(time.Hour)
	if got := f.Now(); !got.Equal(at.Add(time.Hour)) {
		t.Fatalf("after Advance: %v", got)
	}
	if clock.Or(nil) == nil {
		t.Fatal("Or(nil) is nil")
	}
}
