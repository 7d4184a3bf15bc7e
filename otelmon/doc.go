// Package otelmon is the entry point of the otelmon SDK: a [Monitor] that
// gives a service syncing lists from external APIs (IMDb, TMDb, Trakt, Plex)
// its metrics, circuit breakers, health checks, alerts and monitoring API.
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
// recording takes no lock and allocates nothing; only the duration histogram
// is a synchronous instrument, recorded with attribute options built once per
// source.
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
// # Embedding
//
// By default the Monitor builds its own MeterProvider with the exporter
// selected by the environment (see package exporters). A host with its own
// provider passes it with [WithMeterProvider]; the Monitor never sets
// OpenTelemetry globals.
package otelmon
