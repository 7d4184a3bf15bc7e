package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/e2etest"
)

const (
	// exampleConfig is the Prometheus configuration shipped with the
	// examples, relative to this package.
	exampleConfig = "../prometheus/prometheus.yml"
	// exampleDashboard is the Grafana dashboard shipped with the examples.
	exampleDashboard = "../grafana/dashboard.json"
	// exampleJob is the scrape job prometheus.yml defines.
	exampleJob = "radarr-list-sync"
	// exampleTarget is the target prometheus.yml scrapes, the demo's
	// default address.
	exampleTarget = "localhost:7878"
)

// TestPrometheusEndToEnd runs a real Prometheus with the example
// configuration against the demo and requires every recommended query and
// every query of the example dashboard to return data. The dashboard must
// carry each of the integration guide's queries.
func TestPrometheusEndToEnd(t *testing.T) {
	promtool := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	prometheus := e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")

	e2etest.Check(t, promtool, "check", "config", exampleConfig)
	panels := dashboardQueries(t, exampleDashboard)
	guide := e2etest.GuideQueries()
	for _, q := range guide {
		found := false
		for _, p := range panels {
			found = found || normalizeExpr(p.Expr) == normalizeExpr(q.Expr)
		}
		if !found {
			t.Errorf("%s: no panel queries %s (%s)", exampleDashboard, q.Expr, q.Name)
		}
	}

	// imdb fails throughout, so the service_down twin must fire.
	addr := demo(t, "-sync-interval", "100ms", "-health-interval", "200ms", "-fail", "imdb")
	dir := t.TempDir()
	cfg := writeTestConfig(t, promtool, dir, addr)

	p := startPrometheus(t, prometheus, cfg, filepath.Join(dir, "data"))
	p.WaitReady(t, "/-/ready", 30*time.Second)
	p.WaitTargetUp(t, 30*time.Second, exampleJob, addr)

	want := scenarioValues()
	for _, q := range guide {
		t.Run("guide/"+q.Name, func(t *testing.T) { p.waitForValues(t, q.Expr, want[normalizeExpr(q.Expr)]) })
	}
	for _, q := range panels {
		t.Run("dashboard/"+q.Name, func(t *testing.T) { p.waitForValues(t, q.Expr, want[normalizeExpr(q.Expr)]) })
	}
	// The counters Prometheus holds are the demo's: between what the demo
	// exposed before the query and what it exposes after.
	t.Run("counters", func(t *testing.T) {
		for _, src := range services {
			for _, name := range []string{"sync_operations_total", "sync_operations_success_total", "sync_operations_failed_total"} {
				series := fmt.Sprintf(`radarr_list_sync_%s{source=%q}`, name, src)
				p.waitForCounter(t, series, "http://"+addr+"/metrics")
			}
		}
	})
	// The rule twins load and evaluate: service_down fires for imdb, and
	// for imdb alone, as the in-process rule does.
	t.Run("rules/service_down", func(t *testing.T) {
		p.waitForValues(t, `ALERTS{alertname="service_down",alertstate="firing"}`, eachOf("service", map[string]valueCheck{"imdb": is(1)}))
	})
}

// valueCheck is what the scenario implies for one series' value.
type valueCheck struct {
	desc string
	ok   func(float64) bool
}

func is(want float64) valueCheck {
	return valueCheck{fmt.Sprint(want), func(v float64) bool { return v == want }}
}

func within(lo, hi float64) valueCheck {
	return valueCheck{fmt.Sprintf("in (%v, %v)", lo, hi), func(v float64) bool { return v > lo && v < hi }}
}

// anyValue accepts a series whatever its value, NaN included.
var anyValue = valueCheck{"any value", func(float64) bool { return true }}

// valuesCheck checks the vector an instant query returns.
type valuesCheck func([]e2etest.Series) error

// eachOf requires one series for each value of label in want, and no
// other, each with a value want accepts.
func eachOf(label string, want map[string]valueCheck) valuesCheck {
	return func(res []e2etest.Series) error {
		seen := map[string]bool{}
		var errs []error
		for _, s := range res {
			key := s.Metric[label]
			c, ok := want[key]
			if !ok || seen[key] {
				errs = append(errs, fmt.Errorf("unexpected series %v", s.Metric))
				continue
			}
			seen[key] = true
			v, err := seriesValue(s)
			if err != nil {
				errs = append(errs, err)
			} else if !c.ok(v) {
				errs = append(errs, fmt.Errorf("%s=%q: %v, want %s", label, key, v, c.desc))
			}
		}
		for key := range want {
			if !seen[key] {
				errs = append(errs, fmt.Errorf("no series with %s=%q", label, key))
			}
		}
		return errors.Join(errs...)
	}
}

func seriesValue(s e2etest.Series) (float64, error) {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return 0, fmt.Errorf("series %v: value %v: %w", s.Metric, s.Value[1], err)
	}
	return v, nil
}

// slowLatency is the least an upstream takes with -slow: no query of a
// scenario without it sees as much.
const slowLatency = 2.0

// scenarioValues returns, by normalized expression, what each query of the
// guide and of the dashboard returns while imdb fails and the other
// upstreams are healthy and quick.
func scenarioValues() map[string]valuesCheck {
	healthyAnd := func(imdb, healthy valueCheck) map[string]valueCheck {
		return map[string]valueCheck{"imdb": imdb, "tmdb": healthy, "trakt": healthy, "plex": healthy}
	}
	byName := map[string]valuesCheck{
		// Every sync of imdb fails, every other succeeds.
		"sync success rate": eachOf("source", healthyAnd(is(0), is(1))),
		// Failing or not, no sync waits for a slow upstream.
		"average sync duration": eachOf("source", healthyAnd(within(0, slowLatency), within(0, slowLatency))),
		// Every source shares the cache: items seen before are hits.
		"cache hit rate": eachOf("type", map[string]valueCheck{"movie_cache": within(0, 1.000001)}),
		"service health": eachOf("service", healthyAnd(is(0), is(1))),
	}
	want := map[string]valuesCheck{
		// imdb's breaker is open (1), the others closed (0).
		normalizeExpr(`radarr_list_sync_circuit_breaker_state`): eachOf("service", healthyAnd(is(1), is(0))),
		// imdb's breaker opened after its first requests, so its quantile
		// may be NaN, with no request in the window.
		normalizeExpr(`histogram_quantile(0.95, rate(radarr_list_sync_api_request_duration_seconds_bucket[5m]))`): eachOf("service",
			healthyAnd(anyValue, within(0, slowLatency))),
		// Every sync of imdb fails: its budget is spent a hundred times
		// over (1 - 1/0.01); the others have spent none.
		normalizeExpr(`1 - (increase(radarr_list_sync_sync_operations_failed_total[30d]) / increase(radarr_list_sync_sync_operations_total[30d])) / (1 - 0.99)`): eachOf("source",
			healthyAnd(within(-99.0001, -98.9999), is(1))),
	}
	for _, q := range e2etest.GuideQueries() {
		want[normalizeExpr(q.Expr)] = byName[q.Name]
	}
	return want
}

// testConfig derives the test's configuration from the example: the same
// job, scraping the demo at addr every second.
func testConfig(t *testing.T, path, addr string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite configuration lines only, never comments.
	interval := regexp.MustCompile(`^(\s*(?:scrape|evaluation)_interval:).*$`)
	lines := strings.Split(string(b), "\n")
	var targets, intervals int
	hasEval, hasJob := false, false
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		hasJob = hasJob || strings.Contains(l, "job_name") && strings.Contains(l, exampleJob)
		if strings.Contains(l, exampleTarget) {
			lines[i] = strings.Replace(l, exampleTarget, addr, 1)
			targets++
		}
		if interval.MatchString(l) {
			hasEval = hasEval || strings.Contains(l, "evaluation_interval")
			lines[i] = interval.ReplaceAllString(l, "${1} 1s")
			intervals++
		}
	}
	if !hasJob || targets != 1 || intervals == 0 {
		t.Fatalf("%s: want job %s with one target %s and a scrape_interval; found job %v, %d targets, %d intervals",
			path, exampleJob, exampleTarget, hasJob, targets, intervals)
	}
	cfg := strings.Join(lines, "\n")
	if !hasEval {
		cfg = "global:\n  evaluation_interval: 1s\n" + cfg
	}
	return cfg
}

// dashboardQueries returns the queries of every panel of the Grafana
// dashboard at path (see e2etest.ReadDashboard), and fails the test
// without a uid or title or with a target without an expr.
func dashboardQueries(t *testing.T, path string) []e2etest.Query {
	t.Helper()
	d := e2etest.ReadDashboard(t, path)
	if d.UID == "" || d.Title == "" {
		t.Errorf("%s: uid %q, title %q: both are required", path, d.UID, d.Title)
	}
	for _, b := range d.Blank {
		t.Errorf("%s: %s has no expr", path, b)
	}
	return d.Queries
}

func normalizeExpr(s string) string { return strings.Join(strings.Fields(s), " ") }

// promServer is a prometheus process started by a test.
type promServer struct{ *e2etest.Process }

// startPrometheus starts prometheus with cfg on a free loopback port,
// storing its data under dataDir, with the extra flags, and stops it when
// the test ends. Its output (info level: startup and scrape lines explain
// most failures) is logged when the test fails.
func startPrometheus(t *testing.T, bin, cfg, dataDir string, extra ...string) *promServer {
	t.Helper()
	listen := e2etest.FreeAddr(t)
	return &promServer{e2etest.Start(t, "prometheus", listen, nil, bin, append([]string{
		"--config.file=" + cfg,
		"--storage.tsdb.path=" + dataDir,
		"--web.listen-address=" + listen,
		"--storage.tsdb.retention.time=1h",
	}, extra...)...)}
}

// waitForValues waits until an instant query of expr returns what check
// accepts; a nil check (no expectation for the query) fails the test.
func (p *promServer) waitForValues(t *testing.T, expr string, check valuesCheck) {
	t.Helper()
	if check == nil {
		t.Fatalf("the scenario has no expected values for %s", expr)
	}
	p.Poll(t, 60*time.Second, "query "+expr, func() error {
		res, err := p.Query(expr)
		if err != nil {
			return err
		}
		if err := check(res); err != nil {
			return fmt.Errorf("%w; last result: %v", err, res)
		}
		return nil
	})
}

// waitForCounter waits until Prometheus holds the counter series at no
// less than the demo exposed at metricsURL before, and then requires no
// more than it exposes after: the demo's count, not merely a number.
func (p *promServer) waitForCounter(t *testing.T, series, metricsURL string) {
	t.Helper()
	before := sampleValue(t, get(t, metricsURL), series)
	var v float64
	p.Poll(t, 30*time.Second, "counter "+series, func() error {
		res, err := p.Query(series)
		if err != nil {
			return err
		}
		if len(res) != 1 {
			return fmt.Errorf("%d series, want 1: %v", len(res), res)
		}
		if v, err = seriesValue(res[0]); err != nil {
			return err
		}
		if v < before {
			return fmt.Errorf("%v, want at least the %v the demo counted before", v, before)
		}
		return nil
	})
	if after := sampleValue(t, get(t, metricsURL), series); v > after {
		t.Fatalf("%s: Prometheus holds %v, more than the %v the demo counts", series, v, after)
	}
}
