package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// admission is how an admitted call's result is counted.
type admission uint8

const (
	admitNone    admission = iota
	admitCounted           // closed state: counts toward FailureThreshold
	admitTrial             // half-open: holds one of HalfOpenMaxRequests slots
	admitFree              // disabled, or metrics-only bypass: not counted
)

// Breaker is a circuit breaker for one external service. Create one with
// New or Registry.Get; the zero value is not usable. All methods are safe for
// concurrent use.
type Breaker struct {
	mu sync.Mutex
	// Guarded by mu.
	state       State
	mode        Mode
	gen         uint64 // incremented by every state change
	fails       uint32 // consecutive failures while closed
	succ        uint32 // consecutive successful trials while half-open
	inflight    int    // trials admitted in this half-open generation
	openUntil   int64  // ns since epoch at which the open period ends
	retryUntil  int64  // ns since epoch until which a Retry-After holds
	trips       int    // opens since the breaker last closed
	bo          *backoff.ExponentialBackOff
	failures    uint64
	rejected    uint64
	transitions [3][3]uint64

	// Immutable after New.
	name       string
	cfg        Config
	clock      Clock
	epoch      time.Time
	classifier func(error) Outcome
	listeners  []func(StateChange)
	errOpen    *rejectError
	errTooMany *rejectError
	errTimeout *timeoutError
}

// New returns a closed breaker named name (the service it guards; it appears
// in errors and in StateChange events). cfg's zero fields take their
// defaults; negative or inconsistent values, an empty name and invalid
// options are reported as *ConfigError wrapping ErrInvalidConfig. New starts
// no goroutine.
func New(name string, cfg Config, opts ...Option) (*Breaker, error) {
	if name == "" {
		return nil, &ConfigError{Field: "name", Reason: "must not be empty"}
	}
	o := newOptions(opts)
	if o.openTimeoutOverride > 0 {
		cfg.OpenTimeout = o.openTimeoutOverride
		cfg.MaxOpenTimeout = 0
	}
	if err := errors.Join(cfg.Validate(), o.validate()); err != nil {
		return nil, fmt.Errorf("breaker %q: %w", name, err)
	}
	cfg = cfg.resolve()
	b := &Breaker{
		mode:       o.mode,
		name:       name,
		cfg:        cfg,
		clock:      o.clock,
		epoch:      o.clock.Now(),
		classifier: o.classifier,
		listeners:  o.listeners,
		errOpen:    newRejectError(name, ErrOpen),
		errTooMany: newRejectError(name, ErrTooManyRequests),
		errTimeout: newTimeoutError(name, cfg.RequestTimeout),
		bo: &backoff.ExponentialBackOff{
			InitialInterval:     cfg.OpenTimeout,
			RandomizationFactor: o.jitter,
			Multiplier:          cfg.BackoffMultiplier,
			MaxInterval:         cfg.MaxOpenTimeout,
			MaxElapsedTime:      0, // never stop
			Stop:                backoff.Stop,
			Clock:               o.clock,
		},
	}
	b.bo.Reset()
	if o.mode == ModeForcedOpen {
		b.state = Open
	}
	return b, nil
}

// Name returns the name given to New.
func (b *Breaker) Name() string { return b.name }

// Config returns the effective configuration: the Config given to New with
// its defaults filled in and WithOpenTimeoutOverride applied.
func (b *Breaker) Config() Config { return b.cfg }

// State returns the current state. An open breaker whose open period has
// ended moves to HalfOpen here, as it would on the next call, so that a
// gauge read without traffic is not stale; that transition calls the
// listeners in the caller's goroutine.
func (b *Breaker) State() State {
	b.mu.Lock()
	ev := b.expireLocked()
	s := b.state
	b.mu.Unlock()
	b.notify(ev)
	return s
}

// Mode returns the current operator mode.
func (b *Breaker) Mode() Mode {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mode
}

