package prometheus_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/e2etest"
	"github.com/listsync/otelmon/internal/syncbuf"
	"github.com/listsync/otelmon/otelmon"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// interval is the scrape interval, Prometheus' evaluation interval and the
// engine's.
const interval = time.Second

// job is the scrape job of the Monitor's /metrics.
const job = "otelmon-twins"

// The default rules' windows and hold-down, scaled down so that every
// default rule fires and resolves within the test: their conditions,
// thresholds and the shape of their twins are the defaults'.
const (
	slowWindow = 8 * time.Second  // slow_sync_operation's Window; default 5m
	slowHold   = 4 * time.Second  // its AutoResolveAfter; default 30m
	rateWindow = 15 * time.Second // high_rate_limit_hits' Window; default 1h
)

// twinRules are the default rules, scaled, and one custom rule of each
// condition kind.
func twinRules() []alerting.Rule {
	rules := alerting.DefaultRules()
	for i := range rules {
		switch c := rules[i].Condition.(type) {
		case alerting.SlowOperation:
			c.Window = slowWindow
			rules[i].Condition = c
			rules[i].AutoResolveAfter = slowHold
		case alerting.RateAbove:
			c.Window = rateWindow
			rules[i].Condition = c
		}
	}
	return append(rules,
		alerting.Rule{Name: "trakt_failing", Level: alerting.Warning, For: 3 * time.Second,
			Condition: alerting.ConsecutiveFailures{Source: "trakt", Count: 2}},
		// 30 s is a bucket boundary: the rule reads the histogram that
		// slow_sync_operation reads, with another bound and window.
		alerting.Rule{Name: "plex_slow", Condition: alerting.SlowOperation{Source: "plex", Threshold: 30 * time.Second, Window: 6 * time.Second}},
		alerting.Rule{Name: "imdb_failures", Condition: alerting.RateAbove{Metric: "sync_operations_failed_total",
			Attributes: map[string]string{"source": "imdb"}, Threshold: 2, Window: 10 * time.Second}},
		alerting.Rule{Name: "plex_down", Level: alerting.Critical, For: 2 * time.Second, Condition: alerting.ServiceDown{Service: "plex"}},
		alerting.Rule{Name: "tmdb_breaker", For: 2 * time.Second, Condition: alerting.CircuitOpen{Service: "tmdb"}},
		alerting.Rule{Name: "cache_misses", Condition: alerting.Threshold{Instrument: "radarr_list_sync_cache_misses_total",
			Attributes: map[string]string{"type": "movie_cache"}, Op: alerting.OpGreaterEqual, Value: 5, Window: 8 * time.Second}},
	)
}

// upstreams fakes the external services on loopback: GET /{service}/health
// and /{service}/api answer the status set for them, 200 until set.
type upstreams struct {
	srv    *httptest.Server
	mu     sync.Mutex
	status map[string]int // by path without the leading slash; guarded by mu
}

