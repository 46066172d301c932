package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Progress shows how a run is going, on stderr as a rule. On a terminal it
// is one line rewritten in place a few times a second, with a small bar;
// anywhere else (a pipe, a CI log) it is one plain line per interval.
type Progress struct {
	W        io.Writer
	Terminal bool
	// Interval between updates; zero means 250ms on a terminal and one
	// second elsewhere.
	Interval time.Duration
}

// phaseView describes the phase a progress line follows: either a timed
// phase (total) or a counted one (totalOps).
type phaseView struct {
	name     string
	warmup   time.Duration // a timed phase's first part, labelled "warmup"
	total    time.Duration
	totalOps int64
	counts   func() (ops, errs int64) // cumulative, over every client
}

// rateWindow is how far back the current rate looks.
const rateWindow = time.Second

type sample struct {
	at  time.Time
	ops int64
}

// show follows a phase until stop is called, which prints the phase's
// final line. A nil Progress shows nothing.
func (p *Progress) show(v phaseView) (stop func()) {
	if p == nil || p.W == nil {
		return func() {}
	}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
		if p.Terminal {
			interval = 250 * time.Millisecond
		}
	}
	start := time.Now()
	baseOps, baseErrs := v.counts()
	window := []sample{{start, 0}}
	line := func(now time.Time) string {
		ops, errs := v.counts()
		ops, errs = ops-baseOps, errs-baseErrs
		window = append(window, sample{now, ops})
		for len(window) > 2 && now.Sub(window[1].at) >= rateWindow {
			window = window[1:]
		}
		rate := 0.0
		if dt := now.Sub(window[0].at).Seconds(); dt > 0 {
			rate = float64(ops-window[0].ops) / dt
		}
		return p.format(v, now.Sub(start), ops, errs, rate)
	}

	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case now := <-t.C:
				p.print(line(now), false)
			case <-quit:
				p.print(line(time.Now()), true)
				return
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			wg.Wait()
		})
	}
}

func (p *Progress) print(line string, last bool) {
	switch {
	case !p.Terminal:
		fmt.Fprintln(p.W, line)
	case last:
		fmt.Fprintf(p.W, "\r%s\x1b[K\n", line)
	default:
		fmt.Fprintf(p.W, "\r%s\x1b[K", line)
	}
}

// barWidth is the number of cells in the terminal's bar.
const barWidth = 20

func (p *Progress) format(v phaseView, elapsed time.Duration, ops, errs int64, rate float64) string {
	var b strings.Builder
	name, frac := v.name, 0.0
	var where string
	if v.totalOps > 0 {
		frac = float64(ops+errs) / float64(v.totalOps)
		where = fmt.Sprintf("%s/%s", group(ops+errs), group(v.totalOps))
	} else {
		if elapsed < v.warmup {
			name = "warmup"
		}
		frac = elapsed.Seconds() / v.total.Seconds()
		where = fmt.Sprintf("%.1fs/%s", elapsed.Seconds(), v.total)
	}
	fmt.Fprintf(&b, "%-7s ", name)
	if p.Terminal {
		full := min(max(int(frac*barWidth), 0), barWidth)
		fmt.Fprintf(&b, "[%s%s] ", strings.Repeat("#", full), strings.Repeat(".", barWidth-full))
	}
	fmt.Fprintf(&b, "%s  ops %s  %s ops/s  errors %s", where, group(ops), group(int64(rate+0.5)), group(errs))
	return b.String()
}
