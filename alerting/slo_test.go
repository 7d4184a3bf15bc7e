package alerting

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/names"
)

// sloHarness is a harness with the sync counters the sync success
// objective reads, recorded as otelmon records them: every sync counts in
// sync_operations_total, a failed one in sync_operations_failed_total too,
// and consecutive_failures follows.
type sloHarness struct {
	*harness
	ops, failed metric.Int64Counter
	run         map[string]int64 // consecutive failures per source
}

func newSLOHarness(t *testing.T, rules ...Rule) *sloHarness {
	t.Helper()
	h := &sloHarness{harness: newHarness(t, Config{}), run: map[string]int64{}}
	var err error
	if h.ops, err = h.meter.Int64Counter(names.Default.Name(names.SyncOperationsTotal)); err != nil {
		t.Fatal(err)
	}
	if h.failed, err = h.meter.Int64Counter(names.Default.Name(names.SyncOperationsFailedTotal)); err != nil {
		t.Fatal(err)
	}
	h.addRules(rules...)
	return h
}

// sync records one sync of source.
func (h *sloHarness) sync(source string, ok bool) {
	ctx := context.Background()
	h.ops.Add(ctx, 1, src(source))
	if ok {
		h.run[source] = 0
	} else {
		h.failed.Add(ctx, 1, src(source))
		h.run[source]++
	}
	h.failures.Record(ctx, h.run[source], src(source))
}

// firingSLO returns the firing alerts of rule as "slo/source" strings.
func (h *sloHarness) firingSLO(rule string) []string {
	var out []string
	for _, a := range h.eng.Alerts(Filter{Rule: rule, States: []State{Firing}}) {
		out = append(out, a.Labels["slo"]+"/"+a.Labels["source"])
	}
	slices.Sort(out)
	return out
}

func TestObjectiveValidate(t *testing.T) {
	for _, o := range []Objective{SyncSuccessObjective(), APIAvailabilityObjective(), APILatencyObjective(0), APILatencyObjective(250 * time.Millisecond)} {
		if err := o.Validate(); err != nil {
			t.Errorf("%s: %v", o.Name, err)
		}
	}
	cases := []struct {
		field string
		mod   func(*Objective)
	}{
		{"Name", func(o *Objective) { o.Name = "" }},
		{"Name", func(o *Objective) { o.Name = "sync success" }},
		{"Name", func(o *Objective) { o.Name = strings.Repeat("x", 65) }},
		{"Errors.Metric", func(o *Objective) { o.Errors.Metric = " " }},
		{"Total.Metric", func(o *Objective) { o.Total.Metric = "" }},
		{"Errors.Attributes", func(o *Objective) { o.Errors.Attributes = map[string]string{"": "x"} }},
		{"Errors.SlowerThan", func(o *Objective) { o.Errors.SlowerThan = -time.Second }},
		{"Total.SlowerThan", func(o *Objective) { o.Total.SlowerThan = time.Second }},
		{"Target", func(o *Objective) { o.Target = 0 }},
		{"Target", func(o *Objective) { o.Target = 1 }},
		{"Target", func(o *Objective) { o.Target = 99 }},
		{"Target", func(o *Objective) { o.Target = math.NaN() }},
		{"Period", func(o *Objective) { o.Period = -time.Hour }},
	}
	for _, c := range cases {
		o := SyncSuccessObjective()
		c.mod(&o)
		err := o.Validate()
		var oe *ObjectiveError
		if !errors.As(err, &oe) || oe.Field != c.field || !errors.Is(err, ErrInvalidObjective) {
			t.Errorf("%+v: Validate = %v, want an *ObjectiveError on %s", o, err, c.field)
		}
	}
}

