package alerting

import (
	"math"
	"slices"
	"time"
)

// An objective's trackers: its series (sloGroup), each with a ring per
// window its rules read, and the verdicts of its rules on each.

// sloTracker is one objective's history: its series, with the windows its
// rules read. Objectives of the same key (same name and events) share it.
type sloTracker struct {
	obj     objective       // what it counts (the first rule's definition)
	windows []time.Duration // distinct, ascending: the rules' windows and periods
	users   []sloUser
	groups  map[string]*sloGroup // by the value of obj.by
	order   []*sloGroup          // in order of appearance
}

// sloUser is one rule reading an objective.
type sloUser struct {
	re     *ruleEntry
	obj    *objective
	pairs  []sloPair // one per BurnWindow
	period int       // index of obj.period in windows
}

// sloPair is a BurnWindow of a rule, its windows as indexes in the
// tracker's windows.
type sloPair struct {
	long, short int
	factor      float64
}

// sloGroup is one series of an objective.
type sloGroup struct {
	value  string
	labels map[string]string // slo and the By attribute
	ids    []string          // alert ID per user
	cur    sloCount          // cumulative counts, reset-corrected
	seen   int64             // last ingest that read one of its series
	read   bool              // read at the ingest in progress
	rings  []*sloRing        // per tracker window
	inc    [][2]float64      // increase of errors and events per window, as of seen
	zeroAt int64             // when its counts started, if known
}

// reshape sets the tracker's windows from its users and gives every series
// a ring per window, keeping those of the windows it had.
func (t *sloTracker) reshape(interval time.Duration) {
	var ws []time.Duration
	for _, u := range t.users {
		ws = append(ws, u.obj.period)
		for _, w := range u.re.c.burn.windows {
			ws = append(ws, w.Long, w.Short)
		}
	}
	slices.Sort(ws)
	ws = slices.Compact(ws)
	for i := range t.users {
		u := &t.users[i]
		u.period = slices.Index(ws, u.obj.period)
		u.pairs = u.pairs[:0]
		for _, w := range u.re.c.burn.windows {
			u.pairs = append(u.pairs, sloPair{long: slices.Index(ws, w.Long), short: slices.Index(ws, w.Short), factor: w.Factor})
		}
	}
	for _, g := range t.order {
		g.reshape(t, ws, t.windows, interval)
	}
	t.windows = ws
}

// reshape gives g a ring per window of ws, keeping its rings of the
// windows it had; a new ring of a series already read starts at its
// current counts, a lower bound.
func (g *sloGroup) reshape(t *sloTracker, ws, had []time.Duration, interval time.Duration) {
	rings := make([]*sloRing, len(ws))
	for i, w := range ws {
		if j := slices.Index(had, w); j >= 0 && j < len(g.rings) {
			rings[i] = g.rings[j]
			continue
		}
		rings[i] = newSLORing(w, interval)
		if g.seen != 0 {
			rings[i].push(g.cur)
		}
	}
	g.rings, g.inc = rings, make([][2]float64, len(ws))
	g.ids = g.ids[:0]
	for _, u := range t.users {
		g.ids = append(g.ids, alertID(u.re.rule.Name, g.labels))
	}
}

// group returns the tracker's series of value, creating it: its counts
// started age before now (unknown when age is negative), and, when
// absentBefore is not zero, were zero then.
func (t *sloTracker) group(value string, nowN int64, age time.Duration, absentBefore int64, interval time.Duration) *sloGroup {
	g := t.groups[value]
	if g != nil {
		return g
	}
	g = &sloGroup{value: value, labels: map[string]string{"slo": t.obj.name}, zeroAt: math.MinInt64}
	if t.obj.by != "" {
		g.labels[string(t.obj.by)] = value
	}
	if age >= 0 {
		g.zeroAt = nowN - int64(age)
	}
	g.reshape(t, t.windows, nil, interval)
	for _, r := range g.rings {
		r.fromZero, r.zeroAt = g.zeroAt != math.MinInt64, g.zeroAt
		if absentBefore != 0 {
			r.push(sloCount{t: absentBefore})
		}
	}
	t.groups[value] = g
	t.order = append(t.order, g)
	return g
}

// judge pushes the counts of every series read at this ingest into its
// rings, works out its increases per window and hands each rule's verdict
// to obs.
func (t *sloTracker) judge(nowN int64, obs burnObserver) {
	for _, g := range t.order {
		if !g.read {
			continue
		}
		g.read, g.seen, g.cur.t = false, nowN, nowN
		for i, r := range g.rings {
			r.push(g.cur)
			e, n := r.increase(g.cur)
			g.inc[i] = [2]float64{e, n}
		}
		for k := range t.users {
			u := &t.users[k]
			x, v := 0.0, verdictClear
			for _, p := range u.pairs {
				limit := p.factor * u.obj.budget
				if g.ratio(p.long) > limit && g.ratio(p.short) > limit {
					x, v = g.ratio(p.long)/u.obj.budget, verdictHold
					break
				}
			}
			obs.judge(u.re, g.ids[k], g.labels, x, v)
		}
	}
}

// ratio returns the error ratio over the tracker's i-th window: 0 without
// events.
func (g *sloGroup) ratio(i int) float64 {
	e, n := g.inc[i][0], g.inc[i][1]
	if n <= 0 {
		return 0
	}
	return e / n
}
