package sim

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
)

// The trace view is one HTML page with its stylesheet, its script and the
// trace itself inlined, so it works offline and can be mailed around. The
// assets live in tracehtml/ so that they can be read and edited as the
// HTML, CSS and JavaScript they are.
var (
	//go:embed tracehtml/trace.html.tmpl
	traceHTMLTemplate string
	//go:embed tracehtml/trace.css
	traceCSS string
	//go:embed tracehtml/trace.js
	traceJS string

	traceTmpl = template.Must(template.New("trace.html.tmpl").Parse(traceHTMLTemplate))
)

// traceHTMLData is what trace.html.tmpl renders.
type traceHTMLData struct {
	Seed        uint64
	Nodes       int
	Faults      string
	Events      int
	Truncated   bool
	Duration    string      // virtual time of the last event
	Violation   *TraceEvent // the first violation, if any
	ViolationAt string

	CSS  template.CSS
	JS   template.JS
	Data template.JS // the trace as JSON
}

// WriteTraceHTML writes t as one self-contained HTML page (no external
// scripts, styles or fonts): one lane per node showing its role and term
// over virtual time, messages as arrows between the lanes, partitions and
// crashes shaded, commits marked, with zoom, pan and tooltips.
func WriteTraceHTML(w io.Writer, t *Trace) error {
	if t == nil {
		return errors.New("sim: no trace to write (set Options.Trace)")
	}
	// json.Marshal writes <, > and & as \u003c, \u003e and \u0026 (and
	// U+2028/U+2029 escaped too), so nothing in a summary or a violation
	// message can close the <script> element the JSON sits in, or open a
	// comment in it.
	data, err := json.Marshal(t)
	if err != nil {
		return fmt.Errorf("sim: encode trace: %w", err)
	}
	d := traceHTMLData{
		Seed:      t.Seed,
		Nodes:     t.Nodes,
		Faults:    t.Faults,
		Events:    len(t.Events),
		Truncated: t.Truncated,
		Duration:  "0 ms",
		CSS:       template.CSS(traceCSS),
		JS:        template.JS(traceJS),
		Data:      template.JS(data),
	}
	if n := len(t.Events); n > 0 {
		d.Duration = formatMicros(t.Events[n-1].T)
	}
	for i := range t.Events {
		if t.Events[i].Kind == "violation" {
			d.Violation = &t.Events[i]
			d.ViolationAt = formatMicros(t.Events[i].T)
			break
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := traceTmpl.Execute(bw, d); err != nil {
		return fmt.Errorf("sim: write trace page: %w", err)
	}
	return bw.Flush()
}

// formatMicros shows virtual microseconds as milliseconds, the unit the page
// uses everywhere.
func formatMicros(us int64) string {
	return fmt.Sprintf("%.3f ms", float64(us)/1000)
}
