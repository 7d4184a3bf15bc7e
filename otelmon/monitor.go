package otelmon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/exporters"
	"github.com/listsync/otelmon/healthcheck"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/version"
	"github.com/listsync/otelmon/otelmon/internal/history"
	"github.com/listsync/otelmon/otelmon/internal/httpapi"
)

// Version is the otelmon release: the newest entry of CHANGELOG.md, and the
// version every instrumentation scope otelmon creates reports (the
// Monitor's, the alert engine's and the API clients', whose instruments and
// spans otelhttp makes under APIClientScope).
const Version = version.Release

// ScopeName is the instrumentation scope of the Monitor's instruments.
const ScopeName = "github.com/listsync/otelmon"

// ErrNoPrometheus is returned by PrometheusMetrics when metrics are not
// exported through Prometheus (OTEL_METRICS_EXPORTER selects OTLP, say).
var ErrNoPrometheus = errors.New("otelmon: the Prometheus exporter is not active")

// ErrShutdown is returned (or wrapped) by Start, AddHealthCheck,
// SetupDefaultHealthCheckers and CheckHealthNow after Shutdown.
var ErrShutdown = errors.New("otelmon: monitor is shut down")

// Monitor records a list-sync service's operations and watches the external
// services it depends on. Create it with New; it is safe for concurrent use.
type Monitor struct {
	cfg    Config
	prefix names.Prefix
	logger *slog.Logger
	clock  clock.Clock

	mp         metric.MeterProvider
	ownedMP    *sdkmetric.MeterProvider // nil when the host owns mp
	prometheus *exporters.Prometheus    // nil when not exporting to Prometheus

	sync *syncMetrics
	api  *apiMetrics

	breakers     *breaker.Registry
	unguarded    unguardedSet // services that got no breaker
	retryWindows retryWindows // Retry-After seen inside monitored sync jobs

	health        *healthcheck.Checker
	healthURLs    map[string]string
	probeDuration metric.Float64Histogram // nil when timing histograms are off

	// adding serializes AddHealthCheck; addingAccepts is the
	// ExpectedStatus of the target being added, for probeClient.
	adding        sync.Mutex
	addingAccepts []int

	alerts *alerting.Engine // never nil
	hist   *history.History // reads the alert engine's reader

	tracing          tracing
	ownedTP          *sdktrace.TracerProvider // nil unless the Monitor built its tracer provider
	traceURLTemplate string

	regs []metric.Registration // observable callbacks, removed by Shutdown

	apiKey         string // never logged except once when generated
	protectMetrics bool

	mu       sync.Mutex // guards started and stopped; stopped is set once Shutdown begins
	started  bool
	stopped  bool
	stopOnce sync.Once
	stopErr  error
	startAt  time.Time
}

// New returns a Monitor for cfg; zero fields of cfg take their defaults
// (see Config). It validates cfg, builds the metric pipeline and
// instruments, and starts nothing: call Start for background work. Bad
// configuration gives an error wrapping ErrInvalidConfig: one *ConfigError
// per problem, joined.
func New(cfg Config, opts ...Option) (*Monitor, error) {
	cfg, err := cfg.withDefaults()
	o := newOptions(opts)
	if optErr := o.validate(); optErr != nil {
		err = errors.Join(err, optErr)
	}
	if err != nil {
		return nil, err
	}
	m := &Monitor{
		cfg:        cfg,
		prefix:     names.New(cfg.Metrics.Namespace, cfg.Metrics.Subsystem),
		logger:     slog.New(NewTraceLogHandler(o.logger.Handler())),
		clock:      o.clock,
		mp:         o.meterProvider,
		prometheus: o.prometheus,
		startAt:    o.clock.Now(),
		unguarded:  unguardedSet{limit: cfg.Metrics.CardinalityLimit},

		healthURLs:     o.healthURLs,
		alerts:         o.alertEngine,
		apiKey:         o.apiKey,
		protectMetrics: o.protectMetrics,

		traceURLTemplate: o.traceURLTemplate,
	}
	if m.apiKey == "" {
		if m.apiKey, err = generateAPIKey(o); err != nil {
			return nil, err
		}
	}
	if o.embedding != nil {
		if err := o.embedding.take(cfg); err != nil {
			return nil, err
		}
	}
	// An engine New built owns its state file until Shutdown: a failing New
	// shuts it down, so that a retry can take the file again.
	var ownEngine *alerting.Engine
	fail := func(err error) (*Monitor, error) {
		if ownEngine != nil {
			err = errors.Join(err, ownEngine.Shutdown(context.Background()))
		}
		if o.embedding != nil {
			o.embedding.release()
		}
		return nil, errors.Join(err, m.shutdownTracer(context.Background()))
	}
	if err := m.buildTracing(o); err != nil {
		return fail(err)
	}
	if m.alerts == nil {
		engOpts := []alerting.Option{alerting.WithClock(m.clock), alerting.WithLogger(m.logger)}
		if o.embedding != nil {
			engOpts = append(engOpts, alerting.WithReader(o.embedding.reader))
		}
		if m.alerts, err = newAlertEngine(cfg, o.alertStatePath, o.alertDelivery, engOpts...); err != nil {
			return fail(err)
		}
		ownEngine = m.alerts
	}
	if m.mp == nil {
		if err := m.buildProvider(o); err != nil {
			return fail(err)
		}
	}
	err = m.build(o)
	if err == nil {
		err = m.hostProviderError(o.embedding)
	}
	if err != nil {
		return fail(errors.Join(err, m.unregister(), m.shutdownProvider(context.Background())))
	}
	return m, nil
}

