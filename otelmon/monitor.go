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

	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
	"github.com/listsync/otelmon/internal/version"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
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
//
// It is a facade over its parts, each built by New and never nil after it:
// the metric pipeline, the sync instruments, the circuit breakers, the
// client stack, the health checks, the alert engine, the history and the
// tracing.
type Monitor struct {
	cfg    Config
	logger *slog.Logger
	clock  clock.Clock

	pipe     pipeline           // where the metrics go
	sync     *syncMetrics       // the sync and cache instruments
	breakers *breaker.Registry  // one breaker per service
	clients  *clientstack.Stack // pacing, retries, breaker and timing of API requests
	health   *healthChecks      // the checker and its probe clients
	alerts   *alerting.Engine   // never nil
	hist     *history.History   // reads the alert engine's reader
	tracing  tracing
	access   access // what the API asks of a caller
	life     lifecycle
}

// access is what the API asks of a caller.
type access struct {
	apiKey         string // never logged except once when generated
	protectMetrics bool   // /metrics requires the key too
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
		cfg:    cfg,
		logger: slog.New(NewTraceLogHandler(o.logger.Handler())),
		clock:  o.clock,
		pipe:   pipeline{mp: o.meterProvider, prometheus: o.prometheus},
		alerts: o.alertEngine,
		access: access{apiKey: o.apiKey, protectMetrics: o.protectMetrics},
		life:   lifecycle{startAt: o.clock.Now()},
	}
	if m.access.apiKey == "" {
		if m.access.apiKey, err = generateAPIKey(o); err != nil {
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
		return nil, errors.Join(err, m.tracing.shutdown(context.Background()))
	}
	if m.tracing, err = newTracing(o, m.logger); err != nil {
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
	if m.pipe.mp == nil {
		if m.pipe, err = newPipeline(cfg, o, m.alerts.Reader()); err != nil {
			return fail(err)
		}
	}
	err = m.build(o)
	if err == nil {
		err = m.hostProviderError(o.embedding)
	}
	if err != nil {
		return fail(errors.Join(err, m.pipe.unregister(), m.pipe.shutdown(context.Background())))
	}
	return m, nil
}

// build creates the Monitor's parts and instruments. On error, the
// registrations made so far are in m.pipe for unregister.
func (m *Monitor) build(o options) error {
	prefix := names.New(m.cfg.Metrics.Namespace, m.cfg.Metrics.Subsystem)
	meter := m.pipe.mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version))
	// The history reads through the engine's reader: cumulative, so
	// reading it disturbs nothing, and one reader fewer to aggregate every
	// measurement into. It exists before the breakers and health checks
	// whose transitions it is told of.
	m.hist = history.New(m.alerts.Reader(), m.clock, prefix)
	m.hist.SampleSLOs(m.alerts, m.cfg.Metrics.CardinalityLimit+1) // every source or service label, and the overflow one
	var err error
	if m.sync, err = newSyncMetrics(meter, prefix, m.cfg.Metrics, m.clock, m.tracing.provider != nil); err != nil {
		return err
	}
	m.pipe.regs = append(m.pipe.regs, m.sync.reg)
	w := &watch{logger: m.logger, clock: m.clock, hist: m.hist, alerts: m.alerts}
	m.breakers = breaker.NewRegistry(breaker.RegistryConfig{
		ConfigFor:   func(s string) breaker.Config { return DefaultBreakerConfigFor(s).Merge(m.cfg.CircuitBreakers[s]) },
		MaxBreakers: m.cfg.MaxCircuitBreakers,
	}, append([]breaker.Option{breaker.WithClock(m.clock), breaker.WithStateListener(w.breakerChanged)}, o.breakerOptions...)...)
	if m.clients, err = clientstack.New(m.clientConfig(meter, prefix)); err != nil {
		return err
	}
	w.labels = m.clients
	m.pipe.regs = append(m.pipe.regs, m.clients)
	if m.health, err = newHealthChecks(m.cfg.HealthChecks, o.healthURLs, m.clients, m.clock, m.logger, w.healthChanged); err != nil {
		return err
	}
	reg, err := registerServiceUp(meter, prefix, m.health.checker, m.clients)
	if err != nil {
		return err
	}
	m.pipe.regs = append(m.pipe.regs, reg)
	return m.setupAlerts(o)
}

