package history

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// What the history keeps in memory; what a query of it costs, served by
// the Monitor, is measured in package otelmon (BenchmarkHistory24h).

// filledSources returns a History that holds 24 hours of one sync a minute
// for each of n sources, recorded as the Monitor records them (succeeded
// or failed, and the duration), and the provider it reads, to shut down.
func filledSources(b *testing.B, n int) (*History, *sdkmetric.MeterProvider) {
	b.Helper()
	clk := clock.NewFake(time.Unix(1_700_000_000, 0))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	meter := mp.Meter("test")
	p := names.Default
	succeeded, err1 := meter.Int64Counter(p.Name(names.SyncOperationsSuccessTotal))
	failed, err2 := meter.Int64Counter(p.Name(names.SyncOperationsFailedTotal))
	duration, err3 := meter.Float64Histogram(p.Name(names.SyncDurationSeconds))
	for _, err := range []error{err1, err2, err3} {
		if err != nil {
			b.Fatal(err)
		}
	}
	h := New(reader, clk, names.Default)
	ctx := context.Background()
	opts := make([]metric.MeasurementOption, n)
	for i := range opts {
		opts[i] = metric.WithAttributes(attribute.String(names.AttrSource, fmt.Sprintf("source-%03d", i)))
	}
	for minute := range 24 * 60 {
		for i, o := range opts {
			if (minute+i)%10 != 0 {
				succeeded.Add(ctx, 1, o)
			} else {
				failed.Add(ctx, 1, o)
			}
			duration.Record(ctx, float64(1+i%30), o)
		}
		clk.Advance(time.Minute)
		h.Collect(clk.Now().Add(-1))
	}
	return h, mp
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
// health and breaker readings every minute (services), and per objective
// series after 24 hours of a budget read every minute: the live heap with
// the series, minus the live heap without them. One iteration is enough.
func BenchmarkHistoryMemory(b *testing.B) {
	const n = 100
	b.Run("source", func(b *testing.B) {
		for b.Loop() {
			h, mp := filledSources(b, n)
			with := heapAfterGC()
			h.mu.Lock()
			h.sources = map[string]*sourceHistory{}
			h.mu.Unlock()
			without := heapAfterGC()
			b.ReportMetric((float64(with)-float64(without))/n, "B/source")
			_ = mp.Shutdown(context.Background())
			runtime.KeepAlive(h)
		}
	})
	b.Run("service", func(b *testing.B) {
		for b.Loop() {
			clk := clock.NewFake(time.Unix(1_700_000_000, 0))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			si := newServiceInstruments(b, mp)
			h := New(reader, clk, names.Default)
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
				h.Collect(clk.Now().Add(-1))
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
	b.Run("slo", func(b *testing.B) {
		for b.Loop() {
			clk := clock.NewFake(time.Unix(1_700_000_000, 0))
			reader := sdkmetric.NewManualReader()
			mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
			h := New(reader, clk, names.Default)
			lister := &fakeSLOs{}
			h.SampleSLOs(lister, n)
			budgets := make(map[string]float64, n)
			for minute := range 24 * 60 {
				for i := range n {
					budgets[fmt.Sprintf("source-%03d", i)] = 1 - float64(minute*i)/1000
				}
				lister.set(budgets)
				clk.Advance(time.Minute)
				h.Collect(clk.Now().Add(-1))
			}
			lister.set(nil)
			with := heapAfterGC()
			h.mu.Lock()
			h.slos.series, h.slos.perDef = map[string]*sloHistory{}, map[string]int{}
			h.mu.Unlock()
			without := heapAfterGC()
			b.ReportMetric((float64(with)-float64(without))/n, "B/series")
			_ = mp.Shutdown(context.Background())
			runtime.KeepAlive(h)
		}
	})
}
