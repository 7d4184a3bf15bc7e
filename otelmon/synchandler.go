package otelmon

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/listsync/otelmon/breaker"
)

// SyncJob is one sync of a list.
type SyncJob struct {
	// Source names the service the list comes from ("imdb", "tmdb", ...). It
	// picks the circuit breaker and labels the metrics.
	Source string
	// ID identifies the job for the host (a list ID, say). Optional.
	ID string

	mon     *Monitor         // set by MonitoredSyncHandler
	held    *breaker.Breaker // the breaker whose admission the job holds, or nil
	answers *jobAnswers      // what the job's own client was answered, or nil
}

// jobAnswers records what the service finally answered the requests a job
// made with its own client (job.HTTPClient of its Source), retries done: a
// 429, or a failure (a 5xx, a transport error). It belongs to one job and
// reaches its client as an explicit value, never through a context.
type jobAnswers struct {
	throttled, failed atomic.Bool
}

// answersTransport records into a job's jobAnswers.
type answersTransport struct {
	answers *jobAnswers
	next    http.RoundTripper
}

func (t *answersTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	switch {
	case err != nil:
		if req.Context().Err() == nil && !errors.Is(err, ErrRateLimited) {
			t.answers.failed.Store(true)
		}
	case resp.StatusCode == http.StatusTooManyRequests:
		t.answers.throttled.Store(true)
	case resp.StatusCode >= 500:
		t.answers.failed.Store(true)
	}
	return resp, err
}

// HTTPClient returns an http.Client for the job's requests to service. In a
// job run by MonitoredSyncHandler, requests to the job's Source run under
// the admission the job holds, whatever context they carry: the breaker
// does not count them one by one, each is bounded by the service's request
// timeout, and a 429's Retry-After holds the breaker open if the job fails.
// Other services get Monitor.HTTPClient's client. A SyncJob that no
// MonitoredSyncHandler runs has no Monitor: its HTTPClient is a plain
// http.Client.
func (j SyncJob) HTTPClient(service string) *http.Client {
	switch {
	case j.mon == nil:
		return &http.Client{}
	case j.held != nil && service == j.Source:
		var rt http.RoundTripper = j.mon.apiStack(j.mon.client(service), j.held, true, http.DefaultTransport)
		if j.answers != nil {
			rt = &answersTransport{answers: j.answers, next: rt}
		}
		return &http.Client{Transport: rt}
	}
	return j.mon.HTTPClient(service)
}

// SyncResult is what a sync did, as in the reference service's SyncResult.
type SyncResult struct {
	ItemsFound   uint64 `json:"itemsFound"`
	ItemsAdded   uint64 `json:"itemsAdded"`
	ItemsUpdated uint64 `json:"itemsUpdated"`
}

// SyncHandler runs a sync job.
type SyncHandler interface {
	ExecuteSync(ctx context.Context, job SyncJob) (SyncResult, error)
}

// SyncHandlerFunc adapts a function to SyncHandler.
type SyncHandlerFunc func(ctx context.Context, job SyncJob) (SyncResult, error)

// ExecuteSync calls f.
func (f SyncHandlerFunc) ExecuteSync(ctx context.Context, job SyncJob) (SyncResult, error) {
	return f(ctx, job)
}

