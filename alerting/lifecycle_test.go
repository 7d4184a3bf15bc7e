package alerting

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/listsync/otelmon/internal/names"
)

// kinds summarizes notifications as "F" (firing), "F!" (firing, flapping)
// and "R" (resolved), with "+n" for HeldBack.
func kinds(as []Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		s := "R"
		if a.State == Firing {
			s = "F"
			if a.Flapping {
				s = "F!"
			}
		}
		if a.HeldBack > 0 {
			s += "+" + string(rune('0'+a.HeldBack))
		}
		out[i] = s
	}
	return out
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	down := func(h *harness) { h.up.Record(ctx, 0, svc("plex")) }
	up := func(h *harness) { h.up.Record(ctx, 1, svc("plex")) }
	type step struct {
		advance time.Duration
		do      func(h *harness)
		state   string   // state of the plex alert after the step: "", "pending", "firing", "resolved"
		notes   []string // notifications queued by the step (see kinds)
	}
	cases := []struct {
		name  string
		rule  Rule
		steps []step
	}{
		{
			name: "fire and resolve",
			rule: Rule{Name: "r", Condition: ServiceDown{}},
			steps: []step{
				{do: up},
				{advance: time.Minute, do: down, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, state: "firing"},
				{advance: time.Minute, do: up, state: "resolved", notes: []string{"R"}},
				{advance: time.Minute, do: down, state: "firing", notes: []string{"F"}},
			},
		},
		{
			name: "pending until For, then firing",
			rule: Rule{Name: "r", Condition: ServiceDown{}, For: 2 * time.Minute},
			steps: []step{
				{do: down, state: "pending"},
				{advance: time.Minute, state: "pending"},
				{advance: time.Minute, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, do: up, state: "resolved", notes: []string{"R"}},
				{advance: time.Minute, do: down, state: "pending"},
				{advance: time.Minute, do: up, state: "resolved"}, // pending cleared: the resolved alert is back
			},
		},
		{
			name: "pending that clears is dropped",
			rule: Rule{Name: "r", Condition: ServiceDown{}, For: 5 * time.Minute},
			steps: []step{
				{do: down, state: "pending"},
				{advance: time.Minute, do: up, state: ""},
			},
		},
		{
			name: "hysteresis: three clear evaluations to resolve",
			rule: Rule{Name: "r", Condition: ServiceDown{}, ResolveAfterClear: 3},
			steps: []step{
				{do: down, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, do: up, state: "firing"},
				{advance: time.Minute, state: "firing"},
				{advance: time.Minute, do: down, state: "firing"},
				{advance: time.Minute, do: up, state: "firing"},
				{advance: time.Minute, state: "firing"},
				{advance: time.Minute, state: "resolved", notes: []string{"R"}},
			},
		},
		{
			name: "flapping is held firing and notified once",
			rule: Rule{Name: "r", Condition: ServiceDown{}, Flap: Flapping{Changes: 3, Window: time.Hour}},
			steps: []step{
				{do: down, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, do: up, state: "resolved", notes: []string{"R"}},
				{advance: time.Minute, do: down, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, do: up, state: "firing", notes: []string{"F!"}},
				{advance: time.Minute, do: down, state: "firing"},
				{advance: time.Minute, do: up, state: "firing"},
				{advance: 59 * time.Minute, state: "firing"},
				{advance: time.Minute, state: "resolved", notes: []string{"R"}}, // stable for a whole window
				{advance: time.Minute, do: down, state: "firing", notes: []string{"F"}},
			},
		},
		{
			name: "rate limit holds back re-firings and counts them",
			rule: Rule{Name: "r", Condition: ServiceDown{}, RateLimit: 30 * time.Minute},
			steps: []step{
				{do: down, state: "firing", notes: []string{"F"}},
				{advance: 5 * time.Minute, do: up, state: "resolved", notes: []string{"R"}},
				{advance: 5 * time.Minute, do: down, state: "firing"},           // held back
				{advance: 5 * time.Minute, do: up, state: "resolved"},           // its resolution is not news
				{advance: 5 * time.Minute, do: down, state: "firing"},           // held back
				{advance: 9 * time.Minute, state: "firing"},                     // 29 min since the last notification
				{advance: time.Minute, state: "firing", notes: []string{"F+2"}}, // 30 min: notified, 2 held back
				{advance: 29 * time.Minute, state: "firing"},
				{advance: time.Minute, state: "firing", notes: []string{"F"}}, // reminder every RateLimit
				{advance: time.Minute, do: up, state: "resolved", notes: []string{"R"}},
			},
		},
		{
			name: "zero rate limit: once per firing, no reminders",
			rule: Rule{Name: "r", Condition: ServiceDown{}},
			steps: []step{
				{do: down, state: "firing", notes: []string{"F"}},
				{advance: 24 * time.Hour, state: "firing"},
				{advance: time.Minute, do: up, state: "resolved", notes: []string{"R"}},
				{advance: time.Minute, do: down, state: "firing", notes: []string{"F"}},
			},
		},
		{
			name: "auto-resolve after the condition has not been seen for a while",
			rule: Rule{Name: "r", Condition: ServiceDown{}, AutoResolveAfter: 30 * time.Minute},
			steps: []step{
				{do: down, state: "firing", notes: []string{"F"}},
				{advance: time.Minute, do: up, state: "firing"},
				{advance: 28 * time.Minute, state: "firing"},
				{advance: 59 * time.Second, state: "firing"},
				{advance: time.Second, state: "resolved", notes: []string{"R"}},
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Config{})
			h.addRules(c.rule)
			id := alertID(c.rule.Name, labels(names.AttrService, "plex"))
			for i, s := range c.steps {
				h.clk.Advance(s.advance)
				if s.do != nil {
					s.do(h)
				}
				h.eval()
				a, ok := h.eng.Alert(id)
				state := ""
				if ok {
					state = a.State.String()
				}
				if state != s.state {
					t.Fatalf("step %d: state %q, want %q", i, state, s.state)
				}
				if got := kinds(h.drain()); !slices.Equal(got, s.notes) && (len(got) > 0 || len(s.notes) > 0) {
					t.Fatalf("step %d: notifications %q, want %q", i, got, s.notes)
				}
			}
		})
	}
}

