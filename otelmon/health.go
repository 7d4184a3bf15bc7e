package otelmon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/names"
)

// SetupDefaultHealthCheckers registers the health checks of IMDb, TMDb,
// Trakt and Plex (healthcheck.DefaultTargets), with the URLs given by
// WithHealthCheckURLs overriding the defaults. Plex has no default URL: it
// is skipped, with a logged reason, unless one is given. Checks run once
// Start is called. It fails for invalid URLs or a name already registered.
func (m *Monitor) SetupDefaultHealthCheckers(_ context.Context) error {
	var errs []error
	for _, t := range healthcheck.DefaultTargets(m.healthURLs) {
		if err := m.AddHealthCheck(t); err != nil && !errors.Is(err, healthcheck.ErrNoURL) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// AddHealthCheck registers one health check target. Its requests take a
// slot of the service's pace but never go through its circuit breaker (a
// check must reach the service to see it recover), and they are health
// checks, not API usage: counted in health_checks_total{service,result}
// and timed in health_check_duration_seconds{service}, never in the API
// metrics (see WithoutCircuitBreaker). After Shutdown it returns an error
// wrapping ErrShutdown.
func (m *Monitor) AddHealthCheck(t healthcheck.Target) error {
	// The checker's Add calls probeClient, on this goroutine, for t's
	// client: adding holds t's statuses for it meanwhile.
	m.adding.Lock()
	defer m.adding.Unlock()
	m.addingAccepts = t.ExpectedStatus
	defer func() { m.addingAccepts = nil }()
	return m.shutdownErr(m.health.Add(t))
}

// probeClient returns the client of service's health checks; the checker
// asks for it while AddHealthCheck adds the target (see WithClientFor).
func (m *Monitor) probeClient(service string) *http.Client {
	return &http.Client{Transport: m.Transport(service, nil, WithoutCircuitBreaker(), withAccepts(m.addingAccepts))}
}

// CheckHealthNow checks one service at once and returns the result; the
// error wraps healthcheck.ErrUnknownTarget for a service without a check,
// and ErrShutdown after Shutdown.
func (m *Monitor) CheckHealthNow(ctx context.Context, service string) (healthcheck.Result, error) {
	res, err := m.health.CheckNow(ctx, service)
	return res, m.shutdownErr(err)
}

// HealthSummary returns the health of every checked service.
func (m *Monitor) HealthSummary() healthcheck.Summary { return m.health.Summary() }

// onHealthChange follows every health transition: it tells the history
// (whose health strip keeps the worst state of each bucket) and asks for
// an alert evaluation when a service goes down. (The checker logs the
// transitions itself.) The history sees what service_up exports: up for
// any status but Down.
func (m *Monitor) onHealthChange(tr healthcheck.Transition) {
	m.hist.NoteHealth(m.api.services.get(tr.Target).name, tr.To != healthcheck.Down, m.clock.Now())
	if tr.To == healthcheck.Down {
		m.requestEvaluation()
	}
}

// Health check metric names, and the result attribute of
// health_checks_total with its two values.
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

// withAccepts sets the statuses a probe counts as a success; nil means
// any status below 500, as for a healthcheck.Target without
// ExpectedStatus.
func withAccepts(codes []int) TransportOption {
	return transportOptionFunc(func(o transportOptions) transportOptions {
		o.accepts = slices.Clone(codes)
		return o
	})
}

// probeTransport counts and times a service's health check requests, with
// the same rule as the checker: an answer the target accepts is a success;
// any other answer, a transport error or a timeout is a failure. A request
// its caller canceled is not counted, as the checker does not count it.
type probeTransport struct {
	m       *Monitor
	series  *probeSeries
	accepts []int
	next    http.RoundTripper
}

func (m *Monitor) probeTransport(s *serviceSeries, base http.RoundTripper, accepts []int) http.RoundTripper {
	s.probes.active.Store(true)
	return &probeTransport{m: m, series: &s.probes, accepts: accepts, next: base}
}

func (t *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	clk := t.m.clock
	start := clk.Now()
	resp, err := t.next.RoundTrip(req)
	if err != nil && errors.Is(req.Context().Err(), context.Canceled) {
		return resp, err
	}
	if t.m.probeDuration != nil {
		t.m.probeDuration.Record(req.Context(), clk.Now().Sub(start).Seconds(), t.series.record...)
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

// registerProbeMetrics exports <prefix>health_checks_total{service,result}
// for every service with a health check client, and returns
// <prefix>health_check_duration_seconds{service} (nil when timing
// histograms are off).
func registerProbeMetrics(meter metric.Meter, prefix names.Prefix, cfg MetricsConfig, services *labelTable[serviceSeries]) (metric.Float64Histogram, metric.Registration, error) {
	checks, err := meter.Int64ObservableCounter(prefix.Name(healthChecksTotal),
		metric.WithDescription("Health check requests, per service and result: success or failure (an unaccepted status, a 5xx by default, a transport error or a timeout)."))
	if err != nil {
		return nil, nil, fmt.Errorf("otelmon: health check instruments: %w", err)
	}
	var duration metric.Float64Histogram
	if !cfg.DisableTimingHistograms {
		if duration, err = meter.Float64Histogram(prefix.Name(healthCheckDuration),
			metric.WithDescription("Duration of health check requests until response headers arrive, per service."),
			metric.WithUnit("s"),
			metric.WithExplicitBucketBoundaries(APIDurationBuckets()...)); err != nil {
			return nil, nil, fmt.Errorf("otelmon: health check instruments: %w", err)
		}
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		services.each(func(s *serviceSeries) {
			p := &s.probes
			if !p.active.Load() {
				return
			}
			o.ObserveInt64(checks, int64(p.failed.Load()), p.obs[0]...)
			o.ObserveInt64(checks, int64(p.succeed.Load()), p.obs[1]...)
		})
		return nil
	}, checks)
	if err != nil {
		return nil, nil, fmt.Errorf("otelmon: register health check callback: %w", err)
	}
	return duration, reg, nil
}

// registerServiceUp exports <prefix>service_up{service} for every
// registered target: 0 when the service is down, 1 when it is up or not yet
// known. "Unknown" exports 1 so that a freshly started process raises no
// service-down alert before the failure threshold has been reached; the
// health API tells unknown apart.
func registerServiceUp(meter metric.Meter, prefix names.Prefix, hc *healthcheck.Checker, services *labelTable[serviceSeries]) (metric.Registration, error) {
	up, err := meter.Int64ObservableGauge(prefix.Name(names.ServiceUp),
		metric.WithDescription("Whether the service passes its health checks: 1 up (or not yet known), 0 down."))
	if err != nil {
		return nil, fmt.Errorf("otelmon: service_up instrument: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		hc.Statuses(func(name string, s healthcheck.Status) {
			v := int64(1)
			if s == healthcheck.Down {
				v = 0
			}
			o.ObserveInt64(up, v, services.get(name).obs...)
		})
		return nil
	}, up)
	if err != nil {
		return nil, fmt.Errorf("otelmon: register service_up callback: %w", err)
	}
	return reg, nil
}
