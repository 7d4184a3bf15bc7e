package alerting

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/listsync/otelmon/alerting/silence"
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
//	eng.RequestEvaluation()             // e.g. when a breaker opens
//	...
//	err = eng.Shutdown(ctx)             // before mp.Shutdown
//
// A host that already has a MeterProvider builds it with
// sdkmetric.WithReader(eng.Reader()) and passes it to Instrument.
//
// All methods are safe for concurrent use. The zero value is not usable;
// create engines with New.
type Engine struct {
	// The Engine composes the parts described in doc.go ("Inside the
	// engine") and owns their state.
	cfg    Config
	clock  Clock
	log    *slog.Logger
	prefix names.Prefix
	reader *sdkmetric.ManualReader

	sched    *schedule       // synchronizes itself
	dispatch *dispatcher     // synchronizes itself
	persist  *statePersister // written under evalMu; closed by Shutdown
	inst     atomic.Pointer[instruments]

	// evalMu serializes every change of alert state (evaluations, rule
	// changes, acknowledgements), so that notifications are queued and the
	// state file written in the order the changes were decided. It guards
	// rm and store. Lock order: evalMu, then mu.
	evalMu sync.Mutex
	rm     metricdata.ResourceMetrics
	store  *seriesStore

	// mu guards the fields below it: what queries read, which must not wait
	// for a collection. Changes hold evalMu too.
	mu         sync.Mutex
	rules      *ruleSet
	alerts     *alertTable
	silences   *silence.Store    // replaced whole by a change (see saveSilencesLocked)
	windows    []*silence.Window // compiled cfg.MaintenanceWindows; never changed
	seq        uint64            // evaluations so far
	graceUntil time.Time         // end of RestoreGrace, set by the first evaluation
	started    bool
	stopped    bool

	stopOnce sync.Once
	stopErr  error // the first Shutdown's result
}

// New returns an engine with its ManualReader. It starts nothing: rules are
// evaluated on demand by Evaluate and periodically once Start is called.
//
// When cfg.StatePath is set the engine owns that file until Shutdown: New
// resolves the path's symbolic links (so that a link to the file, or to
// its directory, leads to the same file, and saves replace the file, not
// the link), takes an exclusive lock on a lock file beside the file
// (StatePath+".lock", at the resolved path), and fails with an error
// wrapping ErrStateLocked, naming the path, while another engine, in this
// process or another, owns it, through whichever path. The OS releases the
// lock if the process dies. New then checks that the file's directory can
// be written (an error otherwise), removes temporary files left by a save
// that a crash interrupted (StatePath+".tmp-*"), and reads the saved state:
//   - a missing file is an empty state;
//   - a corrupt file is logged and moved aside to
//     StatePath+".corrupt-<UTC time>" (with "-2", "-3", ... when that name
//     is taken, so an earlier copy is never replaced), and the engine starts
//     empty;
//   - any other read error (permissions, a directory at that path) makes
//     New fail with that error, and the file is left as it is.
//
// New also fails for an invalid cfg (*ConfigError wrapping
// ErrInvalidConfig, several joined) and duplicate notifier names.
func New(cfg Config, opts ...Option) (*Engine, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	windows, err := compileWindows(cfg.MaintenanceWindows)
	if err != nil {
		return nil, err
	}
	o := newOptions(opts)
	silences := silence.NewStore(cfg.Silences)
	persist, restored, err := openState(cfg.StatePath, o.logger, o.clock.Now(), silences)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:     cfg,
		clock:   o.clock,
		log:     o.logger,
		prefix:  o.prefix,
		reader:  o.reader,
		sched:   newSchedule(cfg.EvaluationInterval, o.clock),
		persist: persist,
		store:   newSeriesStore(cfg.EvaluationInterval),
		rules:   newRuleSet(),
		alerts:  newAlertTable(),

		silences: silences,
		windows:  windows,
	}
	e.dispatch = newDispatcher(cfg.Delivery, o.clock, o.logger, &e.inst)
	for _, rec := range restored {
		e.alerts.put(rec)
	}
	// Notifiers configured at start knew of the notified firing alerts
	// restored from the state file: they get their resolved notices (and,
	// Resenders, their resends at once).
	known, kept := e.alerts.notifiedFiringIDs()
	for _, n := range o.notifiers {
		if err := e.dispatch.add(n, known, kept); err != nil {
			e.dispatch.cancel()
			e.persist.close()
			return nil, err
		}
	}
	e.alerts.recount()
	return e, nil
}

