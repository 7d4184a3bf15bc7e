package alerting

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// ledger holds the engine's alert state (the rules, the alerts, the
// silences) and makes every change of it, one at a time: a change is
// decided under its locks (begin), then saved to the state file and queued
// for the notifiers in the order it was decided (commit).
type ledger struct {
	cfg      Config // retention and StatePath; read only
	clock    Clock
	log      *slog.Logger
	persist  *statePersister // written under change; closed by Shutdown
	dispatch *dispatcher     // synchronizes itself

	// change serializes every change of alert state (evaluations, rule
	// changes, acknowledgements, silences), so that notifications are
	// queued and the state file written in the order the changes were
	// decided. It guards the evaluation's collection and series store
	// too. Lock order: change, then mu.
	change sync.Mutex

	// mu guards the fields below it: what queries read, which must not
	// wait for a collection. Changes hold change too.
	mu       sync.Mutex
	rules    *ruleSet
	alerts   *alertTable
	silences *silence.Store    // replaced whole by a change (see saveSilences)
	windows  []*silence.Window // compiled cfg.MaintenanceWindows; never changed
	cluster  *clusterSilences  // the Alertmanager cluster's silences, when there is one
	started  bool              // Start was called
	stopped  bool              // Shutdown was called: no more changes
}

// lock takes change and mu for a change of state and reports true; after
// Shutdown it takes neither and reports false. The caller releases both
// (mu through commit or saveSilences).
func (l *ledger) lock() bool {
	l.change.Lock()
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		l.change.Unlock()
		return false
	}
	return true
}

// isStopped reports whether Shutdown was called.
func (l *ledger) isStopped() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stopped
}

// begin starts a change of alert state at the clock's time. It is called
// with mu held.
func (l *ledger) begin() *evalPass {
	now := l.clock.Now()
	return &evalPass{alerts: l.alerts, now: now, mute: l.cluster.mutes(l.silences, l.windows, now)}
}

// commit ends a change of alert state: it prunes and counts alerts, then,
// after releasing mu, saves the state and queues the notifications. It is
// called with change and mu held and releases mu.
func (l *ledger) commit(p *evalPass) {
	if l.alerts.prune(p.now, l.cfg.Retention, l.cfg.MaxResolved) {
		p.save = true
	}
	if l.silences.Prune(p.now) {
		p.save = true
	}
	l.alerts.recount()
	var firing, kept []Alert // for Resenders
	if l.dispatch.resends() {
		firing, kept = l.alerts.notifiedFiring(l.cluster.on())
	}
	l.save(p.save)
	slices.SortStableFunc(p.notices, func(a, b notice) int {
		return cmp.Or(a.order-b.order, strings.Compare(a.a.ID, b.a.ID))
	})
	l.dispatch.dispatch(p.notices, firing, kept, p.now)
}

// save writes the alert state if changed (or if the last write failed),
// after releasing mu; a failure is logged, and the next change writes
// again. It is called with change and mu held and releases mu.
func (l *ledger) save(changed bool) {
	var sf *stateFile
	if changed || l.persist.retry() {
		sf = l.persist.snapshot(l.alerts.all, l.silences)
	}
	l.mu.Unlock()
	if err := l.persist.write(sf); err != nil {
		level := slog.LevelError
		if errors.Is(err, ErrShutdown) {
			level = slog.LevelDebug // a rule change after Shutdown
		}
		l.log.Log(context.Background(), level, "alerting: cannot save alert state", slog.String("path", l.cfg.StatePath), slog.Any("error", err))
	}
}

// saveSilences saves the state with the silences of next and makes them
// the engine's only if they were saved; then it mutes and unmutes the
// active alerts at once, queueing the notifications of those no longer
// muted. It is called with change and mu held and releases mu.
func (l *ledger) saveSilences(next *silence.Store) error {
	sf := l.persist.snapshot(l.alerts.all, next)
	l.mu.Unlock()
	if err := l.persist.write(sf); err != nil {
		return err
	}
	l.mu.Lock()
	l.silences = next
	l.remute()
	return nil
}

// remute passes every active alert through what mutes alerts now, at once,
// queueing the notifications of those no longer muted: after the silences
// changed. It is called with change and mu held and releases mu.
func (l *ledger) remute() {
	p := l.begin()
	for _, id := range sortedKeys(l.alerts.active) {
		rec := l.alerts.active[id]
		re := l.rules.get(rec.st.a.Rule)
		if re != nil && re.rule.Disabled {
			re = nil // a disabled rule notifies nothing; evaluation retires its alert
		}
		p.apply(rec, re, observation{kind: obsMute})
	}
	l.commit(p)
}

// evalPass collects what one change (an evaluation, a rule or silence
// change) decides. It is the series store's observer: it turns readings
// into lifecycle observations.
type evalPass struct {
	alerts  *alertTable
	seq     uint64
	now     time.Time
	notices []notice
	errs    map[*ruleEntry]error
	save    bool
	mute    *muting // what mutes alerts at now
}

var _ observer = (*evalPass)(nil)

func (p *evalPass) observe(s *seriesEntry, b *binding, v float64) {
	x, verdict := b.read(s, v, p.now.UnixNano())
	var traces []string
	if verdict == verdictHold {
		traces = b.traceIDs(s)
	}
	p.judgeWith(b.re, b.id, s, nil, x, verdict, traces)
}

var _ burnObserver = (*evalPass)(nil)

// judge is observe for a reading whose verdict is made (the SLO store's).
func (p *evalPass) judge(re *ruleEntry, id string, labels map[string]string, x float64, verdict verdictKind) {
	p.judgeWith(re, id, nil, labels, x, verdict, nil)
}

// judgeWith steps the alert id of re with a reading x and its verdict. The
// alert's labels are those of the series s or, without one, labels; a
// series' are worked out only when the condition holds.
func (p *evalPass) judgeWith(re *ruleEntry, id string, s *seriesEntry, labels map[string]string, x float64, verdict verdictKind, traces []string) {
	if verdict == verdictHold {
		rec := p.alerts.record(id, re.rule.Name)
		rec.touched, rec.restored = p.seq, false
		if s != nil {
			labels = s.labelMap()
		}
		p.apply(rec, re, observation{kind: obsHold, value: x, labels: labels, traces: traces})
		return
	}
	if re.active == 0 {
		return
	}
	rec := p.alerts.all[id]
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
	p.apply(rec, re, observation{kind: kind, value: x})
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
