package prometheus_test

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/e2etest"
)

// episode is one firing of an alert: when it fired and when it resolved
// (zero while it fires).
type episode struct{ fired, resolved time.Time }

// engineEpisodes polls the engine's alerts every 100 ms and keeps every
// firing it sees, by alert key.
type engineEpisodes struct {
	mu   sync.Mutex
	eps  map[string]map[time.Time]*episode // alert key → StartsAt → episode; guarded by mu
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// watchEngine starts polling eng until stop is called or the test ends.
func watchEngine(t *testing.T, eng *alerting.Engine) *engineEpisodes {
	w := &engineEpisodes{eps: map[string]map[time.Time]*episode{}, done: make(chan struct{})}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			w.poll(eng)
			select {
			case <-w.done:
				w.poll(eng)
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { w.stop() })
	return w
}

func (w *engineEpisodes) poll(eng *alerting.Engine) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, a := range eng.Alerts(alerting.Filter{IncludeResolved: true}) {
		if a.State == alerting.Pending {
			continue
		}
		k := alertKey(a.Rule, a.Labels)
		if w.eps[k] == nil {
			w.eps[k] = map[time.Time]*episode{}
		}
		ep := w.eps[k][a.StartsAt]
		if ep == nil {
			ep = &episode{fired: a.StartsAt}
			w.eps[k][a.StartsAt] = ep
		}
		if a.State == alerting.Resolved && a.ResolvedAt != nil {
			ep.resolved = *a.ResolvedAt
		}
	}
}

// stop ends the polling and returns the episodes by alert key, oldest
// first.
func (w *engineEpisodes) stop() map[string][]episode {
	w.once.Do(func() { close(w.done) })
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]episode{}
	for k, byStart := range w.eps {
		for _, s := range slices.SortedFunc(maps.Keys(byStart), time.Time.Compare) {
			out[k] = append(out[k], *byStart[s])
		}
	}
	return out
}

// unresolved returns the alert keys of episodes still firing.
func (w *engineEpisodes) unresolved() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k, byStart := range w.eps {
		for _, ep := range byStart {
			if ep.resolved.IsZero() {
				out = append(out, k)
			}
		}
	}
	return out
}

// alertKey names an alert by rule and labels, whichever side raised it:
// the labels Prometheus adds (the series name ALERTS, alertname,
// alertstate, severity, the target's job and instance) are left out.
func alertKey(rule string, labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		switch k {
		case "__name__", "alertname", "alertstate", "severity", "job", "instance":
			continue
		}
		parts = append(parts, k+"="+labels[k])
	}
	return rule + "{" + strings.Join(parts, ",") + "}"
}

// promEpisodes reads every firing of the twins from Prometheus' ALERTS
// series since start: a firing is a run of samples at consecutive
// evaluations; it fired at its first sample and resolved at the evaluation
// after its last.
func promEpisodes(t *testing.T, p *e2etest.Process, start time.Time) map[string][]episode {
	t.Helper()
	now := time.Now()
	series, err := p.QueryRangeVector(fmt.Sprintf(`ALERTS{alertstate="firing"}[%ds]`, int(now.Sub(start).Seconds())+5), now)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]episode{}
	for _, s := range series {
		k := alertKey(s.Metric["alertname"], s.Metric)
		for i, pt := range s.Points {
			if i == 0 || pt.T.Sub(s.Points[i-1].T) > interval*3/2 {
				out[k] = append(out[k], episode{fired: pt.T})
			}
			out[k][len(out[k])-1].resolved = pt.T.Add(interval)
		}
	}
	// An evaluation Prometheus skipped (it was busy past the next one)
	// splits a firing in two: say so.
	if res, err := p.Query("prometheus_rule_group_iterations_missed_total > 0"); err != nil || len(res) > 0 {
		t.Logf("Prometheus missed rule evaluations (a gap splits a firing): %v %v", res, err)
	}
	return out
}

// runTime bounds how long a scrape of the Monitor and an evaluation of
// the rules take, on either side.
const runTime = 200 * time.Millisecond

// expected is an alert the script raises once: its key (see alertKey) and
// when the script makes its condition hold.
type expected struct {
	key string
	at  time.Duration
}

// compareEpisodes requires each expected alert to have fired once and
// resolved once on each side, the two sides within two evaluation
// intervals of each other, plus runTime (one more interval for the
// resolution of a rule with AutoResolveAfter), neither before the script made its condition hold
// for its For, and no other alert to have fired. It returns the table of
// fire and resolve times, in seconds after start.
func compareEpisodes(t *testing.T, rules []alerting.Rule, want []expected, start time.Time, onEngine, onProm map[string][]episode) string {
	t.Helper()
	byName := map[string]alerting.Rule{}
	for _, r := range rules {
		byName[r.Name] = r
	}
	rel := func(at time.Time) string { return fmt.Sprintf("%.1fs", at.Sub(start).Seconds()) }
	var table strings.Builder
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "alert\tscript\tengine fires\tresolves\tPrometheus fires\tresolves\tΔ fire\tΔ resolve")
	for _, w := range want {
		e, p := onEngine[w.key], onProm[w.key]
		delete(onEngine, w.key)
		delete(onProm, w.key)
		if len(e) != 1 || len(p) != 1 || e[0].resolved.IsZero() {
			t.Errorf("%s: fired %d times on the engine %v, %d times in Prometheus %v; want once on each, resolved", w.key, len(e), e, len(p), p)
			continue
		}
		ee, pe := e[0], p[0]
		df, dr := pe.fired.Sub(ee.fired), pe.resolved.Sub(ee.resolved)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%+.1fs\t%+.1fs\n", w.key, w.at, rel(ee.fired), rel(ee.resolved), rel(pe.fired), rel(pe.resolved), df.Seconds(), dr.Seconds())
		r := byName[w.key[:strings.IndexByte(w.key, '{')]]
		// Each side reads a change at its next scrape or evaluation, and
		// Prometheus evaluates what it scraped: two intervals apart at
		// most, and the time a scrape and an evaluation take.
		tolerance := 2*interval + runTime
		if df.Abs() > tolerance {
			t.Errorf("%s: fired at %s on the engine, %s in Prometheus: %v apart, more than %v", w.key, rel(ee.fired), rel(pe.fired), df, tolerance)
		}
		// Inherent: keep_firing_for counts from the first evaluation that
		// finds the condition clear, AutoResolveAfter from the last that
		// found it holding, one interval earlier.
		if r.AutoResolveAfter > 0 {
			tolerance += interval
		}
		if dr.Abs() > tolerance {
			t.Errorf("%s: resolved at %s on the engine, %s in Prometheus: %v apart, more than %v", w.key, rel(ee.resolved), rel(pe.resolved), dr, tolerance)
		}
		// Prometheus' times are its evaluations', to the millisecond, and an
		// evaluation may run a little after its time.
		held := start.Add(w.at + r.For)
		if ee.fired.Before(held) || pe.fired.Before(held.Add(-100*time.Millisecond)) {
			t.Errorf("%s: fired (engine %s, Prometheus %s) before the script made it hold at %v for %v", w.key, rel(ee.fired), rel(pe.fired), w.at, r.For)
		}
	}
	tw.Flush()
	for _, k := range slices.Sorted(maps.Keys(onEngine)) {
		t.Errorf("unexpected alert on the engine: %s %v", k, onEngine[k])
	}
	for _, k := range slices.Sorted(maps.Keys(onProm)) {
		t.Errorf("unexpected alert in Prometheus: %s %v", k, onProm[k])
	}
	return table.String()
}
