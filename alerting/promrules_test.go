package alerting

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// The twin scenario: the same series, fed to the in-process engine at every
// minute and written as promtool input series. The alerts the engine fires
// at each check become the promtool test's expectations, so promtool
// passing proves each twin fires on the same series at the same times.
type twinSeries struct {
	suffix string
	key    string // source or service
	value  string
	values []float64 // one per minute; cumulative for counters
}

type twinObservation struct {
	minute  int
	source  string
	seconds float64
}

const twinMinutes = 45

var twinChecks = []int{1, 2, 3, 4, 5, 7, 10, 30, 40, 45}

func series(vals ...float64) []float64 {
	out := make([]float64, twinMinutes+1)
	for i := range out {
		out[i] = vals[min(i, len(vals)-1)] // the last value repeats
	}
	return out
}

var (
	twinGauges = []twinSeries{
		{names.ConsecutiveFailures, "source", "imdb", series(0, 1, 2, 3, 4, 0)},
		{names.ConsecutiveFailures, "source", "tmdb", series(0, 1, 2, 0)},
		{names.ConsecutiveFailures, "source", "trakt", series(0, 0, 0, 1, 2, 3)},
		{names.ServiceUp, "service", "plex", series(1, 0, 0, 1)},
		{names.ServiceUp, "service", "tmdb", series(1)},
		{names.ServiceUp, "service", "imdb", series(1, 1, 1, 1, 0)},
		{names.CircuitBreakerState, "service", "trakt", series(0, 1, 2, 2, 0, 2)},
		{names.CircuitBreakerState, "service", "tmdb", series(0, 0, 2, 0)},
		{names.CircuitBreakerState, "service", "plex", series(0, 0, 0, 0, 0, 0, 0, 1)},
	}
	twinCounters = []twinSeries{
		{names.APIRateLimitHitsTotal, "service", "tmdb", series(0, 0, 5, 12)},
		{names.APIRateLimitHitsTotal, "service", "trakt", series(0, 0, 3, 6, 9)},
	}
	twinObservations = []twinObservation{
		{1, "tmdb", 100},
		{2, "imdb", 400},
		{20, "plex", 301},
	}
	// What the in-process rules fire on (rule -> minute -> label value),
	// checked by hand before the same results become promtool's
	// expectations.
	twinWant = map[string]map[int][]string{
		RuleConsecutiveSyncFailures: {3: {"imdb"}, 4: {"imdb"}, 5: {"trakt"}, 7: {"trakt"}, 10: {"trakt"}, 30: {"trakt"}, 40: {"trakt"}, 45: {"trakt"}},
		RuleServiceDown:             {1: {"plex"}, 2: {"plex"}, 4: {"imdb"}, 5: {"imdb"}, 7: {"imdb"}, 10: {"imdb"}, 30: {"imdb"}, 40: {"imdb"}, 45: {"imdb"}},
		RuleCircuitBreakerOpen:      {1: {"trakt"}, 2: {"trakt"}, 3: {"trakt"}, 7: {"plex"}, 10: {"plex"}, 30: {"plex"}, 40: {"plex"}, 45: {"plex"}},
		RuleHighRateLimitHits:       {3: {"tmdb"}, 4: {"tmdb"}, 5: {"tmdb"}, 7: {"tmdb"}, 10: {"tmdb"}, 30: {"tmdb"}, 40: {"tmdb"}, 45: {"tmdb"}},
		RuleSlowSyncOperation:       {2: {"imdb"}, 3: {"imdb"}, 4: {"imdb"}, 5: {"imdb"}, 7: {"imdb"}, 10: {"imdb"}, 30: {"imdb", "plex"}, 40: {"plex"}, 45: {"plex"}},
	}
)

func TestPrometheusRulesTwins(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	rules := DefaultRules()
	h.addRules(rules...)
	gauges := map[string]func(int64, string, string){
		names.ConsecutiveFailures: func(v int64, k, val string) { h.failures.Record(ctx, v, withAttr(k, val)) },
		names.ServiceUp:           func(v int64, k, val string) { h.up.Record(ctx, v, withAttr(k, val)) },
		names.CircuitBreakerState: func(v int64, k, val string) { h.breaker.Record(ctx, v, withAttr(k, val)) },
	}
	fired := map[int][]Alert{}
	for m := 0; m <= twinMinutes; m++ {
		if m > 0 {
			h.clk.Advance(time.Minute)
		}
		for _, s := range twinGauges {
			gauges[s.suffix](int64(s.values[m]), s.key, s.value)
		}
		for _, s := range twinCounters {
			prev := 0.0
			if m > 0 {
				prev = s.values[m-1]
			}
			h.hits.Add(ctx, int64(s.values[m]-prev), withAttr(s.key, s.value))
		}
		for _, o := range twinObservations {
			if o.minute == m {
				h.duration.Record(ctx, o.seconds, src(o.source))
			}
		}
		h.eval()
		if slices.Contains(twinChecks, m) {
			fired[m] = h.eng.Alerts(Filter{States: []State{Firing}})
		}
	}
	for _, r := range rules {
		for _, m := range twinChecks {
			var got []string
			for _, a := range fired[m] {
				if a.Rule == r.Name {
					got = append(got, a.Labels["source"]+a.Labels["service"])
				}
			}
			slices.Sort(got)
			if want := twinWant[r.Name][m]; !slices.Equal(got, want) {
				t.Errorf("%s at %dm fires on %q, want %q", r.Name, m, got, want)
			}
		}
	}
	if t.Failed() {
		return
	}
	golden(t, "default_rules_test.yml", promtoolTest(rules, fired))
	runPromtool(t, "test", "rules", filepath.Join("testdata", "default_rules_test.yml"))
}