// Reader returns the engine's ManualReader (see WithReader). Register it on the
// MeterProvider whose instruments the rules read, with
// sdkmetric.WithReader. The provider owns it from then on: shutting the
// provider down shuts the reader down.
func (e *Engine) Reader() sdkmetric.Reader { return e.reader }

// Prefix returns the metric name prefix ("radarr_list_sync_") the engine
// resolves rule conditions and its own instruments with.
func (e *Engine) Prefix() string { return string(e.prefix) }

// Start starts periodic evaluation (every Config.EvaluationInterval, first
// one interval after Start), evaluation on request (RequestEvaluation) and
// the notifiers' delivery goroutines. It returns at once. A second call
// does nothing; a call after Shutdown returns ErrShutdown. ctx is not kept:
// Shutdown stops what Start starts.
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
	e.sched.start(func() {
		if err := e.evaluate(e.dispatch.runCtx); err != nil {
			e.log.Warn("alerting: evaluation failed", slog.Any("error", err))
		}
	})
	e.dispatch.start()
	return nil
}

// RequestEvaluation asks for an evaluation outside the schedule, e.g. right
// after a circuit breaker opens or a service goes down, so that its alert
// does not wait for the next tick. It never blocks: the evaluation runs on
// the engine's own goroutine, and requests made while one is pending
// coalesce into one. Before Start and after Shutdown it does nothing (use
// Evaluate to evaluate without Start).
func (e *Engine) RequestEvaluation() { e.sched.request() }

// Shutdown stops periodic evaluation, lets each notifier deliver what is
// already queued, and waits for every goroutine the engine started. ctx
// bounds the wait: when it ends, deliveries in progress are cancelled and
// ctx's error is returned (goroutines exit as soon as their notifier honours
// the cancellation). Shutdown before Start is fine (queued notifications are
// then dropped and counted). Shutdown is idempotent: later calls wait for
// the first one and return its result. Shutdown does not shut the reader
// down: that is the MeterProvider's job, after the engine's Shutdown.
//
// Shutdown gives up the state file (Config.StatePath) last, once the
// evaluation goroutine has stopped: another engine may own it from then on,
// and this one saves nothing more.
func (e *Engine) Shutdown(ctx context.Context) error {
	e.stopOnce.Do(func() { e.stopErr = e.shutdown(ctx) })
	return e.stopErr
}

func (e *Engine) shutdown(ctx context.Context) error {
	e.mu.Lock()
	e.stopped = true
	started := e.started
	e.mu.Unlock()
	// The evaluation goroutine first: its last evaluation may still queue
	// notifications, which the dispatcher then delivers.
	err := e.sched.stop(ctx, started)
	if inst := e.inst.Load(); inst != nil && inst.reg != nil {
		if err := inst.reg.Unregister(); err != nil {
			e.log.Debug("alerting: unregister callback", slog.Any("error", err))
		}
	}
	err = cmp.Or(err, e.dispatch.shutdown(ctx))
	e.persist.close()
	return err
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
	re, err := newRuleEntry(r, e.prefix)
	if err != nil {
		return err
	}
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.store.checkBounds(re); err != nil {
		return err
	}
	re.active = e.alerts.countOf(re.rule.Name)
	return e.rules.add(re)
}

