package otelmon

import (
	"context"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"

	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/otelmon/internal/labels"
)

// Label values with a special meaning.
const (
	// UnknownLabel is recorded for an empty source, service or cache type.
	UnknownLabel = labels.Unknown
	// OverflowLabel is recorded for values beyond the cardinality limit.
	OverflowLabel = labels.Overflow
)

// APIDurationBuckets returns the boundaries, in seconds, of the API request
// duration histogram: from 5 ms to 30 s. Each call returns a new slice.
func APIDurationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
}

// APIClientScope is the instrumentation scope under which otelhttp records
// the API clients' requests. Views select otelhttp's instruments by this
// scope, so a host's own otelhttp clients and servers are left alone.
const APIClientScope = "github.com/listsync/otelmon/apiclient"

// otelhttp's client instruments, renamed or dropped by Views.
const (
	otelhttpClientDuration = "http.client.request.duration"
	otelhttpClientBodySize = "http.client.request.body.size"
)

// Views returns the sdk/metric Views a MeterProvider needs for otelmon's
// metrics to carry their documented names and buckets: otelhttp's
// http.client.request.duration, recorded under APIClientScope, becomes
// <prefix>api_request_duration_seconds{service} with APIDurationBuckets
// (or is dropped when timing histograms are off), and its request body size
// histogram is dropped. Its exemplars carry the trace and span ids of the
// request's client span, without otelhttp's other attributes; those of
// consecutive_failures keep each failure of a run (see
// consecutiveExemplars). A Monitor that builds its own provider installs
// them; a host passing its provider with WithMeterProvider adds them with
// sdkmetric.WithView. Invalid configurations give the default names.
func Views(cfg Config) []sdkmetric.View {
	if c, err := cfg.withDefaults(); err == nil {
		cfg = c
	} else {
		cfg = DefaultConfig()
	}
	prefix := names.New(cfg.Metrics.Namespace, cfg.Metrics.Subsystem)
	scope := instrumentation.Scope{Name: APIClientScope}
	duration := sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}}
	if !cfg.Metrics.DisableTimingHistograms {
		duration = sdkmetric.Stream{
			Name:            prefix.Name(names.APIRequestDuration),
			Description:     "Duration of requests to external APIs until response headers arrive, per service.",
			Unit:            "s",
			Aggregation:     sdkmetric.AggregationExplicitBucketHistogram{Boundaries: APIDurationBuckets()},
			AttributeFilter: attribute.NewAllowKeysFilter(names.AttrService),
			// The exemplars name the trace and span only: with otelhttp's
			// filtered attributes they would pass the 128 characters
			// OpenMetrics allows an exemplar's labels, and the Prometheus
			// exporter would drop them.
			ExemplarReservoirProviderSelector: traceOnlyExemplars,
		}
	}
	return []sdkmetric.View{
		sdkmetric.NewView(sdkmetric.Instrument{Name: otelhttpClientDuration, Scope: scope}, duration),
		sdkmetric.NewView(sdkmetric.Instrument{Name: otelhttpClientBodySize, Scope: scope},
			sdkmetric.Stream{Aggregation: sdkmetric.AggregationDrop{}}),
		sdkmetric.NewView(sdkmetric.Instrument{Name: prefix.Name(names.ConsecutiveFailures), Scope: instrumentation.Scope{Name: ScopeName}},
			sdkmetric.Stream{ExemplarReservoirProviderSelector: consecutiveExemplars}),
	}
}

// consecutiveExemplarBounds bucket consecutive_failures by count: 0 (a
// success), then each count to 20 alone, then every count above.
var consecutiveExemplarBounds = func() []float64 {
	b := make([]float64, 21)
	for i := range b {
		b[i] = float64(i)
	}
	return b
}()

// consecutiveExemplars gives consecutive_failures' exemplars a bucket per
// count of consecutive failures. A gauge's default reservoir samples at
// random among all the measurements of a collection interval, so an alert
// on "3 failures in a row" could miss the trace of the third. The
// histogram reservoir samples one measurement per bucket per collection
// interval, at random among that bucket's (Algorithm L with k = 1), and
// keeps it until a measurement of a later interval replaces it: as each
// count of a run has its own bucket, each failure of a run keeps its
// exemplar, unless the same count recurs within one collection interval (a
// run that ends and climbs again), when one of them, at random, is kept.
func consecutiveExemplars(sdkmetric.Aggregation) exemplar.ReservoirProvider {
	return exemplar.HistogramReservoirProvider(consecutiveExemplarBounds)
}

// scopedMeterProvider hands out meters of one fixed scope, whatever name
// the instrumentation library asks for, at otelmon's Version whatever
// version it states. It puts otelhttp's instruments under APIClientScope.
type scopedMeterProvider struct {
	embedded.MeterProvider
	mp    metric.MeterProvider
	scope string
}

func (p scopedMeterProvider) Meter(_ string, opts ...metric.MeterOption) metric.Meter {
	return p.mp.Meter(p.scope, append(slices.Clip(opts), metric.WithInstrumentationVersion(Version))...)
}

// traceOnlyExemplars is the default exemplar reservoir of agg, keeping no
// filtered attributes.
func traceOnlyExemplars(agg sdkmetric.Aggregation) exemplar.ReservoirProvider {
	p := sdkmetric.DefaultExemplarReservoirProviderSelector(agg)
	return func(set attribute.Set) exemplar.Reservoir { return traceOnlyReservoir{p(set)} }
}

// traceOnlyReservoir drops the filtered attributes of what it is offered.
type traceOnlyReservoir struct{ exemplar.Reservoir }

func (r traceOnlyReservoir) Offer(ctx context.Context, t time.Time, v exemplar.Value, _ []attribute.KeyValue) {
	r.Reservoir.Offer(ctx, t, v, nil)
}
