package alerting

import (
	"fmt"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/names"
)

// ruleEntry is a registered rule, compiled: what evaluations run.
type ruleEntry struct {
	rule   Rule
	c      compiled
	view   ruleView // what the lifecycle reads of the rule
	order  int      // position in ruleSet.order
	active int      // pending and firing alerts of the rule
	err    error    // last evaluation error, to log changes only
}

// newRuleEntry validates and compiles a copy of r.
func newRuleEntry(r Rule, prefix names.Prefix) (*ruleEntry, error) {
	re := &ruleEntry{rule: r.clone()}
	c, err := re.rule.validate(prefix)
	if err != nil {
		return nil, err
	}
	re.c = c
	re.view = newRuleView(&re.rule, &re.c)
	return re, nil
}

// ruleView is what the lifecycle reads of a rule, resolved once per rule.
type ruleView struct {
	level             Level
	description       string
	labels            map[string]string
	forDur            time.Duration
	rateLimit         time.Duration
	autoResolveAfter  time.Duration
	resolveAfterClear int // at least 1
	flapChanges       int // 0: no flap detection
	flapWindow        time.Duration
	title             func(labels map[string]string, value float64) string
}

func newRuleView(r *Rule, c *compiled) ruleView {
	return ruleView{
		level:             r.Level,
		description:       r.Description,
		labels:            r.Labels,
		forDur:            r.For,
		rateLimit:         r.RateLimit,
		autoResolveAfter:  r.AutoResolveAfter,
		resolveAfterClear: max(1, r.ResolveAfterClear),
		flapChanges:       r.Flap.Changes,
		flapWindow:        r.Flap.window(),
		title: func(labels map[string]string, v float64) string {
			return title(r, c, labels, v)
		},
	}
}

// ruleSet holds the registered rules in registration order and, for the
// enabled ones, an index by instrument that evaluations bind series with.
// It is not safe for concurrent use: the ledger guards it.
type ruleSet struct {
	byName map[string]*ruleEntry
	order  []*ruleEntry
	gen    uint64                // changes with every change of the set: series bindings are stale
	index  map[string]*ruleIndex // enabled rules by instrument name
}

// ruleIndex is the enabled rules that read one instrument, indexed by
// their first attribute matcher so that binding a series looks at the
// rules that can match it only.
type ruleIndex struct {
	metric    string
	all       []*ruleEntry // rules without matchers
	keys      []attribute.Key
	byFirst   map[attribute.Key]map[string][]*ruleEntry
	maxWindow time.Duration
}

func newRuleSet() *ruleSet {
	return &ruleSet{byName: map[string]*ruleEntry{}, index: map[string]*ruleIndex{}}
}

func (rs *ruleSet) get(name string) *ruleEntry { return rs.byName[name] }

// add registers re; it fails for a name already registered.
func (rs *ruleSet) add(re *ruleEntry) error {
	if _, dup := rs.byName[re.rule.Name]; dup {
		return &RuleError{Rule: re.rule.Name, Field: "Name", Reason: "already registered", Err: ErrDuplicateRule}
	}
	rs.byName[re.rule.Name] = re
	rs.order = append(rs.order, re)
	rs.reindex()
	return nil
}

// replace puts re in place of the rule of the same name, keeping its
// position and active count.
func (rs *ruleSet) replace(re *ruleEntry) error {
	old, ok := rs.byName[re.rule.Name]
	if !ok {
		return fmt.Errorf("%w: %q", ErrRuleNotFound, re.rule.Name)
	}
	re.active = old.active
	rs.byName[re.rule.Name] = re
	rs.order[old.order] = re
	rs.reindex()
	return nil
}

// remove unregisters the named rule and returns it.
func (rs *ruleSet) remove(name string) (*ruleEntry, error) {
	re, ok := rs.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrRuleNotFound, name)
	}
	delete(rs.byName, name)
	rs.order = slices.Delete(rs.order, re.order, re.order+1)
	rs.reindex()
	return re, nil
}

// rules returns copies of the rules in registration order.
func (rs *ruleSet) rules() []Rule {
	out := make([]Rule, len(rs.order))
	for i, re := range rs.order {
		out[i] = re.rule.clone()
	}
	return out
}

// reindex renumbers the rules and rebuilds the index of enabled rules.
func (rs *ruleSet) reindex() {
	rs.gen++
	idx := map[string]*ruleIndex{}
	for i, re := range rs.order {
		re.order = i
		if re.rule.Disabled || re.c.kind == kindBurn {
			continue // BurnRate rules read their instruments through the SLO store
		}
		ix := idx[re.c.metric]
		if ix == nil {
			ix = &ruleIndex{metric: re.c.metric, byFirst: map[attribute.Key]map[string][]*ruleEntry{}}
			idx[re.c.metric] = ix
		}
		if re.c.windowed() {
			ix.maxWindow = max(ix.maxWindow, re.c.window)
		}
		if len(re.c.matchers) == 0 {
			ix.all = append(ix.all, re)
			continue
		}
		m := re.c.matchers[0]
		byValue := ix.byFirst[m.key]
		if byValue == nil {
			byValue = map[string][]*ruleEntry{}
			ix.byFirst[m.key] = byValue
			ix.keys = append(ix.keys, m.key)
		}
		byValue[m.value] = append(byValue[m.value], re)
	}
	rs.index = idx
}

// entries returns every rule of the index.
func (ix *ruleIndex) entries() []*ruleEntry {
	out := slices.Clone(ix.all)
	for _, byValue := range ix.byFirst {
		for _, res := range byValue {
			out = append(out, res...)
		}
	}
	return out
}

// matching appends to buf the rules whose matchers all match set, in rule
// order.
func (ix *ruleIndex) matching(set *attribute.Set, buf []*ruleEntry) []*ruleEntry {
	cands := append(buf, ix.all...)
	for _, k := range ix.keys {
		if v, ok := set.Value(k); ok {
			cands = append(cands, ix.byFirst[k][v.String()]...)
		}
	}
	slices.SortFunc(cands, func(a, b *ruleEntry) int { return a.order - b.order })
	return slices.DeleteFunc(cands, func(re *ruleEntry) bool { return !matches(set, re.c.matchers) })
}

func matches(set *attribute.Set, ms []matcher) bool {
	for _, m := range ms {
		v, ok := set.Value(m.key)
		if !ok || v.String() != m.value {
			return false
		}
	}
	return true
}
