package clientstack

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/pacer"
)

// newTestStack returns a stack recording on mp, with real time, default
// breakers and unpaced services allowed three attempts.
func newTestStack(tb testing.TB, mp metric.MeterProvider) *Stack {
	tb.Helper()
	s, err := New(Config{
		Clock:            clock.Real{},
		Logger:           slog.New(slog.DiscardHandler),
		Meter:            mp.Meter("test"),
		Prefix:           names.Default,
		CardinalityLimit: 10,
		ProbeBuckets:     []float64{0.1, 1},
		MaxClients:       10,
		LimitsFor:        func(string) Limits { return Limits{MaxAttempts: 3, Pacer: paceless} },
		Breakers:         breaker.NewRegistry(breaker.RegistryConfig{MaxBreakers: 1}),
	})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Unregister(); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// paceless waits for nothing but a pause a service asks for, a minute at
// most.
var paceless = pacer.Config{MaxWait: time.Minute}

// An API request is counted in the API's series, a 5xx among its errors; a
// probe of the same
// service in the probes' only; a service past the breakers' bound runs
// unguarded, and is listed once.
func TestStackCountsAPIAndProbesApart(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/down":
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/fail":
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	reader := sdkmetric.NewManualReader()
	s := newTestStack(t, sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	get := func(rt http.RoundTripper, path string) {
		t.Helper()
		resp, err := (&http.Client{Transport: rt}).Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	get(s.Transport("imdb", nil), "/")
	get(s.Transport("imdb", nil), "/fail") // not retried: a 500 is no throttling
	get(s.ProbeTransport("imdb", nil, nil), "/down")
	get(s.ProbeTransport("imdb", nil, []int{http.StatusServiceUnavailable}), "/down")
	get(s.Transport("tmdb", nil), "/") // the one breaker is imdb's

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
				for _, dp := range sum.DataPoints {
					svc, _ := dp.Attributes.Value(names.AttrService)
					res, _ := dp.Attributes.Value(attrResult)
					got[m.Name+" "+svc.AsString()+" "+res.AsString()] += dp.Value
				}
			}
		}
	}
	want := map[string]int64{
		names.Default.Name(names.APIRequestsTotal) + " imdb ":      2,
		names.Default.Name(names.APIRequestErrorsTotal) + " imdb ": 1,
		names.Default.Name(names.APIRequestErrorsTotal) + " tmdb ": 0,
		names.Default.Name(names.APIRequestsTotal) + " tmdb ":      1,
		names.Default.Name(healthChecksTotal) + " imdb failure":    1,
		names.Default.Name(healthChecksTotal) + " imdb success":    1,
		names.Default.Name(names.APIRateLimitHitsTotal) + " imdb ": 0,
		names.Default.Name(names.APIRateLimitHitsTotal) + " tmdb ": 0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
		}
	}
	if u := s.Unguarded(); len(u) != 1 || u[0] != "tmdb" {
		t.Errorf("unguarded %v, want [tmdb]", u)
	}
}
