package alerting

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// sloBenchSources is the number of sources (and of services) of the SLO
// benchmark.
const sloBenchSources = 100

// sloBenchEngine builds an engine with rules over the instruments otelmon
// records for 100 sources and 100 services: per source, the sync counters
// and duration histogram and the consecutive failures gauge; per service,
// service_up, the rate-limit hits and the breaker's state. sync records a
// sync of every source: one in 200 fails, and every other sync of one
// source in a hundred, which pages.
func sloBenchEngine(b *testing.B, rules []Rule) (eng *Engine, clk *clock.Fake, sync func()) {
	b.Helper()
	ctx := context.Background()
	clk = clock.NewFake(t0)
	eng, err := New(Config{}, WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	b.Cleanup(func() {
		_ = eng.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	})
	p := names.Default
	m := mp.Meter("bench")
	ops, _ := m.Int64Counter(p.Name(names.SyncOperationsTotal))
	failed, _ := m.Int64Counter(p.Name(names.SyncOperationsFailedTotal))
	okOps, _ := m.Int64Counter(p.Name(names.SyncOperationsSuccessTotal))
	consecutive, _ := m.Int64Gauge(p.Name(names.ConsecutiveFailures))
	duration, _ := m.Float64Histogram(p.Name(names.SyncDurationSeconds), metric.WithExplicitBucketBoundaries(durationBuckets...))
	up, _ := m.Int64Gauge(p.Name(names.ServiceUp))
	hits, _ := m.Int64Counter(p.Name(names.APIRateLimitHitsTotal))
	state, _ := m.Int64Gauge(p.Name(names.CircuitBreakerState))
	sources := make([]metric.MeasurementOption, sloBenchSources)
	for i := range sloBenchSources {
		sources[i] = metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrSource, fmt.Sprintf("source-%d", i))))
		v := metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrService, fmt.Sprintf("service-%d", i))))
		up.Record(ctx, 1, v)
		hits.Add(ctx, 1, v)
		state.Record(ctx, 0, v)
	}
	n := 0
	sync = func() {
		n++
		for i, s := range sources {
			ops.Add(ctx, 1, s)
			if (i+n)%200 == 0 || i%100 == 0 && n%2 == 0 {
				failed.Add(ctx, 1, s)
				consecutive.Record(ctx, 1, s)
			} else {
				okOps.Add(ctx, 1, s)
				consecutive.Record(ctx, 0, s)
			}
			duration.Record(ctx, 12, s)
		}
	}
	sync()
	for _, r := range rules {
		if err := eng.AddRule(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := eng.Evaluate(ctx); err != nil {
		b.Fatal(err)
	}
	return eng, clk, sync
}

// BenchmarkSLOEvaluate measures what the SLO rules (page and ticket: 100
// sources × 7 windows and the period) add to an evaluation of the default
// rules on the same instruments. Each iteration evaluates both engines, on
// the same data, one after the other (in turn first), every source syncing
// between evaluations, and reports the ratio of their times as slo/defaults: 1.2
// is the most the SLO rules may add.
func BenchmarkSLOEvaluate(b *testing.B) {
	ctx := context.Background()
	base, baseClk, baseSync := sloBenchEngine(b, DefaultRules())
	slo, sloClk, sloSync := sloBenchEngine(b, append(DefaultRules(), SLORules()...))
	// A day of history: every ring has wrapped.
	for range 24 * 60 {
		baseClk.Advance(time.Minute)
		sloClk.Advance(time.Minute)
		sloSync()
		if err := slo.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
	}
	var tBase, tSLO time.Duration
	b.ResetTimer()
	for i := range b.N {
		baseClk.Advance(time.Minute)
		sloClk.Advance(time.Minute)
		baseSync()
		sloSync()
		// Alternately first and second, so that neither gains from the
		// other's caches or pays for its garbage.
		first, second, t1, t2 := base, slo, &tBase, &tSLO
		if i%2 == 1 {
			first, second, t1, t2 = slo, base, &tSLO, &tBase
		}
		start := time.Now()
		if err := first.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := second.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
		*t1 += mid.Sub(start)
		*t2 += time.Since(mid)
	}
	b.ReportMetric(float64(tBase.Nanoseconds())/float64(b.N), "defaults-ns")
	b.ReportMetric(float64(tSLO.Nanoseconds())/float64(b.N), "slo-ns")
	b.ReportMetric(float64(tSLO)/float64(tBase), "slo/defaults")
}

// BenchmarkSLOEvaluateOnly reports the time and allocations of one
// evaluation of the default rules alone and with the SLO rules.
func BenchmarkSLOEvaluateOnly(b *testing.B) {
	for _, c := range []struct {
		name  string
		rules []Rule
	}{{"defaults", DefaultRules()}, {"defaults+slo", append(DefaultRules(), SLORules()...)}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			eng, clk, sync := sloBenchEngine(b, c.rules)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clk.Advance(time.Minute)
				sync()
				if err := eng.Evaluate(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