func TestAcknowledge(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "r", Level: Warning, Condition: ServiceDown{}, RateLimit: 10 * time.Minute})
	if _, err := h.eng.Acknowledge("nope", "ops", ""); !errors.Is(err, ErrAlertNotFound) {
		t.Fatalf("unknown id: %v, want ErrAlertNotFound", err)
	}
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	if got := kinds(h.drain()); !slices.Equal(got, []string{"F"}) {
		t.Fatalf("notifications %q", got)
	}
	id := h.only("r").ID

	h.clk.Advance(time.Minute)
	a, err := h.eng.Acknowledge(id, "alice", "looking into it")
	if err != nil {
		t.Fatal(err)
	}
	if !a.Acknowledged || a.AcknowledgedBy != "alice" || a.AcknowledgeComment != "looking into it" || !a.AcknowledgedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("acknowledged alert = %+v", a)
	}
	h.step(10 * time.Minute)
	h.step(10 * time.Minute)
	if got := h.drain(); len(got) != 0 {
		t.Fatalf("acknowledged alert was reminded: %q", kinds(got))
	}

	h.up.Record(ctx, 1, svc("plex"))
	h.step(time.Minute)
	if got := kinds(h.drain()); !slices.Equal(got, []string{"R"}) {
		t.Fatalf("notifications %q, want the resolution", got)
	}
	if _, err := h.eng.Acknowledge(id, "bob", ""); !errors.Is(err, ErrAlertResolved) {
		t.Fatalf("resolved alert: %v, want ErrAlertResolved", err)
	}
	if errors.Is(ErrAlertResolved, ErrAlertNotFound) {
		t.Fatal("sentinels must be distinct")
	}

	h.up.Record(ctx, 0, svc("plex"))
	h.step(time.Hour)
	if a, _ := h.eng.Alert(id); a.State != Firing || a.Acknowledged || a.AcknowledgedAt != nil {
		t.Fatalf("a new firing keeps an old acknowledgement: %+v", a)
	}
}

func TestLevelRiseClearsAcknowledgement(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	r := Rule{Name: "r", Level: Warning, Condition: ServiceDown{}, RateLimit: 2 * time.Hour}
	h.addRules(r)
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	h.drain()
	id := h.only("r").ID
	if _, err := h.eng.Acknowledge(id, "alice", ""); err != nil {
		t.Fatal(err)
	}
	h.clk.Advance(time.Minute)
	r.Level = Critical
	if err := h.eng.UpdateRule(r); err != nil {
		t.Fatal(err)
	}
	got := h.drain()
	if len(got) != 1 || got[0].Level != Critical || got[0].State != Firing {
		t.Fatalf("level rise notifications %+v, want one critical firing despite the rate limit", summary(got))
	}
	if a, _ := h.eng.Alert(id); a.Acknowledged || a.Level != Critical {
		t.Fatalf("after level rise: %+v", a)
	}
	r.Disabled = true
	if err := h.eng.UpdateRule(r); err != nil {
		t.Fatal(err)
	}
	if got := kinds(h.drain()); !slices.Equal(got, []string{"R"}) {
		t.Fatalf("disabling the rule: notifications %q, want a resolution", got)
	}
}

