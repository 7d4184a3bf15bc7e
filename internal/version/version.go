// Package version holds the otelmon release. Every instrumentation scope
// otelmon creates (meters and tracers, in otelmon and alerting) reports it,
// and otelmon.Version exports it; the newest entry of CHANGELOG.md names
// the same release.
package version

// Release is the otelmon release.
const Release = "0.4.0"
