package conformance_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/conformance"
	"github.com/luxncp/luxncp/internal/testutil"
)

// fixedReport has one case of every verdict, with hostile text to escape.
func fixedReport() *conformance.Report {
	return &conformance.Report{
		Target: "https://127.0.0.1:8443", As: "FR", Profile: "lu-demo",
		Started: time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC), Duration: 1234.5,
		Cases: []conformance.CaseResult{
			{Suite: "patient-identification", Name: "01-id-match", Description: "Identify by id.", Transaction: "xcpd", Verdict: conformance.Pass,
				HTTPStatus: 200, Duration: 12.5, Calls: []conformance.Call{{Step: "xcpd", Status: 200, Duration: 12.5}},
				Request: `<env:Envelope>…</env:Envelope>`, Response: `<PRPA_IN201306UV02/>`},
			{Suite: "security", Name: "14-replayed-message", Description: "Replay <script>alert(1)</script> & co.", Transaction: "xcpd", Verdict: conformance.Fail,
				Reasons: []string{`HTTP status 200, expected one of [400 500]`, `reason with "quotes" & <tags>`}, HTTPStatus: 200, Codes: []string{"1001"},
				Duration: 20, Calls: []conformance.Call{{Step: "original", Status: 200, Duration: 10}, {Step: "replay", Status: 200, Duration: 10}},
				Request: `<a href="x">&amp;</a>`, Response: "<b>]]></b>"},
			{Suite: "security", Name: "15-no-client-certificate", Transaction: "xcpd", Verdict: conformance.Skip,
				Reasons: []string{`profile lu-demo has no patient "x"`}},
			{Suite: "robustness", Name: "04-oversized-body", Transaction: "raw", Verdict: conformance.Fail,
				Reasons: []string{"transport error: connection reset"}, Calls: []conformance.Call{{Step: "raw oversized", Error: "connection reset", Duration: 3}}, Duration: 3},
		},
		ValidateCDA: "validate-cda: 2 distinct documents, 0 rejected (0 errors, 0 warnings)",
	}
}

func TestReportGolden(t *testing.T) {
	for _, tc := range []struct {
		file  string
		write func(io.Writer, *conformance.Report) error
	}{
		{"report.json", conformance.WriteJSON},
		{"report.junit.xml", conformance.WriteJUnit},
		{"report.html", conformance.WriteHTML},
		{"report.txt", conformance.WriteSummary},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := tc.write(&a, fixedReport()); err != nil {
				t.Fatal(err)
			}
			if err := tc.write(&b, fixedReport()); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("output is not deterministic")
			}
			testutil.Golden(t, tc.file, a.Bytes())
		})
	}
}

func TestReportsAreWellFormedAndEscaped(t *testing.T) {
	rep := fixedReport()
	var h bytes.Buffer
	if err := conformance.WriteHTML(&h, rep); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h.String(), "<script>") || strings.Contains(h.String(), `<a href="x">`) {
		t.Error("HTML report does not escape text from the target")
	}
	// Failures come first.
	if i, j := strings.Index(h.String(), "14-replayed-message"), strings.Index(h.String(), "01-id-match"); i < 0 || j < 0 || i > j {
		t.Error("failures are not listed first")
	}
	var x bytes.Buffer
	if err := conformance.WriteJUnit(&x, rep); err != nil {
		t.Fatal(err)
	}
	var ju struct {
		Tests    int `xml:"tests,attr"`
		Failures int `xml:"failures,attr"`
		Skipped  int `xml:"skipped,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x.Bytes(), &ju); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	if ju.Tests != 4 || ju.Failures != 2 || ju.Skipped != 1 || len(ju.Suites) != 3 {
		t.Errorf("JUnit counts %+v", ju)
	}
	n, failed := 0, 0
	for _, s := range ju.Suites {
		for _, c := range s.Cases {
			n++
			if c.Failure != nil {
				failed++
			}
		}
	}
	if n != 4 || failed != 2 {
		t.Errorf("JUnit has %d testcases (%d failures), want 4 (2)", n, failed)
	}
	var j bytes.Buffer
	if err := conformance.WriteJSON(&j, rep); err != nil {
		t.Fatal(err)
	}
	var back conformance.Report
	if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back.Cases) != 4 || back.Cases[1].Reasons[1] != rep.Cases[1].Reasons[1] {
		t.Errorf("JSON round trip: %v", err)
	}
	if p, f, s := rep.Counts(); p != 1 || f != 2 || s != 1 {
		t.Errorf("Counts = %d %d %d", p, f, s)
	}
}

func TestProgressLine(t *testing.T) {
	var b bytes.Buffer
	p := conformance.Progress(&b)
	rep := fixedReport()
	for i := range rep.Cases {
		p(i+1, len(rep.Cases), &rep.Cases[i])
	}
	if !strings.Contains(b.String(), "[2/4] 1 failed  FAIL security/14-replayed-message") {
		t.Errorf("progress output %q", b.String())
	}
}