func TestRemoveRuleResolvesItsAlerts(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "r", Condition: ServiceDown{}}, Rule{Name: "p", Condition: ServiceDown{}, For: time.Hour})
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	h.drain()
	if err := h.eng.RemoveRule("r"); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.RemoveRule("p"); err != nil {
		t.Fatal(err)
	}
	if got := summary(h.drain()); !slices.Equal(got, []string{"r:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
	if n := len(h.eng.Active()); n != 0 {
		t.Fatalf("%d active alerts after removing their rules", n)
	}
}

func TestRetention(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{Retention: time.Hour, MaxResolved: 2})
	h.addRules(Rule{Name: "r", Condition: ServiceDown{}})
	for _, s := range []string{"a", "b", "c"} {
		h.up.Record(ctx, 0, svc(s))
		h.step(time.Minute)
		h.up.Record(ctx, 1, svc(s))
		h.step(time.Minute)
	}
	var got []string
	for _, a := range h.eng.Alerts(Filter{IncludeResolved: true}) {
		got = append(got, a.Labels["service"])
	}
	if !slices.Equal(got, []string{"c", "b"}) {
		t.Fatalf("retained %q, want the two newest (c, b)", got)
	}
	h.step(59 * time.Minute) // b resolved 61 minutes ago, c 59
	if got := h.eng.Alerts(Filter{IncludeResolved: true}); len(got) != 1 || got[0].Labels["service"] != "c" {
		t.Fatalf("retained %q, want c", summary(got))
	}
	h.step(2 * time.Minute)
	if got := h.eng.Alerts(Filter{IncludeResolved: true}); len(got) != 0 {
		t.Fatalf("retained %q past retention", summary(got))
	}
}

func TestAlertIDs(t *testing.T) {
	a := alertID("service_down", labels("service", "plex"))
	if a != alertID("service_down", labels("service", "plex")) {
		t.Fatal("IDs not stable")
	}
	if !regexp.MustCompile(`^[0-9a-f]{20}$`).MatchString(a) {
		t.Fatalf("ID %q is not 20 hex digits", a)
	}
	for _, other := range []string{
		alertID("service_down", labels("service", "tmdb")),
		alertID("circuit_breaker_open", labels("service", "plex")),
		alertID("service_down", labels("service", "plex", "env", "prod")),
		alertID("service_dow", labels("nservice", "plex")),
	} {
		if other == a {
			t.Fatalf("collision: %q", other)
		}
	}
	// The same rule and series in two engines gets the same ID.
	ids := make([]string, 2)
	for i := range ids {
		h := newHarness(t, Config{})
		h.addRules(DefaultRules()...)
		h.up.Record(context.Background(), 0, svc("plex"))
		h.eval()
		ids[i] = h.only(RuleServiceDown).ID
	}
	if ids[0] != ids[1] || ids[0] != alertID(RuleServiceDown, labels("service", "plex")) {
		t.Fatalf("IDs across engines: %q", ids)
	}
}

