// Package breaker implements circuit breakers for the external services a
// list-sync host calls (IMDb, TMDb, Trakt, Plex, ...).
//
// A [Breaker] guards one service. It knows nothing of HTTP, health checks,
// alerts or OpenTelemetry: it exposes its state and counters (read from
// atomics) so that the otelmon package can export them from observable
// instruments at collection time, with no metric call on the call path.
//
// # States
//
// A breaker starts [Closed] and admits every call. The N-th consecutive
// failure (Config.FailureThreshold) opens it. [Open] rejects every call at
// once, without running it, with an error wrapping [ErrOpen]. When the open
// period ends (noticed lazily, by the next call or [Breaker.State]) the
// breaker is [HalfOpen]: it runs at most Config.HalfOpenMaxRequests trial
// calls at once and rejects the rest with [ErrTooManyRequests].
// Config.SuccessThreshold successful trials (by default HalfOpenMaxRequests)
// close it; one failed trial opens it again.
//
// Every state change starts a new generation. A call remembers the
// generation it was admitted in, and its result is dropped if the generation
// has changed by the time it finishes: a slow call started while closed
// cannot reopen a breaker that has since recovered, and a trial from an
// earlier half-open period cannot close a later one.
//
// # Outcomes
//
// A finished call is a [Success], a [Failure] or [Ignored]:
//
//   - nil is a Success;
//   - a call that outlives Config.RequestTimeout is a Failure, and the
//     caller sees an error satisfying errors.Is(err, context.DeadlineExceeded);
//   - an error while the caller's own context is done (canceled, or its
//     deadline passed) is Ignored: a caller giving up says nothing about
//     the service;
//   - any other error is a Failure, unless a classifier set with
//     [WithClassifier] says otherwise;
//   - a panic in the call is a Failure, and keeps unwinding.
//
// # Open period, backoff and Retry-After
//
// The first trip opens the breaker for Config.OpenTimeout. Each trip that
// follows a failed half-open trial multiplies the period by
// Config.BackoffMultiplier (with cenkalti/backoff's ExponentialBackOff), up
// to Config.MaxOpenTimeout; closing resets it. Periods are jittered by ±20 %
// so that breakers tripped together do not probe together ([WithJitter]; 0
// makes them exact). A failure whose error chain holds a [RetryAfterError]
// (the HTTP client turns 429 responses into one) keeps the breaker open at
// least until the server's window ends, also capped by MaxOpenTimeout.
//
// # Modes
//
// An operator can switch a breaker (or, with [Registry.SetMode], all of
// them) at run time: [ModeForcedOpen] rejects everything, [ModeDisabled]
// admits everything and counts nothing, [ModeMetricsOnly] runs the state
// machine as usual but never rejects, to try thresholds on live traffic.
//
// # Two-step use
//
// [Breaker.Execute] and [Do] wrap a closure. A caller that cannot, such as
// an http.RoundTripper whose response body is read after RoundTrip returns,
// uses [Breaker.Allow]: it reports the outcome with [Ticket.Done] when the
// status is known, and cancels the request context with [Ticket.Release]
// when the body is closed.
//
// # Observing
//
// [Breaker.State], [Breaker.Counts], [Breaker.Rejected],
// [Breaker.Transitions] and [Breaker.Stats] read atomics and never wait for
// calls in flight. Listeners set with [WithStateListener] are called after
// each state change, in the goroutine that caused it and with no lock held,
// so they may call back into the breaker.
//
// # Registry
//
// A [Registry] holds one breaker per service, created on first use from
// [DefaultConfigFor] merged with per-service overrides, up to a bounded
// number of names ([WithMaxBreakers]).
//
// # Design notes
//
// The closed path takes no lock and reads no clock. The state, the mode, the
// consecutive-failure count and the generation share one atomic word: a
// successful call loads it twice and writes nothing (the failure count is
// cleared only when it is not zero), so concurrent successes do not contend
// for a cache line. A failure below the threshold is one compare-and-swap;
// the failure that reaches it takes the mutex and opens the breaker. A
// rejection while open is lock-free too, at the cost of one clock read.
// Half-open admission, state changes and mode changes go through the mutex,
// which guards the half-open slots and the backoff; listeners run after it
// is released, unlike gobreaker's OnStateChange, which runs under its lock. Successes
// are not totalled, since a shared counter would put a contended write on
// every call; failures, rejections and transitions are.
package breaker
