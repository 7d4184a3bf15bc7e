package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/internal/names"
)

// Engine evaluates rules on the process's metrics, keeps the alerts they
// raise and hands them to notifiers.
//
// It reads metrics only through its own sdk/metric ManualReader
// (see Reader), which must be registered on the MeterProvider whose
// instruments the rules watch. A Monitor wires it like this:
//
//	eng, err := alerting.New(cfg, alerting.WithNamespace(ns, sub))
//	mp := sdkmetric.NewMeterProvider(
//		sdkmetric.WithReader(eng.Reader()),
//		sdkmetric.WithReader(exporterReader),
//	)
//	err = eng.Instrument(mp)            // the engine's own metrics
//	err = eng.AddRule(...)              // DefaultRules and custom rules
//	err = eng.Start(ctx)                // periodic evaluation, delivery
//	...
//	err = eng.Shutdown(ctx)             // before mp.Shutdown
//
// A host that already has a MeterProvider builds it with
// sdkmetric.WithReader(eng.Reader()) and passes it to Instrument.
//
// All methods are safe for concurrent use. The zero value is not usable;
// create engines with New.
type Engine struct {
	cfg    Config
	clock  Clock
	log    *slog.Logger
	prefix names.Prefix
	reader *sdkmetric.ManualReader

	// evalMu serializes evaluations and the rule changes that emit
	// notifications, so that notifications reach the queues in the order
	// they were decided. It guards rm. Lock order: evalMu, then mu.
	evalMu sync.Mutex
	rm     metricdata.ResourceMetrics

	// mu guards every field below it.
	mu          sync.Mutex
	rules       map[string]*ruleEntry
	order       []*ruleEntry
	rulesGen    uint64
	watch       map[string]*watch
	series      map[string]*seriesSet
	alerts      map[string]*alertState // every known alert, by ID
	active      map[string]*alertState // pending and firing alerts, by ID
	bounds      map[string][]float64   // last bucket bounds seen per histogram
	deliverers  []*deliverer
	seq         uint64    // evaluations so far
	prevCollect int64     // time (UnixNano) of the previous evaluation
	graceUntil  time.Time // end of RestoreGrace
	lastSweep   time.Time // last forgetting of stale series
	version     uint64    // of the alert state, for persistence
	started     bool
	stopped     bool
	scratch     []*ruleEntry

	// persistMu serializes state file writes; written is the version last
	// written.
	persistMu sync.Mutex
	written   uint64

	inst   atomic.Pointer[instruments]
	firing [Critical + 1]atomic.Int64

	runCtx    context.Context // cancelled when Shutdown gives up waiting
	runCancel context.CancelFunc
	running   atomic.Bool   // between Start and Shutdown: RequestEvaluation is served
	kick      chan struct{} // RequestEvaluation's pending request (buffer 1)
	stop      chan struct{} // closed by Shutdown to stop the evaluation loop
	stopOnce  sync.Once
	stopErr   error // the first Shutdown's result
	loopDone  chan struct{}
	wg        sync.WaitGroup // evaluation loop and delivery workers
}

// ruleEntry is a registered rule with its compiled condition.
type ruleEntry struct {
	rule   Rule
	c      compiled
	order  int   // position in Engine.order
	active int   // pending and firing alerts of the rule
	err    error // last evaluation error, to log changes only
}

