package breaker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
)

// A batch is a step of the model-based test in which several callers call
// the breaker at once. It runs in two phases, so that what it does can be
// predicted whatever the interleaving:
//
//  1. The callers, released together, are each admitted or rejected, and
//     an admitted caller then waits for its result. No call finishing
//     meanwhile, the admissions are the same in every interleaving as when
//     the model admits the calls one after another: as many rejected with
//     ErrOpen and with ErrTooManyRequests, as many trials (never more than
//     the half-open slots left), and at most one open→half-open transition.
//  2. The admitted callers are handed their results and all finish at
//     once. The model finishes the calls in every order and with every way
//     of handing out the results, and the breaker must land in one of the
//     states so reached. Most batches allow a single state: failures alone
//     in the closed state open the breaker iff they reach the threshold;
//     successes alone in half-open close it iff they reach the success
//     threshold; a failed trial reopens it unless the successes can reach
//     the threshold first.

// admissionReport is what a caller of a batch reports once the breaker has
// admitted or rejected it.
type admissionReport struct {
	execute bool      // the caller uses Execute, else Allow
	err     error     // the rejection
	kind    admission // Allow only
	gen     uint64    // Allow only: the generation of the ticket's word
}

// batch is a set of callers started together.
type batch struct {
	reports  chan admissionReport
	results  chan result
	observed chan State
	callers  int
	observe  bool
	problems []string // by caller; written by its goroutine before it ends
	wg       sync.WaitGroup
}

// workers are the goroutines that run the callers of batches, started once
// per sequence rather than once per batch, which under the race detector
// would cost more than the checks.
type workers struct {
	jobs chan func()
	wg   sync.WaitGroup
}

func startWorkers(n int) *workers {
	w := &workers{jobs: make(chan func())}
	for range n {
		w.wg.Go(func() {
			for job := range w.jobs {
				job()
			}
		})
	}
	return w
}

// stop ends the workers and waits for them; no batch may be running.
func (w *workers) stop() {
	close(w.jobs)
	w.wg.Wait()
}

// startBatch starts, on as many workers, one caller per element of
// execute, calling Execute where it is true and Allow, Done and Release
// where it is false, and, if observe, an observer that reads State
// meanwhile. They all wait on one channel, closed once every one of them
// has a worker.
func startBatch(w *workers, b *Breaker, execute []bool, observe bool) *batch {
	n := len(execute)
	bt := &batch{
		reports:  make(chan admissionReport, n),
		results:  make(chan result, n),
		observed: make(chan State, 1),
		callers:  n,
		observe:  observe,
		problems: make([]string, n),
	}
	start := make(chan struct{})
	for i, ex := range execute {
		bt.wg.Add(1)
		w.jobs <- func() {
			defer bt.wg.Done()
			<-start
			if ex {
				bt.problems[i] = bt.execute(b)
			} else {
				bt.problems[i] = bt.allow(b)
			}
		}
	}
	if observe {
		bt.wg.Add(1)
		w.jobs <- func() {
			defer bt.wg.Done()
			<-start
			bt.observed <- b.State()
		}
	}
	close(start)
	return bt
}

// callErr is the error a caller returns for r. A Release without Done
// (r.err nil, r.o Ignored) becomes an ignored error through Execute.
func (r result) callErr() error {
	if r.o == Ignored && r.err == nil {
		return errIgnore
	}
	return r.err
}

func (r result) String() string {
	switch {
	case r.o == Success:
		return "ok"
	case r.o == Failure && r.ra > 0:
		return "fail(ra " + r.ra.String() + ")"
	case r.o == Failure:
		return "fail"
	case r.err == nil:
		return "release"
	}
	return "ignored"
}

func (bt *batch) execute(b *Breaker) string {
	var (
		res result
		ran bool
	)
	err := b.Execute(context.Background(), func(context.Context) error {
		ran = true
		bt.reports <- admissionReport{execute: true}
		res = <-bt.results
		return res.callErr()
	})
	if !ran {
		bt.reports <- admissionReport{execute: true, err: err}
		return ""
	}
	if err != res.callErr() {
		return fmt.Sprintf("Execute returned %v, want %v", err, res.callErr())
	}
	return ""
}

