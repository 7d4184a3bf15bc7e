package otelmon

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// filledMonitor returns a Monitor whose history holds 24 hours of one sync
// a minute for each of n sources.
func filledMonitor(b *testing.B, n int) (*Monitor, *clock.Fake) {
	b.Helper()
	m, clk := newTestMonitor(b, DefaultConfig(), WithAPIKey(testKey))
	ctx := context.Background()
	sources := make([]string, n)
	for i := range sources {
		sources[i] = fmt.Sprintf("source-%03d", i)
	}
	for minute := range 24 * 60 {
		for i, s := range sources {
			m.RecordSyncOperation(ctx, s, (minute+i)%10 != 0, time.Duration(1+i%30)*time.Second, 1, 1, 10)
		}
		clk.Advance(time.Minute)
		m.hist.collect(clk.Now().Add(-1))
	}
	return m, clk
}

// BenchmarkHistory24h measures GET /history?range=24h for 100 sources with
// 24 hours of one sync a minute each: the handler as served, and its JSON
// encoding against the obvious alternative, encoding/json on []*float64
// series (nil for null).
func BenchmarkHistory24h(b *testing.B) {
	m, _ := filledMonitor(b, 100)
	h := m.Handler()
	b.Run("handler", func(b *testing.B) {
		req := httptest.NewRequest(http.MethodGet, "/api/v3/monitoring/history?range=24h", nil)
		req.Header.Set("X-Api-Key", testKey)
		var size int
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
			size = rec.Body.Len()
		}
		b.ReportMetric(float64(size), "B/response")
	})
	rg := historyRanges["24h"]
	b.Run("encode-numbers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := m.hist.snapshot("24h", rg, m.clock.Now())
			if _, err := json.Marshal(out); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encode-pointers", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := m.hist.snapshot("24h", rg, m.clock.Now())
			if _, err := json.Marshal(pointerHistory(out)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// pointerHistory is historyJSON with []*float64 series, as encoding/json
// would have it without numbers.
func pointerHistory(h historyJSON) any {
	ptrs := func(ns numbers) []*float64 {
		out := make([]*float64, len(ns))
		for i, v := range ns {
			if !math.IsNaN(float64(v)) {
				f := float64(v)
				out[i] = &f
			}
		}
		return out
	}
	type src struct{ Succeeded, Failed, DurationSeconds []*float64 }
	type svc struct {
		Requests, RateLimited, LatencyP50Seconds, LatencyP95Seconds, Up []*float64
		Breaker                                                         []string
	}
	sources := map[string]src{}
	for k, s := range h.Sources {
		sources[k] = src{ptrs(s.Succeeded), ptrs(s.Failed), ptrs(s.DurationSeconds)}
	}
	services := map[string]svc{}
	for k, s := range h.Services {
		services[k] = svc{ptrs(s.Requests), ptrs(s.RateLimited), ptrs(s.LatencyP50Seconds), ptrs(s.LatencyP95Seconds), ptrs(s.Up), s.Breaker}
	}
	return struct {
		H        historyJSON
		Sources  map[string]src
		Services map[string]svc
	}{historyJSON{Range: h.Range, StepSeconds: h.StepSeconds, Start: h.Start, End: h.End, Alerts: h.Alerts}, sources, services}
}

// heapAfterGC returns the live heap.
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkHistoryMemory reports what the history keeps per source and per
// service after 24 hours of one sync a minute (sources) and of requests,
// health and breaker readings every minute (services): the live heap with
// the series, minus the live heap without them. One iteration is enough.
func BenchmarkHistoryMemory(b *testing.B) {
	const n = 100
	b.Run("source", func(b *testing.B) {
		for b.Loop() {
			m, _ := filledMonitor(b, n)
			with := heapAfterGC()
			m.hist.mu.Lock()
			m.hist.sources = map[string]*sourceHistory{}
			m.hist.mu.Unlock()
			without := heapAfterGC()
			b.ReportMetric((float64(with)-float64(without))/n, "B/source")
		}
	})
	b.Run("service", func(b *testing.B) {
		for b.Loop() {
			clk := clock.NewFake(time.Unix(1_700_000_000, 0))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			si := newServiceInstruments(b, mp)
			h := newHistory(reader, clk, names.Default)
			ctx := context.Background()
			opts := make([]metric.MeasurementOption, n)
			for i := range opts {
				opts[i] = metric.WithAttributes(attribute.String(names.AttrService, fmt.Sprintf("service-%03d", i)))
			}
			for minute := range 24 * 60 {
				for i, o := range opts {
					si.requests.Add(ctx, 20, o)
					si.limited.Add(ctx, int64(minute%2), o)
					si.duration.Record(ctx, float64(i%10)/10, o)
					si.up.Record(ctx, 1, o)
					si.breaker.Record(ctx, 0, o)
				}
				clk.Advance(time.Minute)
				h.collect(clk.Now().Add(-1))
			}
			with := heapAfterGC()
			h.mu.Lock()
			h.services = map[string]*serviceHistory{}
			h.mu.Unlock()
			without := heapAfterGC()
			b.ReportMetric((float64(with)-float64(without))/n, "B/service")
			_ = mp.Shutdown(ctx)
			runtime.KeepAlive(h)
		}
	})
}
