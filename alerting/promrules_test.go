package alerting

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.yaml.in/yaml/v3"

	"github.com/listsync/otelmon/internal/names"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// promtool returns promtool's path, or skips the test (fails it under CI).
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not on PATH (install the Debian package prometheus); required under CI")
		}
		t.Skip("promtool not on PATH; install the Debian package prometheus to check the Prometheus twins")
	}
	return p
}

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(promtool(t), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the output (run go test -update to accept):\n%s", path, got)
	}
}

func TestPrometheusRulesDefault(t *testing.T) {
	out, err := PrometheusRules(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "default_rules.yml", out)
	runPromtool(t, "check", "rules", filepath.Join("testdata", "default_rules.yml"))
}

// The twin scenarios: the same series, fed to the in-process engine at
// every minute and written as promtool input series. The alerts the engine
// fires at each check, compared first with what was worked out by hand,
// become the promtool test's expectations, so promtool passing proves each
// twin fires on the same series at the same times.
//
// Prometheus scrapes every minute and evaluates every 30 s; the checks are
// at the half minute, between two scrapes, where increase() extrapolates
// (ten hits would read 10.08). Prometheus scraped the target for twinLead
// minutes before the process started (up reads 0 meanwhile), so that a
// series' first sample is told apart from Prometheus' own start.
const (
	twinLead     = 60 // minutes; at least the longest window
	twinJob      = "radarr-list-sync"
	twinInstance = "localhost:7878"
)

// absent marks a minute at which a series is not exposed.
var absent = math.NaN()

type twinSeries struct {
	suffix string
	key    string // source or service
	value  string
	// values holds one value per minute of the scenario: cumulative since
	// the process (re)started for counters, absent where not exposed.
	values []float64
}

type twinObservation struct {
	minute  int
	source  string
	seconds float64
}

type twinScenario struct {
	name    string
	minutes int
	// restartAt is the minute the process restarts at: its counters and
	// histograms start again from nothing, and the engine with them (a new
	// engine); 0 means never.
	restartAt    int
	gauges       []twinSeries
	counters     []twinSeries
	observations []twinObservation
	checks       []int
	// want is what the in-process rules fire on (rule → minute → label
	// values), worked out by hand.
	want map[string]map[int][]string
}

// values returns n values per minute: vals, the last one repeating.
func values(n int, vals ...float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = vals[min(i, len(vals)-1)]
	}
	return out
}

// from returns n values per minute: absent before minute start, then vals.
func from(n, start int, vals ...float64) []float64 {
	out := values(n, absent)
	copy(out[start:], values(n-start, vals...))
	return out
}

// steps returns n values per minute, changing at the given minutes: at[i]
// holds from minute i on, until the next key.
func steps(n int, at map[int]float64) []float64 {
	out := values(n, absent)
	for _, m := range slices.Sorted(maps.Keys(at)) {
		for i := m; i < n; i++ {
			out[i] = at[m]
		}
	}
	return out
}

const mainMinutes = 141

