package breaker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/clock"
)

var (
	modelSeed = flag.Uint64("model.seed", 0, "first seed of the model-based test; 0 picks one at random")
	modelRuns = flag.Int("model.runs", 300, "number of random sequences the model-based test checks")
)

// model is a sequential reference implementation of the breaker's state
// machine, written for clarity rather than speed.
type model struct {
	modelState
	cfg    Config // resolved
	events []string
}

// modelState is everything the model tracks but its configuration and its
// event log; it is comparable, so that the states a concurrent batch may
// reach can be told apart.
type modelState struct {
	state       State
	mode        Mode
	gen         uint64
	fails, succ int
	inflight    int
	now         time.Duration
	openUntil   time.Duration
	retryUntil  time.Duration
	interval    time.Duration // the next backoff step
	failures    uint64
	rejected    uint64
	transitions [3][3]uint64
}

func newModel(cfg Config) *model {
	cfg = cfg.resolve()
	return &model{cfg: cfg, modelState: modelState{interval: cfg.OpenTimeout}}
}

func (m *model) clone() *model {
	c := *m
	c.events = slices.Clone(m.events)
	return &c
}

func (m *model) transition(to State, mode Mode) {
	from := m.state
	switch to {
	case Closed:
		m.interval = m.cfg.OpenTimeout
	case Open:
		if mode != ModeForcedOpen {
			m.openUntil = m.now + m.openPeriod()
		}
	}
	m.fails, m.succ, m.inflight = 0, 0, 0
	m.state, m.mode = to, mode
	m.gen++
	if from != to {
		m.transitions[from][to]++
		m.events = append(m.events, from.String()+"→"+to.String())
	}
}

func (m *model) openPeriod() time.Duration {
	limit := m.cfg.MaxOpenTimeout
	d := m.interval
	if float64(m.interval) >= float64(limit)/m.cfg.BackoffMultiplier {
		m.interval = limit
	} else {
		m.interval = time.Duration(float64(m.interval) * m.cfg.BackoffMultiplier)
	}
	d = min(d, limit)
	if ra := m.retryUntil - m.now; ra > d {
		d = min(ra, limit)
	}
	return d
}

func (m *model) noteRetryAfter(d time.Duration) {
	if d > 0 {
		m.retryUntil = max(m.retryUntil, m.now+d)
	}
}

func (m *model) expireIfDue() {
	if m.state == Open && m.mode != ModeForcedOpen && m.now >= m.openUntil {
		m.transition(HalfOpen, m.mode)
	}
}

func (m *model) admit() (admission, error) {
	switch m.mode {
	case ModeForcedOpen:
		m.rejected++
		return admitNone, ErrOpen
	case ModeDisabled:
		return admitFree, nil
	}
	if m.state == Open {
		if m.now < m.openUntil {
			if m.mode == ModeMetricsOnly {
				return admitFree, nil
			}
			m.rejected++
			return admitNone, ErrOpen
		}
		m.transition(HalfOpen, m.mode)
	}
	if m.state == Closed {
		return admitCounted, nil
	}
	if m.inflight < m.cfg.HalfOpenMaxRequests {
		m.inflight++
		return admitTrial, nil
	}
	if m.mode == ModeMetricsOnly {
		return admitFree, nil
	}
	m.rejected++
	return admitNone, ErrTooManyRequests
}

func (m *model) record(kind admission, gen uint64, o Outcome, ra time.Duration) {
	if gen != m.gen {
		return
	}
	switch kind {
	case admitCounted:
		switch o {
		case Success:
			m.fails = 0
		case Failure:
			m.failures++
			m.noteRetryAfter(ra)
			if m.fails++; m.fails >= m.cfg.FailureThreshold {
				m.transition(Open, m.mode)
			}
		}
	case admitTrial:
		m.inflight--
		switch o {
		case Success:
			if m.succ++; m.succ >= m.cfg.SuccessThreshold {
				m.transition(Closed, m.mode)
			}
		case Failure:
			m.failures++
			m.noteRetryAfter(ra)
			m.transition(Open, m.mode)
		}
	}
}

func (m *model) setMode(to Mode) {
	old := m.mode
	switch {
	case !to.valid() || to == old:
	case to == ModeForcedOpen && m.state != Open:
		m.transition(Open, to)
	case to == ModeDisabled:
		m.transition(Closed, to)
	case old == ModeForcedOpen:
		m.transition(HalfOpen, to)
	default:
		m.mode = to
	}
}

