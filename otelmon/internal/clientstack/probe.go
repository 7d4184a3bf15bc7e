package clientstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/internal/names"
)

// Metric name suffixes and attributes of the health probes:
// health_checks_total with its two results.
const (
	healthChecksTotal   = "health_checks_total"
	healthCheckDuration = "health_check_duration_seconds"
	attrResult          = "result"
	resultSuccess       = "success"
	resultFailure       = "failure"
)

// probeSeries holds a service's health check readings, apart from its API
// requests.
type probeSeries struct {
	active          atomic.Bool // a probe client exists: export the counts
	failed, succeed atomic.Uint64
	obs             [2][]metric.ObserveOption // by result: failure, success
	record          []metric.RecordOption
}

func (p *probeSeries) init(service attribute.Set) {
	for i, r := range [2]string{resultFailure, resultSuccess} {
		set := attribute.NewSet(append(service.ToSlice(), attribute.String(attrResult, r))...)
		p.obs[i] = []metric.ObserveOption{metric.WithAttributeSet(set)}
	}
	p.record = []metric.RecordOption{metric.WithAttributeSet(service)}
}

// probeTransport counts and times a service's health check requests, with
// the same rule as the checker: an answer the target accepts is a success;
// any other answer, a transport error or a timeout is a failure. A request
// its caller canceled is not counted, as the checker does not count it.
type probeTransport struct {
	s       *Stack
	series  *probeSeries
	accepts []int
	next    http.RoundTripper
}

// ProbeTransport returns a health probe's client stack of service over
// base (nil: http.DefaultTransport): every request is sent at once and
// only once, whatever the state of the service's breaker and pacer; each
// still counts against the service's pace, and its answer still teaches
// the pacer. It is counted in health_checks_total{service,result} by
// accepts (the statuses that count as a success; nil: any below 500) and
// timed in health_check_duration_seconds{service}, never in the API
// metrics; with Config.ProbeSpans it has a client span.
func (s *Stack) ProbeTransport(service string, base http.RoundTripper, accepts []int) http.RoundTripper {
	c := s.client(service)
	c.series.probes.active.Store(true)
	next := &probeTransport{s: s, series: &c.series.probes, accepts: slices.Clone(accepts), next: s.probeSpans(service, orDefault(base))}
	return &pacedTransport{s: s, c: c, probe: true, next: next}
}

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	clk := t.s.cfg.Clock
	start := clk.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil && errors.Is(req.Context().Err(), context.Canceled) {
		return resp, err
	}
	if t.s.probeTime != nil {
		t.s.probeTime.Record(req.Context(), clk.Now().Sub(start).Seconds(), t.series.record...)
	}
	if err == nil && t.ok(resp.StatusCode) {
		t.series.succeed.Add(1)
	} else {
		t.series.failed.Add(1)
	}
	return resp, err
}

func (t *probeTransport) ok(code int) bool {
	if len(t.accepts) == 0 {
		return code < 500
	}
	return slices.Contains(t.accepts, code)
}

// registerProbes exports <prefix>health_checks_total{service,result} for
// every service with a health check client, and makes
// <prefix>health_check_duration_seconds{service} (none when
// Config.ProbeBuckets is nil).
func (s *Stack) registerProbes(meter metric.Meter, prefix names.Prefix) error {
	checks, err := meter.Int64ObservableCounter(prefix.Name(healthChecksTotal),
		metric.WithDescription("Health check requests, per service and result: success or failure (an unaccepted status, a 5xx by default, a transport error or a timeout)."))
	if err != nil {
		return fmt.Errorf("otelmon: health check instruments: %w", err)
	}
	if s.cfg.ProbeBuckets != nil {
		if s.probeTime, err = meter.Float64Histogram(prefix.Name(healthCheckDuration),
			metric.WithDescription("Duration of health check requests until response headers arrive, per service."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(s.cfg.ProbeBuckets...)); err != nil {
			return fmt.Errorf("otelmon: health check instruments: %w", err)
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s.services.Each(func(se *Series) {
			p := &se.probes
			if !p.active.Load() {
				return
			}
			o.ObserveInt64(checks, int64(p.failed.Load()), p.obs[0]...)
			o.ObserveInt64(checks, int64(p.succeed.Load()), p.obs[1]...)
		})
		return nil
	}, checks)
	if err != nil {
		return fmt.Errorf("otelmon: register health check callback: %w", err)
	}
	s.regs = append(s.regs, reg)
	return nil
}

// probeSpans returns base with a client span per health check request,
// named "health <service>", when Config.ProbeSpans asks for them; base
// itself otherwise. The probes' metrics are otelmon's own: otelhttp
// records none for them.
func (s *Stack) probeSpans(service string, base http.RoundTripper) http.RoundTripper {
	if !s.cfg.ProbeSpans || s.cfg.TracerProvider == nil {
		return base
	}
	name := "health " + service
	return otelhttp.NewTransport(base,
		otelhttp.WithTracerProvider(s.cfg.TracerProvider),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(string, *http.Request) string { return name }),
		otelhttp.WithSpanOptions(trace.WithAttributes(attribute.String(AttrService, service))))
}
