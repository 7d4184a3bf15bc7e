package history

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/names"
)

// What a collection reads: the history's instruments, by name, picked out
// of the reader's ResourceMetrics into one cumulative reading per source
// and per service.

// sourceReading is what one collection read of a source, cumulative.
type sourceReading struct {
	succeeded, failed uint64
	durCount          uint64
	durSum            float64
}

// serviceReading is what one collection read of a service: cumulative
// counters and histogram, gauges as they are (0 when absent).
type serviceReading struct {
	requests, limited uint64
	latCount          uint64
	latBuckets        []uint64
	bounds            []float64
	lo, hi            float64 // NaN when the histogram keeps no extrema
	up, breaker       uint8
}

// metricNames are the instruments the history reads.
type metricNames struct {
	succeeded, failed, syncDuration string
	requests, limited, apiDuration  string
	up, breaker                     string
}

func newMetricNames(p names.Prefix) metricNames {
	return metricNames{
		succeeded: p.Name(names.SyncOperationsSuccessTotal), failed: p.Name(names.SyncOperationsFailedTotal),
		syncDuration: p.Name(names.SyncDurationSeconds),
		requests:     p.Name(names.APIRequestsTotal), limited: p.Name(names.APIRateLimitHitsTotal),
		apiDuration: p.Name(names.APIRequestDuration),
		up:          p.Name(names.ServiceUp), breaker: p.Name(names.CircuitBreakerState),
	}
}

// read picks the history's instruments out of rm, by source and service.
func (h *History) read(rm *metricdata.ResourceMetrics) (map[string]*sourceReading, map[string]*serviceReading) {
	src := map[string]*sourceReading{}
	svc := map[string]*serviceReading{}
	n := &h.names
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch m.Name {
			case n.succeeded:
				eachSum(m, names.AttrSource, func(l string, v uint64) { entry(src, l).succeeded = v })
			case n.failed:
				eachSum(m, names.AttrSource, func(l string, v uint64) { entry(src, l).failed = v })
			case n.syncDuration:
				eachHistogram(m, names.AttrSource, func(l string, dp *metricdata.HistogramDataPoint[float64]) {
					r := entry(src, l)
					r.durCount, r.durSum = dp.Count, dp.Sum
				})
			case n.requests:
				eachSum(m, names.AttrService, func(l string, v uint64) { entry(svc, l).requests = v })
			case n.limited:
				eachSum(m, names.AttrService, func(l string, v uint64) { entry(svc, l).limited = v })
			case n.apiDuration:
				eachHistogram(m, names.AttrService, func(l string, dp *metricdata.HistogramDataPoint[float64]) {
					r := entry(svc, l)
					r.latCount, r.latBuckets, r.bounds = dp.Count, dp.BucketCounts, dp.Bounds
					r.lo, r.hi = extremum(dp.Min), extremum(dp.Max)
				})
			case n.up:
				eachGauge(m, names.AttrService, func(l string, v int64) {
					entry(svc, l).up = upDown
					if v != 0 {
						entry(svc, l).up = upUp
					}
				})
			case n.breaker:
				eachGauge(m, names.AttrService, func(l string, v int64) {
					if v >= 0 && v <= 2 {
						entry(svc, l).breaker = uint8(v) + 1
					}
				})
			}
		}
	}
	return src, svc
}

// extremum returns e's value, or NaN when the histogram keeps none.
func extremum(e metricdata.Extrema[float64]) float64 {
	if v, ok := e.Value(); ok {
		return v
	}
	return math.NaN()
}

// entry returns m[label], created when missing.
func entry[T any](m map[string]*T, label string) *T {
	r := m[label]
	if r == nil {
		r = new(T)
		m[label] = r
	}
	return r
}

// eachSum calls fn with each point of an int64 sum, by the label key;
// negative values count as 0. Data of another type is skipped.
func eachSum(m metricdata.Metrics, key string, fn func(label string, v uint64)) {
	if sum, ok := m.Data.(metricdata.Sum[int64]); ok {
		for _, dp := range sum.DataPoints {
			fn(attr(dp.Attributes, key), uint64(max(dp.Value, 0)))
		}
	}
}

// eachHistogram calls fn with each point of a float64 histogram.
func eachHistogram(m metricdata.Metrics, key string, fn func(label string, dp *metricdata.HistogramDataPoint[float64])) {
	if hist, ok := m.Data.(metricdata.Histogram[float64]); ok {
		for i := range hist.DataPoints {
			fn(attr(hist.DataPoints[i].Attributes, key), &hist.DataPoints[i])
		}
	}
}

// eachGauge calls fn with each point of an int64 gauge.
func eachGauge(m metricdata.Metrics, key string, fn func(label string, v int64)) {
	if g, ok := m.Data.(metricdata.Gauge[int64]); ok {
		for _, dp := range g.DataPoints {
			fn(attr(dp.Attributes, key), dp.Value)
		}
	}
}

// attr returns the string attribute key of set, or "" when absent.
func attr(set attribute.Set, key string) string {
	v, _ := set.Value(attribute.Key(key))
	return v.AsString()
}
