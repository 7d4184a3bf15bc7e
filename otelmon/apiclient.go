package otelmon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/embedded"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/exemplar"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/redact"
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

// serviceSeries holds the per-service readings and the attributes every
// per-service instrument shares.
type serviceSeries struct {
	name    string
	set     attribute.Set
	obs     []metric.ObserveOption
	labeler *otelhttp.Labeler // adds service=<name> to otelhttp's duration

	requests, rateLimited atomic.Uint64
	retries               atomic.Uint64 // attempts after the first

	probes probeSeries // health checks, apart from the API's requests
}

func newServiceSeries(label string, set attribute.Set) *serviceSeries {
	l := &otelhttp.Labeler{}
	l.Add(set.ToSlice()...)
	s := &serviceSeries{name: label, set: set, obs: []metric.ObserveOption{metric.WithAttributeSet(set)}, labeler: l}
	s.probes.init(set)
	return s
}

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

// Metric name suffixes of the client stack's pacing and retries.
const (
	apiRetriesTotal         = "api_retries_total"
	apiRateLimitWaitSeconds = "api_rate_limit_wait_seconds_total"
	apiRateLimitRemaining   = "api_rate_limit_remaining"
)

// apiMetrics counts API requests and rate-limit hits per service.
type apiMetrics struct {
	services *labelTable[serviceSeries]
	clients  serviceClients // each service's pacer and retry budget
	otelhttp []otelhttp.Option
	reg      metric.Registration
}

func newAPIMetrics(meter metric.Meter, mp metric.MeterProvider, prefix names.Prefix, cfg MetricsConfig, maxClients int) (*apiMetrics, error) {
	a := &apiMetrics{
		services: newLabelTable(names.AttrService, cfg.CardinalityLimit, newServiceSeries),
		clients:  serviceClients{max: maxClients},
		otelhttp: []otelhttp.Option{otelhttp.WithMeterProvider(scopedMeterProvider{mp: mp, scope: APIClientScope})},
	}
	requests, err1 := meter.Int64ObservableCounter(prefix.Name(names.APIRequestsTotal),
		metric.WithDescription("Requests sent to external APIs, per service."))
	limited, err2 := meter.Int64ObservableCounter(prefix.Name(names.APIRateLimitHitsTotal),
		metric.WithDescription("Requests answered 429 Too Many Requests, per service."))
	retries, err3 := meter.Int64ObservableCounter(prefix.Name(apiRetriesTotal),
		metric.WithDescription("Requests sent again after a 429, a 502, 503 or 504, or a broken connection, per service."))
	waited, err4 := meter.Float64ObservableCounter(prefix.Name(apiRateLimitWaitSeconds),
		metric.WithDescription("Time requests spent waiting for the service's pace or a pause it asked for, per service."),
		metric.WithUnit("s"))
	remaining, err5 := meter.Int64ObservableGauge(prefix.Name(apiRateLimitRemaining),
		metric.WithDescription("Requests the service last announced it still accepts in its current window, per service; absent until it announces a budget."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, fmt.Errorf("otelmon: API instruments: %w", err)
	}
	a.reg, err1 = meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		a.services.each(func(s *serviceSeries) {
			o.ObserveInt64(requests, int64(s.requests.Load()), s.obs...)
			o.ObserveInt64(limited, int64(s.rateLimited.Load()), s.obs...)
		})
		// Pacing is per service: services that share a label (past the
		// cardinality limit) add up their waits; a budget is only shown
		// for a label that one service has.
		type paced struct {
			waited    float64
			remaining int64
			announced bool
			services  int
		}
		bySeries := map[*serviceSeries]*paced{}
		var order []*serviceSeries
		a.clients.each(func(c *serviceClient) {
			p := bySeries[c.series]
			if p == nil {
				p = &paced{}
				bySeries[c.series] = p
				order = append(order, c.series)
			}
			p.services++
			p.waited += c.pacer.Waited().Seconds()
			p.remaining, p.announced = c.pacer.Remaining()
		})
		for _, s := range order {
			p := bySeries[s]
			o.ObserveInt64(retries, int64(s.retries.Load()), s.obs...)
			o.ObserveFloat64(waited, p.waited, s.obs...)
			if p.announced && p.services == 1 {
				o.ObserveInt64(remaining, p.remaining, s.obs...)
			}
		}
		return nil
	}, requests, limited, retries, waited, remaining)
	if err1 != nil {
		return nil, fmt.Errorf("otelmon: register API callback: %w", err1)
	}
	return a, nil
}