func newUpstreams(t *testing.T) *upstreams {
	u := &upstreams{status: map[string]int{}}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		code, ok := u.status[strings.TrimPrefix(r.URL.Path, "/")]
		u.mu.Unlock()
		if !ok {
			code = http.StatusOK
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstreams) set(path string, code int) {
	u.mu.Lock()
	u.status[path] = code
	u.mu.Unlock()
}

// workload is a Monitor with the twin rules, health checks of imdb and
// plex against the fake upstreams, and what the script does to it.
type workload struct {
	t       *testing.T
	mon     *otelmon.Monitor
	up      *upstreams
	clients map[string]*http.Client // the Monitor's, by service
}

func newWorkload(t *testing.T, rules []alerting.Rule) *workload {
	t.Setenv("OTEL_METRICS_EXPORTER", "") // the Prometheus exporter, whatever the environment says
	w := &workload{t: t, up: newUpstreams(t), clients: map[string]*http.Client{}}
	logs := &syncbuf.Buffer{}
	cfg := otelmon.Config{
		// The test adds the rules it compares; the burn-rate rules' twins
		// are checked by promtool test rules (alerting/testdata).
		DisableDefaultAlerts:    true,
		DisableDefaultSLOs:      true,
		AlertEvaluationInterval: interval,
		// Health checks run when the script asks only, and one answer
		// decides.
		HealthChecks: healthcheck.Config{CheckInterval: time.Hour, FailureThreshold: 1, RecoveryThreshold: 1, RequestTimeout: 5 * time.Second},
		CircuitBreakers: map[string]breaker.Config{
			"trakt": {FailureThreshold: 2, OpenTimeout: 5 * time.Second, BackoffMultiplier: 1},
			"tmdb":  {FailureThreshold: 2, OpenTimeout: 6 * time.Second, BackoffMultiplier: 1},
		},
		// One request, one answer: no retries.
		RateLimits: map[string]otelmon.RateLimit{
			"trakt": {MaxAttempts: 1}, "tmdb": {MaxAttempts: 1}, "tvdb": {MaxAttempts: 1}, "tvmaze": {MaxAttempts: 1},
		},
	}
	mon, err := otelmon.New(cfg, otelmon.WithAPIKey("twins-test-key"), otelmon.WithServiceName(job, "test"),
		otelmon.WithLogger(slog.New(slog.NewTextHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	w.mon = mon
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := mon.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
		if t.Failed() {
			t.Logf("monitor log:\n%s", logs)
		}
	})
	for _, r := range rules {
		if err := mon.Alerts().AddRule(r); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"imdb", "plex"} {
		if err := mon.AddHealthCheck(healthcheck.Target{Name: s, URL: w.up.srv.URL + "/" + s + "/health"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []string{"trakt", "tmdb", "tvdb", "tvmaze"} {
		w.clients[s] = mon.HTTPClient(s)
	}
	return w
}

// sync records a sync of source that took d.
func (w *workload) sync(source string, ok bool, d time.Duration) {
	w.mon.RecordSyncOperation(context.Background(), source, ok, d, 0, 0, 0)
}

// call sends n API requests to service, whose upstream answers code.
func (w *workload) call(service string, n, code int) {
	w.up.set(service+"/api", code)
	for range n {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, w.up.srv.URL+"/"+service+"/api", nil)
		if err != nil {
			w.t.Fatal(err)
		}
		resp, err := w.clients[service].Do(req)
		if err != nil {
			w.t.Errorf("GET %s: %v", service, otelmon.RedactError(err))
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != code {
			w.t.Errorf("GET %s: %d, want %d", service, resp.StatusCode, code)
		}
	}
}

// health checks service now, whose upstream answers code.
func (w *workload) health(service string, code int) {
	w.up.set(service+"/health", code)
	if _, err := w.mon.CheckHealthNow(context.Background(), service); err != nil {
		w.t.Errorf("check %s: %v", service, err)
	}
}

// cacheMisses records n misses of the movie cache.
func (w *workload) cacheMisses(n int) {
	for range n {
		w.mon.RecordCacheMiss(context.Background(), "movie_cache")
	}
}

// startPrometheus writes the twins of rules and a configuration that
// scrapes target every interval and evaluates the twins every interval,
// starts Prometheus on it and waits for its first scrape of target.
func startPrometheus(t *testing.T, rules []alerting.Rule, target string) *e2etest.Process {
	t.Helper()
	promtool := e2etest.RequireProgram(t, "promtool", "Debian package prometheus")
	prometheus := e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")
	twins, err := alerting.PrometheusRules(rules)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	rulesFile, cfgFile := filepath.Join(dir, "rules.yml"), filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[1]s
  evaluation_interval: %[1]s
rule_files:
  - %[2]s
scrape_configs:
  - job_name: %[3]s
    static_configs:
      - targets: ['%[4]s']
`, interval, rulesFile, job, target)
	if err := os.WriteFile(rulesFile, twins, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e2etest.Check(t, promtool, "check", "config", cfgFile) // checks the rules too
	p := e2etest.StartPrometheus(t, prometheus, cfgFile, filepath.Join(dir, "data"))
	p.WaitTargetUp(t, 30*time.Second, job, target)
	return p
}

// TestTwinsAgreeWithTheEngine runs one scripted workload against a Monitor
// (fake upstreams and recorded syncs on loopback) whose engine evaluates
// the rules every second, while a real Prometheus scrapes the Monitor every
// second and evaluates the rules' twins (alerting.PrometheusRules) every
// second. Every default rule (windows scaled down, see twinRules) and one
// custom rule of each condition kind must fire once and resolve once on
// both sides, the two within two evaluation intervals of each other, plus
// one for the resolution of a rule with AutoResolveAfter: the difference
// that is inherent (see compareEpisodes and alerting.PrometheusRules). No
// other alert may fire on either side: the thresholds met exactly (ten
// rate-limit hits, a sync of exactly 300 s, two failures against three)
// raise none.
//
// The series whose first sample matters (a source's first sync is slow, a
// service's first rate-limit hits are over the limit) appear more than
// their rule's window after Prometheus' first scrape: within that window
// Prometheus cannot tell a new series from one it has not seen yet, an
// inherent difference the twins resolve with a lower bound.
func TestTwinsAgreeWithTheEngine(t *testing.T) {
	e2etest.RequireProgram(t, "prometheus", "Debian package prometheus")
	rules := twinRules()
	w := newWorkload(t, rules)
	// Every series the script reads exists from Prometheus' first scrape
	// on, but those of the first-sample cases.
	for _, s := range []string{"imdb", "tmdb", "trakt", "plex"} {
		w.sync(s, true, 2*time.Second)
	}
	for _, s := range []string{"trakt", "tmdb", "tvdb"} {
		w.call(s, 1, http.StatusOK)
	}
	w.cacheMisses(1)
	if err := w.mon.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", w.mon.MetricsHandler())
	metrics := httptest.NewServer(mux)
	t.Cleanup(metrics.Close)
	prom := startPrometheus(t, rules, strings.TrimPrefix(metrics.URL, "http://"))

	engine := watchEngine(t, w.mon.Alerts())
	start := time.Now() // Prometheus has scraped the Monitor
	script := []struct {
		at time.Duration
		do func()
	}{
		{1 * time.Second, func() { w.sync("imdb", false, time.Second); w.sync("tmdb", false, time.Second) }},
		{2 * time.Second, func() {
			w.sync("imdb", false, time.Second)
			w.sync("tmdb", false, time.Second) // tmdb's second and last: below the count
			w.sync("trakt", false, time.Second)
		}},
		// imdb's third failure; trakt's second, to hold 3 s; trakt's
		// breaker opens, and half-opens 5 s later.
		{3 * time.Second, func() {
			w.sync("imdb", false, time.Second)
			w.sync("trakt", false, time.Second)
			w.call("trakt", 2, http.StatusInternalServerError)
		}},
		{4 * time.Second, func() { w.health("imdb", http.StatusServiceUnavailable) }},
		{5 * time.Second, func() { w.health("plex", http.StatusServiceUnavailable) }},
		{8 * time.Second, func() { w.sync("imdb", true, time.Second) }},
		{10 * time.Second, func() { w.health("imdb", http.StatusOK) }},
		// A sync of exactly 300 s: not slow. The half-open breaker's trial
		// closes it.
		{12 * time.Second, func() {
			w.sync("trakt", true, 300*time.Second)
			w.sync("tmdb", true, time.Second)
			w.call("trakt", 1, http.StatusOK)
		}},
		{14 * time.Second, func() { w.health("plex", http.StatusOK) }},
		// Ten hits within the window: exactly the threshold.
		{16 * time.Second, func() { w.call("tvdb", 10, http.StatusTooManyRequests) }},
		// A new source whose first sync is slow.
		{17 * time.Second, func() { w.sync("letterboxd", true, 301*time.Second) }},
		// A new service whose first hits are over the limit.
		{18 * time.Second, func() { w.call("tvmaze", 12, http.StatusTooManyRequests) }},
		{20 * time.Second, func() { w.call("tmdb", 2, http.StatusInternalServerError) }},
		// The 11th hit within the window.
		{22 * time.Second, func() { w.call("tvdb", 1, http.StatusTooManyRequests) }},
		{24 * time.Second, func() { w.sync("plex", true, 45*time.Second) }},
		{26 * time.Second, func() { w.cacheMisses(5) }},
		{30 * time.Second, func() { w.call("tmdb", 1, http.StatusOK) }},
	}
	want := []expected{
		{"consecutive_sync_failures{source=imdb}", 3 * time.Second},
		{"trakt_failing{source=trakt}", 3 * time.Second},
		{"imdb_failures{source=imdb}", 3 * time.Second},
		{"circuit_breaker_open{service=trakt}", 3 * time.Second},
		{"service_down{service=imdb}", 4 * time.Second},
		{"service_down{service=plex}", 5 * time.Second},
		{"plex_down{service=plex}", 5 * time.Second},
		{"slow_sync_operation{source=letterboxd}", 17 * time.Second},
		{"high_rate_limit_hits{service=tvmaze}", 18 * time.Second},
		{"circuit_breaker_open{service=tmdb}", 20 * time.Second},
		{"tmdb_breaker{service=tmdb}", 20 * time.Second},
		{"high_rate_limit_hits{service=tvdb}", 22 * time.Second},
		{"plex_slow{source=plex}", 24 * time.Second},
		{"cache_misses{type=movie_cache}", 26 * time.Second},
	}
	for _, s := range script {
		timer := time.NewTimer(time.Until(start.Add(s.at)))
		<-timer.C
		s.do()
	}

	prom.Poll(t, 30*time.Second, "every alert resolved on both sides", func() error {
		if k := engine.unresolved(); len(k) > 0 {
			return fmt.Errorf("the engine still fires %v", k)
		}
		if a := w.mon.Alerts().Alerts(alerting.Filter{}); len(a) > 0 {
			return fmt.Errorf("the engine has %d alerts pending or firing", len(a))
		}
		res, err := prom.Query("ALERTS")
		if err != nil {
			return err
		}
		if len(res) > 0 {
			return fmt.Errorf("Prometheus has %d alerts pending or firing: %v", len(res), res)
		}
		return nil
	})
	table := compareEpisodes(t, rules, want, start, engine.stop(), promEpisodes(t, prom, start))
	t.Logf("fire and resolve times, after Prometheus' first scrape:\n%s", table)
}