// Counts returns the consecutive counts of the current state.
func (b *Breaker) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Counts{ConsecutiveFailures: b.fails, ConsecutiveSuccesses: b.succ}
}

// Rejected returns the number of calls rejected since New.
func (b *Breaker) Rejected() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rejected
}

// Transitions returns the number of transitions since New, indexed
// [from][to] by State values; the diagonal is zero.
func (b *Breaker) Transitions() [3][3]uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.transitions
}

// Stats returns a consistent snapshot of everything an observer exports.
// Unlike State, it never makes a transition (an expired open period reads
// HalfOpen without moving the breaker), so it is safe inside metric
// collection: no listener runs there.
func (b *Breaker) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.state
	if b.expiredLocked() {
		st = HalfOpen
	}
	var until time.Time
	if st == Open && b.mode != ModeForcedOpen {
		until = b.epoch.Add(time.Duration(b.openUntil))
	}
	return Stats{
		Name:        b.name,
		State:       st,
		Mode:        b.mode,
		OpenUntil:   until,
		Counts:      Counts{ConsecutiveFailures: b.fails, ConsecutiveSuccesses: b.succ},
		Failures:    b.failures,
		Rejected:    b.rejected,
		Transitions: b.transitions,
	}
}

// SetMode switches the operator mode (see Mode for what each does). It may
// cause a state change, reported to the listeners before SetMode returns.
// Values other than the four modes are ignored.
func (b *Breaker) SetMode(m Mode) {
	if !m.valid() {
		return
	}
	b.mu.Lock()
	old := b.mode
	counts := Counts{ConsecutiveFailures: b.fails, ConsecutiveSuccesses: b.succ}
	var ev StateChange
	switch {
	case old == m:
	case m == ModeForcedOpen && b.state != Open:
		ev = b.transitionLocked(Open, m, counts)
	case m == ModeDisabled:
		// Closed, with the counts cleared and calls in flight dropped.
		ev = b.transitionLocked(Closed, m, counts)
	case old == ModeForcedOpen:
		ev = b.transitionLocked(HalfOpen, m, counts)
	default:
		b.mode = m
	}
	b.mu.Unlock()
	b.notify(ev)
}

// Execute runs fn if the breaker admits the call and returns fn's error;
// otherwise it returns at once, without running fn, an error wrapping
// ErrOpen or ErrTooManyRequests.
//
// fn receives ctx, with a deadline of Config.RequestTimeout when that is
// set and ctx has no earlier one. The result is classified (see
// WithClassifier): nil is a Success; a call that outlived the request
// timeout is a Failure, and its error satisfies
// errors.Is(err, context.DeadlineExceeded) (a nil result becomes such an
// error); an error while ctx itself is done is Ignored, so the caller's own
// cancellation or deadline never trips the breaker. A panic in fn counts as
// a Failure and keeps unwinding with its original stack.
func (b *Breaker) Execute(ctx context.Context, fn func(context.Context) error) error {
	gen, kind, err := b.admit()
	if err != nil {
		return err
	}
	tctx, cancel := b.requestContext(ctx)
	if cancel != nil {
		defer cancel()
	}
	completed := false
	defer func() {
		if !completed {
			b.record(gen, kind, Failure, nil)
		}
	}()
	if tctx != nil {
		err = fn(tctx)
	} else {
		err = fn(ctx)
	}
	completed = true
	o, err := b.outcome(ctx, tctx, err)
	b.record(gen, kind, o, err)
	return err
}

// Do runs fn through b as Execute does and returns fn's value and error. On
// rejection it returns T's zero value and the rejection error.
func Do[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := b.Execute(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// requestContext returns the context of a call admitted now: ctx with the
// request timeout, and its cancel function. It returns nil and nil when
// there is no request timeout, or when ctx's own deadline comes no later:
// the timeout could then never fire first, so the call needs no timer of its
// own, and when ctx's deadline passes the call is Ignored, as it would be
// with the timer.
func (b *Breaker) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	d := b.cfg.RequestTimeout
	if d <= 0 {
		return nil, nil
	}
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return nil, nil
	}
	return context.WithTimeoutCause(ctx, d, b.errTimeout)
}

