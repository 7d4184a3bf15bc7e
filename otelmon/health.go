package otelmon

import (
	"context"
	"errors"
	"fmt"

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

// AddHealthCheck registers one health check target. Its requests go through
// the service's instrumented transport (timed and counted) but never through
// its circuit breaker: a check must reach the service to see it recover.
// After Shutdown it returns an error wrapping ErrShutdown.
func (m *Monitor) AddHealthCheck(t healthcheck.Target) error {
	return m.shutdownErr(m.health.Add(t))
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

// onHealthChange asks for an alert evaluation when a service goes down.
// (The checker logs the transitions itself.)
func (m *Monitor) onHealthChange(tr healthcheck.Transition) {
	if tr.To == healthcheck.Down {
		m.requestEvaluation()
	}
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
