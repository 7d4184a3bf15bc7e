package alerting

import (
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The SLO store is the series store of BurnRate rules. An objective's
// series (a source, a service) sums several of the reader's series, of one
// or two instruments: its errors and its events. So the store walks the
// collection for the instruments objectives read, adds each matching data
// point's increase (reset-corrected, as ring does) to its objective
// series, pushes the sums into one sloRing per window, and then judges
// every (rule, objective series) pair for the lifecycle. Which objective
// series a data point feeds is worked out once per set of rules, as the
// series store's bindings are.

// burnObserver receives the SLO store's verdicts and the rules that cannot
// be evaluated.
type burnObserver interface {
	judge(re *ruleEntry, id string, labels map[string]string, x float64, v verdictKind)
	fail(re *ruleEntry, err error)
}

// sloStore tracks the objectives of the enabled BurnRate rules. It is not
// safe for concurrent use: the ledger's change lock guards it, and its mu
// too, so that SLOs reads it under mu alone.
type sloStore struct {
	interval   time.Duration
	gen        uint64                 // the ruleSet.gen the trackers were built for
	trackers   []*sloTracker          // in the order of their first rule
	byKey      map[string]*sloTracker // by objective.key
	inputs     map[string]*sloInput   // by instrument name
	prevN      int64                  // time (UnixNano) of the previous ingest
	lastForget time.Time
	nowN       int64 // per ingest
}

func newSLOStore(interval time.Duration) *sloStore {
	return &sloStore{interval: interval, byKey: map[string]*sloTracker{}, inputs: map[string]*sloInput{}}
}

// sloInput is one instrument that objectives read, and its series.
type sloInput struct {
	uses   []sloUse
	series map[attribute.Distinct]*sloSeries
	readN  int64 // time (UnixNano) of the last ingest that read it
}

// sloUse is an objective reading an instrument, for its errors or events.
type sloUse struct {
	t      *sloTracker
	errors bool
	ev     *events
}

// sloSeries is a series of an input and the objective series it feeds.
type sloSeries struct {
	gen   uint64
	seen  int64
	feeds []sloFeed
}

// sloFeed adds the increases of one number of a series to an objective
// series.
type sloFeed struct {
	t      *sloTracker
	g      *sloGroup
	errors bool
	bound  float64 // histograms: count observations above it; 0: all
	last   float64
	has    bool
}

// rebuild makes the trackers those of the enabled BurnRate rules of rules,
// keeping the history of the objectives that remain.
func (st *sloStore) rebuild(rules *ruleSet) {
	st.gen = rules.gen
	byKey := map[string]*sloTracker{}
	var trackers []*sloTracker
	for _, re := range rules.order {
		if re.rule.Disabled || re.c.burn == nil {
			continue
		}
		for i := range re.c.burn.objectives {
			o := &re.c.burn.objectives[i]
			t := byKey[o.key]
			if t == nil {
				if t = st.byKey[o.key]; t == nil {
					t = &sloTracker{obj: *o, groups: map[string]*sloGroup{}}
				}
				t.users = t.users[:0]
				byKey[o.key] = t
				trackers = append(trackers, t)
			}
			t.users = append(t.users, sloUser{re: re, obj: o})
		}
	}
	inputs := map[string]*sloInput{}
	for _, t := range trackers {
		t.reshape(st.interval)
		for _, u := range []sloUse{{t: t, errors: true, ev: &t.obj.errors}, {t: t, ev: &t.obj.total}} {
			in := inputs[u.ev.metric]
			if in == nil {
				in = &sloInput{series: map[attribute.Distinct]*sloSeries{}}
				if old := st.inputs[u.ev.metric]; old != nil {
					in.series, in.readN = old.series, old.readN
				}
				inputs[u.ev.metric] = in
			}
			in.uses = append(in.uses, u)
		}
	}
	st.trackers, st.byKey, st.inputs = trackers, byKey, inputs
}

// ingest reads a collection at now and judges every objective series it
// read for every BurnRate rule.
func (st *sloStore) ingest(rm *metricdata.ResourceMetrics, rules *ruleSet, now time.Time, obs burnObserver) {
	if st.gen != rules.gen {
		st.rebuild(rules)
	}
	if len(st.trackers) == 0 {
		return
	}
	st.nowN = now.UnixNano()
	for i := range rm.ScopeMetrics {
		sm := &rm.ScopeMetrics[i]
		for j := range sm.Metrics {
			m := &sm.Metrics[j]
			if in := st.inputs[m.Name]; in != nil {
				st.read(in, m, obs)
				in.readN = st.nowN
			}
		}
	}
	for _, t := range st.trackers {
		t.judge(st.nowN, obs)
	}
	st.prevN = st.nowN
	st.forget(now)
}

// read adds the data points of one instrument to the objective series.
func (st *sloStore) read(in *sloInput, m *metricdata.Metrics, obs burnObserver) {
	unsupported := func(why string) {
		for _, u := range in.uses {
			for _, us := range u.t.users {
				obs.fail(us.re, &RuleError{Rule: us.re.rule.Name, Field: "Condition.Objectives",
					Reason: fmt.Sprintf("objective %q: %s %s", u.t.obj.name, m.Name, why), Err: ErrUnsupportedInstrument})
			}
		}
	}
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		if !d.IsMonotonic {
			unsupported("is not a counter")
			return
		}
		sumPoints(st, in, d.DataPoints)
	case metricdata.Sum[float64]:
		if !d.IsMonotonic {
			unsupported("is not a counter")
			return
		}
		sumPoints(st, in, d.DataPoints)
	case metricdata.Histogram[int64]:
		histPoints(st, in, d.DataPoints, obs)
	case metricdata.Histogram[float64]:
		histPoints(st, in, d.DataPoints, obs)
	default:
		unsupported(fmt.Sprintf("has data of type %T; objectives read counters and explicit-bucket histograms", m.Data))
	}
}