// New returns an engine with its ManualReader. It starts nothing: rules are
// evaluated on demand by Evaluate and periodically once Start is called.
//
// When cfg.StatePath is set New reads the saved alert state. A missing file
// is an empty state; an unreadable or corrupt one is logged (at error
// level), a corrupt one is moved aside to StatePath+".corrupt", and the
// engine starts empty: a bad state file never prevents the engine from
// running. New fails only for an invalid cfg (*ConfigError wrapping
// ErrInvalidConfig, several joined) and duplicate notifier names.
func New(cfg Config, opts ...Option) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	o := newOptions(opts)
	ctx, cancel := context.WithCancel(context.Background())
	e := &Engine{
		cfg:       cfg,
		clock:     o.clock,
		log:       o.logger,
		prefix:    o.prefix,
		reader:    sdkmetric.NewManualReader(),
		rules:     map[string]*ruleEntry{},
		watch:     map[string]*watch{},
		series:    map[string]*seriesSet{},
		alerts:    map[string]*alertState{},
		active:    map[string]*alertState{},
		bounds:    map[string][]float64{},
		runCtx:    ctx,
		runCancel: cancel,
		kick:      make(chan struct{}, 1),
		stop:      make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	for _, n := range o.notifiers {
		if err := e.addNotifierLocked(n); err != nil {
			cancel()
			return nil, err
		}
	}
	e.load()
	for _, d := range e.deliverers {
		e.seedKnownLocked(d)
	}
	e.updateFiringLocked()
	return e, nil
}

// seedKnownLocked tells d of the notified firing alerts restored from the
// state file, so that it gets their resolved notices (and, a Resender,
// their resends at once).
func (e *Engine) seedKnownLocked(d *deliverer) {
	for _, st := range e.active {
		if st.a.State == Firing && st.notified {
			d.known[st.a.ID] = time.Time{}
		}
	}
}

// Reader returns the engine's ManualReader. Register it on the
// MeterProvider whose instruments the rules read, with
// sdkmetric.WithReader. The provider owns it from then on: shutting the
// provider down shuts the reader down.
func (e *Engine) Reader() sdkmetric.Reader { return e.reader }

// Prefix returns the metric name prefix ("radarr_list_sync_") the engine
// resolves rule conditions and its own instruments with.
func (e *Engine) Prefix() string { return string(e.prefix) }

// Start starts periodic evaluation (every Config.EvaluationInterval, first
// one interval after Start) and the notifiers' delivery goroutines. It
// returns at once. A second call does nothing; a call after Shutdown returns
// ErrShutdown. ctx is not kept: Shutdown stops what Start starts.
func (e *Engine) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stopped {
		return ErrShutdown
	}
	if e.started {
		return nil
	}
	e.started = true
	e.running.Store(true)
	e.wg.Add(1)
	go e.loop()
	for _, d := range e.deliverers {
		e.startWorkerLocked(d)
	}
	return nil
}

// loop evaluates every EvaluationInterval and on request, until Shutdown.
// A requested evaluation leaves the schedule as it is.
func (e *Engine) loop() {
	defer e.wg.Done()
	defer close(e.loopDone)
	tick, stop := e.clock.NewTimer(e.cfg.EvaluationInterval)
	for {
		select {
		case <-e.stop:
			stop()
			return
		case <-e.kick:
			e.evaluateLogged()
		case <-tick:
			e.evaluateLogged()
			tick, stop = e.clock.NewTimer(e.cfg.EvaluationInterval)
		}
	}
}

func (e *Engine) evaluateLogged() {
	if err := e.evaluate(e.runCtx); err != nil {
		e.log.Warn("alerting: evaluation failed", slog.Any("error", err))
	}
}

// RequestEvaluation asks for an evaluation outside the schedule, e.g. right
// after a circuit breaker opens or a service goes down, so that its alert
// does not wait for the next tick. It never blocks: the evaluation runs on
// the engine's own goroutine, and requests made while one is pending
// coalesce into one. Before Start and after Shutdown it does nothing (use
// Evaluate to evaluate without Start).
func (e *Engine) RequestEvaluation() {
	if !e.running.Load() {
		return
	}
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// Shutdown stops periodic evaluation, lets each notifier deliver what is
// already queued, and waits for every goroutine the engine started. ctx
// bounds the wait: when it ends, deliveries in progress are cancelled and
// ctx's error is returned (goroutines exit as soon as their notifier honours
// the cancellation). Shutdown before Start is fine (queued notifications are
// then dropped and counted). Shutdown is idempotent: later calls wait for
// the first one and return its result. Shutdown does not shut the reader
// down: that is the MeterProvider's job, after the engine's Shutdown.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.stopOnce.Do(func() { e.stopErr = e.shutdown(ctx) })
	return e.stopErr
}

