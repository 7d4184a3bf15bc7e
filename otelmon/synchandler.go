package otelmon

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
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
		rt := j.mon.clients.JobTransport(service, j.held)
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
				logSyncEnd(ctx, m.logger, job, outcome, err)
			}
			endSync(span, outcome, res, err)
		}()
		job.mon, job.held = m, nil
		b, berr := m.breakers.Get(job.Source)
		if berr != nil {
			m.clients.NoteUnguarded(ctx, job.Source, "its sync jobs", berr)
			res, err = h.ExecuteSync(ctx, job)
			returned = true
			return res, err
		}
		ticket, err := b.Admit(ctx)
		if err != nil {
			returned = true
			clientstack.BreakerEvent(ctx, job.Source, err)
			return SyncResult{}, err
		}
		defer func() {
			if !returned { // h panicked: a failure, and the panic goes on
				ticket.Done(errSyncPanicked)
				ticket.Release()
			}
		}()
		job.held, job.answers = b, &jobAnswers{}
		res, err = h.ExecuteSync(clientstack.WithHeldBreaker(ctx, b), job)
		returned = true
		if job.throttledOnly(err) {
			throttled = true
			ticket.Release() // neither a failure nor a success
			return res, err
		}
		ticket.Done(m.clients.JobOutcome(b, err, m.clock.Now()))
		ticket.Release()
		return res, err
	})
}

var errSyncPanicked = errors.New("otelmon: sync job panicked")

// throttledOnly reports whether the job, which failed with err, failed
// because the service throttled it, and nothing else: err is a
// *RateLimitError, or the job's own requests were finally answered 429 and
// never failed otherwise. It is false for a service whose
// RateLimit.ThrottleIsFailure is set.
func (j SyncJob) throttledOnly(err error) bool {
	if err == nil || j.mon.clients.ThrottleIsFailure(j.Source) {
		return false
	}
	if errors.Is(err, ErrRateLimited) {
		return true
	}
	a := j.answers
	return a != nil && a.throttled.Load() && !a.failed.Load()
}
