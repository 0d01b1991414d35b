package conformance

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteLoadHTML writes the load report as one self-contained HTML page:
// the summary table, iteration latency over time and its histogram as
// inline SVG (no script, no external asset).
func WriteLoadHTML(w io.Writer, r *LoadReport) error {
	var text strings.Builder
	if err := WriteLoadText(&text, r); err != nil {
		return err
	}
	return loadPage.Execute(w, map[string]any{
		"R": r, "Text": text.String(),
		"Time": template.HTML(timeSVG(r.Samples)), "Hist": template.HTML(histSVG(r.Samples)),
	})
}

var loadPage = template.Must(template.New("load").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>luxncp load: {{.R.Target}}</title>
<style>body{font:14px sans-serif;margin:2em;max-width:60em}pre{background:#f6f6f6;padding:1em}svg{background:#fff;border:1px solid #ccc}.warn{background:#fdecea;border-left:4px solid #c62828;padding:.5em 1em}</style>
</head><body>
<h1>Load against {{.R.Target}}</h1>
<p>Started {{.R.Started.Format "2006-01-02 15:04:05 MST"}} as {{.R.As}}: {{.R.Rate}} iterations/s asked, {{.R.Throughput}} achieved.</p>
{{with .R.Gateway}}{{if not .Measured}}<p class="warn"><strong>Gateway figures unavailable:</strong> {{.Unavailable}}</p>
{{end}}{{end}}<pre>{{.Text}}</pre>
<h2>Iteration latency over time</h2>
{{.Time}}
<h2>Iteration latency histogram</h2>
{{.Hist}}
</body></html>
`))

const plotW, plotH, pad = 720.0, 260.0, 48.0

// axes draws the frame and labels of a plot.
func axes(b *strings.Builder, xLabel, yLabel string, xMax, yMax float64) {
	fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#000"/>`, pad, plotH-pad, plotW-pad/2, plotH-pad)
	fmt.Fprintf(b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#000"/>`, pad, pad/2, pad, plotH-pad)
	fmt.Fprintf(b, `<text x="%g" y="%g" font-size="12" text-anchor="middle">%s (max %.4g)</text>`, plotW/2, plotH-pad/4, template.HTMLEscapeString(xLabel), xMax)
	fmt.Fprintf(b, `<text x="12" y="%g" font-size="12" transform="rotate(-90 12 %g)" text-anchor="middle">%s (max %.4g)</text>`, plotH/2, plotH/2, template.HTMLEscapeString(yLabel), yMax)
}

func timeSVG(ss []Sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" role="img" aria-label="latency over time">`, plotW, plotH)
	xMax, yMax := 1.0, 1.0
	for _, s := range ss {
		xMax, yMax = math.Max(xMax, float64(s.At)/1000), math.Max(yMax, float64(s.Duration))
	}
	axes(&b, "seconds into the run", "iteration ms", xMax, yMax)
	for _, s := range ss {
		x := pad + float64(s.At)/1000/xMax*(plotW-1.5*pad)
		y := plotH - pad - float64(s.Duration)/yMax*(plotH-1.5*pad)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="1.5" fill="#1f77b4"/>`, x, y)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func histSVG(ss []Sample) string {
	const bins = 40
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" role="img" aria-label="latency histogram">`, plotW, plotH)
	xMax := 1.0
	for _, s := range ss {
		xMax = math.Max(xMax, float64(s.Duration))
	}
	var counts [bins]int
	for _, s := range ss {
		counts[min(bins-1, int(float64(s.Duration)/xMax*bins))]++
	}
	yMax := 1
	for _, c := range counts {
		yMax = max(yMax, c)
	}
	axes(&b, "iteration ms", "iterations", xMax, float64(yMax))
	bw := (plotW - 1.5*pad) / bins
	for i, c := range counts {
		h := float64(c) / float64(yMax) * (plotH - 1.5*pad)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#ff7f0e"/>`, pad+float64(i)*bw, plotH-pad-h, bw-1, h)
	}
	b.WriteString(`</svg>`)
	return b.String()
}
