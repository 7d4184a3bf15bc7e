package clientstack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/trace"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/httperr"
	"github.com/listsync/otelmon/internal/pacer"
)

// Backoff between attempts when the service names no Retry-After.
const (
	retryInitialInterval = 250 * time.Millisecond
	retryMaxInterval     = 10 * time.Second
)

// minTracedWait is the shortest pacer wait worth a span event: shorter
// ones are the cost of asking.
const minTracedWait = time.Millisecond

// maxDrain bounds what is read from a discarded response body so that its
// connection can be reused.
const maxDrain = 64 << 10

// pacedTransport is the top of a service's client stack: it waits for the
// service's pacer, sends the attempt down the stack (breaker, otelhttp,
// counting), teaches the pacer from the answer, and retries idempotent
// requests that met throttling, a gateway error or a broken connection.
type pacedTransport struct {
	s     *Stack
	c     *client
	next  http.RoundTripper
	probe bool // send at once, only once; count against the pace
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := t.c.pacer
	write := pacer.IsWrite(req.Method)
	if t.probe {
		p.Take(write)
		resp, err := t.next.RoundTrip(req)
		t.observe(req, resp, err)
		return resp, err
	}
	ctx := req.Context()
	clk := t.s.cfg.Clock
	span := trace.SpanFromContext(ctx)
	traced := span.IsRecording() // events cost nothing when no span records
	attempts := 1
	if idempotent(req) {
		attempts = t.c.limits.MaxAttempts
		t.c.budget.Request(clk.Now())
	}
	var bo *backoff.ExponentialBackOff
	for attempt := 1; ; attempt++ {
		areq := req
		if attempt > 1 {
			var err error
			if areq, err = rewind(req); err != nil {
				return nil, err
			}
		}
		var waitStart time.Time
		if traced {
			waitStart = clk.Now()
		}
		if err := p.Wait(ctx, write); err != nil {
			closeBody(areq)
			err = t.waitError(err)
			if traced {
				pacerEvent(span, t.c.name, clk.Now().Sub(waitStart), err)
			}
			return nil, err
		}
		if traced {
			if w := clk.Now().Sub(waitStart); w >= minTracedWait {
				pacerEvent(span, t.c.name, w, nil)
			}
		}
		resp, err := t.next.RoundTrip(areq)
		t.observe(areq, resp, err)
		if attempt >= attempts || !retryable(resp, err) || ctx.Err() != nil {
			return resp, err
		}
		now := clk.Now()
		delay := p.PauseLeft(now) // the pacer waits it out for every request
		sleep := time.Duration(0)
		if delay == 0 {
			if bo == nil {
				bo = backoff.NewExponentialBackOff(
					backoff.WithInitialInterval(retryInitialInterval),
					backoff.WithMaxInterval(retryMaxInterval),
					backoff.WithMaxElapsedTime(0))
			}
			delay = bo.NextBackOff()
			sleep = delay
		}
		if dl, ok := ctx.Deadline(); ok && now.Add(delay).After(dl) {
			return resp, err // the answer, rather than a wait past the deadline
		}
		if delay > t.c.limits.Pacer.MaxWait || !t.c.budget.TryRetry(now) {
			return resp, err
		}
		if traced {
			cause := retryCause{err: err}
			if resp != nil {
				cause.status = resp.StatusCode
			}
			retryEvent(span, t.c.name, attempt+1, cause, delay)
		}
		discard(resp)
		t.c.series.retries.Add(1)
		if !clock.Sleep(ctx, clk, sleep) {
			return nil, ctx.Err()
		}
	}
}

// observe teaches the pacer what an attempt got.
func (t *pacedTransport) observe(req *http.Request, resp *http.Response, err error) {
	p := t.c.pacer
	switch {
	case err == nil:
		p.Observe(pacer.IsWrite(req.Method), resp.StatusCode, resp.Header)
	case errors.Is(err, breaker.ErrOpen), errors.Is(err, breaker.ErrTooManyRequests), req.Context().Err() != nil:
		p.Abandon() // never reached the service, or the caller gave up
	default:
		p.ObserveError()
	}
}

// waitError turns the pacer's refusal to wait into a *httperr.RateLimitError.
func (t *pacedTransport) waitError(err error) error {
	var we *pacer.WaitError
	if errors.As(err, &we) {
		return &httperr.RateLimitError{Service: t.c.name, Wait: we.Wait, Paused: we.Paused}
	}
	return err
}

// idempotent reports whether req may be sent again: a GET, HEAD, OPTIONS
// or TRACE, or a request with an Idempotency-Key header; in both cases
// only when its body, if any, can be had again (GetBody).
func idempotent(req *http.Request) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, "":
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// retryable reports whether an attempt's result is worth another attempt:
// 429, 502, 503, 504, or a connection that failed.
func retryable(resp *http.Response, err error) bool {
	if err != nil {
		return connectionError(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// connectionError reports whether err is a connection that could not be
// made or broke, rather than a timeout, a cancellation or a rejection.
func connectionError(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, breaker.ErrOpen) || errors.Is(err, breaker.ErrTooManyRequests) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && !op.Timeout()
}

// rewind returns a copy of req with a fresh body, for another attempt.
func rewind(req *http.Request) (*http.Request, error) {
	r := req.Clone(req.Context())
	if req.GetBody != nil {
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		r.Body = body
	}
	return r, nil
}

// discard drains and closes the body of a response the caller will not see.
func discard(resp *http.Response) {
	if resp == nil || resp.Body == nil {
		return
	}
	_, _ = io.CopyN(io.Discard, resp.Body, maxDrain)
	_ = resp.Body.Close()
}

// closeBody closes a request body that will not be sent, as RoundTrippers
// must.
func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}
