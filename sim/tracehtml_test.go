package sim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minikv-go/minikv/raft"
)

// tracedRun drives a traced five-node cluster with clients through the
// faults the trace view shades: the leader cut off by a partition, a crash
// and a restart, and a link cut in one direction only.
func tracedRun(t *testing.T) *Trace {
	t.Helper()
	o := DefaultOptions(3)
	o.Trace = true
	o.Faults = FaultsAll
	s := New(o)
	s.StartClients(2)
	run := func(d time.Duration) {
		if err := s.RunFor(d); err != nil {
			// Not this test's business, and the page shows it anyway.
			t.Logf("the simulation found a violation: %v", err)
		}
	}
	leader := func() uint64 {
		for _, id := range s.Nodes() {
			if st, up := s.Status(id); up && st.Role == raft.Leader {
				return id
			}
		}
		return 1
	}

	run(1500 * time.Millisecond)
	old := leader()
	var rest []uint64
	for _, id := range s.Nodes() {
		if id != old {
			rest = append(rest, id)
		}
	}
	s.Partition([]uint64{old}, rest)
	run(time.Second)
	s.Heal()
	run(500 * time.Millisecond)
	crashed := leader()
	s.Crash(crashed)
	run(700 * time.Millisecond)
	if err := s.Restart(crashed); err != nil {
		t.Logf("restart: %v", err)
	}
	run(500 * time.Millisecond)
	s.BlockLink(leader(), rest[len(rest)-1])
	run(500 * time.Millisecond)
	s.Heal()
	run(300 * time.Millisecond)

	tr := s.Trace()
	if tr == nil {
		t.Fatal("Trace() = nil with Options.Trace set")
	}
	return tr
}

func writePage(t *testing.T, tr *Trace) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteTraceHTML(&buf, tr); err != nil {
		t.Fatalf("WriteTraceHTML: %v", err)
	}
	return buf.String()
}

// embeddedTrace decodes the JSON the page carries.
func embeddedTrace(t *testing.T, page string) *Trace {
	t.Helper()
	const open = `<script id="trace-data" type="application/json">`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatalf("no %s in the page", open)
	}
	rest := page[i+len(open):]
	j := strings.Index(rest, "</script>")
	if j < 0 {
		t.Fatal("the trace data's <script> is not closed")
	}
	var got Trace
	if err := json.Unmarshal([]byte(rest[:j]), &got); err != nil {
		t.Fatalf("embedded trace JSON: %v", err)
	}
	return &got
}

var externalRef = regexp.MustCompile(`(?i)(src|href)\s*=\s*["']?\s*(https?:)?//|<link\b|@import|url\(\s*["']?\s*(https?:)?//`)

func TestWriteTraceHTML(t *testing.T) {
	tr := tracedRun(t)
	kinds := map[string]int{}
	for _, e := range tr.Events {
		kinds[e.Kind]++
	}
	for _, k := range []string{"state", "crash", "send", "recv", "commit", "net"} {
		if kinds[k] == 0 {
			t.Errorf("the traced run has no %q events (%v): the scenario should show them all", k, kinds)
		}
	}

	page := writePage(t, tr)
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Errorf("the page does not start with a doctype: %.40q", page)
	}
	for _, want := range []string{"seed <b>3</b>", "minikv trace · seed 3", "nodes <b>5</b>", "faults <b>all</b>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || externalRef.MatchString(page) {
		t.Errorf("the page refers to something outside itself: %q", externalRef.FindString(page))
	}
	if strings.Contains(page, "truncated after") {
		t.Error("a complete trace is reported as truncated")
	}
	if strings.Contains(page, `id="violation"`) {
		t.Error("a clean trace shows a violation")
	}

	got := embeddedTrace(t, page)
	if len(got.Events) != len(tr.Events) {
		t.Fatalf("embedded trace has %d events, want %d", len(got.Events), len(tr.Events))
	}
	if !reflect.DeepEqual(got, tr) {
		t.Error("the embedded trace does not decode back to the trace written")
	}
}

func TestWriteTraceHTMLViolationAndTruncation(t *testing.T) {
	tr := &Trace{
		Seed: 99, Nodes: 3, Faults: "crash", Truncated: true,
		Events: []TraceEvent{
			{T: 0, Kind: "state", Node: 1, Role: "Follower", Note: "start"},
			{T: 1500, Kind: "violation", Note: "election safety: two leaders in term 2 <b>!</b>"},
		},
	}
	page := writePage(t, tr)
	for _, want := range []string{
		"truncated after 2 events",
		`id="jump-violation" data-t="1500"`,
		"at <b>1.500 ms</b>",
		"two leaders in term 2 &lt;b&gt;!&lt;/b&gt;",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// A summary or a note is text from the run: whatever it holds must not end
// the <script> the JSON sits in, or start a comment there.
func TestWriteTraceHTMLEscapesData(t *testing.T) {
	nasty := "</script><script>alert(1)</script><!-- \u2028 & </SCRIPT "
	tr := &Trace{
		Seed: 1, Nodes: 2, Faults: "none",
		Events: []TraceEvent{
			{T: 10, Kind: "send", Node: 1, To: 2, Msg: "MsgApp", Summary: nasty},
			{T: 20, Kind: "recv", Node: 2, To: 1, Msg: "MsgApp", Summary: nasty},
			{T: 30, Kind: "violation", Note: nasty},
		},
	}
	page := writePage(t, tr)
	// The error reporter, the data and the script itself; nothing else.
	if n := strings.Count(strings.ToLower(page), "</script"); n != 3 {
		t.Errorf("the page has %d </script tags, want 3", n)
	}
	if strings.Count(page, "<!--") != 0 {
		t.Error("the page opens an HTML comment")
	}
	got := embeddedTrace(t, page)
	if !reflect.DeepEqual(got, tr) {
		t.Errorf("the embedded trace does not decode back:\n got %+v\nwant %+v", got, tr)
	}
}

func TestWriteTraceHTMLNil(t *testing.T) {
	if err := WriteTraceHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteTraceHTML(nil) succeeded")
	}
}

// The script and the stylesheet are inlined as they are, so they must not
// close their own elements early, and must not fetch anything.
func TestTraceHTMLAssets(t *testing.T) {
	for name, src := range map[string]string{"trace.js": traceJS, "trace.css": traceCSS} {
		low := strings.ToLower(src)
		for _, bad := range []string{"</script", "</style", "<!--", "http://", "https://"} {
			if strings.Contains(low, bad) {
				t.Errorf("%s contains %q", name, bad)
			}
		}
	}
	if strings.Contains(traceHTMLTemplate, "http://") || strings.Contains(traceHTMLTemplate, "https://") {
		t.Error("trace.html.tmpl refers to the web")
	}
}

// browserProbe runs after the page's script, in the browser: it asks what is
// under the pointer all over the canvas, and plays with the controls, so
// that the event handlers run too. Any exception reaches the page's error
// handler, which writes "trace-error" into #status.
const browserProbe = `<script>
(function () {
  var c = document.getElementById("lanes");
  var r = c.getBoundingClientRect();
  var kinds = {};
  function at(type, x, y, more) {
    var init = Object.assign({ bubbles: true, cancelable: true, clientX: r.left + x, clientY: r.top + y }, more || {});
    c.dispatchEvent(type === "wheel" ? new WheelEvent(type, init) : new MouseEvent(type, init));
  }
  for (var x = 0; x < r.width; x += 7) {
    for (var y = 0; y < r.height; y += 6) {
      var h = pick(x, y);
      if (h) { kinds[h.kind] = true; describe(h); }
    }
    at("mousemove", x, 70);
  }
  at("mousedown", 300, 70); at("mouseup", 300, 70);
  at("mousedown", 300, 70); at("mousemove", 500, 70); at("mouseup", 500, 70);
  at("wheel", 600, 70, { deltaY: -500 });
  at("wheel", 600, 70, { deltaY: 200, shiftKey: true });
  ["zoom-in", "zoom-out", "pan-left", "pan-right", "zoom-fit"].forEach(function (id) {
    document.getElementById(id).click();
  });
  document.querySelectorAll("#types input").forEach(function (cb) { cb.click(); });
  draw();
  var jump = document.getElementById("jump-violation");
  if (jump) { jump.click(); draw(); }
  var out = document.createElement("div");
  out.id = "probe";
  out.textContent = "probe-ok " + Object.keys(kinds).sort().join(",");
  document.body.append(out);
})();
</script>
`

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// chromium renders url headless and returns its DOM (or writes a
// screenshot, when screenshot is a path).
func chromium(t *testing.T, bin, url, screenshot string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=5000",
	}
	if screenshot != "" {
		args = append(args, "--hide-scrollbars", "--window-size=1400,900", "--screenshot="+screenshot)
	} else {
		args = append(args, "--window-size=1400,900", "--dump-dom")
	}
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return stdout.String()
}

