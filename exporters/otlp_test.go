package exporters_test

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	colmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	metricpb "go.opentelemetry.io/proto/otlp/metrics/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/otelmon"
)

// receiver collects the export requests an OTLP receiver gets.
type receiver struct {
	mu   sync.Mutex // guards reqs
	reqs []*colmetricpb.ExportMetricsServiceRequest
	got  chan struct{} // signalled, without blocking, after each request
}

func newReceiver() *receiver {
	return &receiver{got: make(chan struct{}, 1)}
}

func (r *receiver) add(req *colmetricpb.ExportMetricsServiceRequest) {
	r.mu.Lock()
	r.reqs = append(r.reqs, req)
	r.mu.Unlock()
	select {
	case r.got <- struct{}{}:
	default:
	}
}

// requests returns the requests received so far.
func (r *receiver) requests() []*colmetricpb.ExportMetricsServiceRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*colmetricpb.ExportMetricsServiceRequest(nil), r.reqs...)
}

// grpcReceiver is an OTLP/gRPC metrics service.
type grpcReceiver struct {
	colmetricpb.UnimplementedMetricsServiceServer
	*receiver
}

func (g grpcReceiver) Export(_ context.Context, req *colmetricpb.ExportMetricsServiceRequest) (*colmetricpb.ExportMetricsServiceResponse, error) {
	g.add(req)
	return &colmetricpb.ExportMetricsServiceResponse{}, nil
}

// startGRPCReceiver serves OTLP/gRPC on a loopback port until the test ends
// and returns its endpoint URL.
func startGRPCReceiver(t *testing.T, r *receiver) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return serveGRPC(t, lis, func(srv *grpc.Server) { colmetricpb.RegisterMetricsServiceServer(srv, grpcReceiver{receiver: r}) })
}

// serveGRPC serves the services register adds on lis until the test ends
// and returns the endpoint URL.
func serveGRPC(t *testing.T, lis net.Listener, register func(*grpc.Server)) string {
	t.Helper()
	srv := grpc.NewServer()
	register(srv)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("grpc Serve: %v", err)
		}
	})
	return "http://" + lis.Addr().String()
}

