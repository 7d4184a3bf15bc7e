package clientstack

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/httperr"
)

// classify is httperr.Classify, with a 429 a failure (carrying its
// Retry-After) when the service's Limits.ThrottleIsFailure says so.
func (t *breakerTransport) classify(resp *http.Response, err error, now time.Time) error {
	if t.throttleFails && err == nil && resp.StatusCode == http.StatusTooManyRequests {
		return httperr.FromResponse(resp, now)
	}
	return httperr.Classify(resp, err)
}

// breakerTransport admits each request through a breaker and reports its
// classified outcome when the response headers arrive. When the breaker
// has a request timeout, the timeout's context lives until the response
// body is closed, so reading the body is bounded too.
type breakerTransport struct {
	s    *Stack
	b    *breaker.Breaker
	held bool // a monitored sync job holds b's admission for every request
	// throttleFails counts a 429 as a failure (Limits.ThrottleIsFailure).
	throttleFails bool
	next          http.RoundTripper
}

func (t *breakerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.held || holdsBreaker(req.Context(), t.b) {
		return t.roundTripInJob(req)
	}
	ticket, ctx, err := t.b.Allow(req.Context())
	if err != nil {
		BreakerEvent(req.Context(), t.b.Name(), err)
		if req.Body != nil {
			_ = req.Body.Close() // RoundTrippers must close the body, even on error
		}
		return nil, err
	}
	timed := ctx != req.Context()
	if timed {
		req = req.WithContext(ctx)
	}
	resp, err := t.next.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests && !t.throttleFails {
		// Neither a failure nor a success: Release, below or when the body
		// is closed, records the attempt as ignored.
	} else {
		ticket.Done(t.classify(resp, err, t.s.cfg.Clock.Now()))
	}
	if err != nil || !timed {
		ticket.Release()
		return resp, err
	}
	resp.Body = &ticketBody{ReadCloser: resp.Body, ticket: ticket}
	return resp, nil
}

// roundTripInJob sends a request of a monitored sync job that holds the
// breaker: not counted by it, but bounded by the request timeout (until
// the body is closed), and with a 429's Retry-After window noted for the
// job's outcome.
func (t *breakerTransport) roundTripInJob(req *http.Request) (*http.Response, error) {
	d := t.b.Config().RequestTimeout
	if d <= 0 {
		return t.next.RoundTrip(req)
	}
	ctx, cancel := context.WithTimeout(req.Context(), d)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	now := t.s.cfg.Clock.Now()
	var se *httperr.StatusError
	if errors.As(t.classify(resp, err, now), &se) && se.Delay > 0 {
		t.s.windows.note(t.b, now.Add(se.Delay))
	}
	if err != nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// ticketBody releases the breaker ticket, and so the request-timeout
// context, when the caller closes the body.
type ticketBody struct {
	io.ReadCloser
	ticket breaker.Ticket
}

func (b *ticketBody) Close() error {
	err := b.ReadCloser.Close()
	b.ticket.Release()
	return err
}

// cancelBody ends a request's timeout context when the caller closes the
// body.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// heldBreakerKey is the context key of the breaker whose admission a
// monitored sync job holds.
type heldBreakerKey struct{}

// WithHeldBreaker marks ctx as running inside a monitored sync job that
// holds b's admission, so that the stack's transport for b neither admits
// the job's requests again nor leaves them unbounded. The mark is read-only:
// nothing is written through it.
func WithHeldBreaker(ctx context.Context, b *breaker.Breaker) context.Context {
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
