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

// The series store turns each collection into readings: it walks the
// snapshot once, keeps per series a bounded history of the points where
// each number the windowed conditions read changed (counter resets
// corrected as Prometheus' increase() does; see ring), and hands every (series, rule) pair with its reading to an
// observer. Its cost matters: an evaluation must stay within a fraction of
// the Collect it follows. So each series is looked up once per evaluation
// by its attribute set's hash, and which rules apply to it (its bindings) is
// worked out once per set of rules, not per evaluation.

// observer receives what the store reads: one call per binding and
// evaluation, and the rules that cannot be evaluated.
type observer interface {
	observe(s *seriesEntry, b *binding, v float64)
	fail(re *ruleEntry, err error)
}

// seriesStore remembers the series of the instruments that enabled rules
// read. It is not safe for concurrent use: the ledger's change lock guards it.
type seriesStore struct {
	sets        map[string]*seriesSet // by instrument name
	bounds      map[string][]float64  // last bucket bounds seen per histogram
	prevCollect int64                 // time (UnixNano) of the previous ingest
	prevSeq     uint64                // evaluation of the previous ingest
	lastForget  time.Time
	interval    time.Duration // the evaluation interval, for forgetting
	scratch     []*ruleEntry

	// per ingest
	rules *ruleSet
	seq   uint64
	nowN  int64
	obs   observer
}

func newSeriesStore(interval time.Duration) *seriesStore {
	return &seriesStore{sets: map[string]*seriesSet{}, bounds: map[string][]float64{}, interval: interval}
}

// seriesSet holds what the store remembers of one instrument's series.
type seriesSet struct {
	m        map[attribute.Distinct]*seriesEntry
	firstSeq uint64 // first evaluation that read the instrument
}

type seriesEntry struct {
	set      attribute.Set
	labels   map[string]string // computed when first bound
	firstSeq uint64            // evaluation that first saw the series
	lastSeen int64             // UnixNano of the last evaluation that saw it
	gen      uint64            // ruleSet.gen the bindings were computed for
	bindings []binding
	rings    []*ring
	age      time.Duration // data point Time - StartTime: how long the cumulative value has run

	hist      bool            // the series is a histogram's
	exemplars []exemplarRef   // the exemplars of the latest ingest that noted them
	exSeq     uint64          // the evaluation of that ingest; 0: none yet
	exBuf     []exemplarRef   // the previous exemplars' storage, reused
	fresh     []freshExemplar // exemplars of the latest ingest measured since the one before
}

// binding is one rule applied to one series: one potential alert.
type binding struct {
	re   *ruleEntry
	ring *ring // windowed conditions only
	id   string
}

type verdictKind uint8

const (
	verdictClear verdictKind = iota
	verdictHold
	verdictKeep // leave a firing alert as it is (CircuitOpen half-open)
)

// read turns the binding's reading of a series into the value its
// condition compares and a verdict.
func (b *binding) read(s *seriesEntry, v float64, now int64) (float64, verdictKind) {
	c := &b.re.c
	switch c.kind {
	case kindValue:
		if c.op.cmp(v, c.threshold) {
			return v, verdictHold
		}
	case kindIncrease:
		x := b.ring.increase(now, c.window, s.age <= c.window)
		if c.op.cmp(x, c.threshold) {
			return x, verdictHold
		}
		return x, verdictClear
	case kindAbove:
		x := b.ring.increase(now, c.window, s.age <= c.window)
		if x > 0 {
			return x, verdictHold
		}
		return x, verdictClear
	case kindCircuit:
		switch v {
		case 1:
			return v, verdictHold
		case 2:
			return v, verdictKeep
		}
	}
	return v, verdictClear
}

// retain drops the series of instruments no enabled rule of rules reads.
func (st *seriesStore) retain(rules *ruleSet) {
	for name := range st.sets {
		if rules.index[name] == nil {
			delete(st.sets, name)
		}
	}
}

// checkBounds reports a SlowOperation whose threshold is not a bucket
// boundary of its histogram, if the histogram has been read.
func (st *seriesStore) checkBounds(re *ruleEntry) error {
	c := &re.c
	if c.kind != kindAbove {
		return nil
	}
	if b, ok := st.bounds[c.metric]; ok && boundIndex(b, c.bound) < 0 {
		return notBoundary(re, b)
	}
	return nil
}

func notBoundary(re *ruleEntry, bounds []float64) error {
	return &RuleError{Rule: re.rule.Name, Field: "Condition.Threshold",
		Reason: fmt.Sprintf("%g s is not a bucket boundary of %s %v", re.c.bound, re.c.metric, bounds), Err: ErrNotBucketBoundary}
}