// twinScenarios are the default rules' cases: thresholds met exactly and
// exceeded by one, series whose first sample is over the limit, a process
// restart (counter reset) and a circuit breaker's half-open state.
var twinScenarios = []twinScenario{{
	name:    "thresholds, new series and the half-open breaker",
	minutes: mainMinutes,
	gauges: []twinSeries{
		{names.ConsecutiveFailures, "source", "imdb", values(mainMinutes, 0, 1, 2, 3, 4, 0)},
		{names.ConsecutiveFailures, "source", "tmdb", values(mainMinutes, 0, 1, 2, 0)}, // 2: below the count
		{names.ConsecutiveFailures, "source", "trakt", values(mainMinutes, 0, 0, 0, 1, 2, 3)},
		{names.ServiceUp, "service", "plex", values(mainMinutes, 1, 0, 0, 1)},
		{names.ServiceUp, "service", "tmdb", values(mainMinutes, 1)},
		{names.ServiceUp, "service", "imdb", values(mainMinutes, 1, 1, 1, 1, 0)},
		// trakt opens, is half-open twice (still firing), closes, then is
		// half-open again: no alert without one firing.
		{names.CircuitBreakerState, "service", "trakt", values(mainMinutes, 0, 1, 2, 2, 0, 2)},
		{names.CircuitBreakerState, "service", "tmdb", values(mainMinutes, 0, 0, 2, 0)},
		{names.CircuitBreakerState, "service", "plex", values(mainMinutes, 0, 0, 0, 0, 0, 0, 0, 1)},
	},
	counters: []twinSeries{
		{names.APIRateLimitHitsTotal, "service", "tmdb", values(mainMinutes, 0, 0, 5, 12)},
		{names.APIRateLimitHitsTotal, "service", "trakt", values(mainMinutes, 0, 0, 3, 6, 9)},
		// exactly the threshold: 10 hits, never more than 10 in an hour
		{names.APIRateLimitHitsTotal, "service", "plex", values(mainMinutes, 0, 0, 0, 0, 0, 10)},
		// one past it: the 11th hit at minute 11, the 10th at minute 10
		{names.APIRateLimitHitsTotal, "service", "imdb", steps(mainMinutes, map[int]float64{0: 0, 10: 10, 11: 11})},
		// a new series whose first sample is over the limit
		{names.APIRateLimitHitsTotal, "service", "tvdb", from(mainMinutes, 20, 12)},
	},
	observations: []twinObservation{
		{1, "tmdb", 100},
		{2, "imdb", 400},   // imdb's first sync is slow
		{10, "plex", 12},   // plex's series exists
		{20, "plex", 301},  // one second past the threshold
		{30, "trakt", 300}, // exactly the threshold: not slow
		{100, "imdb", 301},
	},
	// The slow alerts resolve one evaluation apart (see
	// TestPrometheusRulesTwins): imdb at 36 (37 in Prometheus), plex at 54
	// (55), imdb at 134 (135); no check falls there.
	checks: []int{1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 20, 21, 25, 30, 35, 38, 50, 60, 61, 62, 69, 70, 79, 80, 100, 104, 105, 120, 140},
	want: map[string]map[int][]string{
		RuleConsecutiveSyncFailures: byMinute(map[int][]string{3: {"imdb"}, 5: {"trakt"}}),
		RuleServiceDown:             byMinute(map[int][]string{1: {"plex"}, 3: nil, 4: {"imdb"}}),
		RuleCircuitBreakerOpen:      byMinute(map[int][]string{1: {"trakt"}, 4: nil, 7: {"plex"}}),
		RuleHighRateLimitHits: byMinute(map[int][]string{3: {"tmdb"}, 11: {"imdb", "tmdb"}, 20: {"imdb", "tmdb", "tvdb"},
			62: {"imdb", "tvdb"}, 70: {"tvdb"}, 80: nil}),
		RuleSlowSyncOperation: byMinute(map[int][]string{2: {"imdb"}, 20: {"imdb", "plex"}, 36: {"plex"}, 54: nil, 100: {"imdb"}, 134: nil}),
	},
}, {
	name:      "a restart",
	minutes:   91,
	restartAt: 20,
	counters: []twinSeries{
		// 8 hits before the restart, 11 after: the engine, restarted with
		// the process, counts the 11.
		{names.APIRateLimitHitsTotal, "service", "tmdb", steps(91, map[int]float64{0: 0, 6: 2, 7: 4, 8: 6, 9: 8, 20: absent, 25: 5, 30: 11})},
		// back below its value a window ago after the restart, then over
		// the limit; after the drop leaves the window, its value a window
		// ago is the restarted process's.
		{names.APIRateLimitHitsTotal, "service", "trakt", steps(91, map[int]float64{0: 9, 20: 2, 40: 12})},
	},
	observations: []twinObservation{
		{5, "imdb", 12},
		{22, "imdb", 400}, // after the restart: slow
	},
	checks: []int{5, 10, 19, 20, 21, 22, 25, 26, 27, 30, 40, 55, 60, 79, 80, 84, 85, 90},
	want: map[string]map[int][]string{
		RuleHighRateLimitHits: byMinute(map[int][]string{30: {"tmdb"}, 40: {"tmdb", "trakt"}, 80: {"tmdb"}, 85: nil}),
		RuleSlowSyncOperation: byMinute(map[int][]string{22: {"imdb"}, 56: nil}),
	},
}}