// apiTransport counts a service's requests and labels them for otelhttp,
// which times them.
type apiTransport struct {
	series *serviceSeries
	next   http.RoundTripper // otelhttp's transport
}

func (t *apiTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.series.requests.Add(1)
	ctx := otelhttp.ContextWithClientLabeler(req.Context(), t.series.labeler)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		t.series.rateLimited.Add(1)
	}
	return resp, err
}

// TransportOption configures Transport. Options are sealed: only this
// package defines them. A nil TransportOption is ignored.
type TransportOption interface {
	apply(transportOptions) transportOptions
}

type transportOptions struct {
	noBreaker bool
	accepts   []int // a probe's successful statuses; nil: below 500
}

type transportOptionFunc func(transportOptions) transportOptions

func (f transportOptionFunc) apply(o transportOptions) transportOptions { return f(o) }

func newTransportOptions(opts []TransportOption) transportOptions {
	var o transportOptions
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	return o
}

// WithoutCircuitBreaker makes Transport a health probe's: every request
// is sent at once and only once, whatever the state of the service's
// circuit breaker and its pacer; each still counts against the service's
// pace, so that the requests that wait leave room for it, and its answer
// still teaches the pacer. Its requests are health checks, not API usage:
// they are counted in health_checks_total{service,result} and timed in
// health_check_duration_seconds{service}, never in the API metrics.
// Health checks use it: they must reach a service to see it recover.
// Default: requests wait for the pacer, go through the breaker, and
// idempotent ones are retried.
func WithoutCircuitBreaker() TransportOption {
	return transportOptionFunc(func(o transportOptions) transportOptions {
		o.noBreaker = true
		return o
	})
}

