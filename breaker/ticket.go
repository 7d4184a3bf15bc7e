package breaker

import (
	"context"
	"sync/atomic"
)

// Ticket is the admission of one call made with Allow, for callers that
// cannot wrap the work in a closure: an http.RoundTripper returns the
// response before the body is read, and must keep the request context alive
// until the body is closed.
//
// Report the outcome once with Done and free the request context with
// Release. Done and Release are safe to call more than once and from
// different goroutines; only the first Done (or a Release before any Done)
// counts. The zero Ticket, returned with a rejection, does nothing. A Ticket
// is a value: keep it in one place (a field of the body wrapper, say) and do
// not copy it once in use, or each copy may count.
type Ticket struct {
	b      *Breaker
	parent context.Context    // the caller's context
	tctx   context.Context    // the request-timeout context, nil if none
	cancel context.CancelFunc // releases tctx
	gen    uint64             // the generation the call was admitted in
	kind   admission
	done   uint32 // atomic: 1 once the outcome is recorded
}

// Allow admits one call, or rejects it at once with an error wrapping
// ErrOpen or ErrTooManyRequests (and a zero Ticket and ctx itself). On
// admission it returns the context to run the call with: ctx with the
// Config.RequestTimeout deadline when that is set and ctx has no earlier
// deadline, else ctx itself.
//
// The call must end with Done, which records its outcome, classified as by
// Execute, and frees a half-open slot; and Release, which cancels the
// request context. Release without Done records nothing but frees the
// slot, so `defer t.Release()` is always safe. Allow, Done and Release
// allocate nothing unless Allow sets a request timeout: a timer and its
// context (4 allocations).
//
// In an http.RoundTripper:
//
//	t, ctx, err := b.Allow(req.Context())
//	if err != nil {
//		return nil, err
//	}
//	resp, err := next.RoundTrip(req.WithContext(ctx))
//	if err != nil {
//		t.Done(err)
//		t.Release()
//		return nil, err
//	}
//	t.Done(statusError(resp)) // nil for 2xx; a RetryAfterError for 429
//	resp.Body = &releasingBody{ReadCloser: resp.Body, t: t} // Close calls t.Release()
//	return resp, nil
func (b *Breaker) Allow(ctx context.Context) (Ticket, context.Context, error) {
	t, err := b.Admit(ctx)
	if err != nil {
		return Ticket{}, ctx, err
	}
	if t.tctx, t.cancel = b.requestContext(ctx); t.tctx != nil {
		return t, t.tctx, nil
	}
	return t, ctx, nil
}

// Admit is Allow without the request timeout, for work that spans many
// requests, each bounded on its own (a sync job that fetches a list, then
// every item). It admits or rejects exactly as Allow does and returns a
// Ticket whose Done and Release work the same; the caller's ctx alone
// bounds the work.
func (b *Breaker) Admit(ctx context.Context) (Ticket, error) {
	gen, kind, err := b.admit()
	if err != nil {
		return Ticket{}, err
	}
	return Ticket{b: b, parent: ctx, gen: gen, kind: kind}, nil
}

// Done records the outcome of the call, classified from err as Execute
// classifies fn's error (a call that outlived the request timeout is a
// Failure even when err is nil), and returns it. Only the first call counts;
// later calls, and calls on a zero Ticket, return Ignored. Done does not
// cancel the request context: call Release when the call's resources (a
// response body) are closed.
func (t *Ticket) Done(err error) Outcome {
	if t.b == nil || atomic.LoadUint32(&t.done) != 0 {
		return Ignored
	}
	o, _ := t.b.outcome(t.parent, t.tctx, err)
	if !t.finish(o, err) {
		return Ignored
	}
	return o
}

// Release cancels the request context. If Done was not called, the call is
// recorded as Ignored, which frees its half-open slot. Release is idempotent.
func (t *Ticket) Release() {
	if t.b == nil {
		return
	}
	t.finish(Ignored, nil)
	if t.cancel != nil {
		t.cancel()
	}
}

// finish records outcome o, unless an outcome was recorded already; it
// reports whether this one was.
func (t *Ticket) finish(o Outcome, err error) bool {
	if atomic.LoadUint32(&t.done) != 0 || !atomic.CompareAndSwapUint32(&t.done, 0, 1) {
		return false
	}
	t.b.record(t.gen, t.kind, o, err)
	return true
}