// build creates the Monitor's components and instruments. On error, the
// registrations made so far are in m.regs for unregister.
func (m *Monitor) build(o options) error {
	meter := m.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	// The history reads through the engine's reader: cumulative, so
	// reading it disturbs nothing, and one reader fewer to aggregate every
	// measurement into. It exists before the breakers and health checks
	// whose transitions it is told of.
	m.hist = history.New(m.alerts.Reader(), m.clock, m.prefix)
	var err error
	if m.sync, err = newSyncMetrics(meter, m.prefix, m.cfg.Metrics, m.clock, m.tracing.provider != nil); err != nil {
		return err
	}
	m.regs = append(m.regs, m.sync.reg)
	if m.api, err = newAPIMetrics(meter, m.mp, m.prefix, m.cfg.Metrics, m.cfg.MaxCircuitBreakers); err != nil {
		return err
	}
	m.regs = append(m.regs, m.api.reg)
	m.api.otelhttp = append(m.api.otelhttp, otelhttp.WithTracerProvider(m.tracing.client))

	bopts := append([]breaker.Option{
		breaker.WithClock(m.clock),
		breaker.WithStateListener(m.onBreakerChange),
	}, o.breakerOptions...)
	m.breakers = breaker.NewRegistry(breaker.RegistryConfig{
		ConfigFor:   func(s string) breaker.Config { return DefaultBreakerConfigFor(s).Merge(m.cfg.CircuitBreakers[s]) },
		MaxBreakers: m.cfg.MaxCircuitBreakers,
	}, bopts...)
	reg, err := registerBreakerMetrics(meter, m.prefix, m.breakers, m.api.services)
	if err != nil {
		return err
	}
	m.regs = append(m.regs, reg)

	m.health, err = healthcheck.New(m.cfg.HealthChecks,
		healthcheck.WithClock(m.clock),
		healthcheck.WithLogger(m.logger),
		healthcheck.WithClientFor(m.probeClient),
		healthcheck.WithListener(m.onHealthChange))
	if err != nil {
		return err
	}
	if reg, err = registerServiceUp(meter, m.prefix, m.health, m.api.services); err != nil {
		return err
	}
	m.regs = append(m.regs, reg)
	if m.probeDuration, reg, err = registerProbeMetrics(meter, m.prefix, m.cfg.Metrics, m.api.services); err != nil {
		return err
	}
	m.regs = append(m.regs, reg)
	return m.setupAlerts(o)
}

// unregister removes the Monitor's callbacks from the provider.
func (m *Monitor) unregister() error {
	var errs []error
	for _, r := range m.regs {
		errs = append(errs, r.Unregister())
	}
	m.regs = nil
	return errors.Join(errs...)
}

func (m *Monitor) buildProvider(o options) error {
	ctx := context.Background()
	exp, err := exporters.New(ctx, o.pushExporters)
	if err != nil {
		return err
	}
	res, err := exporters.Resource(ctx, o.serviceName, o.serviceVersion)
	if err != nil {
		return errors.Join(err, exp.Reader.Shutdown(ctx))
	}
	popts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(exp.Reader), sdkmetric.WithReader(m.alerts.Reader())}
	for _, v := range Views(m.cfg) {
		popts = append(popts, sdkmetric.WithView(v))
	}
	m.ownedMP = sdkmetric.NewMeterProvider(popts...)
	m.mp = m.ownedMP
	m.prometheus = exp.Prometheus
	return nil
}

// onBreakerChange follows every breaker's transitions: it logs them, tells
// the history (whose breaker strip keeps the worst state of each bucket)
// and asks for an alert evaluation when a breaker opens.
func (m *Monitor) onBreakerChange(ev breaker.StateChange) {
	m.logger.Info("otelmon: circuit breaker changed state", "service", ev.Name, "from", ev.From.String(), "to", ev.To.String(),
		"consecutiveFailures", ev.Counts.ConsecutiveFailures)
	m.hist.NoteBreaker(m.api.services.get(ev.Name).name, ev.To, m.clock.Now())
	if ev.To == breaker.Open {
		m.requestEvaluation()
	}
}

// APIKey returns the key the /api/v3 endpoints require.
func (m *Monitor) APIKey() string { return m.apiKey }

// Config returns the effective configuration, defaults filled in.
func (m *Monitor) Config() Config {
	c := m.cfg
	c.CircuitBreakers, c.RateLimits = maps.Clone(c.CircuitBreakers), maps.Clone(c.RateLimits)
	return c
}

// MeterProvider returns the provider the Monitor records on.
func (m *Monitor) MeterProvider() metric.MeterProvider { return m.mp }