// quiet reports whether every call is now either rejected or admitted and
// not counted: forced open, disabled, or open before the end of the period.
func (m *model) quiet() bool {
	return m.mode == ModeForcedOpen || m.mode == ModeDisabled || (m.state == Open && m.now < m.openUntil)
}

// eventLog records the transitions a breaker's listener sees; the callers
// of a concurrent batch report them from their own goroutines.
type eventLog struct {
	mu     sync.Mutex
	events []string
}

func (l *eventLog) listen(ev StateChange) {
	l.mu.Lock()
	l.events = append(l.events, ev.From.String()+"→"+ev.To.String())
	l.mu.Unlock()
}

func (l *eventLog) get() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.events)
}

func (l *eventLog) equal(events []string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Equal(l.events, events)
}

// diff compares the breaker, and the events its listener saw, with the
// model. It describes the first difference, or returns "" if they agree.
func (m *model) diff(b *Breaker, events *eventLog) string {
	b.mu.Lock()
	state, mode, gen, inflight, openUntil := b.state, b.mode, b.gen, b.inflight, b.openUntil
	b.mu.Unlock()
	st := b.Stats()
	switch {
	case state != m.state:
		return fmt.Sprintf("state %v, model %v", state, m.state)
	case mode != m.mode:
		return fmt.Sprintf("mode %v, model %v", mode, m.mode)
	case gen != m.gen:
		return fmt.Sprintf("generation %d, model %d", gen, m.gen)
	case st.Counts != (Counts{uint32(m.fails), uint32(m.succ)}):
		return fmt.Sprintf("counts %+v, model fails %d succ %d", st.Counts, m.fails, m.succ)
	case inflight != m.inflight:
		return fmt.Sprintf("trials in flight %d, model %d", inflight, m.inflight)
	case inflight > m.cfg.HalfOpenMaxRequests:
		return fmt.Sprintf("%d trials in flight, limit %d", inflight, m.cfg.HalfOpenMaxRequests)
	case st.Rejected != m.rejected:
		return fmt.Sprintf("rejected %d, model %d", st.Rejected, m.rejected)
	case st.Failures != m.failures:
		return fmt.Sprintf("failures %d, model %d", st.Failures, m.failures)
	case st.Transitions != m.transitions:
		return fmt.Sprintf("transitions %v, model %v", st.Transitions, m.transitions)
	case state == Open && m.mode != ModeForcedOpen && time.Duration(openUntil) != m.openUntil:
		return fmt.Sprintf("open until %v, model %v", time.Duration(openUntil), m.openUntil)
	case !events.equal(m.events):
		return fmt.Sprintf("events %v, model %v", events.get(), m.events)
	}
	return ""
}

// modelCall is a call in flight: admitted, not yet finished.
type modelCall struct {
	t    Ticket
	kind admission
	gen  uint64
}

// result is what a call returns: its error, the outcome the model expects,
// and its Retry-After.
type result struct {
	err error
	o   Outcome
	ra  time.Duration
}

func randomResult(rng *rand.Rand, cfg Config) result {
	switch rng.IntN(10) {
	case 0, 1, 2, 3:
		return result{nil, Success, 0}
	case 4, 5, 6:
		return result{errBoom, Failure, 0}
	case 7:
		d := time.Duration(rng.Int64N(int64(3 * cfg.MaxOpenTimeout)))
		if d <= 0 {
			return result{errBoom, Failure, 0}
		}
		return result{fmt.Errorf("wrapped: %w", raError{d}), Failure, d}
	default:
		return result{errIgnore, Ignored, 0}
	}
}

func modelClassifier(err error) Outcome {
	if errors.Is(err, errIgnore) {
		return Ignored
	}
	return Failure
}

func randomConfig(rng *rand.Rand) Config {
	cfg := Config{
		FailureThreshold:    1 + rng.IntN(4),
		HalfOpenMaxRequests: rng.IntN(4),
		SuccessThreshold:    rng.IntN(5),
		OpenTimeout:         time.Duration(1+rng.IntN(10)) * time.Second,
		BackoffMultiplier:   []float64{0, 1, 1.5, 2, 3}[rng.IntN(5)],
	}
	if rng.IntN(2) == 0 {
		cfg.MaxOpenTimeout = cfg.OpenTimeout * time.Duration(1+rng.IntN(5))
	}
	return cfg
}

