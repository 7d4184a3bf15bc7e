package alerting

import (
	"testing"
	"time"
)

// resender is a recorder whose receiver forgets alerts, like Alertmanager.
type resender struct {
	*recorder
	every time.Duration
}

func (r resender) ResendInterval() time.Duration { return r.every }

// drainOf returns what is queued for the i-th notifier.
func (h *harness) drainOf(i int) []Alert {
	var out []Alert
	for {
		select {
		case a := <-h.eng.deliverers[i].queue:
			out = append(out, a)
		default:
			return out
		}
	}
}

func TestResenderGetsFiringAlertsAgain(t *testing.T) {
	am := resender{recorder: newRecorder("am"), every: time.Minute}
	h := newHarness(t, Config{}, WithNotifier(am))
	h.addRules(Rule{Name: "down", Level: Critical, Enabled: true, Condition: ServiceDown{Service: "imdb"}})
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
