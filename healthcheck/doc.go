// Package healthcheck checks the external services a list-sync service depends
// on (IMDb, TMDb, Trakt, Plex, ...) with periodic HTTP requests and keeps an
// up/down status per service with failure and recovery thresholds.
//
// It knows nothing of metrics, breakers or alerts: a host reads the statuses
// (for example from an observable gauge callback, with [Checker.Statuses]),
// subscribes to changes with [WithListener], or renders them with
// [Checker.Summary] and [Checker.Health].
//
// # Shape
//
// [New] takes a [Config] (plain values: schedule and thresholds) and sealed
// options of type [Option] (dependencies: clock, logger, clients, listeners,
// jitter source). In both, a zero value (0, nil) means the default that its
// documentation states. A negative duration or count, or a value otherwise
// out of range, is never defaulted: New (and [Config.Validate]) report each
// as a [*ConfigError] naming the field and wrapping [ErrInvalidConfig],
// several joined with errors.Join; [Checker.Add] reports a [Target] field it
// cannot use the same way, inside a [*TargetError] that names the target.
//
// New starts nothing. [Checker.Start] starts the schedule and
// [Checker.Shutdown] stops it: Shutdown is safe before Start and idempotent
// (later calls return the first call's result), and after it Start, Add and
// CheckNow return [ErrShutdown], as does a check that Shutdown cancelled.
//
// # Targets
//
// A [Target] names a service and the URL to request. [DefaultTargets] returns
// the reference services with their documented default URLs; Plex is a local
// server and has none, so unless the host supplies one [Checker.Add] skips it
// and returns an error wrapping [ErrNoURL], which callers treat as non-fatal:
//
//	for _, t := range healthcheck.DefaultTargets(urls) {
//		if err := c.Add(t); err != nil && !errors.Is(err, healthcheck.ErrNoURL) {
//			return err
//		}
//	}
//
// # Status
//
// Every service starts [Unknown]. A check succeeds when the request returns,
// within its timeout, a status the target accepts. By default that is any
// answer below 500: a service that answers is up, even when the answer is a
// refusal (401, 403 or 404 from an API root probed without a key) or a
// request to slow down (429). A 5xx answer, a transport error (refused or
// reset connection, DNS failure, TLS error, garbage) and a timeout mean the
// check failed. [Target].ExpectedStatus narrows the rule: when set, only the
// statuses it lists succeed, and any other fails with a [*StatusError].
// Statuses then move as follows, with the thresholds of [Config]:
//
//   - Unknown → Up on the first success;
//   - Unknown → Down after FailureThreshold consecutive failures (fewer leave
//     the service Unknown: a failure before any success is not yet evidence
//     that the service was ever reachable, nor enough to call it down);
//   - Up → Down after exactly FailureThreshold consecutive failures;
//   - Down → Up after exactly RecoveryThreshold consecutive successes.
//
// A success resets the failure count and a failure resets the success count,
// so a flapping service does not change status until one side reaches its
// threshold. Results of scheduled checks and of [Checker.CheckNow] and
// [Checker.CheckAll] count alike. A check whose caller gave up (its context
// was canceled, or the Checker shut down) is not counted at all.
//
// # Scheduling
//
// [Checker.Start] checks every target once right away, then each target again
// CheckInterval after its previous check started, plus a random delay of up to
// Jitter × CheckInterval so that checks of many targets spread out. Checks of
// one target never overlap in the schedule; checks of different targets run in
// parallel, at most MaxConcurrency at a time. Time comes from the clock set by
// [WithClock] and the random delay from [WithJitterSource], so tests drive the
// schedule without sleeping.
//
// Each check runs in its own goroutine with a deadline (Target.Timeout, else
// Config.RequestTimeout). A check that panics becomes a failure wrapping
// [ErrCheckPanicked]; a check that does not return by its deadline becomes a
// failure wrapping [context.DeadlineExceeded] and frees its concurrency slot;
// its goroutine, which writes to a buffered channel, exits whenever the
// transport returns, and Shutdown waits for it as long as its context allows.
// No check can hold up the schedule of another target.
//
// # Clients
//
// Requests go through the *http.Client from [WithHTTPClient] or, per target,
// from [WithClientFor], which lets a host hand each service a client whose
// transport records metrics with a service label. The response body is read
// up to 64 KiB, so that the connection can be reused, and closed; what it
// contains never matters.
//
// # Listeners
//
// Listeners added with [WithListener] receive a [Transition] each time a
// service's status changes. They are called after the status changed, without
// any lock held (a listener may call any method of the Checker but Shutdown),
// and in order
// for each target: the transitions a listener sees for one target chain
// From → To exactly as the status moved.
//
// # Secrets
//
// Target URLs may carry API keys in their query and passwords in their user
// info. Errors in [Result], [ServiceHealth] and health+json output, and log
// records, show URLs with every query value and password masked.
//
// # health+json
//
// [Checker.Health] renders the statuses as an application/health+json document
// (draft-inadarei-api-health-check), and [Checker.Handler] serves it with the
// HTTP status of [HealthStatus.HTTPStatusCode].
package healthcheck