func TestBurnRateRuleInvalid(t *testing.T) {
	h := newHarness(t, Config{})
	sync := SyncSuccessObjective()
	lowTarget := sync
	lowTarget.Target = 0.9 // 14.4 × 0.1 > 1: a page could never fire
	badTarget := sync
	badTarget.Target = 2
	cases := []struct {
		field string
		cond  BurnRate
	}{
		{"Condition.Objectives", BurnRate{Windows: PageWindows()}},
		{"Condition.Windows", BurnRate{Objectives: []Objective{sync}}},
		{"Condition.Objectives[0].Target", BurnRate{Objectives: []Objective{badTarget}, Windows: PageWindows()}},
		{"Condition.Objectives[1].Name", BurnRate{Objectives: []Objective{sync, sync}, Windows: PageWindows()}},
		{"Condition.Windows[0].Factor", BurnRate{Objectives: []Objective{lowTarget}, Windows: PageWindows()}},
		{"Condition.Windows[0].Long", BurnRate{Objectives: []Objective{sync}, Windows: []BurnWindow{{Long: time.Hour, Short: time.Hour, Factor: 2}}}},
		{"Condition.Windows[0].Short", BurnRate{Objectives: []Objective{sync}, Windows: []BurnWindow{{Long: time.Hour, Factor: 2}}}},
		{"Condition.Windows[0].Factor", BurnRate{Objectives: []Objective{sync}, Windows: []BurnWindow{{Long: time.Hour, Short: time.Minute, Factor: math.Inf(1)}}}},
	}
	for _, c := range cases {
		err := h.eng.AddRule(Rule{Name: "slo", Condition: c.cond})
		var re *RuleError
		if !errors.As(err, &re) || re.Field != c.field || !errors.Is(err, ErrInvalidRule) {
			t.Errorf("%v: AddRule = %v, want a *RuleError on %s", c.cond, err, c.field)
		}
	}
	// Lower targets are fine with gentler windows.
	if err := h.eng.AddRule(Rule{Name: "slo", Condition: &BurnRate{Objectives: []Objective{lowTarget}, Windows: TicketWindows()}}); err != nil {
		t.Errorf("ticket windows at 90%%: %v", err)
	}
}

// TestSLOPagesOnEveryOtherSyncFailing is the failure thresholds miss: a
// source whose every other sync fails never fails three times in a row, so
// consecutive_sync_failures never fires, but half its syncs fail, 50 times
// its 1 % budget: the page fires at the first failure and holds while the
// pattern lasts, and resolves half an hour after the last failure, when
// the 30 min window no longer holds one.
func TestSLOPagesOnEveryOtherSyncFailing(t *testing.T) {
	type check struct {
		minute         int
		page, ticket   []string
		consecutiveNow []string
	}
	imdb := []string{"sync_success/imdb"}
	cases := []struct {
		name    string
		minutes int
		fails   func(minute int) (sync, ok bool) // imdb syncs every 5 min; trakt syncs well
		checks  []check
	}{
		{
			name: "every other sync fails for two hours", minutes: 200,
			fails: func(m int) (bool, bool) { return m%5 == 0, m >= 120 || m%10 == 0 },
			checks: []check{
				{minute: 0},
				{minute: 5, page: imdb, ticket: imdb}, // 1 of 2 syncs failed: 50× over every window
				{minute: 10, page: imdb, ticket: imdb},
				{minute: 60, page: imdb, ticket: imdb},
				{minute: 119, page: imdb, ticket: imdb},
				{minute: 144, page: imdb, ticket: imdb}, // last failure at 115: within 30 min
				{minute: 145, ticket: imdb},             // 30 min after it: the page resolves
				{minute: 199, ticket: imdb},             // 1 d and 2 h still burn faster than 3×
			},
		},
		{
			name: "every sync succeeds", minutes: 60,
			fails:  func(m int) (bool, bool) { return m%5 == 0, true },
			checks: []check{{minute: 0}, {minute: 30}, {minute: 59}},
		},
		{
			name: "three failures in a row: the threshold and the objective", minutes: 40,
			fails: func(m int) (bool, bool) { return m%5 == 0, m < 5 || m > 15 },
			checks: []check{
				{minute: 5, page: imdb, ticket: imdb},
				{minute: 15, page: imdb, ticket: imdb, consecutiveNow: []string{"source=imdb"}},
				{minute: 20, page: imdb, ticket: imdb},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newSLOHarness(t, append(DefaultRules(), SLORules()...)...)
			for m := range c.minutes {
				if m > 0 {
					h.clk.Advance(time.Minute)
				}
				if sync, ok := c.fails(m); sync {
					h.sync("imdb", ok)
					h.sync("trakt", true)
				}
				h.eval()
				i := slices.IndexFunc(c.checks, func(k check) bool { return k.minute == m })
				if i < 0 {
					continue
				}
				k := c.checks[i]
				if got := h.firingSLO(RuleSLOBurnRatePage); !slices.Equal(got, k.page) {
					t.Errorf("minute %d: page fires on %v, want %v", m, got, k.page)
				}
				if got := h.firingSLO(RuleSLOBurnRateTicket); !slices.Equal(got, k.ticket) {
					t.Errorf("minute %d: ticket fires on %v, want %v", m, got, k.ticket)
				}
				if got := h.firing(RuleConsecutiveSyncFailures); !slices.Equal(got, k.consecutiveNow) {
					t.Errorf("minute %d: consecutive_sync_failures fires on %v, want %v", m, got, k.consecutiveNow)
				}
			}
		})
	}
}