func (bt *batch) allow(b *Breaker) string {
	tk, _, err := b.Allow(context.Background())
	bt.reports <- admissionReport{err: err, kind: tk.kind, gen: tk.gen}
	if err != nil {
		return ""
	}
	defer tk.Release()
	res := <-bt.results
	if res.o == Ignored && res.err == nil {
		return "" // Release only
	}
	if o := tk.Done(res.err); o != res.o {
		return fmt.Sprintf("Done(%v) = %v, want %v", res.err, o, res.o)
	}
	return ""
}

// admissions waits until every caller has been admitted or rejected and
// the observer, if any, has read the state. No admitted call has finished.
func (bt *batch) admissions() ([]admissionReport, State) {
	reports := make([]admissionReport, bt.callers)
	for i := range reports {
		reports[i] = <-bt.reports
	}
	var st State
	if bt.observe {
		st = <-bt.observed
	}
	return reports, st
}

// finish hands one result to each admitted caller, whichever takes it
// first, waits until every caller and the observer have ended, and returns
// what the callers found wrong with their own calls.
func (bt *batch) finish(results []result) []string {
	for _, r := range results {
		bt.results <- r
	}
	bt.wg.Wait()
	var problems []string
	for _, p := range bt.problems {
		if p != "" {
			problems = append(problems, p)
		}
	}
	return problems
}

// batchResults draws the results of a batch of n calls: all successes, all
// failures, successes or failures with ignored results, or all three. All
// the failures of a batch carry the same error, so that a Retry-After is
// noted alike whichever of them the breaker counts.
func batchResults(rng *rand.Rand, cfg Config, n int) []result {
	var (
		ok      = result{nil, Success, 0}
		failure = result{errBoom, Failure, 0}
		ignored = result{errIgnore, Ignored, 0}
		release = result{nil, Ignored, 0}
	)
	if rng.IntN(3) == 0 {
		d := 1 + time.Duration(rng.Int64N(int64(3*cfg.MaxOpenTimeout)))
		failure = result{fmt.Errorf("wrapped: %w", raError{d}), Failure, d}
	}
	choices := [][]result{
		{ok},
		{failure},
		{ok, ignored, release},
		{failure, ignored, release},
		{ok, failure, ignored, release},
	}[rng.IntN(5)]
	rs := make([]result, n)
	for i := range rs {
		rs[i] = choices[rng.IntN(len(choices))]
	}
	return rs
}

// finishAll returns the states the model may reach when the calls it
// admitted as kinds, in generation gen, finish concurrently with results,
// one each: a state for every order of finishing and every way of handing
// out the results, without duplicates, in a stable order. All the failures
// among results must carry the same Retry-After.
func (m *model) finishAll(kinds []admission, gen uint64, results []result) []*model {
	var (
		nk     [4]int // calls left, by admission
		nr     [5]int // results left, by Outcome
		failRA time.Duration
	)
	for _, k := range kinds {
		nk[k]++
	}
	for _, r := range results {
		nr[r.o]++
		if r.o == Failure {
			failRA = r.ra
		}
	}
	type node struct {
		s  modelState
		nk [4]int
		nr [5]int
	}
	visited := map[node]bool{}
	finals := map[modelState]*model{}
	var order []modelState
	var walk func(m *model, nk [4]int, nr [5]int)
	walk = func(m *model, nk [4]int, nr [5]int) {
		n := node{m.modelState, nk, nr}
		if visited[n] {
			return
		}
		visited[n] = true
		// Once the generation has moved on, the results left count for
		// nothing.
		if m.gen != gen || nr == [5]int{} {
			if finals[m.modelState] == nil {
				finals[m.modelState] = m
				order = append(order, m.modelState)
			}
			return
		}
		for k := range nk {
			for o := range nr {
				if nk[k] == 0 || nr[o] == 0 {
					continue
				}
				var ra time.Duration
				if Outcome(o) == Failure {
					ra = failRA
				}
				c := m.clone()
				c.record(admission(k), gen, Outcome(o), ra)
				nk2, nr2 := nk, nr
				nk2[k]--
				nr2[o]--
				walk(c, nk2, nr2)
			}
		}
	}
	walk(m.clone(), nk, nr)
	out := make([]*model, len(order))
	for i, s := range order {
		out[i] = finals[s]
	}
	return out
}

