package otelmon

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// The benchmarks compare RecordSyncOperation with the two ways a user would
// record the same readings without otelmon: OTel instruments with
// attributes built per call, and client_golang vectors with children bound
// once. Each records one successful sync with items and a duration.

func BenchmarkRecordSyncOperation(b *testing.B) {
	b.Run("otelmon", func(b *testing.B) { benchRecord(b, true) })
	// A failure moves the consecutive-failures gauge each time.
	b.Run("otelmon-failure", func(b *testing.B) { benchRecord(b, false) })

	b.Run("otel-naive", func(b *testing.B) {
		reader := sdkmetric.NewManualReader()
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
		defer mp.Shutdown(context.Background())
		r := newNaiveOTel(b, mp.Meter("naive"))
		ctx := context.Background()
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.record(ctx, "imdb", true, 1500*time.Millisecond, 5, 2, 10)
		}
	})

	b.Run("client_golang-bound", func(b *testing.B) {
		r := newBoundProm(prometheus.NewRegistry(), "imdb")
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r.record(true, 1500*time.Millisecond, 5, 2, 10)
		}
	})
}

func BenchmarkRecordSyncOperationParallel(b *testing.B) {
	m := benchMonitor(b)
	ctx := context.Background()
	sources := []string{"imdb", "tmdb", "trakt", "plex"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			m.RecordSyncOperation(ctx, sources[i%4], true, 1500*time.Millisecond, 5, 2, 10)
			i++
		}
	})
}

type naiveOTel struct {
	ops, okOps, failedOps, added, updated, found metric.Int64Counter
	consecutive                                  metric.Int64Gauge
	lastSuccess                                  metric.Float64Gauge
	duration                                     metric.Float64Histogram
}

func newNaiveOTel(b *testing.B, meter metric.Meter) *naiveOTel {
	var errs []error
	counter := func(name string) metric.Int64Counter {
		c, err := meter.Int64Counter(name)
		errs = append(errs, err)
		return c
	}
	r := naiveOTel{
		ops: counter("sync_operations_total"), okOps: counter("sync_operations_success_total"),
		failedOps: counter("sync_operations_failed_total"), added: counter("items_added_total"),
		updated: counter("items_updated_total"), found: counter("items_found_total"),
	}
	var err error
	r.consecutive, err = meter.Int64Gauge("consecutive_failures")
	errs = append(errs, err)
	r.lastSuccess, err = meter.Float64Gauge("last_successful_sync_timestamp")
	errs = append(errs, err)
	r.duration, err = meter.Float64Histogram("sync_duration_seconds", metric.WithExplicitBucketBoundaries(SyncDurationBuckets()...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		b.Fatal(err)
	}
	return &r
}

func (r *naiveOTel) record(ctx context.Context, source string, success bool, d time.Duration, added, updated, found uint64) {
	attrs := metric.WithAttributes(attribute.String("source", source))
	r.ops.Add(ctx, 1, attrs)
	if success {
		r.okOps.Add(ctx, 1, attrs)
		r.consecutive.Record(ctx, 0, attrs)
		r.lastSuccess.Record(ctx, float64(time.Now().UnixNano())/1e9, attrs)
	} else {
		r.failedOps.Add(ctx, 1, attrs)
	}
	r.added.Add(ctx, int64(added), attrs)
	r.updated.Add(ctx, int64(updated), attrs)
	r.found.Add(ctx, int64(found), attrs)
	r.duration.Record(ctx, d.Seconds(), attrs)
}

type boundProm struct {
	ops, okOps, failedOps, added, updated, found prometheus.Counter
	consecutive, lastSuccess                     prometheus.Gauge
	duration                                     prometheus.Observer
}

func newBoundProm(reg *prometheus.Registry, source string) *boundProm {
	counter := func(name string) prometheus.Counter {
		v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, []string{"source"})
		reg.MustRegister(v)
		return v.WithLabelValues(source)
	}
	gauge := func(name string) prometheus.Gauge {
		v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: name}, []string{"source"})
		reg.MustRegister(v)
		return v.WithLabelValues(source)
	}
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "sync_duration_seconds", Help: "d", Buckets: SyncDurationBuckets()}, []string{"source"})
	reg.MustRegister(h)
	return &boundProm{
		ops: counter("sync_operations_total"), okOps: counter("sync_operations_success_total"),
		failedOps: counter("sync_operations_failed_total"), added: counter("items_added_total"),
		updated: counter("items_updated_total"), found: counter("items_found_total"),
		consecutive: gauge("consecutive_failures"), lastSuccess: gauge("last_successful_sync_timestamp"),
		duration: h.WithLabelValues(source),
	}
}

func (r *boundProm) record(success bool, d time.Duration, added, updated, found uint64) {
	r.ops.Inc()
	if success {
		r.okOps.Inc()
		r.consecutive.Set(0)
		r.lastSuccess.SetToCurrentTime()
	} else {
		r.failedOps.Inc()
	}
	r.added.Add(float64(added))
	r.updated.Add(float64(updated))
	r.found.Add(float64(found))
	r.duration.Observe(d.Seconds())
}

// BenchmarkHTTPClient compares a loopback GET through the Monitor's client
// (pacer, retry loop, breaker, counting, otelhttp) with the same GET
// through a bare otelhttp transport on the same provider and through a
// plain http.Client (clientstack's BenchmarkStack compares it with the
// 0.1 stack). The service is unpaced ("acme"): this is
// the overhead on a request that is not throttled.
func BenchmarkHTTPClient(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	mp, emb := hostProvider(b)
	m, err := New(DefaultConfig(), WithMeterProvider(mp), WithEmbedding(emb))
	if err != nil {
		b.Fatal(err)
	}
	defer m.Shutdown(context.Background())

	base := http.DefaultTransport.(*http.Transport).Clone()
	defer base.CloseIdleConnections()
	clients := []struct {
		name string
		c    *http.Client
	}{
		{"stack=otelmon", &http.Client{Transport: m.Transport("acme", base)}},
		{"stack=otelhttp-bare", &http.Client{Transport: otelhttp.NewTransport(base, otelhttp.WithMeterProvider(mp))}},
		{"stack=plain", &http.Client{Transport: base}},
	}
	for _, tc := range clients {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				resp, err := tc.c.Get(srv.URL)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func benchMonitor(b *testing.B, opts ...Option) *Monitor {
	mp, emb := hostProvider(b)
	m, err := New(DefaultConfig(), append([]Option{WithMeterProvider(mp), WithEmbedding(emb)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Shutdown(context.Background()) })
	return m
}

// benchRecord records successful syncs, or failed ones, of a source seen
// before.
func benchRecord(b *testing.B, success bool) {
	m := benchMonitor(b)
	ctx := context.Background()
	m.RecordSyncOperation(ctx, "imdb", true, time.Second, 1, 1, 1)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		m.RecordSyncOperation(ctx, "imdb", success, 1500*time.Millisecond, 5, 2, 10)
	}
}

// BenchmarkSyncJob runs a monitored sync job that makes no request: the
// handler's own cost (breaker admission, recording), without tracing.
func BenchmarkSyncJob(b *testing.B) { benchSyncJob(b, benchMonitor(b)) }

func benchSyncJob(b *testing.B, m *Monitor) {
	h := m.MonitoredSyncHandler(SyncHandlerFunc(func(context.Context, SyncJob) (SyncResult, error) {
		return SyncResult{ItemsFound: 10, ItemsAdded: 2}, nil
	}))
	ctx := context.Background()
	job := SyncJob{Source: "acme"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _ = h.ExecuteSync(ctx, job)
	}
}
