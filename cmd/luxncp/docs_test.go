package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/testutil"
)

// The documents whose commands operators copy: every `luxncp …` line in them
// must name a command and flags the real CLI has, and every `terraform
// output …` line an output the production example declares.
var operatorDocs = []string{"README.md", "docs/*.md", "terraform/README.md", "conformance/README.md"}

// docCommand is one command line found in a document.
type docCommand struct {
	where string // file:line
	words []string
}

// TestDocsCommandsExist checks every luxncp and terraform output command in
// the operator documents against the CLI's own help and the production
// example's outputs, so a renamed flag or output breaks the build, not the
// operator.
func TestDocsCommandsExist(t *testing.T) {
	root := testutil.RepoRoot(t)
	var files []string
	for _, g := range operatorDocs {
		m, _ := filepath.Glob(filepath.Join(root, g))
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("operator documents not found: %v", files)
	}
	outputs := terraformOutputs(t, filepath.Join(root, "terraform", "examples", "production", "main.tf"))
	help := map[string]string{}
	helpOf := func(path ...string) string {
		k := strings.Join(path, " ")
		if h, ok := help[k]; ok {
			return h
		}
		_, out, errs := runCLI(t, append(path, "-h")...)
		help[k] = out + errs
		return help[k]
	}
	var luxncp, tf int
	for _, f := range files {
		for _, c := range commandsIn(t, f) {
			rel, _ := filepath.Rel(root, c.where)
			switch {
			case c.words[0] == "terraform":
				tf++
				name := ""
				for _, w := range c.words[2:] {
					if !strings.HasPrefix(w, "-") {
						name = w
						break
					}
				}
				if name != "" && !outputs[name] {
					t.Errorf("%s: terraform output %q is not an output of terraform/examples/production", rel, name)
				}
			default:
				luxncp++
				args := c.words[1:]
				if len(args) == 0 {
					continue
				}
				cmd := args[0]
				if strings.HasPrefix(cmd, "-") || cmd == "help" || cmd == "version" {
					continue
				}
				top := helpOf(cmd)
				if strings.Contains(top, "unknown command") {
					t.Errorf("%s: luxncp has no command %q", rel, cmd)
					continue
				}
				text := top
				if len(args) > 1 && !strings.HasPrefix(args[1], "-") && isWord(args[1]) {
					text += helpOf(cmd, args[1])
				}
				for _, a := range args[1:] {
					if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
						continue
					}
					name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
					if !regexp.MustCompile(`(?m)(^|\s|\[)--?` + regexp.QuoteMeta(name) + `\b`).MatchString(text) {
						t.Errorf("%s: luxncp %s has no flag --%s (the command's -h does not list it)", rel, cmd, name)
					}
				}
			}
		}
	}
	if luxncp < 20 || tf < 3 {
		t.Fatalf("found only %d luxncp and %d terraform output commands: is the extraction broken?", luxncp, tf)
	}
}

func isWord(s string) bool { return regexp.MustCompile(`^[a-z][a-z0-9-]*$`).MatchString(s) }

// commandsIn returns the luxncp and terraform output command lines of a
// Markdown file: in fenced blocks, and in inline code spans.
func commandsIn(t *testing.T, path string) []docCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docCommand
	sc := bufio.NewScanner(f)
	fenced, shell, n, pending, pendingAt := false, false, 0, "", 0
	inline := regexp.MustCompile("`([^`]+)`")
	for sc.Scan() {
		n++
		line := sc.Text()
		if fence, ok := strings.CutPrefix(strings.TrimSpace(line), "```"); ok {
			fenced = !fenced
			// Only shell blocks hold commands; plain blocks show output.
			shell = fenced && (fence == "sh" || fence == "bash" || fence == "shell" || fence == "console")
			continue
		}
		var texts []string
		if fenced && !shell {
			continue
		}
		if fenced {
			if pending != "" {
				line = pending + " " + strings.TrimSpace(line)
			} else {
				pendingAt = n
			}
			if strings.HasSuffix(line, "\\") {
				pending = strings.TrimSuffix(line, "\\")
				continue
			}
			pending = ""
			texts = []string{line}
		} else {
			pendingAt = n
			for _, m := range inline.FindAllStringSubmatch(line, -1) {
				texts = append(texts, m[1])
			}
		}
		for _, text := range texts {
			for _, words := range commandWords(text) {
				out = append(out, docCommand{where: path + ":" + strconv.Itoa(pendingAt), words: words})
			}
		}
	}
	return out
}