func withAttr(k, v string) metric.MeasurementOption {
	return metric.WithAttributes(attribute.String(k, v))
}

// promtoolTest writes a promtool rule test with the twin scenario's series
// and, as expectations, what the in-process engine fired.
func promtoolTest(rules []Rule, fired map[int][]Alert) []byte {
	var b bytes.Buffer
	p := names.Default
	b.WriteString("# Generated by TestPrometheusRulesTwins (go test -update): the twin scenario's\n")
	b.WriteString("# series, expecting exactly the alerts the in-process rules fired.\n")
	b.WriteString("rule_files:\n  - default_rules.yml\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n")
	writeSeries := func(name string, lbls map[string]string, vals []float64) {
		var sel []string
		for _, k := range slices.Sorted(maps.Keys(lbls)) {
			sel = append(sel, k+"="+strconv.Quote(lbls[k]))
		}
		strs := make([]string, len(vals))
		for i, v := range vals {
			strs[i] = promNumber(v)
		}
		fmt.Fprintf(&b, "      - series: %s\n        values: %s\n", quoteYAML(name+"{"+strings.Join(sel, ", ")+"}"), quoteYAML(strings.Join(strs, " ")))
	}
	for _, s := range append(slices.Clone(twinGauges), twinCounters...) {
		writeSeries(p.Name(s.suffix), map[string]string{s.key: s.value}, s.values)
	}
	sources := []string{}
	for _, o := range twinObservations {
		if !slices.Contains(sources, o.source) {
			sources = append(sources, o.source)
		}
	}
	for _, s := range sources {
		count, le300 := make([]float64, twinMinutes+1), make([]float64, twinMinutes+1)
		for m := range count {
			for _, o := range twinObservations {
				if o.source == s && o.minute <= m {
					count[m]++
					if o.seconds <= 300 {
						le300[m]++
					}
				}
			}
		}
		h := p.Name(names.SyncDurationSeconds)
		writeSeries(h+"_count", map[string]string{"source": s}, count)
		writeSeries(h+"_bucket", map[string]string{"source": s, "le": "300"}, le300)
		writeSeries(h+"_bucket", map[string]string{"source": s, "le": "+Inf"}, count)
	}
	b.WriteString("    alert_rule_test:\n")
	for _, m := range twinChecks {
		for _, r := range rules {
			c, _ := r.validate(names.Default)
			_, summaryTmpl := promExpr(&r, &c)
			fmt.Fprintf(&b, "      - eval_time: %dm\n        alertname: %s\n", m, r.Name)
			var as []Alert
			for _, a := range fired[m] {
				if a.Rule == r.Name {
					as = append(as, a)
				}
			}
			if len(as) == 0 {
				b.WriteString("        exp_alerts: []\n")
				continue
			}
			b.WriteString("        exp_alerts:\n")
			for _, a := range as {
				lbls := maps.Clone(a.Labels)
				lbls["severity"] = a.Level.String()
				b.WriteString("          - exp_labels:\n")
				for _, k := range slices.Sorted(maps.Keys(lbls)) {
					fmt.Fprintf(&b, "              %s: %s\n", k, quoteYAML(lbls[k]))
				}
				b.WriteString("            exp_annotations:\n")
				fmt.Fprintf(&b, "              summary: %s\n", quoteYAML(renderSummary(summaryTmpl, a)))
				fmt.Fprintf(&b, "              description: %s\n", quoteYAML(a.Description))
			}
		}
	}
	return b.Bytes()
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
		`increase(myapp_errors_total[10m]) > 0.5`,
		`increase(sonarr_api_rate_limit_hits_total{endpoint=\"/3/movie\", service=\"tmdb\"}[15m]) > 3`,
		"le=~`0\\\\.5`",
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

func TestPromDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", time.Nanosecond: "1ms", 250 * time.Millisecond: "250ms", 5 * time.Minute: "5m",
		90 * time.Minute: "1h30m", 26*time.Hour + 1500*time.Millisecond: "26h1s500ms",
	} {
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