func TestModel(t *testing.T) {
	base := *modelSeed
	if base == 0 {
		base = rand.Uint64()
	}
	t.Logf("model seeds %d..%d (rerun one with -model.seed=N -model.runs=1)", base, base+uint64(*modelRuns)-1)
	for i := range *modelRuns {
		seed := base + uint64(i)
		if !checkModel(t, seed, 400) {
			t.Fatalf("model mismatch with seed %d: rerun with -run TestModel -model.seed=%d -model.runs=1 -v", seed, seed)
		}
	}
}

// checkModel runs one random sequence of calls, finishes, batches of
// concurrent calls, clock steps and mode changes against both the breaker
// and the model, comparing them after every step. It reports whether they
// agreed throughout.
func checkModel(t *testing.T, seed uint64, steps int) bool {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0x0bad5eed))
	cfg := randomConfig(rng)
	fc := clock.NewFake(time.Unix(1_700_000_000, 0))
	events := new(eventLog)
	b, err := New("model", cfg, WithClock(fc), WithJitter(0), WithClassifier(modelClassifier),
		WithStateListener(events.listen))
	if err != nil {
		t.Fatalf("seed %d: New(%+v): %v", seed, cfg, err)
	}
	m := newModel(cfg)
	workers := startWorkers(maxBatch + 1) // callers and an observer
	defer workers.stop()
	var pending []modelCall
	var log []string
	fail := func(format string, args ...any) bool {
		t.Errorf("seed %d, config %+v\nsteps:\n  %s\nmismatch: %s", seed, cfg, strings.Join(log, "\n  "), fmt.Sprintf(format, args...))
		return false
	}
	ctx := context.Background()

	for step := range steps {
		switch r := rng.IntN(100); {
		case r < 28: // a call starts (two-step)
			wantKind, wantErr := m.admit()
			tk, _, err := b.Allow(ctx)
			log = append(log, fmt.Sprintf("%d: Allow → kind %d err %v", step, tk.kind, err))
			if !errors.Is(err, wantErr) || (wantErr == nil && err != nil) || tk.kind != wantKind {
				return fail("Allow = kind %d, %v; model kind %d, %v", tk.kind, err, wantKind, wantErr)
			}
			if err == nil {
				pending = append(pending, modelCall{t: tk, kind: wantKind, gen: m.gen})
			}
		case r < 50 && len(pending) > 0: // a call in flight finishes
			i := rng.IntN(len(pending))
			c := pending[i]
			pending = append(pending[:i], pending[i+1:]...)
			res := randomResult(rng, m.cfg)
			if rng.IntN(8) == 0 { // Release without Done
				res = result{nil, Ignored, 0}
				log = append(log, fmt.Sprintf("%d: Release only (kind %d gen %d)", step, c.kind, c.gen))
			} else {
				log = append(log, fmt.Sprintf("%d: Done(%v) (kind %d gen %d)", step, res.err, c.kind, c.gen))
				if o := c.t.Done(res.err); o != res.o {
					return fail("Done returned %v, want %v", o, res.o)
				}
			}
			c.t.Release()
			m.record(c.kind, c.gen, res.o, res.ra)
		case r < 63: // a call runs to completion (Execute), perhaps panicking
			res := randomResult(rng, m.cfg)
			panics := rng.IntN(10) == 0
			if panics {
				res = result{nil, Failure, 0}
			}
			kind, wantErr := m.admit()
			gen := m.gen
			ran := false
			var recovered any
			err := func() error {
				defer func() { recovered = recover() }()
				return b.Execute(ctx, func(context.Context) error {
					ran = true
					if panics {
						panic("fn panicked")
					}
					return res.err
				})
			}()
			log = append(log, fmt.Sprintf("%d: Execute(%v, panic=%v) → %v", step, res.err, panics, err))
			if wantErr != nil {
				if ran || !errors.Is(err, wantErr) {
					return fail("Execute ran=%v err=%v; model rejects with %v", ran, err, wantErr)
				}
				break
			}
			if !ran || (panics && recovered == nil) || (!panics && err != res.err) {
				return fail("Execute ran=%v err=%v recovered=%v; model admits", ran, err, recovered)
			}
			m.record(kind, gen, res.o, res.ra)
		case r < 75 && (!m.quiet() || rng.IntN(4) == 0): // concurrent calls (see checkBatch)
			trace, mismatch := checkBatch(rng, workers, b, m, events)
			log = append(log, fmt.Sprintf("%d: %s", step, trace))
			if mismatch != "" {
				return fail("%s", mismatch)
			}
		case r < 90: // time passes
			var d time.Duration
			switch rng.IntN(4) {
			case 0: // exactly to the end of the open period, or just before
				if m.openUntil > m.now {
					d = m.openUntil - m.now - time.Duration(rng.IntN(2))
				}
			case 1:
				d = time.Duration(rng.Int64N(int64(m.cfg.OpenTimeout)))
			case 2:
				d = time.Duration(rng.Int64N(int64(2 * m.cfg.MaxOpenTimeout)))
			}
			fc.Advance(d)
			m.now += d
			log = append(log, fmt.Sprintf("%d: Advance(%v) now %v", step, d, m.now))
		case r < 95: // an observer reads the state
			got := b.State()
			m.expireIfDue()
			log = append(log, fmt.Sprintf("%d: State() = %v", step, got))
			if got != m.state {
				return fail("State() = %v, model %v", got, m.state)
			}
		default: // an operator switches the mode
			mode := []Mode{ModeNormal, ModeNormal, ModeForcedOpen, ModeDisabled, ModeMetricsOnly}[rng.IntN(5)]
			b.SetMode(mode)
			m.setMode(mode)
			log = append(log, fmt.Sprintf("%d: SetMode(%v)", step, mode))
		}

		if d := m.diff(b, events); d != "" {
			return fail("%s", d)
		}
	}
	for _, c := range pending {
		c.t.Release()
	}
	return true
}

