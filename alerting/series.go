package alerting

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// This file turns a metric snapshot into verdicts. Its cost matters: an
// evaluation must stay within a fraction of the Collect it follows. So each
// series is looked up once per evaluation by its attribute set's hash, and
// which rules apply to it (its bindings) is worked out once per set of rules,
// not per evaluation.

// watch is an instrument read by at least one enabled rule.
type watch struct {
	metric    string
	all       []*ruleEntry // rules without matchers
	keys      []attribute.Key
	index     map[attribute.Key]map[string][]*ruleEntry // by first matcher
	series    *seriesSet
	maxWindow time.Duration
}

// seriesSet holds what the engine remembers of one instrument's series.
type seriesSet struct {
	m        map[attribute.Distinct]*seriesEntry
	firstSeq uint64 // first evaluation that read the instrument
}

type seriesEntry struct {
	set      attribute.Set
	labels   map[string]string // computed when first bound
	firstSeq uint64            // evaluation that first saw the series
	lastSeen int64             // UnixNano of the last evaluation that saw it
	gen      uint64            // rulesGen the bindings were computed for
	bindings []binding
	rings    []*ring
	age      time.Duration // data point Time - StartTime: how long the cumulative value has run
}

// binding is one rule applied to one series: one potential alert.
type binding struct {
	re   *ruleEntry
	ring *ring // windowed conditions only
	id   string
}

// ringCap bounds the samples kept per series and derivation.
const ringCap = 64

type sample struct {
	t int64   // UnixNano
	v float64 // reset-adjusted cumulative value (monotonic) or raw value
}

// ring keeps (time, value) samples of one number of one series, bounded in
// size: samples closer than window/32 to the one before the last replace the
// last, so 64 samples span at least the window. For monotonic series the
// values are adjusted for resets (a drop in value counts as a restart from
// zero, as Prometheus' increase does), so an increase is a subtraction.
type ring struct {
	d       derive
	window  time.Duration
	s       []sample
	lastRaw float64
	adj     float64
	has     bool
	mono    bool
	bad     bool // the bound is not a bucket boundary
}

func (r *ring) push(t int64, raw float64, mono bool) {
	switch {
	case !r.has:
		r.has, r.mono, r.adj = true, mono, raw
	case !r.mono:
		r.adj = raw
	case raw >= r.lastRaw:
		r.adj += raw - r.lastRaw
	default: // counter reset
		r.adj += raw
	}
	r.lastRaw = raw
	n := len(r.s)
	if n >= 2 && t-r.s[n-2].t < int64(r.window/32) {
		r.s[n-1] = sample{t, r.adj}
		return
	}
	if n == ringCap {
		copy(r.s, r.s[1:])
		r.s = r.s[:n-1]
	}
	r.s = append(r.s, sample{t, r.adj})
}

// increase returns the increase (monotonic) or change over the window
// ending at now: the latest value minus the newest sample at or before
// now-w. Without such a sample it is counted from zero when the cumulative
// value is known to have started within the window (young), and from the
// oldest sample otherwise (a lower bound).
func (r *ring) increase(now int64, w time.Duration, young bool) float64 {
	n := len(r.s)
	if n == 0 {
		return 0
	}
	latest := r.s[n-1].v
	cut := now - int64(w)
	for i := n - 2; i >= 0; i-- {
		if r.s[i].t <= cut {
			return latest - r.s[i].v
		}
	}
	if r.mono && young {
		return latest
	}
	return latest - r.s[0].v
}

type verdictKind uint8

const (
	verdictClear verdictKind = iota
	verdictHold
	verdictKeep // leave a firing alert as it is (CircuitOpen half-open)
)

// evalState collects what one evaluation (or rule change) decides.
type evalState struct {
	seq     uint64
	now     time.Time
	nowN    int64
	notices []notice
	errs    map[*ruleEntry]error
	dirty   bool
}

func (e *Engine) newEval() *evalState {
	now := e.clock.Now()
	return &evalState{now: now, nowN: now.UnixNano()}
}

