package alerting

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

// restart builds a second engine on the same state file, as a process
// restart would, with fresh instruments and the clock where it was.
func restart(t *testing.T, old *harness, cfg Config) *harness {
	t.Helper()
	ctx := context.Background()
	if err := old.eng.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, cfg)
	h.clk.Advance(old.clk.Now().Sub(t0))
	return h
}

func TestPersistenceAcrossRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path}

	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.failures.Record(ctx, 3, src("imdb"))
	h.eval()
	if got := kinds(h.drain()); len(got) != 2 {
		t.Fatalf("first run notified %q", got)
	}
	plex := alertID(RuleServiceDown, labels(names.AttrService, "plex"))
	imdb := alertID(RuleConsecutiveSyncFailures, labels(names.AttrSource, "imdb"))
	h.clk.Advance(time.Minute)
	if _, err := h.eng.Acknowledge(plex, "alice", "known outage"); err != nil {
		t.Fatal(err)
	}

	// Restart: same conditions still hold.
	h2 := restart(t, h, cfg)
	h2.addRules(DefaultRules()...)
	a, ok := h2.eng.Alert(plex)
	if !ok || a.State != Firing || !a.Acknowledged || a.AcknowledgedBy != "alice" || a.AcknowledgeComment != "known outage" {
		t.Fatalf("restored alert = %+v, %v", a, ok)
	}
	if c := h2.eng.CountsByLevel(); c[Critical] != 1 || c[Warning] != 1 {
		t.Fatalf("restored counts %v", c)
	}
	h2.up.Record(ctx, 0, svc("plex"))
	h2.failures.Record(ctx, 4, src("imdb"))
	h2.step(time.Minute)
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("restart notified again: %q", summary(got))
	}
	// The rate limit's clock survived too: consecutive_sync_failures is
	// reminded 30 minutes after its first notification, not after the
	// restart.
	h2.clk.Advance(28 * time.Minute)
	h2.eval()
	if got := summary(h2.drain()); !slices.Equal(got, []string{"consecutive_sync_failures:firing:source=imdb"}) {
		t.Fatalf("reminder after 30 min: %q", got)
	}

	// Resolution after the restart is notified exactly once.
	h2.up.Record(ctx, 1, svc("plex"))
	h2.step(time.Minute)
	if got := summary(h2.drain()); !slices.Equal(got, []string{"service_down:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
	h3 := restart(t, h2, cfg)
	h3.addRules(DefaultRules()...)
	h3.up.Record(ctx, 1, svc("plex"))
	h3.failures.Record(ctx, 4, src("imdb"))
	h3.step(time.Minute)
	if got := h3.drain(); len(got) != 0 {
		t.Fatalf("second restart notified %q", summary(got))
	}
	if a, _ := h3.eng.Alert(plex); a.State != Resolved || a.ResolvedAt == nil {
		t.Fatalf("resolved alert after restart: %+v", a)
	}
	if a, _ := h3.eng.Alert(imdb); a.State != Firing {
		t.Fatalf("firing alert after restart: %+v", a)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("state directory holds %d files, want only the state file (no temporaries)", len(entries))
	}
}

func TestRestoredAlertOfMissingRuleResolves(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	h.addRules(Rule{Name: "gone", Condition: ServiceDown{}})
	h.up.Record(ctx, 0, svc("plex"))
	h.eval()
	h.drain()
	h2 := restart(t, h, Config{StatePath: path})
	h2.step(time.Minute) // no rule "gone" any more, but it may still be added
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("resolved within the restore grace: %q", summary(got))
	}
	h2.step(DefaultRestoreGrace) // still no rule: the alert resolves
	if got := summary(h2.drain()); !slices.Equal(got, []string{"gone:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
}

func TestCorruptStateFile(t *testing.T) {
	cases := map[string]string{
		"not json":        "{{{ nope",
		"unknown version": `{"version": 99, "alerts": []}`,
		"bad level":       `{"version": 1, "alerts": [{"alert": {"id": "x", "rule": "r", "level": "loud", "state": "firing"}}]}`,
		"missing id":      `{"version": 1, "alerts": [{"alert": {"rule": "r", "level": "info", "state": "firing"}}]}`,
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "alerts.json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			h := newHarness(t, Config{StatePath: path})
			if !h.logs.Contains("corrupt alert state file moved aside") {
				t.Fatalf("not reported: %s", h.logs.String())
			}
			if b, err := os.ReadFile(path + ".corrupt"); err != nil || string(b) != content {
				t.Fatalf("corrupt file not moved aside: %v", err)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Fatalf("corrupt file still in place: %v", err)
			}
			// The engine works and writes a fresh state.
			h.addRules(DefaultRules()...)
			h.up.Record(context.Background(), 0, svc("plex"))
			h.eval()
			if _, err := os.Stat(path); err != nil {
				t.Fatalf("no fresh state written: %v", err)
			}
		})
	}
}