// ingest reads a collection for evaluation seq at now: every series of an
// instrument that an enabled rule reads is updated and each of its bindings
// observed.
func (st *seriesStore) ingest(rm *metricdata.ResourceMetrics, rules *ruleSet, seq uint64, now time.Time, obs observer) {
	st.rules, st.seq, st.nowN, st.obs = rules, seq, now.UnixNano(), obs
	defer func() { st.rules, st.obs = nil, nil }()
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if ix := rules.index[m.Name]; ix != nil {
				st.ingestMetric(ix, st.set(m.Name), m)
			}
		}
	}
	for name := range rules.index {
		if ss := st.set(name); ss.firstSeq == 0 {
			ss.firstSeq = seq
		}
	}
	st.prevCollect, st.prevSeq = st.nowN, seq
}

func (st *seriesStore) set(name string) *seriesSet {
	ss := st.sets[name]
	if ss == nil {
		ss = &seriesSet{m: map[attribute.Distinct]*seriesEntry{}}
		st.sets[name] = ss
	}
	return ss
}

func (st *seriesStore) ingestMetric(ix *ruleIndex, ss *seriesSet, m *metricdata.Metrics) {
	switch d := m.Data.(type) {
	case metricdata.Gauge[int64]:
		numeric(st, ix, ss, d.DataPoints, false)
	case metricdata.Gauge[float64]:
		numeric(st, ix, ss, d.DataPoints, false)
	case metricdata.Sum[int64]:
		numeric(st, ix, ss, d.DataPoints, d.IsMonotonic)
	case metricdata.Sum[float64]:
		numeric(st, ix, ss, d.DataPoints, d.IsMonotonic)
	case metricdata.Histogram[int64]:
		histogram(st, ix, ss, d.DataPoints)
	case metricdata.Histogram[float64]:
		histogram(st, ix, ss, d.DataPoints)
	case metricdata.ExponentialHistogram[int64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			st.counted(ix, ss, &p.Attributes, p.StartTime, p.Time, p.Count)
		}
	case metricdata.ExponentialHistogram[float64]:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			st.counted(ix, ss, &p.Attributes, p.StartTime, p.Time, p.Count)
		}
	case metricdata.Summary:
		for i := range d.DataPoints {
			p := &d.DataPoints[i]
			st.counted(ix, ss, &p.Attributes, p.StartTime, p.Time, p.Count)
		}
	default:
		for _, re := range ix.entries() {
			st.obs.fail(re, &RuleError{Rule: re.rule.Name, Reason: fmt.Sprintf("%s has data of type %T", ix.metric, m.Data), Err: ErrUnsupportedInstrument})
		}
	}
}

func numeric[N int64 | float64](st *seriesStore, ix *ruleIndex, ss *seriesSet, pts []metricdata.DataPoint[N], mono bool) {
	for i := range pts {
		p := &pts[i]
		s := st.series(ix, ss, &p.Attributes)
		if len(s.bindings) > 0 {
			noteExemplars(st, s, p.Time, p.Exemplars)
		}
		st.valueOf(s, ix, p.StartTime, p.Time, float64(p.Value), mono, "is not a histogram")
	}
}

// counted handles data whose only usable number is a count.
func (st *seriesStore) counted(ix *ruleIndex, ss *seriesSet, set *attribute.Set, start, t time.Time, count uint64) {
	st.value(ix, ss, set, start, t, float64(count), true, "has no explicit buckets")
}

// value handles one data point read as a single number.
func (st *seriesStore) value(ix *ruleIndex, ss *seriesSet, set *attribute.Set, start, t time.Time, v float64, mono bool, notHistogram string) {
	st.valueOf(st.series(ix, ss, set), ix, start, t, v, mono, notHistogram)
}

// valueOf is value for the series s.
func (st *seriesStore) valueOf(s *seriesEntry, ix *ruleIndex, start, t time.Time, v float64, mono bool, notHistogram string) {
	if len(s.bindings) == 0 {
		return
	}
	s.age = t.Sub(start)
	for _, r := range s.rings {
		if r.d.kind == deriveValue {
			r.push(st.nowN, v, mono)
		}
	}
	for k := range s.bindings {
		b := &s.bindings[k]
		if b.re.c.kind == kindAbove {
			st.obs.fail(b.re, &RuleError{Rule: b.re.rule.Name, Reason: ix.metric + " " + notHistogram, Err: ErrUnsupportedInstrument})
			continue
		}
		st.obs.observe(s, b, v)
	}
}

