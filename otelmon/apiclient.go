package otelmon

import (
	"net/http"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/redact"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
)

// TransportOption configures Transport. Options are sealed: only this
// package defines them. A nil TransportOption is ignored.
type TransportOption interface {
	apply(transportOptions) transportOptions
}

type transportOptions struct {
	noBreaker bool
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
	if o.noBreaker {
		return m.clients.ProbeTransport(service, base, nil)
	}
	return m.clients.Transport(service, base)
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

// clientConfig is the configuration of the Monitor's client stack: the
// services' limits and breakers, its instruments under prefix on meter,
// and otelhttp's timing and client spans under APIClientScope.
func (m *Monitor) clientConfig(meter metric.Meter, prefix names.Prefix) clientstack.Config {
	cfg := clientstack.Config{
		Clock:            m.clock,
		Logger:           m.logger,
		Meter:            meter,
		Prefix:           prefix,
		CardinalityLimit: m.cfg.Metrics.CardinalityLimit,
		MaxClients:       m.cfg.MaxCircuitBreakers,
		LimitsFor:        func(service string) clientstack.Limits { return m.cfg.rateLimitFor(service).limits() },
		Breakers:         m.breakers,
		OTelHTTP: []otelhttp.Option{
			otelhttp.WithMeterProvider(scopedMeterProvider{mp: m.pipe.mp, scope: APIClientScope}),
			otelhttp.WithTracerProvider(m.tracing.client),
		},
		ProbeSpans: m.tracing.healthSpans,
	}
	if !m.cfg.Metrics.DisableTimingHistograms {
		cfg.ProbeBuckets = APIDurationBuckets()
	}
	if m.tracing.tracer != nil {
		cfg.TracerProvider = m.tracing.client
	}
	return cfg
}
