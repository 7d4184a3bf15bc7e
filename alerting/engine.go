package alerting

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

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
	// engine"): it wires them and holds the public API, and they hold the
	// state.
	cfg    Config
	clock  Clock
	log    *slog.Logger
	prefix names.Prefix

	ledger   *ledger     // the alert state and its changes
	eval     *evaluation // guarded by the ledger's change lock
	sched    *schedule   // synchronizes itself
	dispatch *dispatcher // synchronizes itself
	inst     atomic.Pointer[instruments]

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
		cfg:    cfg,
		clock:  o.clock,
		log:    o.logger,
		prefix: o.prefix,
		eval: &evaluation{
			reader: o.reader, grace: cfg.RestoreGrace, log: o.logger,
			store: newSeriesStore(cfg.EvaluationInterval),
			slos:  newSLOStore(cfg.EvaluationInterval),
		},
		sched: newSchedule(cfg.EvaluationInterval, o.clock),
	}
	e.dispatch = newDispatcher(cfg.Delivery, o.clock, o.logger, &e.inst)
	l := &ledger{
		cfg: cfg, clock: o.clock, log: o.logger, persist: persist, dispatch: e.dispatch,
		rules: newRuleSet(), alerts: newAlertTable(), silences: silences, windows: windows,
		cluster: newClusterSilences(cfg, o.clock, o.logger),
	}
	e.ledger = l
	for _, rec := range restored {
		l.alerts.put(rec)
	}
	// Notifiers configured at start knew of the notified firing alerts
	// restored from the state file: they get their resolved notices (and,
	// Resenders, their resends at once).
	known, kept := l.alerts.notifiedFiringIDs()
	for _, n := range o.notifiers {
		if err := e.dispatch.add(n, known, kept); err != nil {
			e.dispatch.cancel()
			persist.close()
			return nil, err
		}
		l.mu.Lock()
		l.cluster.add(l, n)
		l.mu.Unlock()
	}
	l.alerts.recount()
	return e, nil
}

// Reader returns the engine's ManualReader (see WithReader). Register it on the
// MeterProvider whose instruments the rules read, with
// sdkmetric.WithReader. The provider owns it from then on: shutting the
// provider down shuts the reader down.
func (e *Engine) Reader() sdkmetric.Reader { return e.eval.reader }

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
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return ErrShutdown
	}
	if l.started {
		return nil
	}
	l.started = true
	l.cluster.startLocked(l)
	e.sched.start(func() {
		if err := e.eval.run(e.dispatch.runCtx, l); err != nil {
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
	e.stopOnce.Do(func() {
		l := e.ledger
		l.mu.Lock()
		l.stopped = true
		started := l.started
		l.mu.Unlock()
		l.cluster.stop()
		// The evaluation goroutine first: its last evaluation may still
		// queue notifications, which the dispatcher then delivers.
		err := e.sched.stop(ctx, started)
		if inst := e.inst.Load(); inst != nil && inst.reg != nil {
			if err := inst.reg.Unregister(); err != nil {
				e.log.Debug("alerting: unregister callback", slog.Any("error", err))
			}
		}
		e.stopErr = cmp.Or(err, e.dispatch.shutdown(ctx))
		l.persist.close()
	})
	return e.stopErr
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
	l := e.ledger
	l.change.Lock()
	defer l.change.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := e.eval.store.checkBounds(re); err != nil {
		return err
	}
	re.active = l.alerts.countOf(re.rule.Name)
	return l.rules.add(re)
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
	l := e.ledger
	l.change.Lock()
	defer l.change.Unlock()
	l.mu.Lock()
	if err := e.eval.store.checkBounds(re); err != nil {
		l.mu.Unlock()
		return err
	}
	if err := l.rules.replace(re); err != nil {
		l.mu.Unlock()
		return err
	}
	e.eval.store.retain(l.rules)
	kind := obsRuleChange
	if re.rule.Disabled {
		kind = obsRetire
	}
	p := l.begin()
	for _, rec := range l.alerts.ofRule(re.rule.Name) {
		p.apply(rec, re, observation{kind: kind})
	}
	l.commit(p)
	return nil
}

// RemoveRule unregisters a rule. Its firing alerts resolve (with a
// resolved notification where a firing one was sent) and its pending alerts
// are dropped. It returns ErrRuleNotFound for an unknown name.
func (e *Engine) RemoveRule(name string) error {
	l := e.ledger
	l.change.Lock()
	defer l.change.Unlock()
	l.mu.Lock()
	re, err := l.rules.remove(name)
	if err != nil {
		l.mu.Unlock()
		return err
	}
	e.eval.store.retain(l.rules)
	p := l.begin()
	for _, rec := range l.alerts.ofRule(name) {
		p.apply(rec, re, observation{kind: obsRetire})
	}
	l.commit(p)
	return nil
}

// Rules returns copies of the registered rules in registration order.
func (e *Engine) Rules() []Rule {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rules.rules()
}

// AddNotifier registers a notifier at run time; it receives the
// notifications decided from then on. It returns ErrDuplicateNotifier if a
// notifier of that Name is registered, and ErrShutdown after Shutdown.
func (e *Engine) AddNotifier(n Notifier) error {
	if n == nil {
		return fmt.Errorf("alerting: nil notifier")
	}
	l := e.ledger
	l.mu.Lock()
	stopped := l.stopped
	var known, kept []string
	if e.eval.seq == 0 {
		// Before the first evaluation, the active alerts are those restored
		// from the state file: notifiers configured at start knew of them.
		known, kept = l.alerts.notifiedFiringIDs()
	}
	l.mu.Unlock()
	if stopped {
		return ErrShutdown
	}
	if err := e.dispatch.add(n, known, kept); err != nil {
		return err
	}
	l.mu.Lock()
	l.cluster.add(l, n)
	l.mu.Unlock()
	return nil
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
	if e.ledger.isStopped() {
		return ErrShutdown
	}
	return e.eval.run(ctx, e.ledger)
}