func TestQueries(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	h.addRules(Rule{Name: "info", Level: Info, Condition: ServiceDown{}, For: time.Hour, Labels: map[string]string{"team": "media"}})
	h.up.Record(ctx, 0, svc("plex"))
	h.breaker.Record(ctx, 1, svc("tmdb"))
	h.failures.Record(ctx, 3, src("imdb"))
	h.eval()
	h.clk.Advance(time.Minute)
	h.up.Record(ctx, 0, svc("trakt"))
	h.failures.Record(ctx, 0, src("imdb"))
	h.eval()

	got := summary(h.eng.Active())
	want := []string{
		"service_down:firing:service=trakt", // critical, newest first
		"service_down:firing:service=plex",
		"circuit_breaker_open:firing:service=tmdb",
		"info:pending:service=trakt, team=media",
		"info:pending:service=plex, team=media",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Active =\n%q\nwant\n%q", got, want)
	}
	if got := summary(h.eng.Alerts(Filter{Levels: []Level{Warning}, IncludeResolved: true})); !slices.Equal(got, []string{
		"circuit_breaker_open:firing:service=tmdb", "consecutive_sync_failures:resolved:source=imdb",
	}) {
		t.Fatalf("warnings incl. resolved = %q", got)
	}
	if got := summary(h.eng.Alerts(Filter{States: []State{Resolved}})); !slices.Equal(got, []string{"consecutive_sync_failures:resolved:source=imdb"}) {
		t.Fatalf("resolved = %q", got)
	}
	if got := summary(h.eng.Alerts(Filter{States: []State{Pending}, Rule: "info"})); len(got) != 2 {
		t.Fatalf("pending = %q", got)
	}
	counts := h.eng.CountsByLevel()
	if counts[Critical] != 2 || counts[Warning] != 1 || counts[Info] != 0 || len(counts) != 3 {
		t.Fatalf("CountsByLevel = %v", counts)
	}
	for level, want := range map[string]int64{"critical": 2, "warning": 1, "info": 0} {
		if got := readInt(t, h.other, names.Default.Name(names.AlertsFiring), attribute.String(names.AttrLevel, level)); got != want {
			t.Errorf("alerts_firing{level=%q} = %d, want %d", level, got, want)
		}
	}
	a := h.eng.Active()[0]
	if a.Title != "Service trakt is down" || a.Description == "" || a.Value != 0 || a.Level != Critical {
		t.Fatalf("alert = %+v", a)
	}
	a.Labels["service"] = "changed"
	if b, _ := h.eng.Alert(a.ID); b.Labels["service"] != "trakt" {
		t.Fatal("changing a returned alert changed the engine's")
	}
}

func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{})
	h.addRules(DefaultRules()...)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				h.up.Record(ctx, int64((i+j)%2), svc("plex"))
				if err := h.eng.Evaluate(ctx); err != nil {
					t.Error(err)
					return
				}
				for _, a := range h.eng.Active() {
					_, _ = h.eng.Acknowledge(a.ID, "bot", "")
				}
				_ = h.eng.CountsByLevel()
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_ = h.eng.RemoveRule(RuleCircuitBreakerOpen)
			_ = h.eng.AddRule(DefaultRules()[4])
		}
	})
	wg.Wait()
}

func TestEvaluateErrors(t *testing.T) {
	eng, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Evaluate(context.Background()); err == nil {
		t.Fatal("Evaluate with an unregistered reader succeeded")
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start = %v", err)
	}
	if err := eng.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v, want the first one's nil", err)
	}
	if err := eng.Evaluate(context.Background()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Evaluate after Shutdown = %v, want ErrShutdown", err)
	}
	if err := eng.Start(context.Background()); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Start after Shutdown = %v, want ErrShutdown", err)
	}
	if err := eng.AddNotifier(newRecorder("x")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("AddNotifier after Shutdown = %v, want ErrShutdown", err)
	}
	if _, err := New(Config{}, WithNotifier(newRecorder("a")), WithNotifier(newRecorder("a"))); !errors.Is(err, ErrDuplicateNotifier) {
		t.Fatalf("duplicate notifiers: %v", err)
	}
}

func TestPeriodicEvaluation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, Config{EvaluationInterval: time.Minute})
	h.addRules(DefaultRules()...)
	if err := h.eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.Start(ctx); err != nil {
		t.Fatalf("second Start = %v", err)
	}
	h.up.Record(ctx, 0, svc("plex"))
	h.clk.BlockUntilTimers(1)
	h.clk.Advance(time.Minute)
	if a := h.rec.next(t); a.Rule != RuleServiceDown || a.State != Firing {
		t.Fatalf("got %+v", a)
	}
	h.up.Record(ctx, 1, svc("plex"))
	// The loop arms its next timer after the evaluation that notified:
	// advancing before would move the clock past a timer not yet set.
	h.clk.BlockUntilTimers(1)
	h.clk.Advance(time.Minute)
	if a := h.rec.next(t); a.State != Resolved {
		t.Fatalf("got %+v", a)
	}
	if err := h.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.clk.Timers(); n != 0 {
		t.Fatalf("%d timers armed after Shutdown", n)
	}
}

// An acknowledgement given while an alert is pending lasts into firing.
func TestAckWhilePendingCarriesIntoFiring(t *testing.T) {
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "r", Condition: ServiceDown{}, For: 2 * time.Minute})
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	act := h.eng.Active()
	if len(act) != 1 || act[0].State != Pending {
		t.Fatalf("active %+v", act)
	}
	if _, err := h.eng.Acknowledge(act[0].ID, "ops", "expected"); err != nil {
		t.Fatal(err)
	}
	h.step(3 * time.Minute)
	a, _ := h.eng.Alert(act[0].ID)
	if a.State != Firing || !a.Acknowledged || a.AcknowledgedBy != "ops" {
		t.Fatalf("after firing: %+v", a)
	}
}

