package alerting

import (
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// resender is a recorder whose receiver forgets alerts, like Alertmanager.
type resender struct {
	*recorder
	every time.Duration
}

func (r resender) ResendInterval() time.Duration { return r.every }

func TestResenderGetsFiringAlertsAgain(t *testing.T) {
	am := resender{recorder: newRecorder("am"), every: time.Minute}
	h := newHarness(t, Config{}, WithNotifier(am))
	h.addRules(Rule{Name: "down", Level: Critical, Condition: ServiceDown{Service: "imdb"}})
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	if got := h.drainOf(1); len(got) != 1 || got[0].State != Firing {
		t.Fatalf("first notice: %+v", got)
	}
	h.drain()
	id := h.eng.Active()[0].ID
	if _, err := h.eng.Acknowledge(id, "ops", ""); err != nil {
		t.Fatal(err)
	}

	h.step(30 * time.Second)
	if got := h.drainOf(1); len(got) != 0 {
		t.Fatalf("resent before the interval: %+v", got)
	}
	h.step(40 * time.Second)
	got := h.drainOf(1)
	if len(got) != 1 || got[0].State != Firing || got[0].ID != id || !got[0].Acknowledged {
		t.Fatalf("resend after the interval: %+v", got)
	}
	if other := h.drain(); len(other) != 0 {
		t.Fatalf("a plain notifier got the resend: %+v", other)
	}

	h.up.Record(t.Context(), 1, svc("imdb"))
	h.step(10 * time.Second)
	if got := h.drainOf(1); len(got) != 1 || got[0].State != Resolved {
		t.Fatalf("resolved notice: %+v", got)
	}
	h.step(5 * time.Minute)
	if got := h.drainOf(1); len(got) != 0 {
		t.Fatalf("resolved alert resent: %+v", got)
	}
}

// After a restart, a Resender is sent the restored firing alerts again at
// once: its receiver may have forgotten them while the process was down.
func TestResenderAfterRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "alerts.json")
	cfg := Config{StatePath: path}
	h := newHarness(t, cfg, WithNotifier(resender{recorder: newRecorder("am"), every: time.Minute}))
	rule := Rule{Name: "down", Level: Critical, Condition: ServiceDown{Service: "imdb"}}
	h.addRules(rule)
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	h.drain()
	h.drainOf(1)
	if err := h.eng.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	h2 := newHarness(t, cfg, WithNotifier(resender{recorder: newRecorder("am"), every: time.Minute}))
	h2.clk.Advance(h.clk.Now().Sub(t0) + 10*time.Second)
	h2.addRules(rule)
	h2.up.Record(t.Context(), 0, svc("imdb"))
	h2.eval()
	if got := h2.drain(); len(got) != 0 {
		t.Fatalf("restart notified a plain notifier again: %+v", got)
	}
	if got := h2.drainOf(1); len(got) != 1 || got[0].State != Firing {
		t.Fatalf("restart did not resend to the Resender: %+v", got)
	}
}

// A notifier added after an alert fired never hears of its resolution.
func TestLateNotifierGetsNoStrayResolved(t *testing.T) {
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "down", Level: Critical, Condition: ServiceDown{Service: "imdb"}})
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	h.drain()
	if err := h.eng.AddNotifier(newRecorder("late")); err != nil {
		t.Fatal(err)
	}
	h.up.Record(t.Context(), 1, svc("imdb"))
	h.step(time.Minute)
	if got := h.drain(); len(got) != 1 || got[0].State != Resolved {
		t.Fatalf("first notifier: %+v", got)
	}
	if got := h.drainOf(1); len(got) != 0 {
		t.Fatalf("late notifier got %+v", got)
	}
}

// A resolved notice queued behind a newer firing notice is kept, even
// when an earlier firing notice was lost: the newer one may succeed, and
// the check happens when the resolved notice leaves the queue.
func TestResolvedKeptBehindNewerFiring(t *testing.T) {
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "down", Level: Critical, RateLimit: time.Minute, Condition: ServiceDown{Service: "imdb"}})
	h.up.Record(t.Context(), 0, svc("imdb"))
	h.eval()
	first := h.drain()
	if len(first) != 1 {
		t.Fatalf("first: %+v", first)
	}
	h.eng.dispatch.deliverers[0].setLost(first[0].ID, true) // its delivery failed
	h.step(2 * time.Minute)                                 // a reminder is queued
	h.up.Record(t.Context(), 1, svc("imdb"))
	h.step(time.Second)
	got := summary(h.drain())
	if !slices.Equal(got, []string{"down:firing:service=imdb", "down:resolved:service=imdb"}) {
		t.Fatalf("queued %q", got)
	}
}