// byMinute expands changes (minute → what fires from then on) into what
// fires at every minute up to 200.
func byMinute(changes map[int][]string) map[int][]string {
	out := map[int][]string{}
	var cur []string
	for m := 0; m <= 200; m++ {
		if c, ok := changes[m]; ok {
			cur = c
		}
		if len(cur) > 0 {
			out[m] = cur
		}
	}
	return out
}

func TestPrometheusRulesTwins(t *testing.T) {
	rules := DefaultRules()
	fired := make([]map[int][]Alert, len(twinScenarios))
	for i, sc := range twinScenarios {
		fired[i] = runTwinScenario(t, rules, sc)
		for _, r := range rules {
			for _, m := range sc.checks {
				var got []string
				for _, a := range fired[i][m] {
					if a.Rule == r.Name {
						got = append(got, a.Labels["source"]+a.Labels["service"])
					}
				}
				slices.Sort(got)
				if want := sc.want[r.Name][m]; !slices.Equal(got, want) {
					t.Errorf("%s: %s at %dm fires on %q, want %q", sc.name, r.Name, m, got, want)
				}
			}
		}
	}
	if t.Failed() {
		return
	}
	golden(t, "default_rules_test.yml", promtoolTest(rules, fired))
	runPromtool(t, "test", "rules", filepath.Join("testdata", "default_rules_test.yml"))
}

// runTwinScenario feeds the scenario to an engine with rules, evaluating at
// every minute, and returns the firing alerts at each check.
func runTwinScenario(t *testing.T, rules []Rule, sc twinScenario) map[int][]Alert {
	ctx := context.Background()
	var h *harness
	start := func(minute int) {
		h = newHarness(t, Config{})
		h.addRules(rules...)
		h.clk.Advance(time.Duration(minute) * time.Minute)
	}
	start(0)
	fired := map[int][]Alert{}
	epoch := 0 // the minute the process started
	for m := range sc.minutes {
		switch {
		case m > 0 && m == sc.restartAt:
			epoch = m
			start(m)
		case m > 0:
			h.clk.Advance(time.Minute)
		}
		for _, s := range sc.gauges {
			if v := s.values[m]; !math.IsNaN(v) {
				gauge := map[string]metric.Int64Gauge{names.ConsecutiveFailures: h.failures, names.ServiceUp: h.up, names.CircuitBreakerState: h.breaker}[s.suffix]
				gauge.Record(ctx, int64(v), withAttr(s.key, s.value))
			}
		}
		for _, s := range sc.counters {
			v := s.values[m]
			if math.IsNaN(v) {
				continue
			}
			prev := 0.0
			if m > epoch && !math.IsNaN(s.values[m-1]) {
				prev = s.values[m-1]
			}
			if v < prev {
				t.Fatalf("%s: %s{%s} drops at minute %d without a restart", sc.name, s.suffix, s.value, m)
			}
			h.hits.Add(ctx, int64(v-prev), withAttr(s.key, s.value))
		}
		for _, o := range sc.observations {
			if o.minute == m {
				h.duration.Record(ctx, o.seconds, src(o.source))
			}
		}
		h.eval()
		if slices.Contains(sc.checks, m) {
			fired[m] = h.eng.Alerts(Filter{States: []State{Firing}})
		}
	}
	return fired
}

func withAttr(k, v string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(k, v))
}