// Every default rule's title states the value observed, and a firing
// alert's title follows the reading while the rate limit holds back its
// notifications.
func TestDefaultRuleTitlesStateTheObservedValue(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		rule   string
		record func(h *harness, step int) // step 0, then 1
		want   [2]string                  // the title after each step
	}{
		{RuleConsecutiveSyncFailures, func(h *harness, step int) {
			h.failures.Record(ctx, []int64{3, 5}[step], src("imdb"))
		}, [2]string{"3 consecutive sync failures for imdb", "5 consecutive sync failures for imdb"}},
		{RuleSlowSyncOperation, func(h *harness, _ int) {
			h.duration.Record(ctx, 400, src("imdb")) // one more slow sync each step
		}, [2]string{"1 sync of imdb slower than 5m in the last 5m", "2 syncs of imdb slower than 5m in the last 5m"}},
		{RuleHighRateLimitHits, func(h *harness, step int) {
			h.hits.Add(ctx, []int64{12, 3}[step], svc("tmdb"))
		}, [2]string{
			"radarr_list_sync_api_rate_limit_hits_total increased by 12 in 1h for service=tmdb",
			"radarr_list_sync_api_rate_limit_hits_total increased by 15 in 1h for service=tmdb",
		}},
		{RuleServiceDown, func(h *harness, _ int) {
			h.up.Record(ctx, 0, svc("plex"))
		}, [2]string{"Service plex is down", "Service plex is down"}},
		{RuleCircuitBreakerOpen, func(h *harness, _ int) {
			h.breaker.Record(ctx, 1, svc("tmdb"))
		}, [2]string{"Circuit breaker for tmdb is open", "Circuit breaker for tmdb is open"}},
	}
	for _, tc := range cases {
		t.Run(tc.rule, func(t *testing.T) {
			h := newHarness(t, Config{})
			for _, r := range DefaultRules() {
				if r.Name == tc.rule {
					h.addRules(r)
				}
			}
			for step := range 2 {
				tc.record(h, step)
				h.step(time.Minute)
				got := h.drain()
				// Only the first step notifies: the rate limit (or no
				// reminders) holds back the second.
				if want := step == 0; (len(got) == 1) != want {
					t.Fatalf("step %d: notifications %q", step, summary(got))
				}
				if len(got) == 1 && got[0].Title != tc.want[step] {
					t.Errorf("step %d: notified title %q, want %q", step, got[0].Title, tc.want[step])
				}
				if a := h.only(tc.rule); a.State != Firing || a.Title != tc.want[step] {
					t.Errorf("step %d: alert %s titled %q, want %q", step, a.State, a.Title, tc.want[step])
				}
			}
		})
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{
		5: "5", 0: "0", -3: "-3", 1e6: "1000000", 0.1 + 0.2: "0.3", 12.5: "12.5", 1234.5678: "1234.57", 1e-5: "1e-05", 1e20: "1e+20",
	} {
		if got := formatValue(v); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

// A title names the series it is about when the series has labels, and
// ends with its reading when it has none.
func TestTitleLabels(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cond   Condition
		labels map[string]string
		v      float64
		want   string
	}{
		{"threshold without labels", Threshold{Instrument: "host_import_queue_depth", Op: OpGreater, Value: 50}, nil, 80,
			"host_import_queue_depth is 80 (> 50)"},
		{"threshold with labels", Threshold{Instrument: "host_import_queue_depth", Op: OpGreater, Value: 50},
			map[string]string{"queue": "movies", "component": "custom"}, 80,
			"host_import_queue_depth is 80 (> 50) for component=custom, queue=movies"},
		{"rate without labels", RateAbove{Metric: "api_retries_total", Threshold: 10, Window: time.Hour}, nil, 12,
			"radarr_list_sync_api_retries_total increased by 12 in 1h"},
		{"rate with labels", RateAbove{Metric: "api_retries_total", Threshold: 10, Window: time.Hour},
			map[string]string{"service": "tmdb"}, 12, "radarr_list_sync_api_retries_total increased by 12 in 1h for service=tmdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &Rule{Name: "r", Level: Warning, Condition: tc.cond}
			c, err := compile(r, names.Default)
			if err != nil {
				t.Fatal(err)
			}
			if got := title(r, &c, tc.labels, tc.v); got != tc.want {
				t.Errorf("title = %q, want %q", got, tc.want)
			}
		})
	}
}
