package otelmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
)

// healthChecks is the Monitor's part that checks its services: the
// checker, the URLs of the default targets, and the probe clients it gives
// the checker.
type healthChecks struct {
	checker        *healthcheck.Checker
	urls           map[string]string // WithHealthCheckURLs
	defaultTimeout time.Duration     // healthcheck.Config.RequestTimeout
	clients        *clientstack.Stack

	// adding serializes add; accepts is the ExpectedStatus of the target
	// being added, for client.
	adding  sync.Mutex
	accepts []int
}

// newHealthChecks builds the checker for cfg, whose probes go through
// clients' probe transports and whose transitions go to onChange.
func newHealthChecks(cfg healthcheck.Config, urls map[string]string, clients *clientstack.Stack, clk clock.Clock, logger *slog.Logger, onChange func(healthcheck.Transition)) (*healthChecks, error) {
	h := &healthChecks{urls: urls, defaultTimeout: cfg.RequestTimeout, clients: clients}
	var err error
	h.checker, err = healthcheck.New(cfg,
		healthcheck.WithClock(clk),
		healthcheck.WithLogger(logger),
		healthcheck.WithClientFor(h.client),
		healthcheck.WithListener(onChange))
	return h, err
}

// add registers t with the checker.
func (h *healthChecks) add(t healthcheck.Target) error {
	// The checker's Add calls client, on this goroutine, for t's client:
	// adding holds t's statuses for it meanwhile.
	h.adding.Lock()
	defer h.adding.Unlock()
	h.accepts = t.ExpectedStatus
	defer func() { h.accepts = nil }()
	return h.checker.Add(t)
}

// client returns the client of service's health checks; the checker asks
// for it while add adds the target (see healthcheck.WithClientFor).
func (h *healthChecks) client(service string) *http.Client {
	return &http.Client{Transport: h.clients.ProbeTransport(service, nil, h.accepts)}
}

// timeout returns the request timeout of service's health check, or the
// configured default.
func (h *healthChecks) timeout(service string) time.Duration {
	for _, t := range h.checker.Targets() {
		if t.Name == service && t.Timeout > 0 {
			return t.Timeout
		}
	}
	return h.defaultTimeout
}

// longestTimeout returns the longest timeout of the registered health
// checks, or the configured default when none is registered.
func (h *healthChecks) longestTimeout() time.Duration {
	d := h.defaultTimeout
	for _, t := range h.checker.Targets() {
		d = max(d, t.Timeout)
	}
	return d
}

// SetupDefaultHealthCheckers registers the health checks of IMDb, TMDb,
// Trakt and Plex (healthcheck.DefaultTargets), with the URLs given by
// WithHealthCheckURLs overriding the defaults. Plex has no default URL: it
// is skipped, with a logged reason, unless one is given. Checks run once
// Start is called. It fails for invalid URLs or a name already registered.
func (m *Monitor) SetupDefaultHealthCheckers(_ context.Context) error {
	var errs []error
	for _, t := range healthcheck.DefaultTargets(m.health.urls) {
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
	return m.life.err(m.health.add(t))
}

// CheckHealthNow checks one service at once and returns the result; the
// error wraps healthcheck.ErrUnknownTarget for a service without a check,
// and ErrShutdown after Shutdown.
func (m *Monitor) CheckHealthNow(ctx context.Context, service string) (healthcheck.Result, error) {
	res, err := m.health.checker.CheckNow(ctx, service)
	return res, m.life.err(err)
}

// HealthSummary returns the health of every checked service.
func (m *Monitor) HealthSummary() healthcheck.Summary { return m.health.checker.Summary() }

// registerServiceUp exports <prefix>service_up{service} for every
// registered target: 0 when the service is down, 1 when it is up or not yet
// known. "Unknown" exports 1 so that a freshly started process raises no
// service-down alert before the failure threshold has been reached; the
// health API tells unknown apart.
func registerServiceUp(meter metric.Meter, prefix names.Prefix, hc *healthcheck.Checker, services *clientstack.Stack) (metric.Registration, error) {
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
			o.ObserveInt64(up, v, services.ObserveOptions(name)...)
		})
		return nil
	}, up)
	if err != nil {
		return nil, fmt.Errorf("otelmon: register service_up callback: %w", err)
	}
	return reg, nil
}