// TestSLOAlertLifecycle checks that SLO alerts go through the rules'
// lifecycle: labels and title, the rate limit's reminders, acknowledgement
// and silences.
func TestSLOAlertLifecycle(t *testing.T) {
	h := newSLOHarness(t, SLORules()...)
	h.sync("imdb", true)
	h.eval()
	h.clk.Advance(time.Minute)
	h.sync("imdb", false)
	h.eval()
	got := h.drain()
	if len(got) != 2 {
		t.Fatalf("notifications %v, want the page and the ticket", summary(got))
	}
	page := got[0]
	if page.Rule != RuleSLOBurnRatePage || page.Level != Critical || page.State != Firing {
		t.Fatalf("first notification %+v, want the page firing", page)
	}
	if want := map[string]string{"slo": "sync_success", "source": "imdb"}; !mapsEqual(page.Labels, want) {
		t.Errorf("labels %v, want %v", page.Labels, want)
	}
	// 1 failure in 2 syncs: an error ratio of 0.5, 50 times the budget.
	if page.Value != 50 || page.Title != "Error budget of sync_success for source=imdb burns 50× as fast as the objective allows" {
		t.Errorf("value %g, title %q", page.Value, page.Title)
	}

	// The page's rate limit (1 h) reminds while it fires; the failures go
	// on, one sync in two.
	syncEvery := func(minutes int) {
		for range minutes {
			h.clk.Advance(time.Minute)
			h.sync("imdb", h.clk.Now().Minute()%2 == 0)
			h.eval()
		}
	}
	syncEvery(59)
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("within the rate limit: %v", summary(got))
	}
	syncEvery(1)
	if got := summary(h.drain()); !slices.Equal(got, []string{"slo_burn_rate_page:firing:slo=sync_success, source=imdb"}) {
		t.Fatalf("after an hour: %v, want the page's reminder", got)
	}

	// Acknowledged: no more reminders.
	if _, err := h.eng.Acknowledge(page.ID, "alice", "on it"); err != nil {
		t.Fatal(err)
	}
	h.drain()
	syncEvery(61)
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("acknowledged: %v", summary(got))
	}

	// A silence on the objective mutes the ticket's reminders and, when
	// the failures stop, both resolutions.
	if _, err := h.eng.CreateSilence(Silence{Matchers: []Matcher{{Name: "slo", Value: "sync_success"}}, EndsAt: h.clk.Now().Add(48 * time.Hour), CreatedBy: "alice"}); err != nil {
		t.Fatal(err)
	}
	for range 14 * 60 {
		h.clk.Advance(time.Minute)
		h.sync("imdb", true)
		h.eval()
	}
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("silenced: %v", summary(got))
	}
	for _, a := range h.eng.Alerts(Filter{IncludeResolved: true}) {
		if a.State != Resolved {
			t.Errorf("%s after 14 h of successes: %s, want resolved", a.Rule, a.State)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
