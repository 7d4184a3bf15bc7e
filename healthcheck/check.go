package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/listsync/otelmon/internal/redact"
)

// UserAgent is sent with every check whose Target.Headers has no User-Agent.
const UserAgent = "otelmon-healthcheck"

// maxDrain is how much of a response body a check reads before closing it:
// enough for the connection to be reused after a typical health answer.
const maxDrain = 64 << 10

// CheckNow checks the target called name at once, counts the result as a
// scheduled one would be counted and returns it. The check waits for a free
// slot of MaxConcurrency. It returns a *TargetError wrapping
// ErrUnknownTarget for an unknown name and ErrShutdown after Shutdown. When ctx
// ends before the check does, the failure is not counted and CheckNow
// returns the result with ctx's error.
func (c *Checker) CheckNow(ctx context.Context, name string) (Result, error) {
	c.mu.Lock()
	e, ok := c.entries[name]
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return Result{Target: name, Err: ErrShutdown}, ErrShutdown
	}
	if !ok {
		err := &TargetError{Name: name, Err: ErrUnknownTarget}
		return Result{Target: name, Err: err}, err
	}
	return c.run(ctx, e)
}

// CheckAll checks every registered target at once, at most MaxConcurrency
// in parallel, counts the results like CheckNow and returns them sorted by
// target name. When ctx ends first, the remaining checks fail with ctx's
// error and are not counted. After Shutdown it returns nil.
func (c *Checker) CheckAll(ctx context.Context) []Result {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	es := make([]*entry, len(c.names))
	for i, name := range c.names {
		es[i] = c.entries[name]
	}
	c.mu.Unlock()

	ctx, cancel := c.withDone(ctx)
	defer cancel()
	results := make([]Result, len(es))
	var wg sync.WaitGroup
	for i, e := range es {
		if err := c.acquire(ctx); err != nil {
			results[i] = c.uncounted(e, outcome{start: c.clock.Now(), err: err})
			continue
		}
		wg.Go(func() {
			defer c.release()
			results[i], _ = c.check(ctx, e)
		})
	}
	wg.Wait()
	return results
}

// run checks e once with a slot of the semaphore, for CheckNow and the
// scheduler.
func (c *Checker) run(ctx context.Context, e *entry) (Result, error) {
	ctx, cancel := c.withDone(ctx)
	defer cancel()
	if err := c.acquire(ctx); err != nil {
		return c.uncounted(e, outcome{start: c.clock.Now(), err: err}), err
	}
	defer c.release()
	return c.check(ctx, e)
}

