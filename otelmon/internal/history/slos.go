package history

import (
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/listsync/otelmon/alerting"
)

// The error budgets of the objectives over time. Unlike the sources and
// services, they are not read from instruments: each collection asks an
// SLOLister (the alert engine) for every objective series' budget as of
// its last evaluation, and each bucket keeps the last reading it got, as a
// gauge's last sample. A bucket no collection read, or read while the
// engine listed no such series, has no value.

// SLOLister lists the objective series with their error budgets as of the
// last evaluation: the alert engine (*alerting.Engine) is one.
type SLOLister interface {
	SLOs() []alerting.SLOStatus
}

// budgetPoint is one bucket of an objective series: the error budget left
// as last read in the bucket, a float32 whose bits are stored XOR those of
// NaN, so that the zero point, which a ring holds for a bucket no
// collection read, is NaN (no value) while a budget of exactly 0 is not.
// 4 bytes.
type budgetPoint uint32

var nanBits = math.Float32bits(float32(math.NaN()))

func budgetOf(v float64) budgetPoint { return budgetPoint(math.Float32bits(float32(v)) ^ nanBits) }

func (p budgetPoint) value() float32 { return math.Float32frombits(uint32(p) ^ nanBits) }

// sloHistory is one objective series' budget over time: an objective
// (name, target, period) for one value of its label.
type sloHistory struct {
	name      string
	labels    map[string]string
	objective float64
	window    time.Duration
	def       string // the objective's key, under which the series are counted for the bound
	levels    [2]level[budgetPoint]
	lastSeen  int64
}

// sloSampler is what the history reads the budgets from, and the bound on
// the series it keeps. Its maps are guarded by History.mu.
type sloSampler struct {
	lister       SLOLister // nil: no budgets are sampled
	perObjective int
	series       map[string]*sloHistory // by sloKey
	perDef       map[string]int         // series kept per objective, by sloHistory.def
}

// SampleSLOs makes every collection read the error budgets of l and keep
// them, at most perObjective series (at least 1) of each objective (name,
// target and period): a series first seen past that bound is not kept
// until one of the objective's series has been forgotten (not listed for
// 24 hours). The Monitor passes the cardinality limit of its labels plus
// one, for the overflow label, so that every source or service the
// metrics name has its budget kept. Call it before Start.
func (h *History) SampleSLOs(l SLOLister, perObjective int) {
	h.collectMu.Lock()
	defer h.collectMu.Unlock()
	h.mu.Lock()
	defer h.mu.Unlock()
	h.slos = sloSampler{lister: l, perObjective: max(perObjective, 1),
		series: map[string]*sloHistory{}, perDef: map[string]int{}}
}

// readSLOs returns the budgets of the objective series now; nil when none
// are sampled. Collect calls it, without h.mu: the lister takes locks of
// its own.
func (h *History) readSLOs() []alerting.SLOStatus {
	if h.slos.lister == nil {
		return nil
	}
	return h.slos.lister.SLOs()
}

// sloKey names an objective series; def names its objective.
func sloKey(s *alerting.SLOStatus) (key, def string) {
	var b strings.Builder
	b.WriteString(s.Name)
	b.WriteByte(0)
	b.WriteString(strconv.FormatFloat(s.Objective, 'g', -1, 64))
	b.WriteByte(0)
	b.WriteString(strconv.FormatInt(int64(s.Window), 10))
	def = b.String()
	for _, k := range slices.Sorted(maps.Keys(s.Labels)) {
		b.WriteByte(0)
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(s.Labels[k])
	}
	return b.String(), def
}

// feedSLOsLocked stores the budgets read at tn (UnixNano) in their series'
// open buckets; the caller holds h.mu.
func (h *History) feedSLOsLocked(budgets []alerting.SLOStatus, tn int64) {
	sl := &h.slos
	for i := range budgets {
		s := &budgets[i]
		key, def := sloKey(s)
		sh := sl.series[key]
		if sh == nil {
			if sl.perDef[def] >= sl.perObjective {
				continue
			}
			sh = &sloHistory{name: s.Name, labels: maps.Clone(s.Labels), objective: s.Objective, window: s.Window,
				def: def, levels: newLevels[budgetPoint](tn)}
			sl.series[key] = sh
			sl.perDef[def]++
		}
		sh.lastSeen = tn
		for j := range sh.levels {
			l := &sh.levels[j]
			if b := tn / int64(levels[j].step); b > l.openB {
				l.ring.put(l.openB, l.open)
				l.openB = b
			}
			// A reading for an earlier bucket (a query's collection raced
			// with the sampler's) is the open bucket's latest too.
			l.open = budgetOf(s.ErrorBudgetRemaining)
		}
	}
}

// forgetSLOsLocked drops the objective series no collection listed since
// cut (UnixNano).
func (h *History) forgetSLOsLocked(cut int64) {
	sl := &h.slos
	maps.DeleteFunc(sl.series, func(_ string, s *sloHistory) bool {
		if s.lastSeen >= cut {
			return false
		}
		if sl.perDef[s.def]--; sl.perDef[s.def] <= 0 {
			delete(sl.perDef, s.def)
		}
		return true
	})
}

// SLOSeries is an objective series' error budget over time: the share of
// the budget left (1 untouched, 0 spent, negative overspent, as
// errorBudgetRemaining in the status' slos) as last read in each bucket.
// Name, Labels, Objective and Window are those of the status' slos.
type SLOSeries struct {
	Name                 string            `json:"name"`
	Labels               map[string]string `json:"labels"`
	Objective            float64           `json:"objective"`
	Window               string            `json:"window"`
	ErrorBudgetRemaining Numbers           `json:"errorBudgetRemaining"`
}

// sloSnapshotLocked returns the objective series of range rg from bucket
// startB on, ordered by name, then target, period and labels; the caller
// holds h.mu.
func (h *History) sloSnapshotLocked(rg Range, startB int64) []SLOSeries {
	keys := slices.Sorted(maps.Keys(h.slos.series))
	out := make([]SLOSeries, 0, len(keys))
	for _, k := range keys {
		s := h.slos.series[k]
		js := SLOSeries{Name: s.name, Labels: maps.Clone(s.labels), Objective: s.objective,
			Window: model.Duration(s.window).String(), ErrorBudgetRemaining: make(Numbers, rg.points)}
		if js.Labels == nil {
			js.Labels = map[string]string{}
		}
		l := &s.levels[rg.level]
		for i := range rg.points {
			p, _ := l.at(startB + int64(i)) // the zero point, NaN, where it has none
			js.ErrorBudgetRemaining[i] = p.value()
		}
		out = append(out, js)
	}
	return out
}