// promValues writes per-minute values as promtool's input series, runs
// of one value in its expanding notation ("1x3" is 1 1 1 1, "_x3" is
// _ _ _): absent minutes are "stale" right after an exposed one (what a
// scrape records when a series disappears) and "_" otherwise.
func promValues(vals []float64) string {
	var out []string
	for i := 0; i < len(vals); {
		tok := "_"
		switch v := vals[i]; {
		case !math.IsNaN(v):
			tok = promNumber(v)
		case i > 0 && !math.IsNaN(vals[i-1]):
			out = append(out, "stale")
			i++
			continue
		}
		n := 1
		for i+n < len(vals) && (vals[i+n] == vals[i] || math.IsNaN(vals[i+n]) && math.IsNaN(vals[i])) {
			n++
		}
		switch {
		case n == 1:
			out = append(out, tok)
		case tok == "_":
			out = append(out, fmt.Sprintf("_x%d", n))
		default:
			out = append(out, fmt.Sprintf("%sx%d", tok, n-1))
		}
		i += n
	}
	return strings.Join(out, " ")
}

// promtoolTest writes a promtool rule test with one group per twin
// scenario: its series and, as expectations, what the in-process engine
// fired.
func promtoolTest(rules []Rule, fired []map[int][]Alert) []byte {
	var b bytes.Buffer
	p := names.Default
	b.WriteString("# Generated by TestPrometheusRulesTwins (go test -update): the twin scenarios'\n")
	b.WriteString("# series, expecting exactly the alerts the in-process rules fired.\n")
	b.WriteString("rule_files:\n  - default_rules.yml\nevaluation_interval: 30s\ntests:\n")
	target := map[string]string{"job": twinJob, "instance": twinInstance}
	for i, sc := range twinScenarios {
		fmt.Fprintf(&b, "  # %s\n  - interval: 1m\n    input_series:\n", sc.name)
		lead := values(twinLead, absent)
		writeSeries := func(name string, lbls map[string]string, vals []float64) {
			lbls = maps.Clone(lbls)
			maps.Copy(lbls, target)
			var sel []string
			for _, k := range slices.Sorted(maps.Keys(lbls)) {
				sel = append(sel, k+"="+strconv.Quote(lbls[k]))
			}
			fmt.Fprintf(&b, "      - series: %s\n        values: %s\n", quoteYAML(name+"{"+strings.Join(sel, ", ")+"}"), quoteYAML(promValues(append(slices.Clone(lead), vals...))))
		}
		// Prometheus scrapes the target from minute 0: down until the
		// process starts at twinLead, up from then on.
		up := append(values(twinLead, 0), values(sc.minutes, 1)...)
		fmt.Fprintf(&b, "      - series: %s\n        values: %s\n", quoteYAML(`up{instance="`+twinInstance+`", job="`+twinJob+`"}`), quoteYAML(promValues(up)))
		for _, s := range append(slices.Clone(sc.gauges), sc.counters...) {
			writeSeries(p.Name(s.suffix), map[string]string{s.key: s.value}, s.values)
		}
		var sources []string
		for _, o := range sc.observations {
			if !slices.Contains(sources, o.source) {
				sources = append(sources, o.source)
			}
		}
		for _, s := range sources {
			count, le300 := values(sc.minutes, absent), values(sc.minutes, absent)
			for m := range count {
				epoch := 0
				if sc.restartAt > 0 && m >= sc.restartAt {
					epoch = sc.restartAt
				}
				for _, o := range sc.observations {
					if o.source != s || o.minute < epoch || o.minute > m {
						continue
					}
					if math.IsNaN(count[m]) {
						count[m], le300[m] = 0, 0
					}
					count[m]++
					if o.seconds <= 300 {
						le300[m]++
					}
				}
			}
			h := p.Name(names.SyncDurationSeconds)
			writeSeries(h+"_count", map[string]string{"source": s}, count)
			writeSeries(h+"_bucket", map[string]string{"source": s, "le": "300"}, le300)
			writeSeries(h+"_bucket", map[string]string{"source": s, "le": "+Inf"}, count)
		}
		b.WriteString("    alert_rule_test:\n")
		for _, m := range sc.checks {
			for _, r := range rules {
				c, _ := r.validate(names.Default)
				_, summaryTmpl := promExpr(&r, &c)
				writeAlertRuleTest(&b, twinLead+m, r.Name, fired[i][m], target, func(a Alert) (string, string) {
					return renderSummary(summaryTmpl, a), a.Description
				})
			}
		}
	}
	return b.Bytes()
}