// MonitoredSyncHandler wraps h so that every job runs through its source's
// circuit breaker and is recorded with RecordSyncOperation: success or
// failure, duration and items (a failed job's partial counts included). A
// job rejected by an open breaker is recorded as a failed sync and returns
// an error wrapping breaker.ErrOpen. A job that ends while the caller's own
// context is done is not recorded: it says nothing about the source.
//
// The breaker counts the job's outcome once. The job has no overall
// deadline but the caller's. Its requests to the same service, made with
// job.HTTPClient or with the Monitor's HTTPClient and the job's context,
// are each bounded by the service's request timeout, paced, retried, timed
// and counted as usual, but not counted by the breaker a second time. A
// failed job whose trouble was throttling alone is not a breaker failure:
// one that failed with a *RateLimitError, or whose own requests through
// job.HTTPClient were finally answered 429 and never 5xx nor failed in
// transport — what other jobs or health probes of the service got does
// not count. With the source's RateLimit.ThrottleIsFailure, a 429's
// Retry-After among its requests holds the breaker open if the job fails. A source without a
// breaker (an empty name, or Config.MaxCircuitBreakers taken) runs
// unguarded: a warning is logged once for it, and Status lists it in
// UnguardedServices.
//
// When the Monitor traces (WithTracerProvider), each job is a span named
// "sync <source>", a child of ctx's span, that the job's ctx carries: its
// requests are child spans, its duration's exemplar names it, and the
// Monitor's log records about it carry its trace_id and span_id. The span
// has the source, the item counts and the outcome (AttrSyncOutcome) as
// attributes; a job that did not succeed sets its status to error, with the
// redacted error. A job that did not succeed is logged at debug level.
func (m *Monitor) MonitoredSyncHandler(h SyncHandler) SyncHandler {
	return SyncHandlerFunc(func(ctx context.Context, job SyncJob) (res SyncResult, err error) {
		start := m.clock.Now()
		returned := false  // h returned (or was rejected) rather than panicked
		throttled := false // failed because the service throttled it, and for nothing else
		ctx, span := m.tracing.startSync(ctx, job.Source)
		defer func() {
			done := ctx.Err() != nil
			if !done {
				// ctx carries the job's span: the duration's exemplar names it.
				m.RecordSyncOperation(ctx, job.Source, returned && err == nil, m.clock.Now().Sub(start),
					res.ItemsAdded, res.ItemsUpdated, res.ItemsFound)
			}
			outcome := syncOutcome(done, returned, throttled, err)
			if outcome != outcomeSuccess {
				m.logSyncEnd(ctx, job, outcome, err)
			}
			endSync(span, outcome, res, err)
		}()
		job.mon, job.held = m, nil
		b, berr := m.breakers.Get(job.Source)
		if berr != nil {
			m.noteUnguarded(ctx, job.Source, "its sync jobs", berr)
			res, err = h.ExecuteSync(ctx, job)
			returned = true
			return res, err
		}
		ticket, err := b.Admit(ctx)
		if err != nil {
			returned = true
			breakerEvent(ctx, job.Source, err)
			return SyncResult{}, err
		}
		defer func() {
			if !returned { // h panicked: a failure, and the panic goes on
				ticket.Done(errSyncPanicked)
				ticket.Release()
			}
		}()
		job.held, job.answers = b, &jobAnswers{}
		res, err = h.ExecuteSync(withHeldBreaker(ctx, b), job)
		returned = true
		if m.throttledOnly(job, err) {
			throttled = true
			ticket.Release() // neither a failure nor a success
			return res, err
		}
		ticket.Done(m.retryWindows.outcome(b, err, m.clock.Now()))
		ticket.Release()
		return res, err
	})
}

var errSyncPanicked = errors.New("otelmon: sync job panicked")

// throttledOnly reports whether job, which failed with err, failed because
// the service throttled it, and nothing else: err is a *RateLimitError, or
// the job's own requests were finally answered 429 and never failed
// otherwise. It is false for a service whose RateLimit.ThrottleIsFailure is
// set.
func (m *Monitor) throttledOnly(job SyncJob, err error) bool {
	if err == nil || m.client(job.Source).limits.ThrottleIsFailure {
		return false
	}
	if errors.Is(err, ErrRateLimited) {
		return true
	}
	a := job.answers
	return a != nil && a.throttled.Load() && !a.failed.Load()
}

// heldBreakerKey is the context key of the breaker whose admission a
// monitored sync job holds.
type heldBreakerKey struct{}

// withHeldBreaker marks ctx as running inside a monitored sync job that
// holds b's admission, so that the Monitor's transport for b neither admits
// the job's requests again nor leaves them unbounded. The mark is read-only:
// nothing is written through it.
func withHeldBreaker(ctx context.Context, b *breaker.Breaker) context.Context {
	return context.WithValue(ctx, heldBreakerKey{}, b)
}

// holdsBreaker reports whether ctx runs inside a monitored sync job that
// holds b's admission.
func holdsBreaker(ctx context.Context, b *breaker.Breaker) bool {
	held, _ := ctx.Value(heldBreakerKey{}).(*breaker.Breaker)
	return held == b
}

// retryWindows keeps, per breaker, the end of the latest Retry-After window
// announced by a 429 to a request of a monitored sync job. The transports
// write it as responses arrive; a job that fails while a window runs hands
// it to the breaker with its outcome. It holds one entry per breaker.
type retryWindows struct {
	ends sync.Map // *breaker.Breaker → *atomic.Int64, Unix nanoseconds
}

// note extends b's window to end at least at end.
func (w *retryWindows) note(b *breaker.Breaker, end time.Time) {
	v, _ := w.ends.LoadOrStore(b, new(atomic.Int64))
	cur := v.(*atomic.Int64)
	for {
		old := cur.Load()
		if end.UnixNano() <= old || cur.CompareAndSwap(old, end.UnixNano()) {
			return
		}
	}
}

// outcome is the error b judges a job by: err itself, carrying what is
// left at now of b's Retry-After window when err is not nil and the window
// runs.
func (w *retryWindows) outcome(b *breaker.Breaker, err error, now time.Time) error {
	if err == nil {
		return nil
	}
	v, ok := w.ends.Load(b)
	if !ok {
		return err
	}
	if left := time.Duration(v.(*atomic.Int64).Load() - now.UnixNano()); left > 0 {
		return &retryAfterError{err: err, after: left}
	}
	return err
}

// retryAfterError is a job error with the Retry-After its requests saw.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }
