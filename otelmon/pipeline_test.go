package otelmon

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
)

// A stock pipeline (an OpenTelemetry Collector's prometheus and
// prometheus_remote_write exporters with their default settings) names
// metrics with the suffixing translation strategy,
// UnderscoreEscapingWithSuffixes: it adds _total to counters and a unit
// suffix (_seconds for "s") to names that lack it. Every name the Monitor
// exports must come out of it unchanged, so that one set of queries, rules
// and dashboards serves the direct exposition and the collector's.
func TestNamesSurviveSuffixingExporter(t *testing.T) {
	t.Setenv("OTEL_METRICS_EXPORTER", "")
	direct, err := exporters.NewPrometheus() // what /metrics serves
	if err != nil {
		t.Fatal(err)
	}
	suffixedReg := prometheus.NewRegistry()
	suffixed, err := otelprom.New(otelprom.WithRegisterer(suffixedReg)) // the exporter's defaults
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	// One attempt: the 429 is answered, not retried after its 30 s pause.
	cfg.RateLimits = map[string]RateLimit{"tmdb": {MaxAttempts: 1}}
	mp, emb := hostProvider(t, direct.Reader(), suffixed)
	srv := statusServer(t)
	m, err := New(cfg, WithMeterProvider(mp), WithPrometheus(direct), WithEmbedding(emb),
		withClock(clock.NewFake(clock.Real{}.Now())), WithLogger(slog.New(slog.DiscardHandler)), WithHealthCheckURLs(map[string]string{"imdb": srv.URL, "tmdb": "", "trakt": ""}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(context.Background()) })

	// Every kind of reading: syncs, caches, API requests and throttling,
	// breakers and their transitions, health checks.
	ctx := context.Background()
	recordSample(m)
	c := m.HTTPClient("tmdb")
	for _, p := range []string{"/200", "/500", "/429"} {
		doGet(t, c, srv.URL+p)
	}
	for range 2 { // plex opens on its 2nd failure
		_ = m.ExecuteWithCircuitBreaker(ctx, "plex", func(context.Context) error { return errUpstream })
	}
	if err := m.SetupDefaultHealthCheckers(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CheckHealthNow(ctx, healthcheck.ServiceIMDb); err != nil {
		t.Fatal(err)
	}

	want := familyNames(t, direct.Gatherer())
	got := familyNames(t, suffixedReg)
	if !slices.Equal(got, want) {
		t.Errorf("a suffixing exporter renames metrics:\n direct:   %q\n suffixed: %q", want, got)
	}
	// The seed's names, and those added since, are all among them. (The
	// notification counters appear once a notification is sent; they are
	// counters without a unit whose names end in _total, which a suffixing
	// exporter leaves alone.)
	for _, name := range append(slices.Clone(seriesNames),
		"radarr_list_sync_api_requests_total",
		"radarr_list_sync_api_rate_limit_hits_total",
		"radarr_list_sync_api_request_duration_seconds",
		"radarr_list_sync_api_retries_total",
		"radarr_list_sync_api_rate_limit_wait_seconds_total",
		"radarr_list_sync_service_up",
		"radarr_list_sync_health_checks_total",
		"radarr_list_sync_health_check_duration_seconds",
		"radarr_list_sync_circuit_breaker_failures",
		"radarr_list_sync_circuit_breaker_state",
		"radarr_list_sync_circuit_breaker_rejected_total",
		"radarr_list_sync_circuit_breaker_transitions_total",
		"radarr_list_sync_alerts_firing",
	) {
		if !slices.Contains(got, name) {
			t.Errorf("%s missing from the suffixed exposition", name)
		}
	}
}

// familyNames returns the sorted names of the families g gathers, but
// target_info, the resource's.
func familyNames(t *testing.T, g prometheus.Gatherer) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() == "target_info" {
			continue
		}
		out = append(out, mf.GetName())
	}
	slices.Sort(out)
	return out
}
