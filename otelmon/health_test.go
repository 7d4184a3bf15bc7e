package otelmon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/listsync/otelmon/healthcheck"
)

// flakyServer answers 200 while ok is true and 500 otherwise.
func flakyServer(t *testing.T, ok *atomic.Bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if !ok.Load() {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func expectServiceUp(t *testing.T, m *Monitor, want string) {
	t.Helper()
	err := testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), strings.NewReader(`
# HELP radarr_list_sync_service_up Whether the service passes its health checks: 1 up (or not yet known), 0 down.
# TYPE radarr_list_sync_service_up gauge
`+want), "radarr_list_sync_service_up")
	if err != nil {
		t.Fatal(err)
	}
}

func TestServiceUpFollowsHealthChecks(t *testing.T) {
	var imdbOK, tmdbOK atomic.Bool
	imdbOK.Store(true)
	tmdbOK.Store(true)
	imdb, tmdb := flakyServer(t, &imdbOK), flakyServer(t, &tmdbOK)
	m, _ := newTestMonitor(t, DefaultConfig(), WithHealthCheckURLs(map[string]string{
		"imdb": imdb.URL, "tmdb": tmdb.URL, "trakt": "", // trakt disabled, plex has no URL
	}))
	ctx := context.Background()
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	// Registered but not yet checked: unknown exports 1.
	expectServiceUp(t, m, `radarr_list_sync_service_up{service="imdb"} 1
radarr_list_sync_service_up{service="tmdb"} 1
`)
	imdbOK.Store(false)
	for i := 0; i < 3; i++ { // the failure threshold
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.CheckHealthNow(ctx, "tmdb"); err != nil {
		t.Fatal(err)
	}
	expectServiceUp(t, m, `radarr_list_sync_service_up{service="imdb"} 0
radarr_list_sync_service_up{service="tmdb"} 1
`)
	sum := m.HealthSummary()
	if sum.TotalServices != 2 || sum.HealthyServices != 1 || sum.UnhealthyServices != 1 {
		t.Fatalf("summary = %+v", sum)
	}
	imdbOK.Store(true)
	for i := 0; i < 2; i++ { // the recovery threshold
		if _, err := m.CheckHealthNow(ctx, "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	expectServiceUp(t, m, `radarr_list_sync_service_up{service="imdb"} 1
radarr_list_sync_service_up{service="tmdb"} 1
`)
	// Health checks are counted as health checks, by result, not as API
	// requests of the service.
	err := testutil.GatherAndCompare(m.pipe.prometheus.Gatherer(), strings.NewReader(`
# HELP radarr_list_sync_api_requests_total Requests sent to external APIs, per service.
# TYPE radarr_list_sync_api_requests_total counter
radarr_list_sync_api_requests_total{service="imdb"} 0
radarr_list_sync_api_requests_total{service="tmdb"} 0
# HELP radarr_list_sync_health_checks_total Health check requests, per service and result: success or failure (an unaccepted status, a 5xx by default, a transport error or a timeout).
# TYPE radarr_list_sync_health_checks_total counter
radarr_list_sync_health_checks_total{result="failure",service="imdb"} 3
radarr_list_sync_health_checks_total{result="failure",service="tmdb"} 0
radarr_list_sync_health_checks_total{result="success",service="imdb"} 2
radarr_list_sync_health_checks_total{result="success",service="tmdb"} 1
`), "radarr_list_sync_api_requests_total", "radarr_list_sync_health_checks_total")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.CheckHealthNow(ctx, "netflix"); !errors.Is(err, healthcheck.ErrUnknownTarget) {
		t.Fatalf("unknown service: %v", err)
	}
}

func TestSetupDefaultHealthCheckersRejectsBadURL(t *testing.T) {
	m, _ := newTestMonitor(t, DefaultConfig(), WithHealthCheckURLs(map[string]string{"imdb": "ftp://x", "tmdb": "", "trakt": ""}))
	if err := m.SetupDefaultHealthCheckers(context.Background()); err == nil {
		t.Fatal("bad URL accepted")
	}
}

func TestStartShutdownRunsScheduledChecks(t *testing.T) {
	hits := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		select {
		case hits <- struct{}{}:
		default:
		}
	}))
	t.Cleanup(srv.Close)
	m, clk := newTestMonitor(t, DefaultConfig(), WithHealthCheckURLs(map[string]string{"imdb": srv.URL, "tmdb": "", "trakt": ""}))
	ctx := context.Background()
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	<-hits // checked at start
	clk.BlockUntilTimers(1)
	clk.Advance(DefaultConfig().HealthChecks.CheckInterval * 2) // past the interval and its jitter
	<-hits                                                      // and again on schedule
	if err := m.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := m.Start(ctx); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Start after Shutdown: %v", err)
	}
}

// Shutdown works before Start, and what needs the stopped health checker
// afterwards reports ErrShutdown, the API with a 503.
func TestOperationsAfterShutdown(t *testing.T) {
	srv := statusServer(t)
	m, _ := newTestMonitor(t, DefaultConfig(), WithHealthCheckURLs(map[string]string{"imdb": srv.URL, "tmdb": "", "trakt": ""}))
	ctx := context.Background()
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	api := httptest.NewServer(m.Handler())
	t.Cleanup(api.Close)
	if err := m.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	for name, err := range map[string]error{
		"Start":                      m.Start(ctx),
		"SetupDefaultHealthCheckers": m.SetupDefaultHealthCheckers(ctx),
		"AddHealthCheck":             m.AddHealthCheck(healthcheck.Target{Name: "plex", URL: srv.URL}),
		"CheckHealthNow":             func() error { _, err := m.CheckHealthNow(ctx, "imdb"); return err }(),
	} {
		if !errors.Is(err, ErrShutdown) {
			t.Errorf("%s after Shutdown: %v, want ErrShutdown", name, err)
		}
	}
	r := call(t, "POST", api.URL+"/api/v3/monitoring/health/imdb/check", m.APIKey(), "")
	if r.code != http.StatusServiceUnavailable || errCode(t, r) != CodeUnavailable {
		t.Errorf("forced check after Shutdown: %d %s", r.code, r.body)
	}
}

// gathered returns the value of the one sample of family with the given
// labels in m's exposition, or -1 when there is none.
func gathered(t *testing.T, m *Monitor, family string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := m.pipe.prometheus.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
	samples:
		for _, s := range mf.GetMetric() {
			if len(s.GetLabel()) != len(labels) {
				continue
			}
			for _, l := range s.GetLabel() {
				if labels[l.GetName()] != l.GetValue() {
					continue samples
				}
			}
			switch {
			case s.Counter != nil:
				return s.GetCounter().GetValue()
			case s.Histogram != nil:
				return float64(s.GetHistogram().GetSampleCount())
			case s.Gauge != nil:
				return s.GetGauge().GetValue()
			}
		}
	}
	return -1
}

// Health checks are not API usage: a probe leaves the API's request
// count, throttling count and duration histogram as they were, and is
// counted and timed as a health check, by result. The result follows the
// checker's rule: by default an answer below 500 (a 429 included) is a
// success; with Target.ExpectedStatus only the statuses listed are.
func TestProbesAreNotAPIUsage(t *testing.T) {
	srv := statusServer(t)
	m, _ := newTestMonitor(t, DefaultConfig())
	ctx := context.Background()
	doGet(t, m.HTTPClient("tmdb"), srv.URL+"/200")
	doGet(t, m.HTTPClient("trakt"), srv.URL+"/200")
	for _, tg := range []healthcheck.Target{
		{Name: "tmdb", URL: srv.URL + "/429"},
		{Name: "trakt", URL: srv.URL + "/429", ExpectedStatus: []int{http.StatusOK}},
	} {
		if err := m.AddHealthCheck(tg); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"tmdb", "trakt", "tmdb"} {
		if _, err := m.CheckHealthNow(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		family  string
		service string
		result  string // for health_checks_total
		want    float64
	}{
		{"radarr_list_sync_api_requests_total", "tmdb", "", 1},
		{"radarr_list_sync_api_requests_total", "trakt", "", 1},
		{"radarr_list_sync_api_request_duration_seconds", "tmdb", "", 1},
		{"radarr_list_sync_api_request_duration_seconds", "trakt", "", 1},
		{"radarr_list_sync_api_rate_limit_hits_total", "tmdb", "", 0},
		{"radarr_list_sync_health_checks_total", "tmdb", "success", 2},
		{"radarr_list_sync_health_checks_total", "tmdb", "failure", 0},
		{"radarr_list_sync_health_checks_total", "trakt", "success", 0},
		{"radarr_list_sync_health_checks_total", "trakt", "failure", 1},
		{"radarr_list_sync_health_check_duration_seconds", "tmdb", "", 2},
		{"radarr_list_sync_health_check_duration_seconds", "trakt", "", 1},
	} {
		labels := map[string]string{"service": tc.service}
		if tc.result != "" {
			labels["result"] = tc.result
		}
		if got := gathered(t, m, tc.family, labels); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.family, labels, got, tc.want)
		}
	}
	// The checker agrees on trakt's failure.
	if res, _ := m.CheckHealthNow(ctx, "trakt"); res.OK {
		t.Errorf("trakt check: %+v", res)
	}
	text, _ := m.PrometheusMetrics(ctx)
	if !strings.Contains(text, `radarr_list_sync_health_check_duration_seconds_bucket{service="tmdb",le="30"} 2`) {
		t.Errorf("health check histogram lacks its buckets:\n%s", text)
	}
}

// A probe whose caller gave up is not counted, as the checker does not
// count it; the histogram goes with the other timing histograms.
func TestProbeCanceledAndHistogramOff(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.Metrics.DisableTimingHistograms = true
	m, _ := newTestMonitor(t, cfg)
	c := &http.Client{Transport: m.Transport("imdb", nil, WithoutCircuitBreaker())}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/200", nil)
	if _, err := c.Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled probe: %v", err)
	}
	doGet(t, c, srv.URL+"/500")
	for labels, want := range map[[2]string]float64{{"imdb", "success"}: 0, {"imdb", "failure"}: 1} {
		if got := gathered(t, m, "radarr_list_sync_health_checks_total", map[string]string{"service": labels[0], "result": labels[1]}); got != want {
			t.Errorf("health_checks_total%v = %v, want %v", labels, got, want)
		}
	}
	text, _ := m.PrometheusMetrics(context.Background())
	if strings.Contains(text, "health_check_duration") {
		t.Errorf("histogram exported although timing histograms are off:\n%s", text)
	}
}

// A probe still takes a slot of the service's pace: a request right after
// it would wait for the next slot (here past MaxWait, so it fails at once).
func TestProbeTakesPacerSlot(t *testing.T) {
	srv := statusServer(t)
	cfg := DefaultConfig()
	cfg.RateLimits = map[string]RateLimit{"acme": {RequestsPerSecond: 1, Burst: 1, MaxWait: 100 * time.Millisecond}}
	m, _ := newTestMonitor(t, cfg)
	if err := m.AddHealthCheck(healthcheck.Target{Name: "acme", URL: srv.URL + "/200"}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CheckHealthNow(context.Background(), "acme"); err != nil {
		t.Fatal(err)
	}
	_, err := m.HTTPClient("acme").Get(srv.URL + "/200")
	var rle *RateLimitError
	if !errors.As(err, &rle) || rle.Paused || rle.Wait <= 0 {
		t.Fatalf("request after the probe: %v, want a *RateLimitError for the pace", err)
	}
}

// The health check families' exposition: names, help, labels, buckets.
func TestHealthCheckExposition(t *testing.T) {
	var ok atomic.Bool
	srv := flakyServer(t, &ok)
	m, _ := newTestMonitor(t, DefaultConfig())
	if err := m.AddHealthCheck(healthcheck.Target{Name: "imdb", URL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	for _, up := range []bool{true, true, false} {
		ok.Store(up)
		if _, err := m.CheckHealthNow(context.Background(), "imdb"); err != nil {
			t.Fatal(err)
		}
	}
	goldenCompare(t, m, "health.golden",
		"radarr_list_sync_health_checks_total", "radarr_list_sync_health_check_duration_seconds")
}
