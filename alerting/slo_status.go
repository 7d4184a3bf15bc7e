package alerting

import (
	"cmp"
	"maps"
	"slices"
	"time"
)

// SLOStatus is one series of an objective as of the last evaluation: its
// error budget and how fast it burns. It is a plain value for status pages
// and APIs.
type SLOStatus struct {
	// Name is the objective's name ("sync_success").
	Name string `json:"name"`
	// Labels are the series' labels: the objective's By attribute and its
	// value ({"source": "imdb"}); empty for an objective without By.
	Labels map[string]string `json:"labels"`
	// Objective is the objective's Target, e.g. 0.99.
	Objective float64 `json:"objective"`
	// Window is the objective's Period, over which the budget is counted.
	Window time.Duration `json:"window"`
	// ErrorBudgetRemaining is the share of the period's error budget left:
	// 1 - (error ratio over the period) / (1 - Objective). It is 1 with no
	// error, 0 when the budget is spent, negative past it.
	ErrorBudgetRemaining float64 `json:"errorBudgetRemaining"`
	// Errors and Events are the errors and the events counted over the
	// period.
	Errors float64 `json:"errors"`
	Events float64 `json:"events"`
	// Covered is how much of the period the figures cover: the period, or
	// less while the process has not seen a whole one (a window longer
	// than the history uses what there is).
	Covered time.Duration `json:"covered"`
	// BurnRates are the burn rates over the alert windows of the BurnRate
	// rules that watch the objective, shortest window first.
	BurnRates []BurnRateReading `json:"burnRates"`
	// Alerts are the window pairs of those rules, in the order of the
	// rules and their windows: a rule's alert fires for the series when
	// the burn rates over both windows of one of its pairs are above the
	// pair's factor.
	Alerts []BurnAlert `json:"alerts"`
}

// BurnAlert is a window pair of a BurnRate rule that watches an
// objective.
type BurnAlert struct {
	Rule   string        `json:"rule"`
	Level  Level         `json:"level"`
	Long   time.Duration `json:"long"`
	Short  time.Duration `json:"short"`
	Factor float64       `json:"factor"`
}

// BurnRateReading is the burn rate of an objective series over one window:
// its error ratio over the window divided by the error budget (1 -
// Objective). At 1 the budget lasts exactly the period; a Workbook page
// fires above 14.4 over 1 h (and 5 min). With no event in the window it
// is 0.
type BurnRateReading struct {
	Window   time.Duration `json:"window"`
	BurnRate float64       `json:"burnRate"`
}

// SLOs returns the objective series of the enabled BurnRate rules as of
// the last evaluation: per objective (in the order of the rules), then per
// series (by label values), its budget and burn rates. An objective that
// rules define with different targets or periods is listed once per
// definition. Before the first evaluation that reads an objective's
// instruments it has no series.
func (e *Engine) SLOs() []SLOStatus {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	return e.eval.slos.status(l.rules)
}

// status is SLOs for the rule set rules; it leaves out the rules changed
// since the last evaluation.
func (st *sloStore) status(rules *ruleSet) []SLOStatus {
	if st.gen != rules.gen {
		return nil // read by no evaluation yet
	}
	var out []SLOStatus
	for _, t := range st.trackers {
		groups := slices.SortedFunc(slices.Values(t.order), func(a, b *sloGroup) int { return cmp.Compare(a.value, b.value) })
		var defs []*sloUser
		alerts := map[int]bool{} // indexes in t.windows of the alert windows
		for k := range t.users {
			u := &t.users[k]
			if !slices.ContainsFunc(defs, func(d *sloUser) bool { return d.obj.target == u.obj.target && d.obj.period == u.obj.period }) {
				defs = append(defs, u)
			}
			for _, p := range u.pairs {
				alerts[p.long], alerts[p.short] = true, true
			}
		}
		windows := slices.Sorted(maps.Keys(alerts))
		for _, u := range defs {
			var pairs []BurnAlert
			for k := range t.users {
				o := &t.users[k]
				if o.obj.target != u.obj.target || o.obj.period != u.obj.period {
					continue
				}
				for _, p := range o.pairs {
					pairs = append(pairs, BurnAlert{Rule: o.re.rule.Name, Level: o.re.rule.Level,
						Long: t.windows[p.long], Short: t.windows[p.short], Factor: p.factor})
				}
			}
			for _, g := range groups {
				if g.seen == 0 {
					continue
				}
				s := SLOStatus{
					Name:      t.obj.name,
					Labels:    maps.Clone(g.labels),
					Objective: u.obj.target,
					Window:    u.obj.period,
					Errors:    g.inc[u.period][0],
					Events:    g.inc[u.period][1],
					Covered:   g.rings[u.period].covered(g.cur.t),
				}
				delete(s.Labels, "slo")
				s.ErrorBudgetRemaining = 1 - g.ratio(u.period)/u.obj.budget
				for _, i := range windows {
					s.BurnRates = append(s.BurnRates, BurnRateReading{Window: t.windows[i], BurnRate: g.ratio(i) / u.obj.budget})
				}
				s.Alerts = slices.Clone(pairs)
				out = append(out, s)
			}
		}
	}
	return out
}