// writeAlertRuleTest writes one alert_rule_test case of a promtool rule
// test: at minute m (plus 30 s), the alerts of rule among fired, with
// their labels, extra labels, severity, and the summary and description
// annotations says gives each.
func writeAlertRuleTest(b *bytes.Buffer, m int, rule string, fired []Alert, extra map[string]string, says func(Alert) (summary, description string)) {
	fmt.Fprintf(b, "      - eval_time: %dm30s\n        alertname: %s\n", m, rule)
	var as []Alert
	for _, a := range fired {
		if a.Rule == rule {
			as = append(as, a)
		}
	}
	if len(as) == 0 {
		b.WriteString("        exp_alerts: []\n")
		return
	}
	b.WriteString("        exp_alerts:\n")
	for _, a := range as {
		lbls := maps.Clone(a.Labels)
		maps.Copy(lbls, extra)
		lbls["severity"] = a.Level.String()
		b.WriteString("          - exp_labels:\n")
		for _, k := range slices.Sorted(maps.Keys(lbls)) {
			fmt.Fprintf(b, "              %s: %s\n", k, quoteYAML(lbls[k]))
		}
		summary, description := says(a)
		fmt.Fprintf(b, "            exp_annotations:\n              summary: %s\n              description: %s\n", quoteYAML(summary), quoteYAML(description))
	}
}

// renderSummary renders the few template actions the twins' summaries use,
// as Prometheus would for the alert's labels and value.
func renderSummary(tmpl string, a Alert) string {
	v := strconv.FormatFloat(a.Value, 'g', -1, 64)
	r := strings.NewReplacer(
		"{{ $value }}", v,
		"{{ $value | humanize }}", v,
		"{{ $labels.source }}", a.Labels["source"],
		"{{ $labels.service }}", a.Labels["service"],
	)
	return r.Replace(tmpl)
}

func TestPrometheusRulesCustom(t *testing.T) {
	rules := []Rule{
		{Name: "queue_deep", Level: Info, Description: `Queue "imports" is deep; see {{ the runbook }}` + "\nsecond line",
			Labels:    map[string]string{"team": "media", "owner.email": "ops@example.com"},
			Condition: Threshold{Instrument: "myapp.queue.depth", Attributes: map[string]string{"queue": `im"ports`}, Op: OpGreaterEqual, Value: 1e6}, For: 90 * time.Second},
		{Name: "errors_fast", Condition: Threshold{Instrument: "myapp_errors_total", Op: OpGreater, Value: 0.5, Window: 10 * time.Minute}},
		{Name: "imdb_failures", Condition: ConsecutiveFailures{Source: "imdb", Count: 5}},
		{Name: "tmdb_429", Condition: RateAbove{Metric: "api_rate_limit_hits_total", Service: "tmdb", Attributes: map[string]string{"endpoint": "/3/movie"}, Threshold: 3, Window: 15 * time.Minute}},
		{Name: "slow_half_second", Condition: SlowOperation{Source: "plex", Threshold: 500 * time.Millisecond, Window: 2 * time.Minute}},
		{Name: "breaker_labels", Labels: map[string]string{"team": "media"}, Condition: CircuitOpen{Service: "plex"}},
		{Name: "disabled", Condition: ServiceDown{}, Disabled: true},
	}
	out, err := PrometheusRulesWithNamespace("sonarr", "", rules)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, want := range []string{
		`sonarr_consecutive_failures{source=\"imdb\"} >= 5`,
		`myapp_queue_depth{queue=\"im\\\"ports\"} >= 1000000`,
		"(myapp_errors_total - myapp_errors_total offset 10m unless",
		"  ) > 0.5\n",
		`(sonarr_api_rate_limit_hits_total{endpoint="/3/movie", service="tmdb"} - sonarr_api_rate_limit_hits_total{endpoint="/3/movie", service="tmdb"} offset 15m unless`,
		"  ) > 3\n",
		"le=~`0\\.5`",
		`for: 1m30s`,
		`owner_email: "ops@example.com"`,
		`{{ \"{{\" }} the runbook }}`,
		`ignoring(alertname, alertstate, severity, team)`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %s", want)
		}
	}
	if strings.Contains(s, `"disabled"`) {
		t.Error("disabled rule written")
	}
	path := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