// TestConcurrentCallers hammers one breaker from many goroutines while the
// clock moves and the mode changes, and checks that no half-open generation
// ever runs more than HalfOpenMaxRequests trials at once. Where it ends up
// cannot be predicted; the batches of TestModel (see checkBatch) compare
// concurrent calls with the model.
func TestConcurrentCallers(t *testing.T) {
	const (
		workers   = 8
		calls     = 2000
		maxTrials = 2
	)
	fc := clock.NewFake(time.Unix(0, 0))
	var transitions atomic.Int64
	var b *Breaker
	b, err := New("stress", Config{FailureThreshold: 3, HalfOpenMaxRequests: maxTrials, SuccessThreshold: 3, OpenTimeout: time.Second, MaxOpenTimeout: 4 * time.Second},
		WithClock(fc), WithClassifier(modelClassifier),
		WithStateListener(func(StateChange) { transitions.Add(1); _ = b.State() }))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	running := map[uint64]int{} // trials running per half-open generation
	seed := rand.Uint64()
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(g)))
			for range calls {
				res := randomResult(rng, b.Config())
				if rng.IntN(4) == 0 {
					b.Execute(context.Background(), func(context.Context) error { return res.err })
					continue
				}
				tk, _, err := b.Allow(context.Background())
				if err != nil {
					continue
				}
				gen := tk.gen
				if tk.kind == admitTrial {
					mu.Lock()
					running[gen]++
					if running[gen] > maxTrials {
						t.Errorf("seed %d: %d trials running in generation %d, limit %d", seed, running[gen], gen, maxTrials)
					}
					mu.Unlock()
				}
				b.mu.Lock()
				if b.inflight < 0 || b.inflight > maxTrials {
					t.Errorf("seed %d: inflight %d", seed, b.inflight)
				}
				b.mu.Unlock()
				if tk.kind == admitTrial {
					mu.Lock()
					running[gen]--
					mu.Unlock()
				}
				tk.Done(res.err)
				tk.Release()
			}
		})
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := 0; ; i++ {
		select {
		case <-done:
		default:
			fc.Advance(time.Duration(rng.Int64N(int64(time.Second))))
			if i%50 == 0 {
				b.SetMode([]Mode{ModeNormal, ModeMetricsOnly, ModeNormal, ModeForcedOpen, ModeNormal}[rng.IntN(5)])
			}
			continue
		}
		break
	}
	// Quiescent: the breaker must recover to closed.
	b.SetMode(ModeNormal)
	for range 10 {
		fc.Advance(time.Minute)
		if b.State() == Closed {
			break
		}
		b.Execute(context.Background(), succeed)
	}
	wantState(t, b, Closed)
	if transitions.Load() == 0 {
		t.Fatal("no transitions: the test exercised nothing")
	}
	var total uint64
	for _, row := range b.Transitions() {
		for _, n := range row {
			total += n
		}
	}
	if total != uint64(transitions.Load()) {
		t.Fatalf("transition counters %d, listener saw %d", total, transitions.Load())
	}
	t.Logf("seed %d: %d transitions, %d rejected", seed, total, b.Rejected())
}
