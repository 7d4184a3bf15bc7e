package alerting

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

const benchSources = 2500 // x 4 instruments = 10,000 series

// benchEngine builds an engine over 10,000 series: per source, a
// consecutive_failures gauge, a sync_operations_failed_total counter and a
// sync_duration_seconds histogram, and per service a service_up gauge.
// One source in a hundred is failing, slow or down.
func benchEngine(b *testing.B, rules []Rule) (*Engine, *clock.Fake) {
	eng, clk, _ := benchEngineChanging(b, rules)
	return eng, clk
}

// benchEngineChanging is benchEngine that also returns change, which
// records one more failed sync of every source, so that every counter and
// histogram the rules read changes.
func benchEngineChanging(b *testing.B, rules []Rule) (eng *Engine, clk *clock.Fake, change func()) {
	b.Helper()
	ctx := context.Background()
	clk = clock.NewFake(t0)
	eng, err := New(Config{}, WithClock(clk))
	if err != nil {
		b.Fatal(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()), sdkmetric.WithCardinalityLimit(0))
	b.Cleanup(func() {
		_ = eng.Shutdown(ctx)
		_ = mp.Shutdown(ctx)
	})
	p := names.Default
	m := mp.Meter("bench")
	failures, _ := m.Int64Gauge(p.Name(names.ConsecutiveFailures))
	failed, _ := m.Int64Counter(p.Name(names.SyncOperationsFailedTotal))
	duration, _ := m.Float64Histogram(p.Name(names.SyncDurationSeconds), metric.WithExplicitBucketBoundaries(durationBuckets...))
	up, _ := m.Int64Gauge(p.Name(names.ServiceUp))
	sources := make([]metric.MeasurementOption, benchSources)
	for i := range benchSources {
		s := metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrSource, fmt.Sprintf("source-%d", i))))
		sources[i] = s
		v := metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrService, fmt.Sprintf("service-%d", i))))
		bad := i%100 == 0
		failures.Record(ctx, map[bool]int64{true: 3, false: 0}[bad], s)
		failed.Add(ctx, map[bool]int64{true: 20, false: 1}[bad], s)
		duration.Record(ctx, map[bool]float64{true: 400, false: 12}[bad], s)
		up.Record(ctx, map[bool]int64{true: 0, false: 1}[bad], v)
	}
	for _, r := range rules {
		if err := eng.AddRule(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := eng.Evaluate(ctx); err != nil { // first evaluation binds the series
		b.Fatal(err)
	}
	change = func() {
		for _, s := range sources {
			failed.Add(ctx, 1, s)
			duration.Record(ctx, 12, s)
		}
	}
	return eng, clk, change
}

// thousandRules are 1,000 rules, each on one source or service: 1,000
// rule instances over the 10,000 series.
func thousandRules() []Rule {
	rules := make([]Rule, 0, 1000)
	for i := range 250 {
		s := fmt.Sprintf("source-%d", i*10)
		rules = append(rules,
			Rule{Name: "cf-" + s, Condition: ConsecutiveFailures{Source: s, Count: 3}},
			Rule{Name: "slow-" + s, Condition: SlowOperation{Source: s, Threshold: 5 * time.Minute, Window: 5 * time.Minute}, AutoResolveAfter: 30 * time.Minute},
			Rule{Name: "rate-" + s, Condition: RateAbove{Metric: names.SyncOperationsFailedTotal, Attributes: map[string]string{"source": s}, Threshold: 10, Window: time.Hour}},
			Rule{Name: "down-" + s, Condition: ServiceDown{Service: fmt.Sprintf("service-%d", i*10)}},
		)
	}
	return rules
}

// BenchmarkEvaluate measures one evaluation (Collect included) against
// ManualReader.Collect alone on the same reader and data, in the same run,
// and reports their ratio as eval/collect.
func BenchmarkEvaluate(b *testing.B) {
	cases := []struct {
		name     string
		rules    []Rule
		changing bool // every counter and histogram changes between evaluations
	}{
		{"1000rules-10kseries", thousandRules(), false},
		{"defaults-10kseries", DefaultRules(), false}, // 7,500 rule instances
		{"1000rules-10kseries-changing", thousandRules(), true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			eng, clk, change := benchEngineChanging(b, c.rules)
			var rm metricdata.ResourceMetrics
			var collect, eval time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				clk.Advance(time.Minute)
				if c.changing {
					change()
				}
				start := time.Now()
				if err := eng.eval.reader.Collect(ctx, &rm); err != nil {
					b.Fatal(err)
				}
				mid := time.Now()
				if err := eng.Evaluate(ctx); err != nil {
					b.Fatal(err)
				}
				collect += mid.Sub(start)
				eval += time.Since(mid)
			}
			b.ReportMetric(float64(collect.Nanoseconds())/float64(b.N), "collect-ns")
			b.ReportMetric(float64(eval.Nanoseconds())/float64(b.N), "eval-ns")
			b.ReportMetric(float64(eval)/float64(collect), "eval/collect")
		})
	}
}

// BenchmarkEvaluateOnly reports the allocations of an evaluation alone.
func BenchmarkEvaluateOnly(b *testing.B) {
	ctx := context.Background()
	eng, clk := benchEngine(b, thousandRules())
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		clk.Advance(time.Minute)
		if err := eng.Evaluate(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCollectOnly reports the allocations of ManualReader.Collect on
// the same data.
func BenchmarkCollectOnly(b *testing.B) {
	ctx := context.Background()
	eng, _ := benchEngine(b, thousandRules())
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := eng.eval.reader.Collect(ctx, &rm); err != nil {
			b.Fatal(err)
		}
	}
}