// withDone returns a context that also ends, with cause ErrShutdown, when the
// Checker shuts down.
func (c *Checker) withDone(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(c.done, func() { cancel(ErrShutdown) })
	return ctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

func (c *Checker) acquire(ctx context.Context) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	select {
	case c.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (c *Checker) release() { <-c.sem }

// check probes e and counts the outcome, unless it failed because ctx ended:
// a check its caller gave up on says nothing about the service.
func (c *Checker) check(ctx context.Context, e *entry) (Result, error) {
	o := c.probe(ctx, e)
	if errors.Is(o.err, ErrShutdown) {
		return c.uncounted(e, o), ErrShutdown
	}
	if o.err != nil && ctx.Err() != nil {
		return c.uncounted(e, o), context.Cause(ctx)
	}
	return c.apply(e, o), nil
}

// outcome is what a probe found out.
type outcome struct {
	start   time.Time
	latency time.Duration
	code    int
	err     error // redacted
}

// probe runs one request for e in its own goroutine, bounded by e's timeout.
// The goroutine reports on a buffered channel, so it can always exit, even
// after probe stopped waiting for it.
func (c *Checker) probe(ctx context.Context, e *entry) outcome {
	start := c.clock.Now()
	if !c.track() {
		return outcome{start: start, err: ErrShutdown}
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	decided := make(chan outcome, 1)
	finished := make(chan struct{})
	go func() {
		defer c.probes.Done()
		defer close(finished)
		c.attempt(ctx, e, start, decided)
	}()
	select {
	case o := <-decided:
		// Let the body drain within the deadline so that the connection can
		// be reused; the outcome is already decided.
		select {
		case <-finished:
		case <-ctx.Done():
		}
		return o
	case <-ctx.Done():
	}
	select {
	case o := <-decided:
		return o
	default:
	}
	err := fmt.Errorf("check canceled: %w", context.Cause(ctx))
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = fmt.Errorf("check timed out after %v: %w", e.timeout, context.Cause(ctx))
	}
	return outcome{start: start, latency: c.clock.Now().Sub(start), err: err}
}

// track registers a probe goroutine, unless the Checker is shut down.
func (c *Checker) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.probes.Add(1)
	return true
}

// attempt sends e's request, sends the outcome to decided (capacity 1) as
// soon as the response headers arrive, then drains and closes the body. A
// panic becomes a failed outcome.
func (c *Checker) attempt(ctx context.Context, e *entry, start time.Time, decided chan<- outcome) {
	sent := false
	defer func() {
		if r := recover(); r != nil && !sent {
			decided <- outcome{
				start:   start,
				latency: c.clock.Now().Sub(start),
				err:     fmt.Errorf("%w: %s", ErrCheckPanicked, e.scrub(fmt.Sprint(r))),
			}
		}
	}()
	req, err := http.NewRequestWithContext(ctx, e.target.method(), e.url, nil)
	if err != nil {
		sent = true
		decided <- outcome{start: start, err: redact.Error(err)}
		return
	}
	for k, vs := range e.target.Headers {
		if http.CanonicalHeaderKey(k) != "Host" {
			req.Header[k] = slices.Clone(vs)
		}
	}
	if e.host != "" {
		req.Host = e.host
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", UserAgent)
	}
	resp, err := e.client.Do(req)
	o := outcome{start: start, latency: c.clock.Now().Sub(start)}
	if err != nil {
		o.err = redact.Error(err)
		sent = true
		decided <- o
		return
	}
	defer resp.Body.Close()
	o.code = resp.StatusCode
	if !e.target.accepts(resp.StatusCode) {
		o.err = &StatusError{StatusCode: resp.StatusCode}
	}
	sent = true
	decided <- o
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
}

// scrub masks e's URL secrets in free text.
func (e *entry) scrub(s string) string {
	s = strings.ReplaceAll(s, e.url, redact.URL(e.url))
	for _, secret := range e.secrets {
		s = strings.ReplaceAll(s, secret, redact.Mask)
	}
	return s
}

// uncounted returns the Result of an outcome that does not count.
func (c *Checker) uncounted(e *entry, o outcome) Result {
	c.mu.Lock()
	status := e.status
	c.mu.Unlock()
	return Result{
		Target:     e.target.Name,
		Status:     status,
		StatusCode: o.code,
		Latency:    o.latency,
		Time:       o.start,
		Err:        o.err,
	}
}

// apply counts o for e, moves e's status and gives the transition, if any,
// to the listeners.
func (c *Checker) apply(e *entry, o outcome) Result {
	res := Result{
		Target:     e.target.Name,
		OK:         o.err == nil,
		StatusCode: o.code,
		Latency:    o.latency,
		Time:       o.start,
		Err:        o.err,
	}
	c.mu.Lock()
	if c.entries[e.target.Name] != e { // removed while the check ran
		res.Status = e.status
		c.mu.Unlock()
		return res
	}
	from := e.status
	if res.OK {
		e.successes++
		e.failures = 0
	} else {
		e.failures++
		e.successes = 0
	}
	to := c.next(from, res.OK, e.successes, e.failures)
	res.Status = to
	e.status = to
	e.last = res
	e.checked = true
	deliver := false
	if from != to {
		e.pending = append(e.pending, Transition{Target: res.Target, From: from, To: to, Result: res})
		deliver = !e.dispatching
		e.dispatching = true
	}
	c.mu.Unlock()

	if !res.OK {
		c.log.Debug("health check failed", "target", res.Target, "status", to, "error", res.Err.Error())
	}
	if deliver {
		c.dispatch(e)
	}
	return res
}

// next is the status state machine; see the package documentation.
func (c *Checker) next(from Status, ok bool, successes, failures int) Status {
	switch {
	case from == Unknown && ok:
		return Up
	case from != Down && failures >= c.cfg.FailureThreshold:
		return Down
	case from == Down && successes >= c.cfg.RecoveryThreshold:
		return Up
	}
	return from
}

// dispatch gives e's pending transitions to the listeners, in order and
// without the lock, until none is left. Only one goroutine dispatches for an
// entry at a time: the one whose apply found nobody dispatching.
func (c *Checker) dispatch(e *entry) {
	for {
		c.mu.Lock()
		if len(e.pending) == 0 {
			e.pending = nil
			e.dispatching = false
			c.mu.Unlock()
			return
		}
		t := e.pending[0]
		e.pending[0] = Transition{}
		e.pending = e.pending[1:]
		c.mu.Unlock()

		c.logTransition(t)
		for _, l := range c.listeners {
			c.notify(l, t)
		}
	}
}

func (c *Checker) logTransition(t Transition) {
	level, attrs := slog.LevelInfo, []any{"target", t.Target, "from", t.From, "to", t.To}
	if t.To == Down {
		level = slog.LevelWarn
	}
	if t.Result.Err != nil {
		attrs = append(attrs, "error", t.Result.Err.Error())
	}
	c.log.Log(context.Background(), level, "service health changed", attrs...)
}

func (c *Checker) notify(l func(Transition), t Transition) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("health check listener panicked", "target", t.Target, "panic", fmt.Sprint(r))
		}
	}()
	l(t)
}
