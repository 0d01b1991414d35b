package conformance

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"io"
	"sort"
	"strings"
)

// SuiteCounts are the verdicts of one suite.
type SuiteCounts struct {
	Suite                   string
	Passed, Failed, Skipped int
	Duration                Millis
}

// Suites returns per-suite counts in the order the suites ran.
func (rep *Report) Suites() []SuiteCounts {
	var out []SuiteCounts
	idx := map[string]int{}
	for _, c := range rep.Cases {
		i, ok := idx[c.Suite]
		if !ok {
			i = len(out)
			idx[c.Suite] = i
			out = append(out, SuiteCounts{Suite: c.Suite})
		}
		switch c.Verdict {
		case Pass:
			out[i].Passed++
		case Fail:
			out[i].Failed++
		default:
			out[i].Skipped++
		}
		out[i].Duration += c.Duration
	}
	return out
}

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteSummary writes the console summary: failures with their reasons,
// then passed / failed / skipped per suite.
func WriteSummary(w io.Writer, rep *Report) error {
	var b strings.Builder
	pass, fail, skip := rep.Counts()
	fmt.Fprintf(&b, "conformance run against %s as %s (profile %s): %d cases in %.1f s\n", rep.Target, rep.As, rep.Profile, len(rep.Cases), float64(rep.Duration)/1000)
	for _, c := range rep.Cases {
		if c.Verdict != Fail {
			continue
		}
		fmt.Fprintf(&b, "FAIL %s (%s)\n", c.ID(), c.Transaction)
		for _, r := range c.Reasons {
			fmt.Fprintf(&b, "     %s\n", r)
		}
	}
	for _, c := range rep.Cases {
		if c.Verdict == Skip {
			fmt.Fprintf(&b, "SKIP %s: %s\n", c.ID(), strings.Join(c.Reasons, "; "))
		}
	}
	fmt.Fprintf(&b, "\n%-24s %6s %6s %7s %9s\n", "suite", "passed", "failed", "skipped", "time (ms)")
	for _, s := range rep.Suites() {
		fmt.Fprintf(&b, "%-24s %6d %6d %7d %9.0f\n", s.Suite, s.Passed, s.Failed, s.Skipped, float64(s.Duration))
	}
	fmt.Fprintf(&b, "%-24s %6d %6d %7d\n", "total", pass, fail, skip)
	if rep.ValidateCDA != "" {
		fmt.Fprintf(&b, "%s\n", rep.ValidateCDA)
	}
	for _, w := range rep.ValidateCDAWarnings {
		fmt.Fprintf(&b, "  WARNING %s\n", w)
	}
	verdict := "PASSED"
	if fail > 0 {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "%s\n", verdict)
	_, err := io.WriteString(w, b.String())
	return err
}

// JUnit XML (the de facto schema CI systems read).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitFailure `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Body    string `xml:",chardata"`
}

func secs(m Millis) string { return fmt.Sprintf("%.3f", float64(m)/1000) }

