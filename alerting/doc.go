// Package alerting evaluates alert rules on the process's own OpenTelemetry
// metrics and delivers the resulting alerts to notifiers.
//
// It learns about the world only by reading metrics, through an sdk/metric
// ManualReader registered on the MeterProvider: it imports neither breaker nor
// healthcheck, so rules can target any instrument in the process, a host
// service's own included, and the same rules can be written in PromQL for
// Prometheus (see PrometheusRules) when one process is no longer enough.
//
// # Wiring
//
// New returns an Engine that owns a ManualReader ([Engine.Reader]). The
// MeterProvider is built with that reader (and an exporter's), then given
// back to the engine for its own instruments ([Engine.Instrument]). New
// starts nothing; [Engine.Start] starts periodic evaluation and delivery,
// [Engine.Shutdown] stops them and waits for every goroutine.
//
// # Rules and conditions
//
// A [Rule] pairs a [Condition] with a level and lifecycle settings.
// Conditions are a sealed set: [ConsecutiveFailures], [SlowOperation],
// [RateAbove], [ServiceDown], [CircuitOpen] and the generic [Threshold] on
// any instrument. A condition applies per series: one alert per rule and
// label set. [DefaultRules] returns the reference service's five rules.
//
// Each evaluation collects the reader once and evaluates every enabled rule
// on that snapshot. Counters are cumulative; rates over a window come from
// a bounded history of samples per series, corrected for counter resets as
// Prometheus' increase() is. Series that stop being reported are forgotten
// after a while, so memory stays bounded.
//
// # Alert lifecycle
//
// An alert is Pending while its condition holds for less than the rule's
// For, then Firing, then Resolved once its condition clears
// (ResolveAfterClear evaluations in a row, and not seen for the rule's
// AutoResolveAfter). Its ID is stable for a rule and label set, across
// evaluations and restarts. An alert that changes state too often is
// flapping: it is held firing and notified once. Acknowledged alerts get
// no reminders. RateLimit spaces notifications; the ones held back are
// counted in the next notification's HeldBack. Resolved alerts are kept for
// Config.Retention (and at most Config.MaxResolved of them). With
// Config.StatePath the state survives restarts.
//
// # Notifications
//
// Every [Notifier] has its own bounded queue and goroutine: a slow,
// failing or panicking notifier never holds up evaluation or the other
// notifiers. Failed deliveries are retried with capped exponential backoff,
// honouring the receiver's Retry-After; errors that [Retryable] calls
// permanent are not retried. [NewLogNotifier] logs alerts with log/slog.
// Integrations (webhook, Discord, Slack, Alertmanager) live in
// sub-packages.
//
// # Metrics
//
// The engine records notifications_sent_total, notifications_failed_total
// and notifications_dropped_total per notifier and alerts_firing per level,
// under the same namespace as the metrics it reads.
package alerting