// outcome classifies a finished call. parent is the caller's context; tctx
// the request-timeout context, or nil when there is none. It returns the
// error the caller should see.
func (b *Breaker) outcome(parent, tctx context.Context, err error) (Outcome, error) {
	if tctx != nil && tctx.Err() != nil && context.Cause(tctx) == error(b.errTimeout) {
		switch {
		case err == nil:
			err = b.errTimeout
		case !errors.Is(err, context.DeadlineExceeded):
			err = fmt.Errorf("%w: %w", b.errTimeout, err)
		}
		return Failure, err
	}
	if err == nil {
		return Success, nil
	}
	if parent.Err() != nil {
		return Ignored, err
	}
	if b.classifier == nil {
		return Failure, err
	}
	switch o := b.classifier(err); o {
	case Success, Ignored:
		return o, err
	}
	return Failure, err
}

// admit decides whether a call may run. It returns the generation the call
// is admitted in and how its result counts, or a rejection.
func (b *Breaker) admit() (uint64, admission, error) {
	b.mu.Lock()
	ev := b.expireLocked()
	gen, kind, err := b.admitLocked()
	b.mu.Unlock()
	b.notify(ev)
	return gen, kind, err
}

func (b *Breaker) admitLocked() (uint64, admission, error) {
	switch b.mode {
	case ModeForcedOpen:
		b.rejected++
		return b.gen, admitNone, b.errOpen
	case ModeDisabled:
		return b.gen, admitFree, nil
	}
	switch b.state {
	case Closed:
		return b.gen, admitCounted, nil
	case Open: // and its period has not ended, or admit would have expired it
		if b.mode == ModeMetricsOnly {
			return b.gen, admitFree, nil
		}
		b.rejected++
		return b.gen, admitNone, b.errOpen
	}
	if b.inflight < b.cfg.HalfOpenMaxRequests {
		b.inflight++
		return b.gen, admitTrial, nil
	}
	if b.mode == ModeMetricsOnly {
		return b.gen, admitFree, nil
	}
	b.rejected++
	return b.gen, admitNone, b.errTooMany
}

// record counts outcome o of a call admitted in generation gen as kind. A
// result from an earlier generation is dropped: the state it would count
// toward has gone, and its half-open slot with it.
func (b *Breaker) record(gen uint64, kind admission, o Outcome, err error) {
	if kind == admitNone || kind == admitFree || (kind == admitCounted && o == Ignored) {
		return
	}
	var ra time.Duration
	if o == Failure && err != nil {
		ra = retryAfter(err) // outside the lock: it walks the error chain
	}
	b.mu.Lock()
	if gen != b.gen {
		b.mu.Unlock()
		return
	}
	if ra > 0 {
		b.retryUntil = max(b.retryUntil, b.now()+int64(ra))
	}
	var ev StateChange
	switch kind {
	case admitCounted:
		switch o {
		case Success:
			b.fails = 0
		case Failure:
			b.failures++
			b.fails++
			if int(b.fails) >= b.cfg.FailureThreshold {
				ev = b.transitionLocked(Open, b.mode, Counts{ConsecutiveFailures: b.fails})
			}
		}
	case admitTrial:
		b.inflight--
		switch o {
		case Success:
			b.succ++
			if int(b.succ) >= b.cfg.SuccessThreshold {
				ev = b.transitionLocked(Closed, b.mode, Counts{ConsecutiveSuccesses: b.succ})
			}
		case Failure:
			b.failures++
			ev = b.transitionLocked(Open, b.mode, Counts{ConsecutiveFailures: 1, ConsecutiveSuccesses: b.succ})
		}
	}
	b.mu.Unlock()
	b.notify(ev)
}