// RecordSyncOperation records one sync of source: whether it succeeded, how
// long it took, and how many items it added, updated and found in total. A
// failure increments the source's consecutive failures; a success resets
// them and sets its last-success time. It allocates nothing for a source
// seen before, and a success that follows a success takes no lock.
//
// ctx's span, if sampled, becomes the exemplar of the duration and, for a
// failure, of the consecutive-failures gauge: alerts on them name its
// trace (see alerting.Alert.TraceIDs).
func (m *Monitor) RecordSyncOperation(ctx context.Context, source string, success bool, d time.Duration, added, updated, total uint64) {
	m.sync.recordSync(ctx, source, success, d, added, updated, total)
}

// RecordCacheHit counts a cache lookup of cacheType that hit.
func (m *Monitor) RecordCacheHit(_ context.Context, cacheType string) {
	m.sync.recordCache(cacheType, true)
}

// RecordCacheMiss counts a cache lookup of cacheType that missed.
func (m *Monitor) RecordCacheMiss(_ context.Context, cacheType string) {
	m.sync.recordCache(cacheType, false)
}

// PrometheusMetrics returns the current Prometheus text exposition, or
// ErrNoPrometheus when metrics go elsewhere.
func (m *Monitor) PrometheusMetrics(ctx context.Context) (string, error) {
	if m.prometheus == nil {
		return "", ErrNoPrometheus
	}
	return m.prometheus.Text(ctx)
}

// MetricsHandler returns the handler of the Prometheus exposition, for a
// host that mounts /metrics alone (Handler serves it too). It is never nil:
// when metrics are not exported through Prometheus (OTEL_METRICS_EXPORTER
// selects OTLP, say, or a host's provider was given without WithPrometheus)
// it answers 404 with a JSON error, as PrometheusMetrics returns
// ErrNoPrometheus. It does not require the API key; wrap it to protect it.
func (m *Monitor) MetricsHandler() http.Handler {
	if m.prometheus == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			httpapi.Error(w, http.StatusNotFound, CodeNotFound, "metrics are not exported through Prometheus here")
		})
	}
	return m.prometheus.Handler()
}

// Start begins the Monitor's background work (the reference service's
// start_monitoring): it starts the health checker (scheduled checks of the
// registered targets), the alert engine (periodic evaluation, plus the
// evaluations requested when a breaker opens or a service goes down) and
// the history's sampler (a collection at the end of every minute, see
// GET /api/v3/monitoring/history). ctx is used for starting only:
// Shutdown stops what Start starts. It is safe to call more than once; it returns
// ErrShutdown after Shutdown.
func (m *Monitor) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return ErrShutdown
	}
	if m.started {
		return nil
	}
	if err := m.health.Start(ctx); err != nil {
		return err
	}
	if err := m.alerts.Start(ctx); err != nil {
		return errors.Join(err, m.health.Shutdown(ctx))
	}
	m.hist.Start()
	m.started = true
	return nil
}

// Shutdown stops background work, unregisters the Monitor's instruments
// from the provider, and, when the Monitor built the provider, flushes and
// shuts down its exporter; a tracer provider the Monitor built (see
// WithSpanExporters) is flushed and shut down last. It returns once every
// goroutine the Monitor started has exited. It is safe before Start and more than once; later
// calls return the first call's result.
func (m *Monitor) Shutdown(ctx context.Context) error {
	m.stopOnce.Do(func() {
		m.mu.Lock()
		m.stopped = true
		m.mu.Unlock()
		// Health checks first: stopping them is quick, while the engine may
		// spend ctx's time delivering what is queued.
		healthErr := m.health.Shutdown(ctx)
		m.hist.Shutdown()
		// Before the provider: the engine's reader belongs to it.
		alertErr := m.alerts.Shutdown(ctx)
		// The provider flushes push exporters on shutdown: the callbacks must
		// still be registered then, or the last export lacks their series.
		providerErr := m.shutdownProvider(ctx)
		// Last: the spans of work that ended during Shutdown are flushed.
		tracerErr := m.shutdownTracer(ctx)
		m.stopErr = errors.Join(healthErr, alertErr, providerErr, m.unregister(), tracerErr)
	})
	return m.stopErr
}

// shutdownErr returns err, wrapped in ErrShutdown when the Monitor is shut
// down: a component that refused to work after Shutdown is reported with
// the Monitor's own sentinel, and its error stays in the chain.
func (m *Monitor) shutdownErr(err error) error {
	if err == nil {
		return nil
	}
	m.mu.Lock()
	stopped := m.stopped
	m.mu.Unlock()
	if stopped {
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	return err
}

func (m *Monitor) shutdownProvider(ctx context.Context) error {
	if m.ownedMP == nil {
		return nil
	}
	return shutdownOwned(ctx, "meter provider", m.ownedMP)
}

// shutdownOwned shuts down a provider the Monitor built.
func shutdownOwned(ctx context.Context, what string, p interface{ Shutdown(context.Context) error }) error {
	if err := p.Shutdown(ctx); err != nil {
		return fmt.Errorf("otelmon: shut down %s: %w", what, err)
	}
	return nil
}