func (ev *evalState) fail(re *ruleEntry, err error) {
	if ev.errs == nil {
		ev.errs = map[*ruleEntry]error{}
	}
	if _, ok := ev.errs[re]; !ok {
		ev.errs[re] = err
	}
}

// processLocked evaluates every enabled rule on e.rm.
func (e *Engine) processLocked(ev *evalState) {
	for i := range e.rm.ScopeMetrics {
		sm := &e.rm.ScopeMetrics[i]
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if w := e.watch[m.Name]; w != nil {
				e.processMetric(w, m, ev)
			}
		}
	}
	for _, w := range e.watch {
		if w.series.firstSeq == 0 {
			w.series.firstSeq = ev.seq
		}
	}
	if e.prevCollect == 0 {
		e.graceUntil = ev.now.Add(e.cfg.RestoreGrace)
	}
	e.prevCollect = ev.nowN
	e.sweepLocked(ev)
	e.forgetLocked(ev)
}

func (e *Engine) processMetric(w *watch, m *metricdata.Metrics, ev *evalState) {
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		numeric(e, w, d.DataPoints, false, ev)
	case metricdata.Gauge[float64]:
		numeric(e, w, d.DataPoints, false, ev)
	case metricdata.Sum[int64]:
		numeric(e, w, d.DataPoints, d.IsMonotonic, ev)
	case metricdata.Sum[float64]:
		numeric(e, w, d.DataPoints, d.IsMonotonic, ev)
	case metricdata.Histogram[int64]:
		histogram(e, w, d.DataPoints, ev)
	case metricdata.Histogram[float64]:
		histogram(e, w, d.DataPoints, ev)
	case metricdata.ExponentialHistogram[int64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			counted(e, w, &p.Attributes, p.StartTime, p.Time, p.Count, ev)
		}
	case metricdata.ExponentialHistogram[float64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			counted(e, w, &p.Attributes, p.StartTime, p.Time, p.Count, ev)
		}
	case metricdata.Summary:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			counted(e, w, &p.Attributes, p.StartTime, p.Time, p.Count, ev)
		}
	default:
		for _, re := range e.rulesOf(w) {
			ev.fail(re, &RuleError{Rule: re.rule.Name, Reason: fmt.Sprintf("%s has data of type %T", w.metric, m.Data), Err: ErrUnsupportedInstrument})
		}
	}
}

func (e *Engine) rulesOf(w *watch) []*ruleEntry {
	out := slices.Clone(w.all)
	for _, byValue := range w.index {
		for _, res := range byValue {
			out = append(out, res...)
		}
	}
	return out
}

func numeric[N int64 | float64](e *Engine, w *watch, pts []metricdata.DataPoint[N], mono bool, ev *evalState) {
	for i := range pts {
		p := &pts[i]
		s := e.seriesFor(w, &p.Attributes, ev)
		if len(s.bindings) == 0 {
			continue
		}
		v := float64(p.Value)
		s.age = p.Time.Sub(p.StartTime)
		for _, r := range s.rings {
			if r.d.kind == deriveValue {
				r.push(ev.nowN, v, mono)
			}
		}
		for k := range s.bindings {
			b := &s.bindings[k]
			if b.re.c.kind == kindAbove {
				ev.fail(b.re, &RuleError{Rule: b.re.rule.Name, Reason: w.metric + " is not a histogram", Err: ErrUnsupportedInstrument})
				continue
			}
			e.judge(s, b, v, ev)
		}
	}
}

// counted handles data whose only usable number is a count.
func counted(e *Engine, w *watch, set *attribute.Set, start, t time.Time, count uint64, ev *evalState) {
	s := e.seriesFor(w, set, ev)
	if len(s.bindings) == 0 {
		return
	}
	v := float64(count)
	s.age = t.Sub(start)
	for _, r := range s.rings {
		if r.d.kind == deriveValue {
			r.push(ev.nowN, v, true)
		}
	}
	for k := range s.bindings {
		b := &s.bindings[k]
		if b.re.c.kind == kindAbove {
			ev.fail(b.re, &RuleError{Rule: b.re.rule.Name, Reason: w.metric + " has no explicit buckets", Err: ErrUnsupportedInstrument})
			continue
		}
		e.judge(s, b, v, ev)
	}
}