func (e *Engine) shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.stopped = true
	e.running.Store(false)
	started := e.started
	ds := slices.Clone(e.deliverers)
	e.mu.Unlock()

	// Cancelling runCtx on the way out aborts deliveries still running when
	// ctx ends; when everything finished in time it is a no-op.
	defer e.runCancel()
	var err error
	if started {
		close(e.stop)
		select {
		case <-e.loopDone:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	// Closing the queues lets each worker finish what is queued and exit.
	for _, d := range ds {
		d.close(started)
	}
	if inst := e.inst.Load(); inst != nil && inst.reg != nil {
		if err := inst.reg.Unregister(); err != nil {
			e.log.Debug("alerting: unregister callback", slog.Any("error", err))
		}
	}
	if err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (e *Engine) isStopped() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopped
}

// AddRule registers a rule. It returns a *RuleError wrapping
// ErrInvalidRule for a rule that cannot be evaluated as written,
// ErrDuplicateRule for a name already registered, and ErrNotBucketBoundary
// for a SlowOperation whose threshold is not a bucket boundary of a
// histogram already read. The engine keeps its own copy of r. Alerts
// restored from the state file for a rule of that name are taken up again.
func (e *Engine) AddRule(r Rule) error {
	r = r.clone()
	c, err := r.validate(e.prefix)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.rules[r.Name]; dup {
		return &RuleError{Rule: r.Name, Field: "Name", Reason: "already registered", Err: ErrDuplicateRule}
	}
	if err := e.checkBoundsLocked(&r, &c); err != nil {
		return err
	}
	re := &ruleEntry{rule: r, c: c}
	for _, st := range e.active {
		if st.a.Rule == r.Name {
			re.active++
		}
	}
	e.rules[r.Name] = re
	e.order = append(e.order, re)
	e.rebuildLocked()
	return nil
}

func (e *Engine) checkBoundsLocked(r *Rule, c *compiled) error {
	if c.kind != kindAbove {
		return nil
	}
	if b, ok := e.bounds[c.metric]; ok && boundIndex(b, c.bound) < 0 {
		return &RuleError{Rule: r.Name, Field: "Condition.Threshold",
			Reason: fmt.Sprintf("%g s is not a bucket boundary of %s %v", c.bound, c.metric, b), Err: ErrNotBucketBoundary}
	}
	return nil
}

// UpdateRule replaces the rule of the same name, keeping its alerts. An
// alert whose level rises loses its acknowledgement and is notified again
// at once, whatever the rate limit; if the rule is disabled its alerts
// resolve. Errors are those of AddRule, and ErrRuleNotFound.
func (e *Engine) UpdateRule(r Rule) error {
	r = r.clone()
	c, err := r.validate(e.prefix)
	if err != nil {
		return err
	}
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	old, ok := e.rules[r.Name]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrRuleNotFound, r.Name)
	}
	if err := e.checkBoundsLocked(&r, &c); err != nil {
		e.mu.Unlock()
		return err
	}
	re := &ruleEntry{rule: r, c: c, active: old.active}
	e.rules[r.Name] = re
	e.order[slices.Index(e.order, old)] = re
	e.rebuildLocked()
	ev := e.newEval()
	for _, st := range e.alertsOfLocked(r.Name) {
		switch {
		case r.Disabled:
			e.retire(st, re, ev)
		case r.Level > st.a.Level:
			st.a.Level = r.Level
			st.a.Description = r.Description
			clearAck(&st.a)
			st.a.UpdatedAt = ev.now
			if st.a.State == Firing {
				e.sendFiring(st, re, ev)
			}
			ev.dirty = true
		default:
			if st.a.Level != r.Level || st.a.Description != r.Description {
				st.a.Level = r.Level
				st.a.Description = r.Description
				ev.dirty = true
			}
		}
	}
	e.finishLocked(ev)
	return nil
}

