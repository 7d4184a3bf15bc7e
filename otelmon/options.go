package otelmon

import (
	"errors"
	"log/slog"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/internal/clock"
)

// Option configures a Monitor; pass options to New. Options are sealed:
// only this package defines them. A nil Option is ignored.
type Option interface {
	apply(options) options
}

// options is what the Options set. (Config is the user-facing
// configuration; options holds what New takes besides it.)
type options struct {
	meterProvider  metric.MeterProvider
	prometheus     *exporters.Prometheus
	logger         *slog.Logger
	pushExporters  exporters.PushFunc
	clock          clock.Clock
	serviceName    string
	serviceVersion string
	apiKey         string
	protectMetrics bool
	breakerOptions []breaker.Option
	healthURLs     map[string]string
	alertEngine    *alerting.Engine
	embedding      *Embedding
	notifiers      []alerting.Notifier
	alertStatePath string
	alertDelivery  alerting.DeliveryConfig

	tracerProvider   trace.TracerProvider
	spanExporters    exporters.SpanExporterFunc
	healthSpans      bool
	traceURLTemplate string
}

type optionFunc func(options) options

func (f optionFunc) apply(o options) options { return f(o) }

func newOptions(opts []Option) options {
	o := options{
		logger:      slog.Default(),
		clock:       clock.Real{},
		serviceName: exporters.DefaultServiceName,
	}
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	return o
}

// validate reports options New cannot use, as *ConfigError. Breaker
// options are checked here rather than by the registry, which would report
// them only when a breaker is first needed, and requests would then run
// unguarded.
func (o options) validate() error {
	var errs []error
	if len(o.breakerOptions) > 0 {
		if _, err := breaker.New("otelmon", breaker.Config{}, o.breakerOptions...); err != nil {
			errs = append(errs, &ConfigError{Field: "WithBreakerOptions", Err: err})
		}
	}
	if err := validTraceURLTemplate(o.traceURLTemplate); err != nil {
		errs = append(errs, err)
	}
	switch {
	case o.embedding != nil && o.meterProvider == nil:
		errs = append(errs, &ConfigError{Field: "WithEmbedding", Reason: "needs WithMeterProvider with the provider built with the Embedding's ProviderOptions"})
	case o.embedding != nil && o.alertEngine != nil:
		errs = append(errs, &ConfigError{Field: "WithAlertEngine", Reason: "cannot be combined with WithEmbedding, which builds the alert engine"})
	case o.meterProvider != nil && o.embedding == nil && o.alertEngine == nil:
		errs = append(errs, &ConfigError{Field: "WithMeterProvider", Reason: "the alert engine cannot read a host's provider without otelmon's reader: " +
			"build the provider with NewEmbedding().ProviderOptions() and pass WithEmbedding too"})
	}
	return errors.Join(errs...)
}

// WithMeterProvider records every instrument on mp, a provider the host owns.
// The Monitor then builds no provider and no exporter of its own, and its
// Shutdown leaves mp running. mp must be built with the ProviderOptions of
// an Embedding passed with WithEmbedding, so that the alert engine can read
// it and otelmon's metrics keep their names: New fails with a *ConfigError
// that says what to add otherwise. Default: the Monitor builds a provider
// with the exporter selected by OTEL_METRICS_EXPORTER.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(o options) options {
		o.meterProvider = mp
		return o
	})
}

// WithPushExporters lets OTEL_METRICS_EXPORTER select a push exporter
// ("otlp", "console" or "none") for the provider the Monitor builds: pass
// exporters/push.Reader. Without it the Monitor links and serves Prometheus
// only, and those values make New fail with an error wrapping
// exporters.ErrPushNotLinked. It has no effect with WithMeterProvider.
// Default: nil.
func WithPushExporters(f exporters.PushFunc) Option {
	return optionFunc(func(o options) options {
		o.pushExporters = f
		return o
	})
}

// WithPrometheus tells a Monitor that records on a host's provider (see
// WithMeterProvider) which Prometheus exporter that provider reads through,
// so PrometheusMetrics and /metrics can serve it. Default: none.
func WithPrometheus(p *exporters.Prometheus) Option {
	return optionFunc(func(o options) options {
		o.prometheus = p
		return o
	})
}

// WithLogger sets the logger for breaker transitions, health changes,
// skipped health targets, alert evaluation and delivery problems. Default:
// slog.Default() as it is when New runs, so the host's logging setup decides
// where records go. A nil logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o options) options {
		if l != nil {
			o.logger = l
		}
		return o
	})
}

// WithServiceName sets service.name and service.version on the resource of
// a provider the Monitor builds. OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override them. Default:
// exporters.DefaultServiceName ("otelmon"), no version. Give
// alertmanager.WithServiceName the same name, so that the notifier's job
// label is the metrics'.
func WithServiceName(name, version string) Option {
	return optionFunc(func(o options) options {
		o.serviceName, o.serviceVersion = name, version
		return o
	})
}

// withClock replaces the wall clock, for tests.
func withClock(c clock.Clock) Option {
	return optionFunc(func(o options) options {
		o.clock = c
		return o
	})
}

// WithAPIKey sets the key that the /api/v3 endpoints require, in the
// X-Api-Key header (GET and HEAD also take the apikey query parameter).
// Default: New generates a random key, which APIKey returns; New logs that
// it did, never the key itself.
func WithAPIKey(key string) Option {
	return optionFunc(func(o options) options {
		o.apiKey = key
		return o
	})
}

