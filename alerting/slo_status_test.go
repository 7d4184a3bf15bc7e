package alerting

import (
	"slices"
	"testing"
	"time"
)

func TestSLOStatus(t *testing.T) {
	custom := SyncSuccessObjective()
	custom.Target, custom.Period = 0.9, 7*24*time.Hour
	h := newSLOHarness(t, append(SLORules(),
		Rule{Name: "weekly", Condition: BurnRate{Objectives: []Objective{custom}, Windows: []BurnWindow{{Long: time.Hour, Short: 10 * time.Minute, Factor: 2}}}})...)
	if got := h.eng.SLOs(); len(got) != 0 {
		t.Fatalf("before the first evaluation: %+v", got)
	}
	// imdb: one failure, then nine successes, a minute apart.
	for m := range 10 {
		if m > 0 {
			h.clk.Advance(time.Minute)
		}
		h.sync("imdb", m != 0)
		h.eval()
	}
	got := h.eng.SLOs()
	if len(got) != 2 {
		t.Fatalf("SLOs = %+v, want imdb's at 99 %% over 30 d and at 90 %% over 7 d", got)
	}
	want := []struct {
		objective float64
		window    time.Duration
		budget    float64 // remaining
		burns     []BurnRateReading
	}{
		// 1 error in 10 syncs: a ratio of 0.1, ten times the 1 % budget
		// over every window but the last 5 min, which hold no failure.
		{0.99, DefaultSLOPeriod, 1 - 0.1/0.01, []BurnRateReading{
			{5 * time.Minute, 0}, {10 * time.Minute, 10}, {30 * time.Minute, 10}, {time.Hour, 10},
			{2 * time.Hour, 10}, {6 * time.Hour, 10}, {24 * time.Hour, 10}, {72 * time.Hour, 10}}},
		{0.9, 7 * 24 * time.Hour, 0, []BurnRateReading{
			{5 * time.Minute, 0}, {10 * time.Minute, 1}, {30 * time.Minute, 1}, {time.Hour, 1},
			{2 * time.Hour, 1}, {6 * time.Hour, 1}, {24 * time.Hour, 1}, {72 * time.Hour, 1}}},
	}
	for i, w := range want {
		s := got[i]
		if s.Name != SLOSyncSuccess || !mapsEqual(s.Labels, map[string]string{"source": "imdb"}) || s.Objective != w.objective || s.Window != w.window {
			t.Errorf("status %d: %+v, want sync_success of imdb at %g over %s", i, s, w.objective, w.window)
		}
		if !near(s.ErrorBudgetRemaining, w.budget) || s.Errors != 1 || s.Events != 10 {
			t.Errorf("status %d: budget %g, %g errors in %g events; want %g, 1 in 10", i, s.ErrorBudgetRemaining, s.Errors, s.Events, w.budget)
		}
		if s.Covered < 9*time.Minute || s.Covered > 10*time.Minute {
			t.Errorf("status %d: covers %s, want the 9 min since the counters started", i, s.Covered)
		}
		if !slices.EqualFunc(s.BurnRates, w.burns, func(a, b BurnRateReading) bool { return a.Window == b.Window && near(a.BurnRate, b.BurnRate) }) {
			t.Errorf("status %d: burn rates %v, want %v", i, s.BurnRates, w.burns)
		}
	}

	// Without BurnRate rules, no objective.
	for _, r := range h.eng.Rules() {
		if err := h.eng.RemoveRule(r.Name); err != nil {
			t.Fatal(err)
		}
	}
	h.step(time.Minute)
	if got := h.eng.SLOs(); len(got) != 0 {
		t.Errorf("without rules: %+v", got)
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
