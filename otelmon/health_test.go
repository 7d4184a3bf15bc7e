package otelmon

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

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
	err := testutil.GatherAndCompare(m.prometheus.Gatherer(), strings.NewReader(`
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
	// Health checks are counted as API requests of the service but never
	// pass through its breaker.
	text, _ := m.PrometheusMetrics(ctx)
	if !strings.Contains(text, `radarr_list_sync_api_requests_total{service="imdb"} 5`) {
		t.Fatalf("health requests not counted:\n%s", text)
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