// UpdateRule replaces the rule of the same name, keeping its alerts. An
// alert whose level rises loses its acknowledgement and is notified again
// at once, whatever the rate limit; if the rule is disabled its alerts
// resolve. Errors are those of AddRule, and ErrRuleNotFound.
func (e *Engine) UpdateRule(r Rule) error {
	re, err := newRuleEntry(r, e.prefix)
	if err != nil {
		return err
	}
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	if err := e.store.checkBounds(re); err != nil {
		e.mu.Unlock()
		return err
	}
	if err := e.rules.replace(re); err != nil {
		e.mu.Unlock()
		return err
	}
	e.store.retain(e.rules)
	kind := obsRuleChange
	if re.rule.Disabled {
		kind = obsRetire
	}
	p := e.newPass()
	for _, rec := range e.alerts.ofRule(re.rule.Name) {
		p.apply(rec, re, observation{kind: kind})
	}
	e.commitLocked(p)
	return nil
}

// RemoveRule unregisters a rule. Its firing alerts resolve (with a
// resolved notification where a firing one was sent) and its pending alerts
// are dropped. It returns ErrRuleNotFound for an unknown name.
func (e *Engine) RemoveRule(name string) error {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	re, err := e.rules.remove(name)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	e.store.retain(e.rules)
	p := e.newPass()
	for _, rec := range e.alerts.ofRule(name) {
		p.apply(rec, re, observation{kind: obsRetire})
	}
	e.commitLocked(p)
	return nil
}

// Rules returns copies of the registered rules in registration order.
func (e *Engine) Rules() []Rule {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rules.rules()
}

// AddNotifier registers a notifier at run time; it receives the
// notifications decided from then on. It returns ErrDuplicateNotifier if a
// notifier of that Name is registered, and ErrShutdown after Shutdown.
func (e *Engine) AddNotifier(n Notifier) error {
	if n == nil {
		return fmt.Errorf("alerting: nil notifier")
	}
	e.mu.Lock()
	stopped := e.stopped
	var known, kept []string
	if e.seq == 0 {
		// Before the first evaluation, the active alerts are those restored
		// from the state file: notifiers configured at start knew of them.
		known, kept = e.alerts.notifiedFiringIDs()
	}
	e.mu.Unlock()
	if stopped {
		return ErrShutdown
	}
	return e.dispatch.add(n, known, kept)
}

// Notifiers returns the names of the registered notifiers in registration
// order.
func (e *Engine) Notifiers() []string { return e.dispatch.names() }

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
	e.seq++
	p := e.newPass()
	p.seq = e.seq
	if p.seq == 1 {
		e.graceUntil = p.now.Add(e.cfg.RestoreGrace)
	}
	e.store.ingest(&e.rm, e.rules, p.seq, p.now, p)
	e.sweepLocked(p)
	e.store.forget(e.rules, p.now)
	errs = append(errs, e.ruleErrorsLocked(p)...)
	e.commitLocked(p)
	return errors.Join(errs...)
}

// sweepLocked gives every active alert that no series confirmed in this
// evaluation (its series disappeared, or its rule is gone) a clear verdict.
// Alerts of a rule that failed to evaluate are left alone.
func (e *Engine) sweepLocked(p *evalPass) {
	for _, rec := range e.alerts.active {
		if rec.touched == p.seq {
			continue
		}
		// A restored alert waits out the grace period, both for its series
		// to reappear and for its rule, which a host may add after Start.
		if rec.restored && p.now.Before(e.graceUntil) {
			continue
		}
		re := e.rules.get(rec.st.a.Rule)
		kind := obsGone
		switch {
		case re == nil || re.rule.Disabled:
			kind = obsRetire
		case p.errs[re] != nil:
			continue
		}
		rec.touched = p.seq
		p.apply(rec, re, observation{kind: kind})
	}
}