// WriteJUnit writes JUnit XML: one testsuite per suite, one testcase per case.
func WriteJUnit(w io.Writer, rep *Report) error {
	pass, fail, skip := rep.Counts()
	out := junitSuites{Name: "luxncp conformance " + rep.Target, Tests: pass + fail + skip, Failures: fail, Skipped: skip, Time: secs(rep.Duration)}
	idx := map[string]int{}
	for _, c := range rep.Cases {
		i, ok := idx[c.Suite]
		if !ok {
			i = len(out.Suites)
			idx[c.Suite] = i
			out.Suites = append(out.Suites, junitSuite{Name: c.Suite})
		}
		s := &out.Suites[i]
		s.Tests++
		jc := junitCase{Name: c.Name, Classname: "conformance." + c.Suite, Time: secs(c.Duration)}
		switch c.Verdict {
		case Fail:
			s.Failures++
			jc.Failure = &junitFailure{Message: firstOr(c.Reasons, "failed"), Body: strings.Join(c.Reasons, "\n")}
		case Skip:
			s.Skipped++
			jc.Skipped = &junitFailure{Message: firstOr(c.Reasons, "skipped")}
		}
		if c.Verdict == Fail {
			jc.SystemOut = "request:\n" + truncate(c.Request, 4000) + "\n\nresponse:\n" + truncate(c.Response, 4000)
		}
		s.Cases = append(s.Cases, jc)
	}
	for i, sc := range rep.Suites() {
		out.Suites[i].Time = secs(sc.Duration)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return excerpt([]byte(s), n)
}

// WriteHTML writes a self-contained HTML report: summary per suite, then
// every case (failures first) with its reasons, calls, request and
// response. Everything from the target is escaped.
func WriteHTML(w io.Writer, rep *Report) error {
	var b strings.Builder
	e := html.EscapeString
	pass, fail, skip := rep.Counts()
	verdict, vclass := "PASSED", "pass"
	if fail > 0 {
		verdict, vclass = "FAILED", "fail"
	}
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>luxncp conformance report</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
.pass{color:#176f2c}.fail{color:#b00020}.skip{color:#8a6d00}
details{border:1px solid #ddd;margin:.4em 0;padding:.3em .6em;border-radius:4px}
details.fail{border-color:#b00020}summary{cursor:pointer}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em;white-space:pre-wrap;word-break:break-all}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>luxncp conformance report: <span class=\"%s\">%s</span></h1>\n", vclass, verdict)
	fmt.Fprintf(&b, "<p>Target <code>%s</code> as <b>%s</b>, profile <b>%s</b>; started %s; %d cases (%d passed, %d failed, %d skipped) in %.1f s.</p>\n",
		e(rep.Target), e(rep.As), e(rep.Profile), e(rep.Started.Format("2006-01-02 15:04:05 UTC")), len(rep.Cases), pass, fail, skip, float64(rep.Duration)/1000)
	if rep.ValidateCDA != "" {
		fmt.Fprintf(&b, "<p>%s</p>\n", e(rep.ValidateCDA))
	}
	if len(rep.ValidateCDAWarnings) > 0 {
		b.WriteString("<ul>\n")
		for _, w := range rep.ValidateCDAWarnings {
			fmt.Fprintf(&b, "<li>WARNING %s</li>\n", e(w))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<table><tr><th>suite</th><th>passed</th><th>failed</th><th>skipped</th><th>time (ms)</th></tr>\n")
	for _, s := range rep.Suites() {
		fmt.Fprintf(&b, "<tr><td>%s</td><td class=\"pass\">%d</td><td class=\"fail\">%d</td><td class=\"skip\">%d</td><td>%.0f</td></tr>\n",
			e(s.Suite), s.Passed, s.Failed, s.Skipped, float64(s.Duration))
	}
	b.WriteString("</table>\n<h2>Cases</h2>\n")
	order := make([]int, len(rep.Cases))
	for i := range order {
		order[i] = i
	}
	rank := map[string]int{Fail: 0, Skip: 1, Pass: 2}
	sort.SliceStable(order, func(i, j int) bool {
		return rank[rep.Cases[order[i]].Verdict] < rank[rep.Cases[order[j]].Verdict]
	})
	for _, i := range order {
		c := rep.Cases[i]
		open := ""
		if c.Verdict == Fail {
			open = " open"
		}
		fmt.Fprintf(&b, "<details class=\"%s\"%s><summary><b class=\"%s\">%s</b> %s <small>(%s, %.1f ms)</small></summary>\n",
			e(c.Verdict), open, e(c.Verdict), strings.ToUpper(e(c.Verdict)), e(c.ID()), e(c.Transaction), float64(c.Duration))
		if c.Description != "" {
			fmt.Fprintf(&b, "<p>%s</p>\n", e(c.Description))
		}
		if len(c.Reasons) > 0 {
			b.WriteString("<ul>\n")
			for _, r := range c.Reasons {
				fmt.Fprintf(&b, "<li>%s</li>\n", e(r))
			}
			b.WriteString("</ul>\n")
		}
		if len(c.Codes) > 0 || c.HTTPStatus != 0 {
			fmt.Fprintf(&b, "<p>HTTP %d; codes: %s</p>\n", c.HTTPStatus, e(strings.Join(c.Codes, ", ")))
		}
		if len(c.Calls) > 0 {
			b.WriteString("<table><tr><th>step</th><th>status</th><th>ms</th><th>error</th></tr>\n")
			for _, call := range c.Calls {
				fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%.1f</td><td>%s</td></tr>\n", e(call.Step), call.Status, float64(call.Duration), e(call.Error))
			}
			b.WriteString("</table>\n")
		}
		// Failures keep what the run recorded (16 KiB each way); the
		// others a shorter excerpt, so the report stays light.
		limit := 16 << 10
		if c.Verdict != Fail {
			limit = 3 << 10
		}
		if c.Request != "" {
			fmt.Fprintf(&b, "<details><summary>request</summary><pre>%s</pre></details>\n", e(truncate(c.Request, limit)))
		}
		if c.Response != "" {
			fmt.Fprintf(&b, "<details><summary>response</summary><pre>%s</pre></details>\n", e(truncate(c.Response, limit)))
		}
		b.WriteString("</details>\n")
	}
	b.WriteString("</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Progress renders the live progress line on a terminal.
func Progress(w io.Writer) func(done, total int, r *CaseResult) {
	failed := 0
	return func(done, total int, r *CaseResult) {
		if r.Verdict == Fail {
			failed++
		}
		line := fmt.Sprintf("[%d/%d] %d failed  %s %s", done, total, failed, strings.ToUpper(r.Verdict), r.ID())
		if len(line) > 100 {
			line = line[:100]
		}
		fmt.Fprintf(w, "\r\033[K%s", line)
		if done == total {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