func TestPrometheusRulesNotExpressible(t *testing.T) {
	for _, r := range []Rule{
		{Name: "hyst", Condition: ServiceDown{}, ResolveAfterClear: 3},
		{Name: "flap", Condition: ServiceDown{}, Flap: Flapping{Changes: 2}},
	} {
		_, err := PrometheusRules([]Rule{r})
		var re *RuleError
		if !errors.Is(err, ErrNotExpressible) || !errors.As(err, &re) || re.Rule != r.Name {
			t.Errorf("%s: %v, want a RuleError wrapping ErrNotExpressible", r.Name, err)
		}
	}
	if _, err := PrometheusRules([]Rule{{Name: "bad", Condition: ConsecutiveFailures{}}}); !errors.Is(err, ErrInvalidRule) {
		t.Errorf("invalid rule: %v", err)
	}
	out, err := PrometheusRules(nil)
	if err != nil || !strings.Contains(string(out), "rules: []") {
		t.Fatalf("no rules: %v\n%s", err, out)
	}
	path := filepath.Join(t.TempDir(), "empty.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, "check", "rules", path)
}

// Durations are written as Prometheus writes them (model.Duration), and
// every one parses back as a Prometheus duration to the same value.
func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", -time.Second: "0s", time.Nanosecond: "1ms", 250 * time.Millisecond: "250ms", 5 * time.Minute: "5m",
		90 * time.Minute: "1h30m", 26*time.Hour + 1500*time.Millisecond: "1d2h1s500ms", 72 * time.Hour: "3d",
		7 * 24 * time.Hour: "1w",
	} {
		if d > 0 && d%time.Millisecond == 0 {
			if back, err := model.ParseDuration(want); err != nil || time.Duration(back) != d {
				t.Errorf("%q parses as %v, %v; want %v", want, time.Duration(back), err, d)
			}
		}
		if got := promDuration(d); got != want {
			t.Errorf("promDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

// quoteYAML quotes s as a YAML double-quoted scalar for the promtool test
// file: Go's escapes are YAML's too, for valid UTF-8.
func quoteYAML(s string) string { return strconv.Quote(s) }

// The rule file reads back as the values it was written from, whatever
// characters they hold.
func TestPrometheusRulesRoundTrip(t *testing.T) {
	desc := "Queue \"imports\" is deep:\n\tsee {{ the runbook }} \\ \u00e9t\u00e9 # not a comment: [x]"
	rules := []Rule{{
		Name: "odd: name", Level: Critical, Description: desc,
		Labels:           map[string]string{"team": "- media", "owner.email": "'ops'@example.com"},
		Condition:        Threshold{Instrument: "myapp_queue_depth", Attributes: map[string]string{"queue": `im"ports`}, Op: OpGreaterEqual, Value: 3},
		For:              90 * time.Second,
		AutoResolveAfter: time.Hour,
	}}
	out, err := PrometheusRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert         string            `yaml:"alert"`
				Expr          string            `yaml:"expr"`
				For           string            `yaml:"for"`
				KeepFiringFor string            `yaml:"keep_firing_for"`
				Labels        map[string]string `yaml:"labels"`
				Annotations   map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(out, &file); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(file.Groups) != 1 || len(file.Groups[0].Rules) != 1 {
		t.Fatalf("parsed %+v", file)
	}
	r := file.Groups[0].Rules[0]
	want := map[string]string{"severity": "critical", "team": "- media", "owner_email": "'ops'@example.com"}
	if file.Groups[0].Name != "radarr_list_sync_alerts" || r.Alert != "odd: name" || r.For != "1m30s" || r.KeepFiringFor != "1h" ||
		r.Expr != `myapp_queue_depth{queue="im\"ports"} >= 3` || !maps.Equal(r.Labels, want) ||
		r.Annotations["description"] != escapeTemplate(desc) {
		t.Fatalf("parsed back %+v\nfrom\n%s", r, out)
	}
}