func histogram[N int64 | float64](e *Engine, w *watch, pts []metricdata.HistogramDataPoint[N], ev *evalState) {
	for i := range pts {
		p := &pts[i]
		if i == 0 {
			if b := e.bounds[w.metric]; !slices.Equal(b, p.Bounds) {
				e.bounds[w.metric] = slices.Clone(p.Bounds)
			}
		}
		s := e.seriesFor(w, &p.Attributes, ev)
		if len(s.bindings) == 0 {
			continue
		}
		s.age = p.Time.Sub(p.StartTime)
		for _, r := range s.rings {
			switch r.d.kind {
			case deriveValue:
				r.push(ev.nowN, float64(p.Count), true)
			case deriveAbove:
				idx := boundIndex(p.Bounds, r.d.bound)
				r.bad = idx < 0
				if r.bad {
					continue
				}
				var above uint64
				for _, c := range p.BucketCounts[idx+1:] {
					above += c
				}
				r.push(ev.nowN, float64(above), true)
			}
		}
		for k := range s.bindings {
			b := &s.bindings[k]
			if b.ring != nil && b.ring.bad {
				ev.fail(b.re, &RuleError{Rule: b.re.rule.Name, Field: "Condition.Threshold",
					Reason: fmt.Sprintf("%g s is not a bucket boundary of %s %v", b.re.c.bound, w.metric, p.Bounds), Err: ErrNotBucketBoundary})
				continue
			}
			e.judge(s, b, float64(p.Count), ev)
		}
	}
}

// seriesFor returns the entry of a series, creating it and (re)computing
// its bindings as needed.
func (e *Engine) seriesFor(w *watch, set *attribute.Set, ev *evalState) *seriesEntry {
	ss := w.series
	key := set.Equivalent()
	s := ss.m[key]
	if s == nil {
		s = &seriesEntry{set: *set, firstSeq: ev.seq}
		ss.m[key] = s
	}
	s.lastSeen = ev.nowN
	if s.gen != e.rulesGen {
		e.bind(w, s, ev)
	}
	return s
}

func (e *Engine) bind(w *watch, s *seriesEntry, ev *evalState) {
	s.gen = e.rulesGen
	cands := append(e.scratch[:0], w.all...)
	for _, k := range w.keys {
		if v, ok := s.set.Value(k); ok {
			cands = append(cands, w.index[k][v.Emit()]...)
		}
	}
	slices.SortFunc(cands, func(a, b *ruleEntry) int { return a.order - b.order })
	e.scratch = cands[:0]

	old := s.rings
	s.rings = nil
	s.bindings = s.bindings[:0]
	for _, re := range cands {
		if !matches(&s.set, re.c.matchers) {
			continue
		}
		b := binding{re: re, id: alertID(re.rule.Name, s.labelMap())}
		if re.c.windowed() {
			b.ring = e.ringFor(w, s, old, re.c.derive(), re.c.window, ev)
		}
		s.bindings = append(s.bindings, b)
	}
	clear(e.scratch[:cap(e.scratch)])
}

// ringFor returns the series' ring for d, reusing one from before the
// rules changed so that history survives rule edits.
func (e *Engine) ringFor(w *watch, s *seriesEntry, old []*ring, d derive, window time.Duration, ev *evalState) *ring {
	for _, r := range s.rings {
		if r.d == d {
			r.window = max(r.window, window)
			return r
		}
	}
	for _, r := range old {
		if r.d == d {
			r.window = window
			s.rings = append(s.rings, r)
			return r
		}
	}
	r := &ring{d: d, window: window}
	// A series that appeared after the instrument was first read was absent
	// (zero) at the previous evaluation: start its history there, so that an
	// increase counts its first value.
	if w.series.firstSeq != 0 && s.firstSeq == ev.seq && e.prevCollect != 0 {
		r.has, r.mono = true, true
		r.s = append(r.s, sample{t: e.prevCollect, v: 0})
	}
	s.rings = append(s.rings, r)
	return r
}