// RemoveRule unregisters a rule. Its firing alerts resolve (with a
// resolved notification where a firing one was sent) and its pending alerts
// are dropped. It returns ErrRuleNotFound for an unknown name.
func (e *Engine) RemoveRule(name string) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	re, ok := e.rules[name]
	if !ok {
		e.mu.Unlock()
		return fmt.Errorf("%w: %q", ErrRuleNotFound, name)
	}
	delete(e.rules, name)
	e.order = slices.DeleteFunc(e.order, func(x *ruleEntry) bool { return x == re })
	e.rebuildLocked()
	ev := e.newEval()
	for _, st := range e.alertsOfLocked(name) {
		e.retire(st, re, ev)
	}
	e.finishLocked(ev)
	return nil
}

// alertsOfLocked returns the rule's active alerts in ID order.
func (e *Engine) alertsOfLocked(rule string) []*alertState {
	var out []*alertState
	for _, st := range e.active {
		if st.a.Rule == rule {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b *alertState) int { return compareStrings(a.a.ID, b.a.ID) })
	return out
}

// Rules returns copies of the registered rules in registration order.
func (e *Engine) Rules() []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Rule, len(e.order))
	for i, re := range e.order {
		out[i] = re.rule.clone()
	}
	return out
}

// rebuildLocked recomputes the per-instrument index of enabled rules and
// invalidates every series' bindings.
func (e *Engine) rebuildLocked() {
	e.rulesGen++
	ws := map[string]*watch{}
	for i, re := range e.order {
		re.order = i
		if re.rule.Disabled {
			continue
		}
		w := ws[re.c.metric]
		if w == nil {
			ss := e.series[re.c.metric]
			if ss == nil {
				ss = &seriesSet{m: map[attribute.Distinct]*seriesEntry{}}
				e.series[re.c.metric] = ss
			}
			w = &watch{metric: re.c.metric, series: ss, index: map[attribute.Key]map[string][]*ruleEntry{}}
			ws[re.c.metric] = w
		}
		if re.c.windowed() {
			w.maxWindow = max(w.maxWindow, re.c.window)
		}
		if len(re.c.matchers) == 0 {
			w.all = append(w.all, re)
			continue
		}
		m := re.c.matchers[0]
		byValue := w.index[m.key]
		if byValue == nil {
			byValue = map[string][]*ruleEntry{}
			w.index[m.key] = byValue
			w.keys = append(w.keys, m.key)
		}
		byValue[m.value] = append(byValue[m.value], re)
	}
	for name := range e.series {
		if ws[name] == nil {
			delete(e.series, name)
		}
	}
	e.watch = ws
}

// Evaluate collects the metrics once and evaluates every enabled rule on
// that snapshot, updating alerts and queueing notifications, and returns
// when it is done. The goroutine started by Start calls it periodically and
// on RequestEvaluation. Concurrent calls are serialized.
//
// It returns an error without evaluating when the reader cannot collect
// (not yet registered on a MeterProvider, shut down, ctx done), and
// ErrShutdown after Shutdown. Otherwise it evaluates what it could collect
// and returns, joined, the errors of observable callbacks that failed
// during the collection and the *RuleErrors of rules that could not be
// evaluated; the other rules are evaluated all the same.
func (e *Engine) Evaluate(ctx context.Context) error {
	if e.isStopped() {
		return ErrShutdown
	}
	return e.evaluate(ctx)
}

func (e *Engine) evaluate(ctx context.Context) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	var errs []error
	if err := e.reader.Collect(ctx, &e.rm); err != nil {
		if errors.Is(err, sdkmetric.ErrReaderNotRegistered) || errors.Is(err, sdkmetric.ErrReaderShutdown) || ctx.Err() != nil {
			return fmt.Errorf("alerting: collect metrics: %w", err)
		}
		// A failing observable callback spoils its own instruments only:
		// evaluate what was collected.
		errs = append(errs, fmt.Errorf("alerting: collect metrics: %w", err))
	}
	e.mu.Lock()
	ev := e.newEval()
	e.seq++
	ev.seq = e.seq
	e.processLocked(ev)
	errs = append(errs, e.ruleErrorsLocked(ev)...)
	e.finishLocked(ev)
	return errors.Join(errs...)
}