func histogram[N int64 | float64](st *seriesStore, ix *ruleIndex, ss *seriesSet, pts []metricdata.HistogramDataPoint[N]) {
	for i := range pts {
		p := &pts[i]
		if i == 0 {
			if b := st.bounds[ix.metric]; !slices.Equal(b, p.Bounds) {
				st.bounds[ix.metric] = slices.Clone(p.Bounds)
			}
		}
		s := st.series(ix, ss, &p.Attributes)
		if len(s.bindings) == 0 {
			continue
		}
		s.hist = true
		noteExemplars(st, s, p.Time, p.Exemplars)
		s.age = p.Time.Sub(p.StartTime)
		for _, r := range s.rings {
			switch r.d.kind {
			case deriveValue:
				r.push(st.nowN, float64(p.Count), true)
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
				r.push(st.nowN, float64(above), true)
			}
		}
		for k := range s.bindings {
			b := &s.bindings[k]
			if b.ring != nil && b.ring.bad {
				st.obs.fail(b.re, notBoundary(b.re, p.Bounds))
				continue
			}
			st.obs.observe(s, b, float64(p.Count))
		}
	}
}

// series returns the entry of a series, creating it and (re)computing its
// bindings as needed.
func (st *seriesStore) series(ix *ruleIndex, ss *seriesSet, set *attribute.Set) *seriesEntry {
	key := set.Equivalent()
	s := ss.m[key]
	if s == nil {
		s = &seriesEntry{set: *set, firstSeq: st.seq}
		ss.m[key] = s
	}
	s.lastSeen = st.nowN
	if s.gen != st.rules.gen {
		st.bind(ix, ss, s)
	}
	return s
}

func (st *seriesStore) bind(ix *ruleIndex, ss *seriesSet, s *seriesEntry) {
	s.gen = st.rules.gen
	res := ix.matching(&s.set, st.scratch[:0])
	old := s.rings
	s.rings = nil
	s.bindings = s.bindings[:0]
	for _, re := range res {
		b := binding{re: re, id: alertID(re.rule.Name, s.labelMap())}
		if re.c.windowed() {
			b.ring = st.ring(ss, s, old, re.c.derive(), re.c.window)
		}
		s.bindings = append(s.bindings, b)
	}
	clear(res[:cap(res)])
	st.scratch = res[:0]
}

// ring returns the series' ring for d, reusing one from before the rules
// changed so that history survives rule edits. The rules that read the
// same number share its ring, whose window is the longest of theirs.
func (st *seriesStore) ring(ss *seriesSet, s *seriesEntry, old []*ring, d derive, window time.Duration) *ring {
	for _, r := range s.rings {
		if r.d == d {
			r.setWindow(max(r.window, window), st.interval)
			return r
		}
	}
	for _, r := range old {
		if r.d == d {
			r.setWindow(window, st.interval)
			s.rings = append(s.rings, r)
			return r
		}
	}
	r := newRing(d, window, st.interval)
	// A series that appeared after the instrument was first read was absent
	// (zero) at the previous evaluation: start its history there, so that an
	// increase counts its first value.
	if ss.firstSeq != 0 && s.firstSeq == st.seq && st.prevCollect != 0 {
		r.has, r.mono = true, true
		r.s = append(r.s, sample{t: st.prevCollect, v: 0})
	}
	s.rings = append(s.rings, r)
	return r
}

// forget drops series not seen for a long while, so that memory stays
// bounded when series come and go. It runs at most every 10 minutes.
func (st *seriesStore) forget(rules *ruleSet, now time.Time) {
	const every = 10 * time.Minute
	if now.Sub(st.lastForget) < every {
		return
	}
	st.lastForget = now
	for name, ss := range st.sets {
		var maxWindow time.Duration
		if ix := rules.index[name]; ix != nil {
			maxWindow = ix.maxWindow
		}
		stale := now.UnixNano() - int64(max(time.Hour, 4*maxWindow, 10*st.interval))
		for k, s := range ss.m {
			if s.lastSeen < stale {
				delete(ss.m, k)
			}
		}
	}
}

func (s *seriesEntry) labelMap() map[string]string {
	if s.labels == nil {
		s.labels = make(map[string]string, s.set.Len())
		for it := s.set.Iter(); it.Next(); {
			kv := it.Attribute()
			s.labels[string(kv.Key)] = kv.Value.String()
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

// describeLabels renders labels as k=v pairs for titles.
func describeLabels(labels map[string]string) string {
	keys := slices.Sorted(maps.Keys(labels))
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ", ")
}
