package breaker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// failBits must hold MaxFailureThreshold.
var _ = [1]struct{}{}[MaxFailureThreshold>>failBits]

// The state word packs everything the hot path reads into one atomic uint64:
//
//	bits 0-1   state (Closed, Open, HalfOpen)
//	bits 2-3   mode
//	bits 4-23  consecutive failures in the closed state
//	bits 24-63 generation, incremented by every state change
//
// A call remembers the word it was admitted under; its result counts only if
// the generation is unchanged when it finishes.
const (
	stateMask = 0x3
	modeShift = 2
	modeMask  = 0x3 << modeShift
	failShift = 4
	failBits  = 20 // holds MaxFailureThreshold
	failMask  = MaxFailureThreshold << failShift
	failOne   = 1 << failShift
	genShift  = failShift + failBits
	genOne    = 1 << genShift

	// fastMask is zero for closed in ModeNormal: the hot path.
	fastMask = stateMask | modeMask
)

func stateOf(w uint64) State  { return State(w & stateMask) }
func modeOf(w uint64) Mode    { return Mode((w & modeMask) >> modeShift) }
func failsOf(w uint64) uint32 { return uint32((w & failMask) >> failShift) }
func genOf(w uint64) uint64   { return w >> genShift }

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
	// Hot: read by every call. word changes on failures, mode changes and
	// state changes only; the other fields are immutable after New.
	word       atomic.Uint64
	reqTimeout time.Duration
	classifier func(error) Outcome
	threshold  uint64
	_          [64]byte // keep the counters below off the hot cache line

	// Written on failure and rejection paths; read by observers.
	rejected   atomic.Uint64
	failures   atomic.Uint64
	consecSucc atomic.Uint32 // written under mu
	openUntil  atomic.Int64  // ns since epoch; written under mu before the word says Open
	retryUntil atomic.Int64  // ns since epoch until which a Retry-After holds; raised by CAS

	mu          sync.Mutex
	inflight    int                         // trial calls admitted in this half-open generation; guarded by mu
	bo          *backoff.ExponentialBackOff // open-period growth; guarded by mu
	trips       int                         // opens since the breaker last closed; guarded by mu
	transitions [3][3]atomic.Uint64         // written under mu

	// Immutable after New.
	name             string
	cfg              Config
	clock            Clock
	epoch            time.Time
	listeners        []func(StateChange)
	maxTrials        int
	successThreshold uint32
	errOpen          *rejectError
	errTooMany       *rejectError
	errTimeout       *timeoutError
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
	var errs []error
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, o.validate()...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("breaker %q: %w", name, errors.Join(errs...))
	}
	cfg = cfg.resolve()

	b := &Breaker{
		reqTimeout:       cfg.RequestTimeout,
		classifier:       o.classifier,
		threshold:        uint64(cfg.FailureThreshold),
		name:             name,
		cfg:              cfg,
		clock:            o.clock,
		epoch:            o.clock.Now(),
		listeners:        o.listeners,
		maxTrials:        cfg.HalfOpenMaxRequests,
		successThreshold: uint32(cfg.SuccessThreshold),
		errOpen:          newRejectError(name, ErrOpen),
		errTooMany:       newRejectError(name, ErrTooManyRequests),
		errTimeout:       newTimeoutError(name, cfg.RequestTimeout),
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
	w := uint64(o.mode) << modeShift
	if o.mode == ModeForcedOpen {
		w |= uint64(Open)
	}
	b.word.Store(w)
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
	w := b.word.Load()
	if stateOf(w) == Open && modeOf(w) != ModeForcedOpen && b.now() >= b.openUntil.Load() {
		b.expire(w)
		w = b.word.Load()
	}
	return stateOf(w)
}

// peekState is State without the transition: an open breaker whose open
// period has ended reads HalfOpen, but listeners are not called. Stats uses
// it, since it runs inside metric collection, where a listener that
// collects metrics itself would deadlock.
func (b *Breaker) peekState() State {
	w := b.word.Load()
	if stateOf(w) == Open && modeOf(w) != ModeForcedOpen && b.now() >= b.openUntil.Load() {
		return HalfOpen
	}
	return stateOf(w)
}