func sumPoints[N int64 | float64](st *sloStore, in *sloInput, pts []metricdata.DataPoint[N]) {
	for i := range pts {
		p := &pts[i]
		s := st.series(in, &p.Attributes, p.StartTime, p.Time)
		for k := range s.feeds {
			s.feeds[k].add(float64(p.Value))
		}
	}
}

func histPoints[N int64 | float64](st *sloStore, in *sloInput, pts []metricdata.HistogramDataPoint[N], obs burnObserver) {
	for i := range pts {
		p := &pts[i]
		s := st.series(in, &p.Attributes, p.StartTime, p.Time)
		for k := range s.feeds {
			f := &s.feeds[k]
			if f.bound == 0 {
				f.add(float64(p.Count))
				continue
			}
			idx := boundIndex(p.Bounds, f.bound)
			if idx < 0 {
				for _, u := range f.t.users {
					obs.fail(u.re, &RuleError{Rule: u.re.rule.Name, Field: "Condition.Objectives",
						Reason: fmt.Sprintf("objective %q: %g s is not a bucket boundary of %v", u.obj.name, f.bound, p.Bounds), Err: ErrNotBucketBoundary})
				}
				continue
			}
			var above uint64
			for _, c := range p.BucketCounts[idx+1:] {
				above += c
			}
			f.add(float64(above))
		}
	}
}

// series returns the input's entry of a series, binding it to the
// objective series it feeds when the rules changed.
func (st *sloStore) series(in *sloInput, set *attribute.Set, start, t time.Time) *sloSeries {
	key := set.Equivalent()
	s := in.series[key]
	fresh := s == nil
	if fresh {
		s = &sloSeries{}
		in.series[key] = s
	}
	s.seen = st.nowN
	if s.gen == st.gen {
		return s
	}
	s.gen = st.gen
	age := time.Duration(-1)
	if !start.IsZero() && !t.Before(start) {
		age = t.Sub(start)
	}
	// A series new to an input read before was absent (zero) at the
	// previous ingest: a new objective series starts its history there.
	var absentBefore int64
	if fresh && in.readN != 0 && in.readN == st.prevN {
		absentBefore = st.prevN
	}
	old := s.feeds
	s.feeds = nil
	for _, u := range in.uses {
		if !matches(set, u.ev.matchers) {
			continue
		}
		var value string
		if v, ok := set.Value(u.t.obj.by); ok {
			value = v.String()
		}
		g := u.t.group(value, st.nowN, age, absentBefore, st.interval)
		f := sloFeed{t: u.t, g: g, errors: u.errors, bound: u.ev.bound}
		for _, o := range old {
			if o.g == g && o.errors == f.errors && o.bound == f.bound {
				f = o // keep what it has read
			}
		}
		s.feeds = append(s.feeds, f)
	}
	return s
}

// add reads the cumulative value raw of the feed's series and adds its
// increase to the objective series' counts: all of it at the first read (the
// series counted from zero), what it adds since the last read after, and
// all of it again after a drop (a counter reset).
func (f *sloFeed) add(raw float64) {
	d := raw
	if f.has && raw >= f.last {
		d = raw - f.last
	}
	f.last, f.has = raw, true
	if f.errors {
		f.g.cur.errors += d
	} else {
		f.g.cur.total += d
	}
	f.g.read = true
}

// forget drops the series and objective series not read for the longest
// window of their objective (at least an hour), so that memory stays
// bounded when series come and go. It runs at most every 10 minutes.
func (st *sloStore) forget(now time.Time) {
	const every = 10 * time.Minute
	if now.Sub(st.lastForget) < every {
		return
	}
	st.lastForget = now
	for _, t := range st.trackers {
		stale := now.UnixNano() - int64(max(time.Hour, t.windows[len(t.windows)-1]))
		t.order = slices.DeleteFunc(t.order, func(g *sloGroup) bool {
			if g.seen < stale {
				delete(t.groups, g.value)
				return true
			}
			return false
		})
	}
	for _, in := range st.inputs {
		var longest time.Duration
		for _, u := range in.uses {
			longest = max(longest, u.t.windows[len(u.t.windows)-1])
		}
		stale := now.UnixNano() - int64(max(time.Hour, longest))
		for k, s := range in.series {
			if s.seen < stale {
				delete(in.series, k)
			}
		}
	}
}