func TestStateFileWriteFailureIsLogged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	h.addRules(DefaultRules()...)
	h.up.Record(context.Background(), 0, svc("plex"))
	h.eval()
	if !h.logs.Contains("cannot save alert state") {
		t.Fatalf("write failure not logged: %s", h.logs.String())
	}
	if len(h.eng.Active()) != 1 {
		t.Fatal("a failed save must not lose the alert")
	}
}

func TestRestoreGrace(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path, RestoreGrace: 5 * time.Minute}
	h := newHarness(t, cfg)
	h.addRules(DefaultRules()...)
	h.up.Record(ctx, 0, svc("plex"))
	h.failures.Record(ctx, 3, src("imdb"))
	h.eval()
	h.drain()

	h2 := restart(t, h, cfg)
	h2.addRules(DefaultRules()...)
	// After the restart nothing is recorded yet for imdb: its alert is kept
	// for the grace period. plex reports up: resolved at once.
	h2.up.Record(ctx, 1, svc("plex"))
	h2.step(time.Minute)
	if got := summary(h2.drain()); !slices.Equal(got, []string{"service_down:resolved:service=plex"}) {
		t.Fatalf("notifications %q", got)
	}
	h2.step(3 * time.Minute)
	if got := h2.firing(RuleConsecutiveSyncFailures); !slices.Equal(got, []string{"source=imdb"}) {
		t.Fatalf("within the grace period: firing on %q", got)
	}
	h2.step(2 * time.Minute) // grace (from the first evaluation) over, imdb still not reported
	if got := summary(h2.drain()); !slices.Equal(got, []string{"consecutive_sync_failures:resolved:source=imdb"}) {
		t.Fatalf("after the grace period: %q", got)
	}
}

// While an auto-resolving alert fires, its last-seen time is saved at
// most every tenth of AutoResolveAfter, not at every evaluation.
func TestAutoResolveSavesLastSeenSparingly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	h := newHarness(t, Config{StatePath: path})
	h.addRules(Rule{Name: "r", Condition: ServiceDown{}, AutoResolveAfter: 30 * time.Minute})
	savedSeen := func() time.Time {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var st stateFile
		if err := json.Unmarshal(b, &st); err != nil || len(st.Alerts) != 1 {
			t.Fatalf("state %s: %v", b, err)
		}
		return st.Alerts[0].LastSeen
	}
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	first := savedSeen()
	h.step(time.Minute)
	h.step(time.Minute)
	if got := savedSeen(); !got.Equal(first) {
		t.Fatalf("last seen saved after 2 min: %v (first %v)", got, first)
	}
	h.step(time.Minute) // 3 min: a tenth of 30
	if got := savedSeen(); !got.Equal(first.Add(3 * time.Minute)) {
		t.Fatalf("last seen not saved after 3 min: %v (first %v)", got, first)
	}
}
