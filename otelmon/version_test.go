package otelmon

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/listsync/otelmon/alerting"
)

// Version is the release that CHANGELOG.md's newest entry names.
func TestVersionIsNewestChangelogEntry(t *testing.T) {
	b, err := os.ReadFile("../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+)\]`).FindSubmatch(b)
	if m == nil {
		t.Fatal("CHANGELOG.md names no release (## [x.y.z])")
	}
	if got := string(m[1]); got != Version {
		t.Errorf("CHANGELOG.md's newest release is %s, otelmon.Version is %s", got, Version)
	}
}

// Every instrumentation scope otelmon creates, for metrics and for spans,
// reports Version: the Monitor's, the alert engine's, and the API clients'
// (whose instruments and spans otelhttp makes, stating its own version).
func TestScopesReportVersion(t *testing.T) {
	ctx := context.Background()
	reader := sdkmetric.NewManualReader()
	mp, emb := hostProvider(t, reader)
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	t.Cleanup(func() { _ = tp.Shutdown(ctx) })
	m, err := New(DefaultConfig(), WithMeterProvider(mp), WithEmbedding(emb), WithTracerProvider(tp), WithAPIKey(testKey))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown(ctx) })

	srv := statusServer(t)
	job := m.MonitoredSyncHandler(SyncHandlerFunc(func(ctx context.Context, job SyncJob) (SyncResult, error) {
		doGet(t, job.HTTPClient("trakt"), srv.URL+"/200")
		return SyncResult{}, nil
	}))
	if _, err := job.ExecuteSync(ctx, SyncJob{Source: "trakt"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Alerts().Evaluate(ctx); err != nil {
		t.Fatal(err)
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, sm := range rm.ScopeMetrics {
		if !strings.HasPrefix(sm.Scope.Name, ScopeName) {
			continue
		}
		seen[sm.Scope.Name] = true
		if sm.Scope.Version != Version {
			t.Errorf("meter scope %s reports version %q, want %q", sm.Scope.Name, sm.Scope.Version, Version)
		}
	}
	for _, s := range sr.Ended() {
		scope := s.InstrumentationScope()
		seen["span "+scope.Name] = true
		if scope.Version != Version {
			t.Errorf("span %q of scope %s reports version %q, want %q", s.Name(), scope.Name, scope.Version, Version)
		}
	}
	for _, want := range []string{ScopeName, APIClientScope, alerting.ScopeName, "span " + ScopeName, "span " + APIClientScope} {
		if !seen[want] {
			t.Errorf("no data under scope %s; seen %v", want, seen)
		}
	}
}
