// Package exporters builds the metric readers that carry otelmon's
// instruments out of the process.
//
// # Selection
//
// [New] follows the standard OpenTelemetry environment:
//
//   - OTEL_METRICS_EXPORTER unset, empty or "prometheus": an in-process
//     Prometheus exporter on a private registry. Its handler is served on the
//     Monitor's own listener (/metrics) instead of a second server, and it is
//     configured so the exposition shows otelmon's names exactly: no unit or
//     _total suffixes are added (instruments already carry their full names)
//     and no otel_scope_* labels are attached.
//   - "otlp", "console", "none": built by the [PushFunc] given to New,
//     exporters/push.Reader, which delegates to
//     go.opentelemetry.io/contrib/exporters/autoexport; it reads
//     OTEL_EXPORTER_OTLP_PROTOCOL ("http/protobuf" by default, or "grpc"),
//     OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_HEADERS and the rest of
//     the OTLP variables. Without one, New fails with [ErrPushNotLinked].
//
// The push exporters live in their own package so that a program that only
// serves Prometheus links neither the OTLP exporters nor gRPC: a host that
// calls only otelmon.New links about half the packages, and its binary is
// about half the size (see the README).
//
// The translation strategy applies to the whole registry: a host's own
// instruments read through the same exporter keep their names without
// unit or _total suffixes too (otelhttp's http.server.request.duration
// shows as http_server_request_duration). A host that wants the standard
// suffixes for its own metrics reads them through a Prometheus exporter of
// its own; otelmon's names must not go through a suffixing exporter, which
// would append _seconds to last_successful_sync_timestamp, say.
//
// # Traces
//
// [NewTracerProvider] builds a tracer provider only when
// OTEL_TRACES_EXPORTER is set (and not "none"): its exporter comes from the
// [SpanExporterFunc] given, exporters/push.SpanExporter, with the standard
// OTLP variables (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, ...), its spans are
// batched (OTEL_BSP_*), its sampler follows OTEL_TRACES_SAMPLER. Its caller
// owns it; its Shutdown flushes.
//
// # Exemplars
//
// [Prometheus.Handler] negotiates: a scraper that asks for OpenMetrics
// (Prometheus does) gets it, exemplars included, which Prometheus keeps
// with --enable-feature=exemplar-storage; any other client gets the
// classic text format, without exemplars. [Prometheus.Text] is always the
// classic format.
//
// # Shape
//
// Two constructors and no options: [New] reads the environment (its errors
// wrap [ErrUnknownExporter] for a value it does not know, [ErrPushNotLinked]
// for a push kind without a [PushFunc], or carry the exporter's own error), [NewPrometheus] builds the Prometheus exporter
// directly. The package has no lifecycle of its own: a [Metrics.Reader]
// belongs to the MeterProvider it is registered with, whose Shutdown flushes
// and stops it. NewPrometheus starts nothing; the push readers of New
// ("otlp", "console") run their export loop from New on, as
// sdkmetric.NewPeriodicReader does, so a caller that does not register the
// reader shuts it down itself.
//
// # Embedding
//
// Nothing here touches OpenTelemetry globals. A host with its own
// MeterProvider adds the reader of [NewPrometheus] (or any reader of its own)
// to that provider with sdkmetric.WithReader and serves [Prometheus.Handler]
// where it likes.
package exporters