// APIKey returns the key the /api/v3 endpoints require.
func (m *Monitor) APIKey() string { return m.access.apiKey }

// Config returns the effective configuration, defaults filled in.
func (m *Monitor) Config() Config {
	c := m.cfg
	c.CircuitBreakers, c.RateLimits = maps.Clone(c.CircuitBreakers), maps.Clone(c.RateLimits)
	return c
}

// MeterProvider returns the provider the Monitor records on.
func (m *Monitor) MeterProvider() metric.MeterProvider { return m.pipe.mp }

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
	if m.pipe.prometheus == nil {
		return "", ErrNoPrometheus
	}
	return m.pipe.prometheus.Text(ctx)
}

// MetricsHandler returns the handler of the Prometheus exposition, for a
// host that mounts /metrics alone (Handler serves it too). It is never nil:
// when metrics are not exported through Prometheus (OTEL_METRICS_EXPORTER
// selects OTLP, say, or a host's provider was given without WithPrometheus)
// it answers 404 with a JSON error, as PrometheusMetrics returns
// ErrNoPrometheus. It does not require the API key; wrap it to protect it.
func (m *Monitor) MetricsHandler() http.Handler {
	if m.pipe.prometheus == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			httpapi.Error(w, http.StatusNotFound, CodeNotFound, "metrics are not exported through Prometheus here")
		})
	}
	return m.pipe.prometheus.Handler()
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
	l := &m.life
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return ErrShutdown
	}
	if l.started {
		return nil
	}
	if err := m.health.checker.Start(ctx); err != nil {
		return err
	}
	if err := m.alerts.Start(ctx); err != nil {
		return errors.Join(err, m.health.checker.Shutdown(ctx))
	}
	m.hist.Start()
	l.started = true
	return nil
}

// Shutdown stops background work, unregisters the Monitor's instruments
// from the provider, and, when the Monitor built the provider, flushes and
// shuts down its exporter; a tracer provider the Monitor built (see
// WithSpanExporters) is flushed and shut down last. It returns once every
// goroutine the Monitor started has exited. It is safe before Start and more than once; later
// calls return the first call's result.
func (m *Monitor) Shutdown(ctx context.Context) error {
	l := &m.life
	l.stopOnce.Do(func() {
		l.mu.Lock()
		l.stopped = true
		l.mu.Unlock()
		// Health checks first: stopping them is quick, while the engine may
		// spend ctx's time delivering what is queued.
		healthErr := m.health.checker.Shutdown(ctx)
		m.hist.Shutdown()
		// Before the provider: the engine's reader belongs to it.
		alertErr := m.alerts.Shutdown(ctx)
		// The provider flushes push exporters on shutdown: the callbacks must
		// still be registered then, or the last export lacks their series.
		providerErr := m.pipe.shutdown(ctx)
		// Last: the spans of work that ended during Shutdown are flushed.
		tracerErr := m.tracing.shutdown(ctx)
		l.stopErr = errors.Join(healthErr, alertErr, providerErr, m.pipe.unregister(), tracerErr)
	})
	return l.stopErr
}

// lifecycle is where the Monitor is between New and Shutdown.
type lifecycle struct {
	startAt  time.Time
	mu       sync.Mutex // guards started and stopped; stopped is set once Shutdown begins
	started  bool
	stopped  bool
	stopOnce sync.Once
	stopErr  error
}

// err returns err, wrapped in ErrShutdown when the Monitor is shut down: a
// part that refused to work after Shutdown is reported with the Monitor's
// own sentinel, and its error stays in the chain.
func (l *lifecycle) err(err error) error {
	if err == nil {
		return nil
	}
	l.mu.Lock()
	stopped := l.stopped
	l.mu.Unlock()
	if stopped {
		return fmt.Errorf("%w: %w", ErrShutdown, err)
	}
	return err
}