// Transport returns an http.RoundTripper for requests to service, for hosts
// that bring their own http.Client. Every client of one service in the
// process shares its pacer and retry budget. For each request:
//
//   - Pacing. The request waits for the service's pacer: past any pause the
//     service asked for (Retry-After on a 429 or 503, or a budget it
//     announced as spent), then for a slot of its pace (Config.RateLimits;
//     DefaultRateLimitFor). The pace follows the budget the service
//     announces (X-RateLimit-Remaining/Reset, the IETF RateLimit field,
//     Trakt's X-Ratelimit, the IETF RateLimit-Policy window) and, when it
//     announces none, its 429s: each
//     burst of 429s lowers it to 80 % of the rate the service accepted over
//     the last second; successes bring it back towards that rate within
//     seconds (exponentially, time constant 1 s), then probe past it by
//     0.5 % of it a second, up to the configured pace. A wait that
//     would pass the request's deadline or RateLimit.MaxWait fails at once
//     with a *RateLimitError (wrapping ErrRateLimited) that says how long.
//   - Retries. A GET, HEAD, OPTIONS or TRACE, or a request with an
//     Idempotency-Key header (with GetBody for its body), that gets 429,
//     502, 503, 504 or a broken connection is sent again, up to
//     RateLimit.MaxAttempts in all: after the service's Retry-After, or
//     after a jittered exponential backoff from 250 ms. Retries stop at the
//     request's deadline, and when they would pass 10 % of the service's
//     requests over 10 s plus 10 (the retry budget); the last answer is then
//     returned. Discarded answers are drained and closed.
//   - Circuit breaker. Unless WithoutCircuitBreaker is given, each attempt
//     goes through the service's breaker (when the service has none, for
//     Config.MaxCircuitBreakers are taken, the requests are unguarded: a
//     warning is logged once per service, and Status lists it in
//     UnguardedServices): while it is open, the attempt
//     fails at once with an error wrapping breaker.ErrOpen, and no retry
//     follows. Transport errors and 5xx answers count as failures, a 429
//     does not (unless RateLimit.ThrottleIsFailure), other answers are
//     successes (see ClassifyResponse). The breaker's request timeout
//     bounds each attempt until its body is closed. A request whose context
//     is that of a job run by MonitoredSyncHandler for the same service
//     runs under the job's admission instead: bounded by the request
//     timeout, not counted by the breaker a second time.
//   - Metrics. Every attempt is counted in api_requests_total{service} and
//     timed by otelhttp into api_request_duration_seconds{service} (until
//     the response headers arrive); 429 answers are counted in
//     api_rate_limit_hits_total{service}, attempts after the first in
//     api_retries_total{service}, time spent waiting for the pacer in
//     api_rate_limit_wait_seconds_total{service}, and the last budget the
//     service announced is api_rate_limit_remaining{service}. With
//     WithoutCircuitBreaker, requests are health checks instead, counted
//     and timed apart (health_checks_total, health_check_duration_seconds).
//
// base carries the requests; nil means http.DefaultTransport.
func (m *Monitor) Transport(service string, base http.RoundTripper, opts ...TransportOption) http.RoundTripper {
	o := newTransportOptions(opts)
	if base == nil {
		base = http.DefaultTransport
	}
	c := m.client(service)
	if o.noBreaker {
		base = m.tracing.probeSpans(service, base)
		return &pacedTransport{m: m, series: c.series, c: c, probe: true, next: m.probeTransport(c.series, base, o.accepts)}
	}
	b, err := m.breakers.Get(service)
	if err != nil {
		// The registry is full or the name empty: requests still flow,
		// unguarded.
		m.noteUnguarded(context.Background(), service, "its HTTP clients", err)
	}
	return m.apiStack(c, b, false, base)
}

// apiStack returns the client stack of c's service over base: the pacer
// and retries, the breaker b (none when b is nil; held when a sync job
// holds b's admission for every request), and the counting and timing.
// Transport and SyncJob.HTTPClient both build it here.
func (m *Monitor) apiStack(c *serviceClient, b *breaker.Breaker, held bool, base http.RoundTripper) *pacedTransport {
	next := m.instrumented(c.series, base)
	if b != nil {
		next = &breakerTransport{m: m, b: b, held: held, throttleFails: c.limits.ThrottleIsFailure, next: next}
	}
	return &pacedTransport{m: m, series: c.series, c: c, next: next}
}

// instrumented returns base with the series' request counting and otelhttp
// timing, without a breaker.
func (m *Monitor) instrumented(series *serviceSeries, base http.RoundTripper) http.RoundTripper {
	opts := m.api.otelhttp
	if m.tracing.tracer != nil {
		opts = append(slices.Clip(opts), otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String(AttrService, series.name))))
	}
	return &apiTransport{
		series: series,
		next:   otelhttp.NewTransport(base, opts...),
	}
}

// HTTPClient returns an http.Client for requests to service, built on
// Transport and http.DefaultTransport. Clients share connections; keep the
// one you get rather than asking for a new one per request.
//
// Like any http.Client, it returns errors that quote the request URL, API
// key in the query and all: pass them through RedactError before logging.
func (m *Monitor) HTTPClient(service string) *http.Client {
	return &http.Client{Transport: m.Transport(service, nil)}
}

// RedactError returns err with the URL quoted by an http.Client error
// (*url.Error) reduced to its scheme and host, so no API key in a query, user
// name or token in a path survives; the cause stays in the chain for
// errors.Is and errors.As. An error whose message quotes a secret anyway
// (a URL with its query, api_key=..., a bearer token) has its message
// masked; others are returned unchanged. It masks exactly as
// alerting.RedactError does.
func RedactError(err error) error { return redact.Error(err) }

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