var statusRE = regexp.MustCompile(`<div id="status"[^>]*>([^<]*)</div>`)

// TestTraceHTMLInBrowser renders pages in headless Chromium and checks they
// draw without a JavaScript error. With MINIKV_TRACE_SCREENSHOTS=dir it also
// leaves the pages and screenshots of them there, to look at.
func TestTraceHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser; skipped with -short")
	}
	bin := findChromium()
	if bin == "" {
		t.Skip("no chromium to render the trace page with (Debian: apt-get install chromium)")
	}

	tr := tracedRun(t)
	last := tr.Events[len(tr.Events)-1].T
	// A violation at the end, to draw it and jump to it.
	tr.Events = append(tr.Events, TraceEvent{T: last, Kind: "violation", Note: "test: a made-up violation to draw"})
	edge := &Trace{Seed: 5, Nodes: 3, Faults: "none", Truncated: true}
	odd := &Trace{Seed: 6, Nodes: 2, Faults: "loss", Events: []TraceEvent{
		{T: 0, Kind: "state", Node: 1, Role: "Follower", Note: "start"},
		{T: 0, Kind: "state", Node: 2, Role: "Follower", Note: "start"},
		{T: 5, Kind: "send", Node: 1, To: 2, Msg: "MsgVote", Summary: "</script> <!-- x"},
		{T: 6, Kind: "send", Node: 1, To: 2, Msg: "MsgSomethingNew", Summary: "new"},
		{T: 7, Kind: "recv", Node: 2, To: 1, Msg: "MsgVote", Summary: "</script> <!-- x"},
		{T: 8, Kind: "recv", Node: 2, To: 1, Msg: "MsgVote", Summary: "</script> <!-- x", Note: "dropped"},
		{T: 9, Kind: "net", Blocked: [][2]uint64{{1, 2}}},
		{T: 10, Kind: "crash", Node: 2},
		{T: 11, Kind: "commit", Node: 1, Index: 1},
	}}

	dir := os.Getenv("MINIKV_TRACE_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	pages := []struct {
		name, hash string
		tr         *Trace
		kinds      []string // what the probe must find under the pointer
	}{
		{"run", "", tr, []string{"commit", "lane", "msg", "violation"}},
		{"run-zoomed", "#1500-1560", tr, []string{"lane", "msg"}},
		{"empty", "", edge, nil},
		{"odd", "", odd, []string{"lane", "msg"}},
	}
	for _, p := range pages {
		t.Run(p.name, func(t *testing.T) {
			page := writePage(t, p.tr)
			path := filepath.Join(dir, p.name+".html")
			if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
				t.Fatal(err)
			}
			if os.Getenv("MINIKV_TRACE_SCREENSHOTS") != "" {
				chromium(t, bin, "file://"+path+p.hash, filepath.Join(dir, p.name+".png"))
			}

			probed := strings.Replace(page, "</body>", browserProbe+"</body>", 1)
			probedPath := filepath.Join(t.TempDir(), p.name+"-probe.html")
			if err := os.WriteFile(probedPath, []byte(probed), 0o644); err != nil {
				t.Fatal(err)
			}
			dom := chromium(t, bin, "file://"+probedPath+p.hash, "")
			m := statusRE.FindStringSubmatch(dom)
			if m == nil {
				t.Fatalf("no #status in the rendered page:\n%.2000s", dom)
			}
			if m[1] != "trace-ok" {
				t.Fatalf("the page did not draw: status %q", m[1])
			}
			probe := regexp.MustCompile(`<div id="probe">probe-ok ([^<]*)</div>`).FindStringSubmatch(dom)
			if probe == nil {
				t.Fatal("the probe script did not finish")
			}
			found := strings.Split(probe[1], ",")
			for _, k := range p.kinds {
				if !strings.Contains(","+probe[1]+",", ","+k+",") {
					t.Errorf("nothing of kind %q under the pointer anywhere; found %v", k, found)
				}
			}
		})
	}
}