// WithProtectedMetrics makes /metrics require the API key as well. Default:
// /metrics is open, as Prometheus scrapes usually are.
func WithProtectedMetrics() Option {
	return optionFunc(func(o options) options {
		o.protectMetrics = true
		return o
	})
}

// WithBreakerOptions passes options to every circuit breaker the Monitor
// creates, e.g. breaker.WithOpenTimeoutOverride for quick demos or
// breaker.WithStateListener to follow transitions. The Monitor's own
// listener (logging, metrics, alert evaluation) always runs. Default: none.
func WithBreakerOptions(opts ...breaker.Option) Option {
	return optionFunc(func(o options) options {
		o.breakerOptions = append(o.breakerOptions, opts...)
		return o
	})
}

// WithHealthCheckURLs sets the URLs SetupDefaultHealthCheckers checks, by
// service ("imdb", "tmdb", "trakt", "plex"; other names add targets). An
// empty URL disables a service's check. Default: the public endpoints of
// IMDb, TMDb and Trakt; none for Plex, a local server.
func WithHealthCheckURLs(urls map[string]string) Option {
	return optionFunc(func(o options) options {
		o.healthURLs = urls
		return o
	})
}

// WithNotifiers adds notifiers that receive every alert (webhook, Discord,
// Slack, Alertmanager, or your own alerting.Notifier). Delivery is
// asynchronous and retried; a slow notifier never delays evaluation.
// Default: none.
func WithNotifiers(n ...alerting.Notifier) Option {
	return optionFunc(func(o options) options {
		o.notifiers = append(o.notifiers, n...)
		return o
	})
}

// WithAlertStatePath keeps alert state (acknowledgements, what was
// notified) in the file at path, so that a restart loses no acknowledgement
// and sends no notification twice. Default: in memory only.
func WithAlertStatePath(path string) Option {
	return optionFunc(func(o options) options {
		o.alertStatePath = path
		return o
	})
}

// WithEmbedding tells a Monitor on a host's provider (WithMeterProvider)
// which Embedding that provider was built with. The Monitor builds its
// alert engine on the Embedding's reader, binds the Embedding's Views to
// its Config, and checks that the provider has both. Default: none.
func WithEmbedding(e *Embedding) Option {
	return optionFunc(func(o options) options {
		o.embedding = e
		return o
	})
}

// WithAlertEngine makes the Monitor use an alert engine the host built,
// for a host that passes its own MeterProvider: the host builds the engine
// first (see NewAlertEngine), registers eng.Reader() on its provider, then
// passes both; New fails when the reader is not registered. The Monitor
// adds its default rules and notifiers to it and starts and stops it.
// Default: the Monitor builds its own engine.
//
// Deprecated: use NewEmbedding and WithEmbedding, which take the Config
// once (New's) and add the Views with the reader.
func WithAlertEngine(eng *alerting.Engine) Option {
	return optionFunc(func(o options) options {
		o.alertEngine = eng
		return o
	})
}

// WithAlertDelivery sets the notification queues, timeouts and retries of
// the alert engine the Monitor builds (see alerting.DeliveryConfig; zero
// fields keep their defaults). Default: alerting's defaults.
func WithAlertDelivery(d alerting.DeliveryConfig) Option {
	return optionFunc(func(o options) options {
		o.alertDelivery = d
		return o
	})
}

// WithTracerProvider makes the Monitor trace on tp, a provider the host
// owns (its Shutdown leaves tp running): a span per monitored sync job
// ("sync <source>"), a client span per request of its HTTP clients, under
// APIClientScope, and span events for breaker rejections, pacer waits and
// retries. Secrets never reach a span: query values, user information,
// credentials in headers and text are masked. The Monitor never sets the
// global provider. Default: the Monitor builds a provider from the
// environment when OTEL_TRACES_EXPORTER is set (see WithSpanExporters),
// and traces nothing otherwise.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(o options) options {
		o.tracerProvider = tp
		return o
	})
}

// WithSpanExporters lets OTEL_TRACES_EXPORTER ("otlp", "console") select
// the span exporter of a tracer provider the Monitor builds, when no
// WithTracerProvider is given: pass exporters/push.SpanExporter. The
// provider has the Monitor's resource (see WithServiceName) and batches
// its spans; Shutdown flushes them. Without it, OTEL_TRACES_EXPORTER is
// ignored, with a warning, and nothing is traced. Default: nil.
func WithSpanExporters(f exporters.SpanExporterFunc) Option {
	return optionFunc(func(o options) options {
		o.spanExporters = f
		return o
	})
}

// WithHealthCheckSpans makes each health check request a root span named
// "health <service>", when the Monitor traces. Default: health checks make
// no spans, so that a schedule of probes does not fill a trace backend.
func WithHealthCheckSpans() Option {
	return optionFunc(func(o options) options {
		o.healthSpans = true
		return o
	})
}

// WithTraceURLTemplate sets the link of a trace in the status page and in
// Status.TraceURLTemplate: a URL with {traceId} where the trace's 32 hex
// digits go, e.g. "http://tempo:3200/trace/{traceId}" or
// "http://jaeger:16686/trace/{traceId}". A template without {traceId},
// or not an absolute http(s) URL, makes New fail. Default: none; trace
// ids are shown without links.
func WithTraceURLTemplate(tmpl string) Option {
	return optionFunc(func(o options) options {
		o.traceURLTemplate = tmpl
		return o
	})
}