// commandWords finds the luxncp and terraform output invocations in one
// shell line (also inside $(…)), split into words up to the next shell
// operator; the first word is "luxncp" or "terraform".
func commandWords(line string) [][]string {
	words := shellWords(line)
	var out [][]string
	for i := 0; i < len(words); i++ {
		w := words[i]
		start := -1
		switch {
		case w == "luxncp" || strings.HasSuffix(w, "/luxncp") || strings.HasSuffix(w, "bin/luxncp"):
			start = i
		case w == "go" && i+2 < len(words) && words[i+1] == "run" && strings.HasSuffix(words[i+2], "cmd/luxncp"):
			start = i + 2
		case w == "terraform" && i+1 < len(words) && words[i+1] == "output":
			start = i
		}
		if start < 0 {
			continue
		}
		cmd := []string{"luxncp"}
		if words[start] == "terraform" {
			cmd = []string{"terraform"}
		}
		for j, depth := start+1, 0; j < len(words); j++ {
			switch {
			case words[j] == "$(":
				if depth == 0 {
					cmd = append(cmd, "VALUE") // a command substitution is one argument
				}
				depth++
			case depth > 0:
				if words[j] == ")" {
					depth--
				}
			case isOperator(words[j]):
				j = len(words)
			default:
				cmd = append(cmd, words[j])
			}
		}
		out = append(out, cmd)
	}
	return out
}

func isOperator(w string) bool {
	switch w {
	case "|", "||", "&&", ";", ">", ">>", "2>", "<", "#", "&", ")":
		return true
	}
	return strings.HasPrefix(w, ">") || strings.HasPrefix(w, "2>") || strings.HasPrefix(w, "#") || strings.HasPrefix(w, "|")
}

// shellWords splits a line into words: quotes group, $( and ) stand alone so
// that commands inside command substitutions are found too.
func shellWords(line string) []string {
	var out []string
	var cur strings.Builder
	quote := rune(0)
	var saved []rune // quotes suspended by a $( inside them
	flush := func() {
		if cur.Len() > 0 {
			out = append(out, cur.String())
			cur.Reset()
		}
	}
	rs := []rune(line)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == '$' && i+1 < len(rs) && rs[i+1] == '(' && quote != '\'':
			flush()
			out = append(out, "$(")
			saved = append(saved, quote)
			quote = 0
			i++
		case quote == 0 && r == ')' && len(saved) > 0:
			flush()
			out = append(out, ")")
			quote = saved[len(saved)-1]
			saved = saved[:len(saved)-1]
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ')' || r == ';' || r == '|':
			flush()
			out = append(out, string(r))
		case r == ' ' || r == '\t':
			flush()
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	return out
}

// terraformOutputs returns the output names declared in a .tf file.
func terraformOutputs(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^output\s+"([^"]+)"`).FindAllStringSubmatch(string(b), -1) {
		out[m[1]] = true
	}
	return out
}

func TestCommandWords(t *testing.T) {
	got := commandWords(`aws s3 cp seal.pem "s3://$(terraform output -raw config_bucket)/x" && ./bin/luxncp request xcpd --country FR > x.xml 2> c.txt`)
	if len(got) != 2 || strings.Join(got[0], " ") != "terraform output -raw config_bucket" || strings.Join(got[1], " ") != "luxncp request xcpd --country FR" {
		t.Fatalf("commandWords = %q", got)
	}
}