// ruleErrorsLocked records the rules' evaluation errors, logs the ones that
// changed and returns them in rule order.
func (e *Engine) ruleErrorsLocked(p *evalPass) []error {
	var errs []error
	for _, re := range e.rules.order {
		err := p.errs[re]
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

// commitLocked ends a change of alert state: it prunes and counts alerts,
// then, after releasing mu, saves the state and queues the notifications.
// It is called with evalMu and mu held and releases mu.
func (e *Engine) commitLocked(p *evalPass) {
	if e.alerts.prune(p.now, e.cfg.Retention, e.cfg.MaxResolved) {
		p.save = true
	}
	if e.silences.Prune(p.now) {
		p.save = true
	}
	e.alerts.recount()
	var firing, kept []Alert // for Resenders
	if e.dispatch.resends() {
		firing, kept = e.alerts.notifiedFiring()
	}
	e.saveLocked(p.save)
	slices.SortStableFunc(p.notices, func(a, b notice) int {
		return cmp.Or(a.order-b.order, strings.Compare(a.a.ID, b.a.ID))
	})
	e.dispatch.dispatch(p.notices, firing, kept, p.now)
}

// saveLocked writes the alert state if changed (or if the last write
// failed), after releasing mu; a failure is logged, and the next change
// writes again. It is called with evalMu and mu held and releases mu.
func (e *Engine) saveLocked(changed bool) {
	var sf *stateFile
	if changed || e.persist.retry() {
		sf = e.persist.snapshot(e.alerts.all, e.silences)
	}
	e.mu.Unlock()
	if err := e.persist.write(sf); err != nil {
		level := slog.LevelError
		if errors.Is(err, ErrShutdown) {
			level = slog.LevelDebug // a rule change after Shutdown
		}
		e.log.Log(context.Background(), level, "alerting: cannot save alert state", slog.String("path", e.cfg.StatePath), slog.Any("error", err))
	}
}

// newPass starts a change of alert state. It is called with mu held.
func (e *Engine) newPass() *evalPass {
	now := e.clock.Now()
	return &evalPass{alerts: e.alerts, now: now, mute: e.silences.Mutes(e.windows, now)}
}

// evalPass collects what one evaluation (or rule change) decides. It is the
// store's observer: it turns readings into lifecycle observations.
type evalPass struct {
	alerts  *alertTable
	seq     uint64
	now     time.Time
	notices []notice
	errs    map[*ruleEntry]error
	save    bool
	mute    *silence.Mutes // what mutes alerts at now
}

var _ observer = (*evalPass)(nil)

func (p *evalPass) observe(s *seriesEntry, b *binding, v float64) {
	x, verdict := b.read(s, v, p.now.UnixNano())
	if verdict == verdictHold {
		rec := p.alerts.record(b.id, b.re.rule.Name)
		rec.touched, rec.restored = p.seq, false
		p.apply(rec, b.re, observation{kind: obsHold, value: x, labels: s.labelMap(), traces: b.traceIDs(s)})
		return
	}
	if b.re.active == 0 {
		return
	}
	rec := p.alerts.all[b.id]
	if rec == nil || rec.st.a.State == Resolved {
		return
	}
	kind := obsClear
	if verdict == verdictKeep {
		kind = obsKeep
	}
	rec.touched = p.seq
	if kind == obsClear || rec.st.a.State != Firing {
		rec.restored = false // a reading that clears it
	}
	p.apply(rec, b.re, observation{kind: kind, value: x})
}

func (p *evalPass) fail(re *ruleEntry, err error) {
	if p.errs == nil {
		p.errs = map[*ruleEntry]error{}
	}
	if _, ok := p.errs[re]; !ok {
		p.errs[re] = err
	}
}

func (p *evalPass) apply(rec *alertRecord, re *ruleEntry, obs observation) {
	notices, save := p.alerts.apply(rec, re, obs, p.mute, p.now)
	p.notices = append(p.notices, notices...)
	p.save = p.save || save
}