// finishLocked ends a change of alert state: it prunes and counts alerts,
// then, after releasing mu, saves the state and queues the notifications.
// It is called with evalMu and mu held and releases mu.
func (e *Engine) finishLocked(ev *evalState) {
	e.pruneLocked(ev)
	e.updateFiringLocked()
	job := e.saveJobLocked(ev.dirty)
	ds := slices.Clone(e.deliverers)
	var firing []Alert // for Resenders
	for _, d := range ds {
		if d.resend > 0 {
			firing = e.notifiedFiringLocked()
			break
		}
	}
	e.mu.Unlock()

	e.persist(job)
	slices.SortStableFunc(ev.notices, func(a, b notice) int {
		if a.order != b.order {
			return a.order - b.order
		}
		return compareStrings(a.a.ID, b.a.ID)
	})
	for _, n := range ev.notices {
		for _, d := range ds {
			d.enqueue(n.a)
		}
	}
	for _, d := range ds {
		d.resendDue(firing, ev.now)
	}
}

// notifiedFiringLocked returns copies of the firing alerts whose firing
// was notified, in ID order.
func (e *Engine) notifiedFiringLocked() []Alert {
	var out []Alert
	for _, st := range e.active {
		if st.a.State == Firing && st.notified {
			out = append(out, cloneAlert(st.a))
		}
	}
	slices.SortFunc(out, func(a, b Alert) int { return compareStrings(a.ID, b.ID) })
	return out
}

// ruleErrorsLocked records the rules' evaluation errors, logs the ones that
// changed and returns them in rule order.
func (e *Engine) ruleErrorsLocked(ev *evalState) []error {
	var errs []error
	for _, re := range e.order {
		err := ev.errs[re]
		if err != nil {
			errs = append(errs, err)
		}
		switch {
		case err != nil && (re.err == nil || re.err.Error() != err.Error()):
			e.log.Error("alerting: rule cannot be evaluated", slog.String("rule", re.rule.Name), slog.Any("error", err))
		case err == nil && re.err != nil:
			e.log.Info("alerting: rule evaluates again", slog.String("rule", re.rule.Name))
		}
		re.err = err
	}
	return errs
}

// pruneLocked drops resolved alerts past their retention, and the oldest
// ones past MaxResolved.
func (e *Engine) pruneLocked(ev *evalState) {
	if len(e.alerts) == len(e.active) {
		return
	}
	cutoff := ev.now.Add(-e.cfg.Retention)
	var resolved []*alertState
	for id, st := range e.alerts {
		if st.a.State != Resolved {
			continue
		}
		if st.a.ResolvedAt == nil || st.a.ResolvedAt.Before(cutoff) {
			delete(e.alerts, id)
			ev.dirty = true
			continue
		}
		resolved = append(resolved, st)
	}
	if over := len(resolved) - e.cfg.MaxResolved; over > 0 {
		slices.SortFunc(resolved, func(a, b *alertState) int { return a.a.ResolvedAt.Compare(*b.a.ResolvedAt) })
		for _, st := range resolved[:over] {
			delete(e.alerts, st.a.ID)
		}
		ev.dirty = true
	}
}

func (e *Engine) updateFiringLocked() {
	var n [Critical + 1]int64
	for _, st := range e.active {
		if st.a.State == Firing && st.a.Level >= Info && st.a.Level <= Critical {
			n[st.a.Level]++
		}
	}
	for l := range n {
		e.firing[l].Store(n[l])
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cloneAlert(a Alert) Alert {
	a.Labels = maps.Clone(a.Labels)
	if a.ResolvedAt != nil {
		t := *a.ResolvedAt
		a.ResolvedAt = &t
	}
	if a.AcknowledgedAt != nil {
		t := *a.AcknowledgedAt
		a.AcknowledgedAt = &t
	}
	return a
}
