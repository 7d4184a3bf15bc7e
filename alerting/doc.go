// Package alerting evaluates alert rules on the process's own OpenTelemetry
// metrics and delivers the resulting alerts to notifiers.
//
// It learns about the world only by reading metrics, through an sdk/metric
// ManualReader registered on the MeterProvider: it imports neither breaker nor
// healthcheck, so rules can target any instrument in the process, a host
// service's own included.
package alerting