func matches(set *attribute.Set, ms []matcher) bool {
	for _, m := range ms {
		v, ok := set.Value(m.key)
		if !ok || v.Emit() != m.value {
			return false
		}
	}
	return true
}

func (s *seriesEntry) labelMap() map[string]string {
	if s.labels == nil {
		s.labels = make(map[string]string, s.set.Len())
		for it := s.set.Iter(); it.Next(); {
			kv := it.Attribute()
			s.labels[string(kv.Key)] = kv.Value.Emit()
		}
	}
	return s.labels
}

// alertID is a stable, URL-safe identifier of a rule and label set: the
// first 80 bits of a SHA-256, in hex.
func alertID(rule string, labels map[string]string) string {
	h := sha256.New()
	h.Write([]byte(rule))
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		h.Write([]byte{0})
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
	}
	return hex.EncodeToString(h.Sum(nil)[:10])
}

// judge turns one binding's reading into a verdict and applies it.
func (e *Engine) judge(s *seriesEntry, b *binding, v float64, ev *evalState) {
	c := &b.re.c
	x := v
	verdict := verdictClear
	switch c.kind {
	case kindValue:
		if c.op.cmp(x, c.threshold) {
			verdict = verdictHold
		}
	case kindIncrease:
		x = b.ring.increase(ev.nowN, c.window, s.age <= c.window)
		if c.op.cmp(x, c.threshold) {
			verdict = verdictHold
		}
	case kindAbove:
		x = b.ring.increase(ev.nowN, c.window, s.age <= c.window)
		if x > 0 {
			verdict = verdictHold
		}
	case kindCircuit:
		switch x {
		case 1:
			verdict = verdictHold
		case 2:
			verdict = verdictKeep
		}
	}
	switch verdict {
	case verdictHold:
		st := e.alerts[b.id]
		if st == nil {
			st = &alertState{fresh: true, a: Alert{ID: b.id, Rule: b.re.rule.Name, State: Resolved}}
			e.alerts[b.id] = st
		}
		e.hold(st, b.re, s, x, ev)
	case verdictKeep:
		if b.re.active == 0 {
			return
		}
		if st := e.alerts[b.id]; st != nil && st.a.State == Firing {
			st.touched = ev.seq
			st.a.Value = x
			return
		}
		fallthrough
	default:
		if b.re.active == 0 {
			return
		}
		if st := e.alerts[b.id]; st != nil && st.a.State != Resolved {
			e.clear(st, b.re, x, true, ev)
		}
	}
}

// sweepLocked gives every active alert that no series confirmed in this
// evaluation (its series disappeared, or its rule is gone) a clear verdict.
// Alerts of a rule that failed to evaluate are left alone.
func (e *Engine) sweepLocked(ev *evalState) {
	for _, st := range e.active {
		if st.touched == ev.seq {
			continue
		}
		// A restored alert waits out the grace period, both for its series
		// to reappear and for its rule, which a host may add after Start.
		if st.restored && ev.now.Before(e.graceUntil) {
			continue
		}
		re := e.rules[st.a.Rule]
		if re == nil || re.rule.Disabled {
			e.retire(st, re, ev)
			continue
		}
		if _, failed := ev.errs[re]; failed {
			continue
		}
		e.clear(st, re, 0, false, ev)
	}
}

// forgetLocked drops series not seen for a long while, so that memory stays
// bounded when series come and go. It runs at most every 10 minutes.
func (e *Engine) forgetLocked(ev *evalState) {
	const every = 10 * time.Minute
	if ev.now.Sub(e.lastSweep) < every {
		return
	}
	e.lastSweep = ev.now
	for _, w := range e.watch {
		stale := ev.nowN - int64(max(time.Hour, 4*w.maxWindow, 10*e.cfg.EvaluationInterval))
		for k, s := range w.series.m {
			if s.lastSeen < stale {
				delete(w.series.m, k)
			}
		}
	}
}

// describeLabels renders labels as k=v pairs for titles.
func describeLabels(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ", ")
}
