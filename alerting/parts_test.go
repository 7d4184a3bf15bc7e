package alerting

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// Each part of the engine, alone.

func mustEntry(t *testing.T, r Rule) *ruleEntry {
	t.Helper()
	re, err := newRuleEntry(r, names.Default)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

func TestRuleSet(t *testing.T) {
	rs := newRuleSet()
	for _, r := range []Rule{
		{Name: "all", Condition: ServiceDown{}},
		{Name: "plex", Condition: ServiceDown{Service: "plex"}},
		{Name: "tmdb", Condition: ServiceDown{Service: "tmdb"}},
		{Name: "cf", Condition: ConsecutiveFailures{Count: 1}},
	} {
		if err := rs.add(mustEntry(t, r)); err != nil {
			t.Fatal(err)
		}
	}
	if err := rs.add(mustEntry(t, Rule{Name: "plex", Condition: CircuitOpen{}})); !errors.Is(err, ErrDuplicateRule) {
		t.Fatalf("duplicate add = %v", err)
	}
	ix := rs.index[names.Default.Name(names.ServiceUp)]
	if ix == nil || len(rs.index) != 2 {
		t.Fatalf("index %v", rs.index)
	}
	set := attribute.NewSet(attribute.String("service", "plex"))
	ruleNames := func(res []*ruleEntry) []string {
		var out []string
		for _, re := range res {
			out = append(out, re.rule.Name)
		}
		return out
	}
	if got := ruleNames(ix.matching(&set, nil)); !slices.Equal(got, []string{"all", "plex"}) {
		t.Fatalf("rules matching plex: %q", got)
	}

	gen := rs.gen
	if err := rs.replace(mustEntry(t, Rule{Name: "plex", Condition: ServiceDown{Service: "plex"}, Disabled: true})); err != nil {
		t.Fatal(err)
	}
	if rs.gen == gen {
		t.Fatal("a change kept the generation: series would keep stale bindings")
	}
	if got := ruleNames(rs.index[names.Default.Name(names.ServiceUp)].matching(&set, nil)); !slices.Equal(got, []string{"all"}) {
		t.Fatalf("a disabled rule is indexed: %q", got)
	}
	if _, err := rs.remove("all"); err != nil {
		t.Fatal(err)
	}
	if _, err := rs.remove("all"); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("second remove = %v", err)
	}
	if err := rs.replace(mustEntry(t, Rule{Name: "all", Condition: ServiceDown{}})); !errors.Is(err, ErrRuleNotFound) {
		t.Fatalf("replace of a removed rule = %v", err)
	}
	var order []string
	for _, r := range rs.rules() {
		order = append(order, r.Name)
	}
	if !slices.Equal(order, []string{"plex", "tmdb", "cf"}) {
		t.Fatalf("order %q", order)
	}
	for i, re := range rs.order {
		if re.order != i {
			t.Fatalf("%s has order %d at %d", re.rule.Name, re.order, i)
		}
	}
}

func TestSchedule(t *testing.T) {
	clk := clock.NewFake(t0)
	s := newSchedule(time.Minute, clk)
	evals := make(chan struct{})
	s.request() // not started: nothing
	s.start(func() { evals <- struct{}{} })
	clk.BlockUntilTimers(1)
	clk.Advance(time.Minute)
	<-evals // on schedule
	clk.BlockUntilTimers(1)
	s.request()
	<-evals // on request; the schedule keeps its timer
	if n := clk.Timers(); n != 1 {
		t.Fatalf("%d timers after a requested evaluation", n)
	}
	if err := s.stop(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if n := clk.Timers(); n != 0 {
		t.Fatalf("%d timers after stop", n)
	}
	s.request() // stopped: nothing, no block
	if len(s.kick) != 0 {
		t.Fatal("request kept after stop")
	}
}

func TestStatePersisterRoundTrip(t *testing.T) {
	p, got, err := openState(filepath.Join(t.TempDir(), "state.json"), slog.New(slog.DiscardHandler), t0, nil)
	if err != nil || got != nil {
		t.Fatalf("missing file loaded %v, %v", got, err)
	}
	defer p.close()
	resolvedAt := t0.Add(time.Hour)
	tbl := newAlertTable()
	tbl.put(&alertRecord{
		st: alertState{
			a:        Alert{ID: "a", Rule: "r", State: Firing, Labels: map[string]string{"service": "plex"}},
			lastSeen: t0, transitions: []time.Time{t0}, flapping: true,
		},
		told: told{notified: true, heldBack: 2},
	})
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "b", Rule: "r", State: Resolved, ResolvedAt: &resolvedAt}}})
	if err := p.write(p.snapshot(tbl.all, nil)); err != nil {
		t.Fatal(err)
	}
	if rec := tbl.all["a"]; !rec.st.savedSeen.Equal(t0) {
		t.Fatalf("snapshot did not record what it saved: %v", rec.st.savedSeen)
	}
	got, err = p.load(t0, nil)
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, func(x, y *alertRecord) int { return strings.Compare(x.st.a.ID, y.st.a.ID) })
	if len(got) != 2 || !got[0].restored || got[0].st.a.Labels["service"] != "plex" || !got[0].told.notified ||
		got[0].told.heldBack != 2 || len(got[0].st.transitions) != 1 || !got[0].st.flapping || !got[1].st.a.ResolvedAt.Equal(resolvedAt) {
		t.Fatalf("loaded %+v %+v", got[0], got[1])
	}
	none := &statePersister{}
	if err := none.write(none.snapshot(tbl.all, nil)); err != nil { // no path: nothing
		t.Fatal(err)
	}
	none.close()
}

func TestAlertTablePruneAndCount(t *testing.T) {
	tbl := newAlertTable()
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "old", State: Resolved, ResolvedAt: at(0)}}})
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "mid", State: Resolved, ResolvedAt: at(time.Hour)}}})
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "new", State: Resolved, ResolvedAt: at(2 * time.Hour)}}})
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "fire", State: Firing, Level: Critical}}})
	tbl.put(&alertRecord{st: alertState{a: Alert{ID: "pend", State: Pending, Level: Critical}}})
	if !tbl.prune(t0.Add(2*time.Hour), 90*time.Minute, 1) {
		t.Fatal("prune dropped nothing")
	}
	var kept []string
	for id := range tbl.all {
		kept = append(kept, id)
	}
	slices.Sort(kept)
	if !slices.Equal(kept, []string{"fire", "new", "pend"}) {
		t.Fatalf("kept %q", kept)
	}
	if tbl.prune(t0.Add(2*time.Hour), 90*time.Minute, 1) {
		t.Fatal("a second prune dropped more")
	}
	tbl.recount()
	if tbl.firing[Critical].Load() != 1 || tbl.firing[Warning].Load() != 0 {
		t.Fatal("pending alerts counted as firing")
	}
}
