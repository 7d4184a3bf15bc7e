package otelmon

import (
	"log/slog"

	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/internal/clock"
)

// Option configures a Monitor.
type Option interface {
	apply(*options)
}

type options struct {
	meterProvider  metric.MeterProvider
	prometheus     *exporters.Prometheus
	logger         *slog.Logger
	clock          clock.Clock
	serviceName    string
	serviceVersion string
}

type optionFunc func(*options)

func (f optionFunc) apply(o *options) { f(o) }

func newOptions(opts []Option) options {
	o := options{
		logger:      slog.New(slog.DiscardHandler),
		clock:       clock.Real{},
		serviceName: "otelmon",
	}
	for _, opt := range opts {
		opt.apply(&o)
	}
	return o
}

// WithMeterProvider records every instrument on mp, a provider the host owns.
// The Monitor then builds no provider and no exporter of its own, and its
// Shutdown leaves mp running. A host that wants the exact metric names and
// buckets adds Views(cfg) to its provider. Default: the Monitor builds a
// provider with the exporter selected by OTEL_METRICS_EXPORTER.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o *options) { o.meterProvider = mp })
}

// WithPrometheus tells a Monitor that records on a host's provider (see
// WithMeterProvider) which Prometheus exporter that provider reads through,
// so PrometheusMetrics and /metrics can serve it. Default: none.
func WithPrometheus(p *exporters.Prometheus) Option {
	return optionFunc(func(o *options) { o.prometheus = p })
}

// WithLogger sets the logger. Default: discard everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o *options) {
		if l != nil {
			o.logger = l
		}
	})
}

// WithServiceName sets service.name and service.version on the resource of
// a provider the Monitor builds. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override them. Default: "otelmon", no version.
func WithServiceName(name, version string) Option {
	return optionFunc(func(o *options) { o.serviceName, o.serviceVersion = name, version })
}

// withClock replaces the wall clock, for tests.
func withClock(c clock.Clock) Option {
	return optionFunc(func(o *options) { o.clock = c })
}
