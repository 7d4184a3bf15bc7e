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
// [Engine.Shutdown] stops them and waits for every goroutine. Shutdown is
// idempotent: later calls return the first call's result; Start, Evaluate
// and AddNotifier then return [ErrShutdown].
//
// Between Start and Shutdown, [Engine.RequestEvaluation] asks for an
// evaluation outside the schedule, e.g. right after a circuit breaker opens
// or a service goes down: it never blocks, and requests made while one is
// pending coalesce. [Engine.Evaluate] evaluates at once and waits.
//
// [Config] and [DeliveryConfig] take their defaults for zero fields; a
// negative value is a [*ConfigError] wrapping [ErrInvalidConfig].
//
// # Rules and conditions
//
// A [Rule] pairs a [Condition] with a level and lifecycle settings.
// Conditions are a sealed set: [ConsecutiveFailures], [SlowOperation],
// [RateAbove], [ServiceDown], [CircuitOpen] and the generic [Threshold] on
// any instrument. What is watched, with its threshold and window, is said
// once, on the condition. A condition applies per series: one alert per
// rule and label set. A rule is evaluated unless it is Disabled. A rule
// that cannot be evaluated as written is refused with a [*RuleError]
// wrapping [ErrInvalidRule]. [DefaultRules] returns the reference
// service's five rules.
//
// Each evaluation collects the reader once and evaluates every enabled rule
// on that snapshot. Counters are cumulative; increases over a window come
// from a bounded history per series of the evaluations at which its value
// changed, corrected for counter resets as Prometheus' increase() is, so
// each rule's window is exact to the evaluation, whatever other windows
// read the same series. Series that stop being reported are forgotten
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
// Config.Retention (and at most Config.MaxResolved of them).
//
// # Silences and maintenance windows
//
// A [Silence] mutes the alerts its matchers select (on the alert's labels
// plus alertname, the rule, and severity, the level) from StartsAt to
// EndsAt, with Alertmanager's semantics; a [MaintenanceWindow] does the same
// on a recurring schedule (Alertmanager's time intervals). A muted alert is
// still evaluated and listed, with SilencedBy or MutedBy, but no notifier
// hears of it, firing or resolved (only a Resender that already knew it as
// firing keeps getting its resends while it stays muted and firing, so
// that Alertmanager does not resolve it on its own). When it is no longer muted and still
// fires, the notifiers get it once; when it resolved meanwhile, nothing.
// Silences are saved with the alert state: [Engine.CreateSilence] and
// [Engine.ExpireSilence] return only once the file took the change. Their
// number, size, matchers and regular expressions are bounded
// ([SilenceConfig]), so that what they cost in memory and in the state
// file stays bounded too. The silences, their matchers, the time intervals
// and the windows live in package silence, a leaf that knows alerts only by
// their labels; the names here are aliases of its types.
//
// When the engine sends alerts to Alertmanager (notifiers of package
// alertmanager, one per member of a cluster), its silences are the
// cluster's instead: created, listed and expired there through the v2 API
// of the first member that answers, fetched every SilenceConfig.Refresh
// and after each change, and matched against the labels Alertmanager gets
// for an alert; so one silence mutes a whole fleet. When no member answers
// a change fails with [ErrSilencesUnavailable], and the silences fetched
// last keep muting until they end ([SilenceSourceOf] says since when
// the list is stale). See cluster.go.
//
// # State file
//
// With Config.StatePath the state survives restarts. The engine owns the
// file from New to Shutdown, through an exclusive lock on StatePath+".lock":
// a second engine on the same path, in this process or another, fails in
// New with [ErrStateLocked]. A missing file is an empty state, a corrupt
// one is moved aside to a timestamped name, any other read error fails New
// and leaves the file alone. Every change is written atomically (a
// temporary file renamed over the old one); temporary files left by a
// crash are removed at start. [Engine.Acknowledge] returns only once the
// acknowledgement is saved: if it cannot be, it returns an error wrapping
// [ErrNotSaved] and the alert stays as it was.
//
// # Notifications
//
// Every [Notifier] has its own bounded queue and goroutine: a slow,
// failing or panicking notifier never holds up evaluation or the other
// notifiers. The queue takes each evaluation's notifications whole, so a
// burst of alerts reaches every notifier that keeps up; only a notifier
// still behind from earlier evaluations drops (see
// DeliveryConfig.QueueSize), with one log line per notifier and minute
// that counts the drops. Failed deliveries are retried with capped exponential backoff,
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
//
// # Inside the engine
//
// The Engine composes unexported parts that each do one thing and are
// tested alone:
//
//   - the rule set (rules.go): registered rules in order, compiled, and an
//     index of the enabled ones by instrument and first attribute matcher;
//   - the series store (store.go): walks each collection once, binds each
//     series to the rules that match it (once per change of the rule set,
//     not per evaluation), keeps the windowed samples, and hands every
//     (series, rule) reading to an observer;
//   - the lifecycle (lifecycle.go): step(state, told, observation, rule,
//     now) returns the next state, the notifications and whether to save.
//     It is a pure function, as Prometheus' alerting rule evaluation is: no
//     I/O, no lock, no clock of its own, so it is table-tested by itself.
//     It knows nothing of silences: it decides its notifications as if
//     nothing were muted;
//   - the mute pass (mute.go): applied to every step's notifications, it
//     decides from what mutes the alert now (silence.Mutes) and what the
//     notifiers were told of it (its own record, told) which reach the
//     notifiers, which are dropped, which become keep-alives for Resenders,
//     and what is owed once the mute ends;
//   - the silences (package silence, a leaf that does not import this
//     one): the store of silences and its bounds, the maintenance windows,
//     and what mutes alerts at an instant;
//   - the cluster's silences (cluster.go): with Alertmanager, the
//     silences kept in its cluster, fetched by a goroutine of their own
//     and read by the mute pass;
//   - the alert table (table.go): every known alert, which applies steps
//     and the mute pass and answers queries;
//   - the evaluation (evaluate.go): collects the reader once, has the
//     series store hand every reading to the lifecycle, gives the alerts no
//     series confirmed their verdict, and records the rules that cannot be
//     evaluated;
//   - the ledger (ledger.go): the rule set, the alert table and the
//     silences, and every change of them, one at a time: decided under its
//     locks, then saved and queued for the notifiers in the order decided;
//   - persistence (persist.go, statefile.go, statelock_*.go): the state
//     file, owned through a lock file, written atomically;
//   - the dispatcher (dispatch.go, deliverer.go): per-notifier queues that
//     take each evaluation whole, goroutines, retries, Retry-After,
//     Resenders, drop summaries;
//   - the schedule (schedule.go): the evaluation goroutine, periodic and on
//     request.
//
// The Engine wires the parts and holds the public API; it has no state of
// its own. The ledger owns the alert state under two mutexes. One
// serializes every change of alert state (evaluations, rule changes,
// acknowledgements, silences), so that notifications are queued and the
// state file written in the order the changes were decided; the other
// guards what queries read, so that they never wait for a collection. The
// dispatcher and the schedule synchronize themselves. This shape keeps
// each concern small enough to read alone and lets the next ones
// (batching, exemplars) be added as parts rather than as methods on the
// Engine.
package alerting