// startHTTPReceiver serves OTLP/HTTP (protobuf) on a loopback port until the
// test ends and returns its endpoint URL.
func startHTTPReceiver(t *testing.T, r *receiver) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/metrics" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if ct := req.Header.Get("Content-Type"); ct != "application/x-protobuf" {
			http.Error(w, "unsupported content type "+ct, http.StatusUnsupportedMediaType)
			return
		}
		var body io.Reader = req.Body
		switch enc := req.Header.Get("Content-Encoding"); enc {
		case "":
		case "gzip":
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			defer zr.Close()
			body = zr
		default:
			http.Error(w, "unsupported content encoding "+enc, http.StatusUnsupportedMediaType)
			return
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var msg colmetricpb.ExportMetricsServiceRequest
		if err := proto.Unmarshal(raw, &msg); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.add(&msg)
		resp, err := proto.Marshal(&colmetricpb.ExportMetricsServiceResponse{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(resp)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// exported is the last data seen for each metric name across requests,
// with the resource it came with.
type exported struct {
	metrics  map[string]*metricpb.Metric
	resource map[string]string
}

func collect(reqs []*colmetricpb.ExportMetricsServiceRequest) exported {
	e := exported{metrics: map[string]*metricpb.Metric{}, resource: map[string]string{}}
	for _, req := range reqs {
		for _, rm := range req.GetResourceMetrics() {
			for _, kv := range rm.GetResource().GetAttributes() {
				e.resource[kv.GetKey()] = kv.GetValue().GetStringValue()
			}
			for _, sm := range rm.GetScopeMetrics() {
				for _, m := range sm.GetMetrics() {
					e.metrics[m.GetName()] = m
				}
			}
		}
	}
	return e
}

// hasAttr reports whether attrs include key=value.
func hasAttr(attrs []*commonpb.KeyValue, key, value string) bool {
	for _, kv := range attrs {
		if kv.GetKey() == key && kv.GetValue().GetStringValue() == value {
			return true
		}
	}
	return false
}

// sumValue returns the value of the data point of sum metric m whose
// attribute key is value, and whether there is one.
func sumValue(m *metricpb.Metric, key, value string) (int64, bool) {
	for _, dp := range m.GetSum().GetDataPoints() {
		if hasAttr(dp.GetAttributes(), key, value) {
			return dp.GetAsInt(), true
		}
	}
	return 0, false
}

// recordSample records the same operations in every OTLP test.
func recordSample(ctx context.Context, mon *otelmon.Monitor) {
	mon.RecordSyncOperation(ctx, "imdb", true, 2*time.Second, 3, 1, 10)
	mon.RecordSyncOperation(ctx, "imdb", false, 500*time.Millisecond, 0, 0, 0)
	mon.RecordSyncOperation(ctx, "tmdb", true, time.Second, 2, 0, 5)
	mon.RecordCacheHit(ctx, "movie_cache")
	mon.RecordCacheHit(ctx, "movie_cache")
	mon.RecordCacheMiss(ctx, "movie_cache")
}

// checkSample asserts that the received requests carry what recordSample
// recorded, under otelmon's Prometheus names.
func checkSample(t *testing.T, reqs []*colmetricpb.ExportMetricsServiceRequest, wantService string) {
	t.Helper()
	if len(reqs) == 0 {
		t.Fatal("receiver got no export request")
	}
	e := collect(reqs)
	if got := e.resource["service.name"]; got != wantService {
		t.Errorf("resource service.name = %q, want %q (resource %v)", got, wantService, e.resource)
	}
	get := func(name string) *metricpb.Metric {
		t.Helper()
		m, ok := e.metrics[name]
		if !ok {
			names := make([]string, 0, len(e.metrics))
			for n := range e.metrics {
				names = append(names, n)
			}
			t.Fatalf("metric %s not exported; got %v", name, names)
		}
		return m
	}

	for _, c := range []struct {
		metric, key, value string
		want               int64
	}{
		{"radarr_list_sync_sync_operations_total", "source", "imdb", 2},
		{"radarr_list_sync_sync_operations_total", "source", "tmdb", 1},
		{"radarr_list_sync_sync_operations_failed_total", "source", "imdb", 1},
		{"radarr_list_sync_items_added_total", "source", "imdb", 3},
		{"radarr_list_sync_items_added_total", "source", "tmdb", 2},
		{"radarr_list_sync_cache_hits_total", "type", "movie_cache", 2},
		{"radarr_list_sync_cache_misses_total", "type", "movie_cache", 1},
	} {
		m := get(c.metric)
		sum := m.GetSum()
		if sum == nil {
			t.Errorf("%s is not a sum: %v", c.metric, m)
			continue
		}
		if !sum.GetIsMonotonic() || sum.GetAggregationTemporality() != metricpb.AggregationTemporality_AGGREGATION_TEMPORALITY_CUMULATIVE {
			t.Errorf("%s: monotonic %t, temporality %v; want a cumulative counter", c.metric, sum.GetIsMonotonic(), sum.GetAggregationTemporality())
		}
		got, ok := sumValue(m, c.key, c.value)
		if !ok {
			t.Errorf("%s: no data point with %s=%q in %v", c.metric, c.key, c.value, sum.GetDataPoints())
			continue
		}
		if got != c.want {
			t.Errorf("%s{%s=%q} = %d, want %d", c.metric, c.key, c.value, got, c.want)
		}
	}

	h := get("radarr_list_sync_sync_duration_seconds").GetHistogram()
	if h == nil {
		t.Fatal("radarr_list_sync_sync_duration_seconds is not a histogram")
	}
	var found bool
	for _, dp := range h.GetDataPoints() {
		if !hasAttr(dp.GetAttributes(), "source", "imdb") {
			continue
		}
		found = true
		if dp.GetCount() != 2 || dp.GetSum() != 2.5 {
			t.Errorf("sync_duration_seconds{source=imdb}: count %d sum %g, want 2 and 2.5", dp.GetCount(), dp.GetSum())
		}
		if got, want := dp.GetExplicitBounds(), otelmon.SyncDurationBuckets(); !slices.Equal(got, want) {
			t.Errorf("sync_duration_seconds bounds = %v, want %v", got, want)
		}
	}
	if !found {
		t.Errorf("sync_duration_seconds: no data point with source=imdb in %v", h.GetDataPoints())
	}
}

// setOTLPEnv points the exporter at endpoint with protocol and clears the
// variables that could redirect it or change what it sends.
func setOTLPEnv(t *testing.T, protocol, endpoint string) {
	t.Helper()
	t.Setenv(exporters.EnvMetricsExporter, exporters.KindOTLP)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
	for _, k := range []string{
		"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_EXPORTER_OTLP_COMPRESSION",
		"OTEL_EXPORTER_OTLP_METRICS_COMPRESSION",
		"OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_METRICS_HEADERS",
		"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE",
		"OTEL_METRICS_PRODUCERS",
		"OTEL_METRIC_EXPORT_INTERVAL",
	} {
		unsetenv(t, k)
	}
	clearResourceEnv(t)
}

// clearResourceEnv unsets the variables that override the resource.
func clearResourceEnv(t *testing.T) {
	t.Helper()
	unsetenv(t, "OTEL_SERVICE_NAME")
	unsetenv(t, "OTEL_RESOURCE_ATTRIBUTES")
}

// unsetenv unsets k for the rest of the test; t.Setenv restores it after.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

// newMonitor returns a Monitor whose exporter the environment selects, and
// its MeterProvider.
func newMonitor(t *testing.T) (*otelmon.Monitor, *sdkmetric.MeterProvider) {
	t.Helper()
	mon, err := otelmon.New(otelmon.DefaultConfig(), otelmon.WithPushExporters(push.Reader))
	if err != nil {
		t.Fatal(err)
	}
	mp, ok := mon.MeterProvider().(*sdkmetric.MeterProvider)
	if !ok {
		t.Fatalf("MeterProvider is a %T, want *sdkmetric.MeterProvider", mon.MeterProvider())
	}
	return mon, mp
}

// exportSample records the sample through a Monitor whose exporter the
// environment selects, flushes it, and returns what r received by then. It
// then shuts the Monitor down, which flushes again, and checks that the
// shutdown flush reached r.
func exportSample(t *testing.T, r *receiver) []*colmetricpb.ExportMetricsServiceRequest {
	t.Helper()
	ctx := context.Background()
	mon, mp := newMonitor(t)
	recordSample(ctx, mon)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	flushed := r.requests()
	if err := mon.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := len(r.requests()); n <= len(flushed) {
		t.Errorf("Shutdown sent no export request (%d before, %d after)", len(flushed), n)
	}
	return flushed
}

func TestOTLPGRPC(t *testing.T) {
	r := newReceiver()
	setOTLPEnv(t, "grpc", startGRPCReceiver(t, r))
	checkSample(t, exportSample(t, r), "otelmon")
}

func TestOTLPHTTP(t *testing.T) {
	for _, tc := range []struct {
		name        string
		compression string // OTEL_EXPORTER_OTLP_COMPRESSION
		serviceName string // OTEL_SERVICE_NAME
		wantService string
	}{
		{name: "plain", wantService: "otelmon"},
		{name: "gzip", compression: "gzip", serviceName: "listsync-test", wantService: "listsync-test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newReceiver()
			setOTLPEnv(t, "http/protobuf", startHTTPReceiver(t, r))
			if tc.compression != "" {
				t.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", tc.compression)
			}
			if tc.serviceName != "" {
				t.Setenv("OTEL_SERVICE_NAME", tc.serviceName)
			}
			checkSample(t, exportSample(t, r), tc.wantService)
		})
	}
}

// TestOTLPShutdownFlush checks that Shutdown alone, with no earlier export,
// delivers everything recorded: a short-lived process exports once, at exit.
func TestOTLPShutdownFlush(t *testing.T) {
	r := newReceiver()
	setOTLPEnv(t, "grpc", startGRPCReceiver(t, r))
	ctx := context.Background()
	mon, _ := newMonitor(t)
	recordSample(ctx, mon)
	if err := mon.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	checkSample(t, r.requests(), "otelmon")
}

// TestOTLPPeriodicExport checks that the periodic reader pushes on its own,
// every OTEL_METRIC_EXPORT_INTERVAL, with no flush.
func TestOTLPPeriodicExport(t *testing.T) {
	r := newReceiver()
	setOTLPEnv(t, "http/protobuf", startHTTPReceiver(t, r))
	t.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "50") // milliseconds
	ctx := context.Background()
	mon, mp := newMonitor(t)
	recordSample(ctx, mon)
	timeout := time.After(10 * time.Second)
	for done := false; !done; {
		select {
		case <-r.got:
		case <-timeout:
			t.Fatalf("no export with the sample after 10s; got %d requests", len(r.requests()))
		}
		// An export that began before recordSample returned may lack part
		// of it; the cache miss is recorded last.
		n, _ := sumValue(collect(r.requests()).metrics["radarr_list_sync_cache_misses_total"], "type", "movie_cache")
		done = n == 1
	}
	checkSample(t, r.requests(), "otelmon")

	// The export that signalled may still be reading its response, and
	// Shutdown cancels an export in flight. ForceFlush waits for it, as the
	// exporter sends one request at a time.
	if err := mp.ForceFlush(ctx); err != nil {
		t.Errorf("ForceFlush: %v", err)
	}
	if err := mon.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestNewKinds(t *testing.T) {
	for _, tc := range []struct {
		env            string // OTEL_METRICS_EXPORTER
		wantKind       string
		wantPrometheus bool
	}{
		{env: "", wantKind: exporters.KindPrometheus, wantPrometheus: true},
		{env: "prometheus", wantKind: exporters.KindPrometheus, wantPrometheus: true},
		{env: "otlp", wantKind: exporters.KindOTLP},
		{env: "console", wantKind: exporters.KindConsole},
		{env: "none", wantKind: exporters.KindNone},
	} {
		t.Run(tc.env, func(t *testing.T) {
			// A loopback endpoint that nothing dials: the reader is shut
			// down before its first export, and has nothing to flush.
			setOTLPEnv(t, "http/protobuf", "http://127.0.0.1:4318")
			t.Setenv(exporters.EnvMetricsExporter, tc.env)
			ctx := context.Background()
			m, err := exporters.New(ctx, push.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if m.Kind != tc.wantKind {
				t.Errorf("Kind = %q, want %q", m.Kind, tc.wantKind)
			}
			if m.Reader == nil {
				t.Error("Reader is nil")
			}
			if got := m.Prometheus != nil; got != tc.wantPrometheus {
				t.Errorf("Prometheus set: %t, want %t", got, tc.wantPrometheus)
			}
			if err := m.Reader.Shutdown(ctx); err != nil && !errors.Is(err, sdkmetric.ErrReaderNotRegistered) {
				t.Errorf("Reader.Shutdown: %v", err)
			}
		})
	}
}

func TestMonitorNoneExporter(t *testing.T) {
	setOTLPEnv(t, "http/protobuf", "http://127.0.0.1:4318")
	t.Setenv(exporters.EnvMetricsExporter, exporters.KindNone)
	ctx := context.Background()
	mon, _ := newMonitor(t)
	recordSample(ctx, mon)
	rec := httptest.NewRecorder()
	mon.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("MetricsHandler answered %d with the none exporter, want 404", rec.Code)
	}
	if _, err := mon.PrometheusMetrics(ctx); !errors.Is(err, otelmon.ErrNoPrometheus) {
		t.Errorf("PrometheusMetrics error = %v, want ErrNoPrometheus", err)
	}
	if err := mon.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

func TestMonitorConsoleExporter(t *testing.T) {
	setOTLPEnv(t, "http/protobuf", "http://127.0.0.1:4318")
	t.Setenv(exporters.EnvMetricsExporter, exporters.KindConsole)
	out := redirectStdout(t)
	ctx := context.Background()
	mon, mp := newMonitor(t) // the console exporter binds os.Stdout here
	recordSample(ctx, mon)
	if err := mp.ForceFlush(ctx); err != nil {
		t.Fatalf("ForceFlush: %v", err)
	}
	if err := mon.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	got := out()
	for _, name := range []string{
		"radarr_list_sync_sync_operations_total",
		"radarr_list_sync_sync_duration_seconds",
		"radarr_list_sync_cache_hits_total",
	} {
		if !strings.Contains(got, `"`+name+`"`) {
			t.Errorf("console output lacks %s:\n%s", name, got)
		}
	}
}

// redirectStdout sends os.Stdout to a file until the test ends; the
// returned function reads what was written so far.
func redirectStdout(t *testing.T) func() string {
	t.Helper()
	f, err := os.Create(t.TempDir() + "/stdout")
	if err != nil {
		t.Fatal(err)
	}
	orig := os.Stdout
	os.Stdout = f
	t.Cleanup(func() {
		os.Stdout = orig
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return func() string {
		b, err := os.ReadFile(f.Name())
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
}

// Without exporters/push, a push kind is a clear error, and Prometheus still
// works: a host that serves only Prometheus need not link the push exporters.
func TestPushNotLinked(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{exporters.KindOTLP, exporters.KindConsole, exporters.KindNone} {
		t.Setenv(exporters.EnvMetricsExporter, kind)
		if _, err := exporters.New(ctx, nil); !errors.Is(err, exporters.ErrPushNotLinked) || !strings.Contains(err.Error(), "exporters/push") {
			t.Errorf("%s: New = %v, want ErrPushNotLinked naming exporters/push", kind, err)
		}
		if _, err := otelmon.New(otelmon.DefaultConfig()); !errors.Is(err, exporters.ErrPushNotLinked) {
			t.Errorf("%s: otelmon.New = %v, want ErrPushNotLinked", kind, err)
		}
	}
	t.Setenv(exporters.EnvMetricsExporter, "")
	m, err := exporters.New(ctx, nil)
	if err != nil || m.Prometheus == nil {
		t.Fatalf("Prometheus without push: %v", err)
	}
}

// A program that calls only otelmon.New does not link the push exporters.
func TestOtelmonDoesNotLinkPush(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "github.com/listsync/otelmon/otelmon").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "autoexport") || strings.Contains(dep, "otlpmetricgrpc") || dep == "google.golang.org/grpc" {
			t.Errorf("otelmon links %s", dep)
		}
	}
}

func TestMonitorUnknownExporter(t *testing.T) {
	for _, env := range []string{"jaeger", "none,otlp", "prometheus,otlp"} {
		t.Setenv(exporters.EnvMetricsExporter, env)
		mon, err := otelmon.New(otelmon.DefaultConfig())
		if !errors.Is(err, exporters.ErrUnknownExporter) {
			t.Fatalf("%s: New error = %v, want one wrapping ErrUnknownExporter", env, err)
		}
		if mon != nil {
			t.Errorf("%s: New returned a Monitor with its error", env)
		}
		if !strings.Contains(err.Error(), `"`+env+`"`) {
			t.Errorf("error %q does not name the value", err)
		}
	}
}

func TestResource(t *testing.T) {
	const key = attribute.Key("service.name")
	for _, tc := range []struct {
		name        string
		serviceName string // OTEL_SERVICE_NAME
		attrs       string // OTEL_RESOURCE_ATTRIBUTES
		want        string
		wantVersion string
	}{
		{name: "arguments", want: "listsync", wantVersion: "1.2.3"},
		{name: "OTEL_SERVICE_NAME", serviceName: "sync-worker", want: "sync-worker", wantVersion: "1.2.3"},
		{name: "OTEL_RESOURCE_ATTRIBUTES", attrs: "service.name=from-attrs,service.version=9", want: "from-attrs", wantVersion: "9"},
		{name: "both", serviceName: "sync-worker", attrs: "service.name=from-attrs", want: "sync-worker", wantVersion: "1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearResourceEnv(t)
			if tc.serviceName != "" {
				t.Setenv("OTEL_SERVICE_NAME", tc.serviceName)
			}
			if tc.attrs != "" {
				t.Setenv("OTEL_RESOURCE_ATTRIBUTES", tc.attrs)
			}
			res, err := exporters.Resource(context.Background(), "listsync", "1.2.3")
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := res.Set().Value(key); got.AsString() != tc.want {
				t.Errorf("service.name = %q, want %q", got.AsString(), tc.want)
			}
			if got, _ := res.Set().Value("service.version"); got.AsString() != tc.wantVersion {
				t.Errorf("service.version = %q, want %q", got.AsString(), tc.wantVersion)
			}
			if _, ok := res.Set().Value("telemetry.sdk.name"); !ok {
				t.Error("resource lacks telemetry.sdk.name")
			}
		})
	}
}

// Each process gets its own service.instance.id, a UUID, unless the
// environment sets one: two instances never merge into one series.
func TestResourceInstanceID(t *testing.T) {
	const key = attribute.Key("service.instance.id")
	clearResourceEnv(t)
	ctx := context.Background()
	a, err := exporters.Resource(ctx, "listsync", "")
	if err != nil {
		t.Fatal(err)
	}
	b, err := exporters.Resource(ctx, "listsync", "")
	if err != nil {
		t.Fatal(err)
	}
	id, ok := a.Set().Value(key)
	if !ok {
		t.Fatal("resource lacks service.instance.id")
	}
	if _, err := uuid.Parse(id.AsString()); err != nil {
		t.Errorf("service.instance.id %q is not a UUID: %v", id.AsString(), err)
	}
	if other, _ := b.Set().Value(key); other.AsString() != id.AsString() {
		t.Errorf("one process, two ids: %q and %q", id.AsString(), other.AsString())
	}
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "service.instance.id=pod-7")
	c, err := exporters.Resource(ctx, "listsync", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := c.Set().Value(key); got.AsString() != "pod-7" {
		t.Errorf("service.instance.id = %q, want the environment's pod-7", got.AsString())
	}
}
