package fleet

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/exporters/push"
	"github.com/listsync/otelmon/otelmon"
)

// byteCounter is an HTTP server that counts the request bytes it is sent
// (an OTLP receiver's view of one instance) and answers 200.
type byteCounter struct {
	srv   *httptest.Server
	bytes atomic.Int64
	posts atomic.Int64
}

func newByteCounter(tb testing.TB) *byteCounter {
	c := &byteCounter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		c.bytes.Add(n)
		c.posts.Add(1)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	tb.Cleanup(c.srv.Close)
	return c
}

// instanceMetrics is one demo instance's metrics, recorded through a
// Monitor on a provider that both a Prometheus exporter and an OTLP reader
// read: the same data for both.
type instanceMetrics struct {
	prom *exporters.Prometheus
	otlp flusher // the periodic reader of the OTLP exporter
	sink *byteCounter
}

// flusher is the periodic reader's ForceFlush: collect and export now.
type flusher interface {
	ForceFlush(context.Context) error
}

// newInstanceMetrics records what a demo instance records over a few
// intervals: syncs of four sources (one failing), cache hits and misses,
// API calls through each service's client and a health check of each
// service. compression is OTEL_EXPORTER_OTLP_COMPRESSION ("" or "gzip").
func newInstanceMetrics(tb testing.TB, compression string) *instanceMetrics {
	tb.Helper()
	ctx := context.Background()
	sink := newByteCounter(tb)
	tb.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", sink.srv.URL)
	tb.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	tb.Setenv("OTEL_EXPORTER_OTLP_COMPRESSION", compression)
	tb.Setenv("OTEL_METRIC_EXPORT_INTERVAL", "3600000") // exports only on ForceFlush
	otlp, err := push.Reader(ctx, exporters.KindOTLP)
	if err != nil {
		tb.Fatal(err)
	}
	prom, err := exporters.NewPrometheus()
	if err != nil {
		tb.Fatal(err)
	}
	res, err := exporters.Resource(ctx, "listsync-demo", "bench")
	if err != nil {
		tb.Fatal(err)
	}
	cfg := otelmon.DefaultConfig()
	emb := otelmon.NewEmbedding()
	mp := sdkmetric.NewMeterProvider(append(emb.ProviderOptions(), sdkmetric.WithResource(res),
		sdkmetric.WithReader(prom.Reader()), sdkmetric.WithReader(otlp))...)
	tb.Cleanup(func() { _ = mp.Shutdown(ctx) })

	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "down", http.StatusInternalServerError)
		}
	}))
	tb.Cleanup(upstream.Close)
	services := []string{"imdb", "tmdb", "trakt", "plex"}
	urls := map[string]string{}
	for _, s := range services {
		urls[s] = upstream.URL + "/health"
	}
	urls["imdb"] = upstream.URL + "/fail"
	mon, err := otelmon.New(cfg, otelmon.WithMeterProvider(mp), otelmon.WithEmbedding(emb), otelmon.WithPrometheus(prom),
		otelmon.WithHealthCheckURLs(urls), otelmon.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = mon.Shutdown(ctx) })
	if err := mon.SetupDefaultHealthCheckers(ctx); err != nil {
		tb.Fatal(err)
	}
	for _, s := range services {
		for i := range 5 {
			ok := s != "imdb"
			mon.RecordSyncOperation(ctx, s, ok, time.Duration(i+1)*100*time.Millisecond, 3, 2, 40)
			mon.RecordCacheHit(ctx, "metadata")
			mon.RecordCacheMiss(ctx, "metadata")
			path := "/health"
			if !ok {
				path = "/fail"
			}
			if resp, err := mon.HTTPClient(s).Get(upstream.URL + path); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
		if _, err := mon.CheckHealthNow(ctx, s); err != nil {
			tb.Fatal(err)
		}
	}
	f, ok := otlp.(flusher)
	if !ok {
		tb.Fatalf("OTLP reader %T cannot flush", otlp)
	}
	return &instanceMetrics{prom: prom, otlp: f, sink: sink}
}

// BenchmarkExportPerInterval compares what one instance costs per export
// interval when it pushes OTLP/HTTP (one protobuf POST; plain and gzip)
// with what it costs when Prometheus scrapes its /metrics (text format;
// plain and gzip, as Prometheus asks for it): CPU and allocations of the
// instance, and bytes on the wire (bytes/export).
func BenchmarkExportPerInterval(b *testing.B) {
	ctx := context.Background()
	for _, compression := range []string{"none", "gzip"} {
		b.Run("otlp/"+compression, func(b *testing.B) {
			m := newInstanceMetrics(b, map[string]string{"none": "", "gzip": "gzip"}[compression])
			if err := m.otlp.ForceFlush(ctx); err != nil { // warm up
				b.Fatal(err)
			}
			before, posts := m.sink.bytes.Load(), m.sink.posts.Load()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := m.otlp.ForceFlush(ctx); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if n := m.sink.posts.Load() - posts; n > 0 {
				b.ReportMetric(float64(m.sink.bytes.Load()-before)/float64(n), "bytes/export")
			}
		})
		b.Run("prometheus/"+compression, func(b *testing.B) {
			m := newInstanceMetrics(b, "")
			srv := httptest.NewServer(m.prom.Handler())
			b.Cleanup(srv.Close)
			client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
			b.Cleanup(client.CloseIdleConnections)
			scrape := func() int64 {
				req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
				if compression == "gzip" {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				n, _ := io.Copy(io.Discard, resp.Body)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("scrape: %d", resp.StatusCode)
				}
				return n
			}
			scrape() // warm up
			var total int64
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				total += scrape()
			}
			b.StopTimer()
			b.ReportMetric(float64(total)/float64(b.N), "bytes/export")
		})
	}
}

// TestExportSizes keeps the benchmark's setup honest: both readers see
// the same instance, and each export carries its metrics.
func TestExportSizes(t *testing.T) {
	m := newInstanceMetrics(t, "")
	if err := m.otlp.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	text, err := m.prom.Text(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	otlpBytes := m.sink.bytes.Load()
	if m.sink.posts.Load() != 1 || otlpBytes == 0 || len(text) == 0 {
		t.Fatalf("OTLP: %d posts, %d bytes; Prometheus: %d bytes", m.sink.posts.Load(), otlpBytes, len(text))
	}
	t.Logf("figure: one instance's export: OTLP/HTTP protobuf %d bytes, Prometheus text %d bytes (%.2fx)",
		otlpBytes, len(text), float64(otlpBytes)/float64(len(text)))
}