// maxBatch is the largest number of callers in a batch.
const maxBatch = 6

// checkBatch runs a batch of 2 to maxBatch callers, a random mix of
// Execute and Allow, perhaps with an observer, against the breaker, and
// checks it against the model: after the admissions, the rejections by
// error, the number admitted, the kinds and generation of the tickets, the
// state the observer read and everything diff compares; after the calls
// have finished, that the breaker is in one of the states the model
// allows, from which the model then continues. It returns a line for the
// trace and, on a mismatch, what differed.
func checkBatch(rng *rand.Rand, w *workers, b *Breaker, m *model, events *eventLog) (trace, mismatch string) {
	n := 2 + rng.IntN(maxBatch-1)
	execute := make([]bool, n)
	callers := make([]byte, n)
	for i := range execute {
		execute[i] = rng.IntN(2) == 0
		callers[i] = 'A'
		if execute[i] {
			callers[i] = 'E'
		}
	}
	observe := rng.IntN(4) == 0
	results := batchResults(rng, m.cfg, n)

	before := m.state
	var (
		kinds       []admission
		modelKinds  [4]int
		modelReject = map[error]int{}
	)
	for range n {
		kind, err := m.admit()
		if err != nil {
			modelReject[err]++
			continue
		}
		kinds = append(kinds, kind)
		modelKinds[kind]++
	}
	if observe {
		m.expireIfDue()
	}
	gen := m.gen

	bt := startBatch(w, b, execute, observe)
	reports, observed := bt.admissions()
	var (
		admitted   int
		allowKinds [4]int
		reject     = map[error]int{}
		problems   []string
	)
	for _, r := range reports {
		switch {
		case r.err == nil:
			admitted++
			if r.execute {
				break
			}
			allowKinds[r.kind]++
			if r.gen != gen {
				problems = append(problems, fmt.Sprintf("ticket admitted in generation %d, model %d", r.gen, gen))
			}
		case errors.Is(r.err, ErrOpen):
			reject[ErrOpen]++
		case errors.Is(r.err, ErrTooManyRequests):
			reject[ErrTooManyRequests]++
		default:
			problems = append(problems, fmt.Sprintf("rejected with %v", r.err))
		}
	}
	trace = fmt.Sprintf("batch %s: admitted %d, %d ErrOpen, %d ErrTooManyRequests",
		callers, admitted, reject[ErrOpen], reject[ErrTooManyRequests])
	if observe {
		trace += fmt.Sprintf(", State() = %v", observed)
	}
	trace += fmt.Sprintf("; results %v", results[:admitted])

	if admitted != len(kinds) || reject[ErrOpen] != modelReject[ErrOpen] || reject[ErrTooManyRequests] != modelReject[ErrTooManyRequests] {
		problems = append(problems, fmt.Sprintf("admitted %d, %d ErrOpen, %d ErrTooManyRequests; model %d, %d, %d",
			admitted, reject[ErrOpen], reject[ErrTooManyRequests], len(kinds), modelReject[ErrOpen], modelReject[ErrTooManyRequests]))
	}
	for k, c := range allowKinds {
		if c > modelKinds[k] {
			problems = append(problems, fmt.Sprintf("%d tickets of kind %d, model admits %d", c, k, modelKinds[k]))
		}
	}
	if observe && observed != before && observed != m.state {
		problems = append(problems, fmt.Sprintf("observer read %v, model %v or %v", observed, before, m.state))
	}
	if d := m.diff(b, events); d != "" {
		problems = append(problems, "after the admissions: "+d)
	}
	problems = append(problems, bt.finish(results[:admitted])...)
	if len(problems) > 0 {
		return trace, strings.Join(problems, "; ")
	}

	finals := m.finishAll(kinds, gen, results[:admitted])
	var diffs []string
	for _, f := range finals {
		d := f.diff(b, events)
		if d == "" {
			*m = *f
			trace += fmt.Sprintf(" → %v", m.state)
			if len(finals) > 1 {
				trace += fmt.Sprintf(" (one of %d allowed outcomes)", len(finals))
			}
			return trace, ""
		}
		diffs = append(diffs, fmt.Sprintf("allowed %v: %s", f.state, d))
	}
	return trace, "after the calls finished, in no state the model allows: " + strings.Join(diffs, "; ")
}
