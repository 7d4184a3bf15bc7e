// Package otelmon is the entry point of the otelmon SDK: a [Monitor] that
// gives a service syncing lists from external APIs (IMDb, TMDb, Trakt, Plex)
// its metrics, circuit breakers, health checks, alerts and monitoring API.
//
// # Configuration
//
// [Config]'s zero value is the reference configuration: New fills every
// zero field with its default, so Config{} and a literal that sets a few
// fields behave like [DefaultConfig] with those fields changed. What is on
// by default is turned off by an opt-out field (DisableDefaultAlerts,
// MetricsConfig.DisableTimingHistograms). Negative or malformed values are
// errors, never defaults: New returns one [*ConfigError] per problem, joined,
// each wrapping [ErrInvalidConfig] and the component's own error (breaker,
// healthcheck) when a component rejected the value. Options follow the
// sdk/metric shape: sealed, each stating its default.
//
// # Metrics
//
// Every metric is an OpenTelemetry instrument whose name is already the full
// Prometheus name, radarr_list_sync_* with the default namespace and
// subsystem. The Prometheus exporter built by package exporters is told not to
// add suffixes, so the exposition, OTLP consumers and the in-process alert
// rules all see the same names.
//
// Counters and gauges of the sync and cache paths are kept in atomics per
// label value and read by observable instruments when a reader collects, so
// recording takes no lock and allocates nothing. Two instruments are
// synchronous, recorded with attribute options built once per source, so
// that their exemplars can name the trace of the sync that recorded them:
// the duration histogram, and the consecutive-failures gauge, recorded
// when it changes (each failure, and the success that ends a run of them).
//
// # Label values
//
// Label values (source, cache type) are taken as given, with two guards: an
// empty value is recorded as [UnknownLabel], invalid UTF-8 is replaced and
// values longer than 128 bytes are cut, and a label that already holds
// MetricsConfig.CardinalityLimit distinct values records further ones under
// [OverflowLabel], so a host that sends unbounded names cannot grow memory
// without limit.
//
// # Sync jobs
//
// [Monitor.MonitoredSyncHandler] admits a whole job through its source's
// breaker once and reports the job's outcome once. The job's requests to
// that service must not be admitted again, one by one: the job hands its
// admission to them as a value, never through state written into a
// context. [SyncJob.HTTPClient] returns a client bound to the job; the
// job's context also carries a read-only mark of the breaker it holds, so
// the Monitor's own HTTPClient, given the job's context, does the same.
// Throttling is not failure: a job that failed only because its service
// throttled it (a 429, or a *RateLimitError from the pacer) is not counted
// by the breaker. With RateLimit.ThrottleIsFailure set, Retry-After flows
// forward only: the transport notes a 429's window on the Monitor, per
// breaker, and the job, when it fails, reports the window still running to
// the breaker with its outcome.
//
// # Client stack
//
// [Monitor.HTTPClient] and [Monitor.Transport] share, per service and
// across the process, one pacer and one retry budget. A request passes, in
// order: the retry loop (idempotent requests only: GET, HEAD, OPTIONS, or a
// body with GetBody and an Idempotency-Key; 429, 502, 503, 504 and broken
// connections are retried after Retry-After or a jittered backoff, within
// the caller's deadline, RateLimit.MaxAttempts and a budget of about 10 % of
// the service's requests); for each attempt the pacer (golang.org/x/time/rate
// at the service's published pace, paused by Retry-After, paced by
// X-RateLimit-*, the IETF RateLimit fields and Trakt's X-Ratelimit, lowered
// by repeated 429s and raised slowly by successes; no answer pauses a
// service longer than RateLimit.MaxPause, 5 minutes by default, after which
// one request probes; a wait that would pass the deadline fails at once
// with a [*RateLimitError]); the breaker (5xx,
// timeouts and transport errors are failures, a 429 is not); otelhttp (the
// duration histogram); and counting. Health probes skip the breaker, the
// wait and the retries, but take a free slot of the pace.
//
// # Traces
//
// With [WithTracerProvider] (or OTEL_TRACES_EXPORTER and
// [WithSpanExporters]), a monitored sync job is a span "sync <source>";
// each request of the Monitor's clients is otelhttp's client span under
// [APIClientScope], a child of the caller's span, with [AttrService]; a
// breaker rejection, a pacer wait and a retry are events on the caller's
// span, and [Monitor.ExecuteWithCircuitBreaker] adds its outcome there.
// Health checks make no span unless [WithHealthCheckSpans] asks. Without a
// provider nothing is traced, not even under a host's span: the Monitor
// never reads the global provider. Every span goes through a wrapping
// provider that masks secrets in names, attributes, events and statuses:
// query values and user information of URLs (otelhttp's url.full),
// credential headers, and secret key=value pairs and bearer tokens in
// text.
//
// The duration histograms carry the sampled span as an exemplar
// (sdk/metric's default trace-based filter): /metrics serves them in
// OpenMetrics to a scraper that asks, and the alert engine reads them to
// name an alert's traces (alerting.Alert.TraceIDs). The Monitor's log
// records about a job carry its trace_id and span_id;
// [NewTraceLogHandler] does the same for a host's own records.
//
// # HTTP API
//
// [Monitor.Handler] routes with net/http.ServeMux patterns. Authentication
// and the API's path checks are middleware that run before routing, so a
// path that ServeMux would clean and redirect ("..", "//", an escaped
// slash) is refused with 400, as it always was; ServeMux's own 404 and 405
// answers are replaced by the API's JSON errors, the Allow header kept.
//
// Silences (see alerting.Silence) and the maintenance windows of
// Config.MaintenanceWindows are served under /api/v3/monitoring/silences
// and /maintenance-windows. The history the status page plots is read from
// the Monitor's own instruments, through the alert engine's reader, into
// fixed rings of one-minute and five-minute buckets (24 h), and served at
// /api/v3/monitoring/history; the Monitor tells it of every health and
// breaker transition, so that each bucket's state is the worst it saw.
//
// # Embedding
//
// By default the Monitor builds its own MeterProvider with the exporter
// selected by the environment (see package exporters). A host with its own
// provider builds it with the options of an [Embedding] (the alert
// engine's reader and otelmon's Views) and passes both with
// [WithMeterProvider] and [WithEmbedding]; New checks the wiring and fails
// with a *ConfigError that says what to add. [Monitor.Handler] serves the
// page, the API and /metrics under any prefix; [Monitor.APIHandler] and
// [Monitor.MetricsHandler] serve parts of it alone. The Monitor never sets
// OpenTelemetry globals.
//
// # Inside
//
// The Monitor composes parts that live in packages of their own under
// internal/: httpapi (the HTTP API and the status page, reading the Monitor
// through a small Backend) and spanredact (the TracerProvider wrapper that
// keeps secrets out of spans). The per-service defaults (breakers and
// pace) are in services.go, and nowhere else.
package otelmon