// Mode returns the current operator mode.
func (b *Breaker) Mode() Mode { return modeOf(b.word.Load()) }

// Counts returns the consecutive counts of the current state.
func (b *Breaker) Counts() Counts {
	return Counts{ConsecutiveFailures: failsOf(b.word.Load()), ConsecutiveSuccesses: b.consecSucc.Load()}
}

// Rejected returns the number of calls rejected since New.
func (b *Breaker) Rejected() uint64 { return b.rejected.Load() }

// Transitions returns the number of transitions since New, indexed
// [from][to] by State values; the diagonal is zero.
func (b *Breaker) Transitions() [3][3]uint64 {
	var t [3][3]uint64
	for i := range t {
		for j := range t[i] {
			t[i][j] = b.transitions[i][j].Load()
		}
	}
	return t
}

// Stats returns a snapshot of everything an observer exports. Unlike
// State, it never makes a transition (an expired open period reads
// HalfOpen without moving the breaker), so it is safe inside metric
// collection: no listener runs there.
func (b *Breaker) Stats() Stats {
	return Stats{
		Name:        b.name,
		State:       b.peekState(),
		Mode:        b.Mode(),
		Counts:      b.Counts(),
		Failures:    b.failures.Load(),
		Rejected:    b.rejected.Load(),
		Transitions: b.Transitions(),
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
	w := b.word.Load()
	old, st := modeOf(w), stateOf(w)
	if old == m {
		b.mu.Unlock()
		return
	}
	counts := Counts{ConsecutiveFailures: failsOf(w), ConsecutiveSuccesses: b.consecSucc.Load()}
	var ev StateChange
	switch {
	case m == ModeForcedOpen && st != Open:
		ev = b.transitionLocked(Open, m, counts)
	case m == ModeDisabled:
		// Closed, with the counts cleared and calls in flight dropped.
		ev = b.transitionLocked(Closed, m, counts)
	case old == ModeForcedOpen:
		ev = b.transitionLocked(HalfOpen, m, counts)
	default:
		for !b.word.CompareAndSwap(w, w&^modeMask|uint64(m)<<modeShift) {
			w = b.word.Load()
		}
	}
	b.mu.Unlock()
	b.notify(ev)
}

// Execute runs fn if the breaker admits the call and returns fn's error;
// otherwise it returns at once, without running fn, an error wrapping
// ErrOpen or ErrTooManyRequests.
//
// fn receives ctx, with a deadline of Config.RequestTimeout when that is
// set. The result is classified (see WithClassifier): nil is a Success; a
// call that outlived the request timeout is a Failure, and its error
// satisfies errors.Is(err, context.DeadlineExceeded) (a nil result becomes
// such an error); an error while ctx itself is done is Ignored, so the
// caller's own cancellation never trips the breaker. A panic in fn counts as
// a Failure and keeps unwinding with its original stack.
func (b *Breaker) Execute(ctx context.Context, fn func(context.Context) error) error {
	w := b.word.Load()
	if w&fastMask != 0 || b.reqTimeout > 0 {
		return b.execute(ctx, fn)
	}
	// Closed, normal mode, no request timeout: no lock, no clock, and no
	// shared write unless a failure is counted or cleared.
	completed := false
	defer func() {
		if !completed {
			b.closedFailure(w, nil)
		}
	}()
	err := fn(ctx)
	completed = true
	if err == nil {
		b.closedSuccess(w)
		return nil
	}
	o, err := b.outcome(ctx, nil, err)
	b.record(w, admitCounted, o, err)
	return err
}

func (b *Breaker) execute(ctx context.Context, fn func(context.Context) error) error {
	w, kind, err := b.admit()
	if err != nil {
		return err
	}
	var tctx context.Context
	if b.reqTimeout > 0 {
		c, cancel := context.WithTimeoutCause(ctx, b.reqTimeout, b.errTimeout)
		defer cancel()
		tctx = c
	}
	completed := false
	defer func() {
		if !completed {
			b.record(w, kind, Failure, nil)
		}
	}()
	if tctx != nil {
		err = fn(tctx)
	} else {
		err = fn(ctx)
	}
	completed = true
	o, err := b.outcome(ctx, tctx, err)
	b.record(w, kind, o, err)
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

// admit decides whether a call may run, off the closed fast path.
func (b *Breaker) admit() (uint64, admission, error) {
	for {
		w := b.word.Load()
		mode := modeOf(w)
		switch mode {
		case ModeForcedOpen:
			b.rejected.Add(1)
			return w, admitNone, b.errOpen
		case ModeDisabled:
			return w, admitFree, nil
		}
		switch stateOf(w) {
		case Closed:
			return w, admitCounted, nil
		case Open:
			if b.now() < b.openUntil.Load() {
				if mode == ModeMetricsOnly {
					return w, admitFree, nil
				}
				b.rejected.Add(1)
				return w, admitNone, b.errOpen
			}
			b.expire(w)
		default: // HalfOpen
			b.mu.Lock()
			if b.word.Load() != w { // mode or state changed; look again
				b.mu.Unlock()
				continue
			}
			if b.inflight < b.maxTrials {
				b.inflight++
				b.mu.Unlock()
				return w, admitTrial, nil
			}
			b.mu.Unlock()
			if mode == ModeMetricsOnly {
				return w, admitFree, nil
			}
			b.rejected.Add(1)
			return w, admitNone, b.errTooMany
		}
	}
}

// record counts the outcome of a call admitted under word w.
func (b *Breaker) record(w uint64, kind admission, o Outcome, err error) {
	switch kind {
	case admitCounted:
		switch o {
		case Success:
			b.closedSuccess(w)
		case Failure:
			b.closedFailure(w, err)
		}
	case admitTrial:
		b.trialDone(w, o, err)
	}
}

// closedSuccess clears the failure count, writing only when it is not zero.
func (b *Breaker) closedSuccess(adm uint64) {
	if b.word.Load()&failMask != 0 {
		b.clearFailures(adm)
	}
}

func (b *Breaker) clearFailures(adm uint64) {
	for {
		w := b.word.Load()
		if genOf(w) != genOf(adm) || w&failMask == 0 {
			return
		}
		if b.word.CompareAndSwap(w, w&^failMask) {
			return
		}
	}
}

// closedFailure counts a failure of a call admitted in the closed state
// under word adm. Below the threshold it is a lock-free increment; the
// failure that reaches it takes the lock and opens the breaker.
func (b *Breaker) closedFailure(adm uint64, err error) {
	gen := genOf(adm)
	if genOf(b.word.Load()) != gen {
		return // a result from before a state change
	}
	if err != nil {
		if d := retryAfter(err); d > 0 {
			b.noteRetryAfter(d)
		}
	}
	locked := false
	for {
		w := b.word.Load()
		if genOf(w) != gen {
			break
		}
		n := failsOf(w) + 1
		if uint64(n) < b.threshold {
			if b.word.CompareAndSwap(w, w+failOne) {
				b.failures.Add(1)
				break
			}
			continue
		}
		if !locked {
			b.mu.Lock()
			locked = true
			continue // look again: the generation is stable under mu
		}
		ev, ok := b.tripLocked(w, Counts{ConsecutiveFailures: n})
		if !ok {
			continue // a lock-free success or failure changed the count: look again
		}
		b.failures.Add(1)
		b.mu.Unlock()
		b.notify(ev)
		return
	}
	if locked {
		b.mu.Unlock()
	}
}

// tripLocked opens a closed breaker from exactly the word w, which holds
// the failure that reached the threshold. Successes and failures below the
// threshold update the word without mu, so the trip must not overwrite one
// that landed after w was read: when w is no longer current it changes
// nothing (the open period's backoff step is taken back) and reports false.
func (b *Breaker) tripLocked(w uint64, counts Counts) (StateChange, bool) {
	savedBackoff, savedTrips := *b.bo, b.trips
	now := b.now()
	b.openUntil.Store(now + int64(b.openPeriodLocked(now))) // read only once the word says Open
	nw := (w&^(stateMask|failMask) + genOne) | uint64(Open)
	if !b.word.CompareAndSwap(w, nw) {
		*b.bo, b.trips = savedBackoff, savedTrips
		return StateChange{}, false
	}
	b.inflight = 0
	b.consecSucc.Store(0)
	b.transitions[Closed][Open].Add(1)
	return StateChange{Name: b.name, From: Closed, To: Open, Counts: counts}, true
}

// trialDone counts the outcome of a half-open trial admitted under word adm
// and frees its slot.
func (b *Breaker) trialDone(adm uint64, o Outcome, err error) {
	b.mu.Lock()
	w := b.word.Load()
	if genOf(w) != genOf(adm) {
		b.mu.Unlock() // the slot went with its generation
		return
	}
	b.inflight--
	var ev StateChange
	switch o {
	case Success:
		if n := b.consecSucc.Add(1); n >= b.successThreshold {
			ev = b.transitionLocked(Closed, modeOf(w), Counts{ConsecutiveSuccesses: n})
		}
	case Failure:
		b.failures.Add(1)
		if err != nil {
			if d := retryAfter(err); d > 0 {
				b.noteRetryAfter(d)
			}
		}
		ev = b.transitionLocked(Open, modeOf(w), Counts{ConsecutiveFailures: 1, ConsecutiveSuccesses: b.consecSucc.Load()})
	}
	b.mu.Unlock()
	b.notify(ev)
}

// expire moves an open breaker whose period has ended (observed under word
// w) to HalfOpen, unless someone else already changed the state.
func (b *Breaker) expire(w uint64) {
	b.mu.Lock()
	cur := b.word.Load()
	if genOf(cur) != genOf(w) || modeOf(cur) == ModeForcedOpen {
		b.mu.Unlock()
		return
	}
	ev := b.transitionLocked(HalfOpen, modeOf(cur), Counts{})
	b.mu.Unlock()
	b.notify(ev)
}

// transitionLocked moves the breaker to state to and mode, starting a new
// generation, and returns the event to pass to notify once mu is released.
// Everything a reader of the new word needs is set before the word is
// published.
func (b *Breaker) transitionLocked(to State, mode Mode, counts Counts) StateChange {
	switch to {
	case Closed:
		b.bo.Reset()
		b.trips = 0
	case Open:
		if mode != ModeForcedOpen {
			now := b.now()
			b.openUntil.Store(now + int64(b.openPeriodLocked(now)))
		}
	}
	b.inflight = 0
	b.consecSucc.Store(0)
	var from State
	for {
		w := b.word.Load()
		from = stateOf(w)
		nw := (w&^(stateMask|modeMask|failMask) + genOne) | uint64(to) | uint64(mode)<<modeShift
		if b.word.CompareAndSwap(w, nw) {
			break
		}
	}
	if from != to {
		b.transitions[from][to].Add(1)
	}
	return StateChange{Name: b.name, From: from, To: to, Counts: counts}
}

// openPeriodLocked returns the length of the open period that starts now:
// exactly OpenTimeout on the first trip since the breaker closed, then the
// next (jittered, growing) backoff step; at least to the end of a pending
// Retry-After window, at most MaxOpenTimeout.
func (b *Breaker) openPeriodLocked(now int64) time.Duration {
	limit := b.cfg.MaxOpenTimeout
	d := b.bo.NextBackOff() // advanced on every trip, so growth starts from the second
	if b.trips == 0 {
		d = b.cfg.OpenTimeout
	}
	b.trips++
	if d < 0 || d > limit {
		d = limit
	}
	if ra := time.Duration(b.retryUntil.Load() - now); ra > d {
		d = min(ra, limit)
	}
	return d
}

func (b *Breaker) noteRetryAfter(d time.Duration) {
	until := b.now() + int64(d)
	for {
		cur := b.retryUntil.Load()
		if cur >= until || b.retryUntil.CompareAndSwap(cur, until) {
			return
		}
	}
}

// notify calls the listeners; mu must not be held.
func (b *Breaker) notify(ev StateChange) {
	if ev.From == ev.To {
		return
	}
	for _, l := range b.listeners {
		l(ev)
	}
}

// now returns the time since New in nanoseconds: monotonic with the wall
// clock, and exact with a fake one.
func (b *Breaker) now() int64 { return int64(b.clock.Now().Sub(b.epoch)) }
