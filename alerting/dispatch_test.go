package alerting

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/internal/names"
)

// deliveryHarness starts an engine whose evaluation ticker is far away, so
// that only the test's Evaluate calls and the retry timers use the clock.
func deliveryHarness(t *testing.T, d DeliveryConfig, extra ...Notifier) *harness {
	t.Helper()
	opts := make([]Option, 0, len(extra))
	for _, n := range extra {
		opts = append(opts, WithNotifier(n))
	}
	h := newHarness(t, Config{EvaluationInterval: 24 * time.Hour, Delivery: d}, opts...)
	h.addRules(Rule{Name: "down", Level: Critical, Condition: ServiceDown{}})
	if err := h.eng.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.clk.BlockUntilTimers(1) // the evaluation ticker
	return h
}

func (h *harness) setUp(service string, up bool) {
	h.t.Helper()
	v := int64(0)
	if up {
		v = 1
	}
	h.up.Record(context.Background(), v, svc(service))
	h.eval()
}

func TestSlowNotifierIsIsolatedAndDrops(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 16)
	slow := newRecorder("slow")
	slow.setReply(func(int, Alert) error {
		started <- struct{}{}
		<-release
		return nil
	})
	h := deliveryHarness(t, DeliveryConfig{QueueSize: 1}, slow)

	// slow takes a and blocks; its queue (1) holds b; c and d are dropped.
	// Evaluation and the healthy notifier go on regardless.
	h.setUp("a", false)
	<-started
	for _, s := range []string{"a", "b", "c", "d"} {
		if s != "a" {
			h.setUp(s, false)
		}
		if got := h.rec.next(t); got.Labels["service"] != s || got.State != Firing {
			t.Fatalf("healthy notifier got %q, want firing %s", summary([]Alert{got}), s)
		}
	}
	if got := h.counter(names.NotificationsDroppedTotal, "slow"); got != 2 {
		t.Fatalf("dropped{slow} = %d, want 2", got)
	}
	close(release)
	for _, s := range []string{"a", "b"} {
		if got := slow.next(t); got.Labels["service"] != s {
			t.Fatalf("slow got %q, want %s", summary([]Alert{got}), s)
		}
	}
	// c and d never reached slow, so their resolutions are not sent to it;
	// a's is. FIFO: e's firing comes right after a's resolution.
	for _, s := range []string{"c", "a", "d", "e"} {
		h.setUp(s, s != "e")
		h.rec.next(t)
		if s == "a" {
			if got := slow.next(t); got.Labels["service"] != "a" || got.State != Resolved {
				t.Fatalf("slow got %q, want a resolved", summary([]Alert{got}))
			}
		}
	}
	if got := slow.next(t); got.Labels["service"] != "e" || got.State != Firing {
		t.Fatalf("slow got %q, want e firing", summary([]Alert{got}))
	}
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"rec": 8, "slow": 4} {
		if got := h.counter(names.NotificationsSentTotal, name); got != want {
			t.Errorf("sent{%s} = %d, want %d", name, got, want)
		}
	}
}

func TestFailingAndPanickingNotifiersAreIsolated(t *testing.T) {
	failing := newRecorder("failing")
	failing.setReply(func(int, Alert) error { return &StatusError{StatusCode: http.StatusBadRequest} })
	panicking := newRecorder("panicking")
	panicking.setReply(func(int, Alert) error { panic("boom") })
	h := deliveryHarness(t, DeliveryConfig{}, failing, panicking)
	h.setUp("a", false)
	h.setUp("b", false)
	h.setUp("a", true)
	for _, want := range []string{"firing:a", "firing:b", "resolved:a"} {
		a := h.rec.next(t)
		if got := a.State.String() + ":" + a.Labels["service"]; got != want {
			t.Fatalf("healthy notifier got %s, want %s", got, want)
		}
	}
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*recorder{failing, panicking} {
		// One call per firing: 400 and panics are not retried, and the
		// resolution of a, whose firing failed, is not sent.
		if calls := n.callCount(); calls != 2 {
			t.Errorf("%s called %d times, want 2", n.name, calls)
		}
		if got := h.counter(names.NotificationsFailedTotal, n.name); got != 2 {
			t.Errorf("failed{%s} = %d, want 2", n.name, got)
		}
		if got := h.counter(names.NotificationsSentTotal, n.name); got != 0 {
			t.Errorf("sent{%s} = %d", n.name, got)
		}
	}
	if !h.logs.Contains("panicked: boom") {
		t.Error("panic not logged as a failure")
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	h := deliveryHarness(t, DeliveryConfig{})
	h.rec.setReply(func(call int, _ Alert) error {
		if call == 1 {
			return &StatusError{StatusCode: http.StatusTooManyRequests, Delay: 30 * time.Second}
		}
		return nil
	})
	h.setUp("plex", false)
	h.clk.BlockUntilTimers(2) // ticker + the retry wait
	h.clk.Advance(29 * time.Second)
	if n := h.clk.Timers(); n != 2 || h.rec.callCount() != 1 {
		t.Fatalf("retried before Retry-After: timers %d, calls %d", n, h.rec.callCount())
	}
	h.clk.Advance(time.Second)
	if a := h.rec.next(t); a.State != Firing {
		t.Fatalf("got %+v", a)
	}
	if got := h.rec.callCount(); got != 2 {
		t.Fatalf("%d calls", got)
	}
}

func TestRetryBacksOffOnServerErrors(t *testing.T) {
	h := deliveryHarness(t, DeliveryConfig{MaxAttempts: 3})
	h.rec.setReply(func(call int, a Alert) error {
		if a.Labels["service"] == "plex" {
			return &StatusError{StatusCode: http.StatusBadGateway} // always
		}
		if call <= 4 {
			return fmt.Errorf("connection reset")
		}
		return nil
	})
	h.setUp("plex", false)
	for range 2 { // attempts 2 and 3 after waits
		h.clk.BlockUntilTimers(2)
		h.clk.Advance(time.Minute)
	}
	// Third attempt failed: given up. The next notification is delivered
	// after its own retries, proving the first one is no longer retried.
	h.setUp("tmdb", false)
	h.clk.BlockUntilTimers(2)
	h.clk.Advance(time.Minute)
	if a := h.rec.next(t); a.Labels["service"] != "tmdb" {
		t.Fatalf("got %s", summary([]Alert{a}))
	}
	if got := h.rec.callCount(); got != 5 {
		t.Fatalf("%d calls, want 3 for plex and 2 for tmdb", got)
	}
	if got := h.counter(names.NotificationsFailedTotal, "rec"); got != 1 {
		t.Fatalf("failed = %d", got)
	}
	// plex's firing failed: its resolution is not sent.
	h.setUp("plex", true)
	h.setUp("trakt", false)
	if a := h.rec.next(t); a.Labels["service"] != "trakt" {
		t.Fatalf("got %s, want trakt (no resolution for plex)", summary([]Alert{a}))
	}
}

func TestClientErrorsAreNotRetried(t *testing.T) {
	for _, err := range []error{
		&StatusError{StatusCode: http.StatusNotFound},
		fmt.Errorf("bad payload: %w", ErrPermanent),
	} {
		t.Run(err.Error(), func(t *testing.T) {
			h := deliveryHarness(t, DeliveryConfig{})
			h.rec.setReply(func(_ int, a Alert) error {
				if a.Labels["service"] == "plex" {
					return err
				}
				return nil
			})
			h.setUp("plex", false)
			h.setUp("tmdb", false)
			if a := h.rec.next(t); a.Labels["service"] != "tmdb" {
				t.Fatalf("got %s", summary([]Alert{a}))
			}
			if got := h.rec.callCount(); got != 2 {
				t.Fatalf("%d calls, want 1 per notification", got)
			}
		})
	}
}

func TestResolvedNeverOvertakesFiring(t *testing.T) {
	h := deliveryHarness(t, DeliveryConfig{})
	// Every third call fails and is retried after a second.
	h.rec.setReply(func(call int, _ Alert) error {
		if call%3 == 0 {
			return &StatusError{StatusCode: http.StatusServiceUnavailable, Delay: time.Second}
		}
		return nil
	})
	services := []string{"a", "b", "c", "d", "e"}
	for _, s := range services {
		h.up.Record(context.Background(), 0, svc(s))
	}
	h.eval()
	for _, s := range services {
		h.up.Record(context.Background(), 1, svc(s))
	}
	h.eval()
	state := map[string]State{}
	var order []string
	for call := 1; len(order) < 2*len(services); call++ {
		if call%3 == 0 {
			h.clk.BlockUntilTimers(2) // the retry wait
			h.clk.Advance(2 * time.Second)
			continue
		}
		a := h.rec.next(t)
		s := a.Labels["service"]
		if a.State == Resolved && state[s] != Firing {
			t.Fatalf("resolution of %s before its firing", s)
		}
		state[s] = a.State
		order = append(order, a.State.String()+":"+s)
	}
	// Each evaluation's notifications come in one batch, in a stable order.
	for i, s := range order[:len(services)] {
		if want := "resolved:" + s[len("firing:"):]; order[i+len(services)] != want {
			t.Fatalf("order %q: the resolutions do not follow the firings' order", order)
		}
	}
}

func TestShutdownBoundsTheWait(t *testing.T) {
	block := make(chan struct{})
	started := make(chan struct{}, 1)
	stuck := newRecorder("stuck")
	stuck.setReply(func(int, Alert) error {
		started <- struct{}{}
		<-block // ignores its context
		return nil
	})
	h := deliveryHarness(t, DeliveryConfig{}, stuck)
	h.setUp("plex", false)
	<-started
	h.setUp("tmdb", false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.eng.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with a stuck notifier = %v, want the context's error", err)
	}
	if err := h.eng.Shutdown(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Shutdown = %v, want the first one's result", err)
	}
	close(block)
	h.eng.dispatch.wg.Wait() // the stuck worker exits once its notifier returns
	if got := h.counter(names.NotificationsDroppedTotal, "stuck"); got != 1 {
		t.Fatalf("dropped{stuck} = %d, want 1 (tmdb, queued past the deadline)", got)
	}
}

func TestShutdownDeliversWhatIsQueued(t *testing.T) {
	h := deliveryHarness(t, DeliveryConfig{})
	for _, s := range []string{"a", "b", "c"} {
		h.up.Record(context.Background(), 0, svc(s))
	}
	h.eval()
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.rec.callCount(); got != 3 {
		t.Fatalf("%d notifications delivered before Shutdown returned, want 3", got)
	}
}

func TestShutdownBeforeStartDropsQueued(t *testing.T) {
	h := newHarness(t, Config{})
	h.addRules(Rule{Name: "down", Condition: ServiceDown{}})
	h.setUp("plex", false)
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := h.counter(names.NotificationsDroppedTotal, "rec"); got != 1 {
		t.Fatalf("dropped = %d, want 1", got)
	}
}

func TestAddNotifierAtRunTime(t *testing.T) {
	h := deliveryHarness(t, DeliveryConfig{})
	late := newRecorder("late")
	if err := h.eng.AddNotifier(late); err != nil {
		t.Fatal(err)
	}
	if err := h.eng.AddNotifier(newRecorder("late")); !errors.Is(err, ErrDuplicateNotifier) {
		t.Fatalf("duplicate AddNotifier = %v", err)
	}
	if got := h.eng.Notifiers(); !slices.Equal(got, []string{"rec", "late"}) {
		t.Fatalf("Notifiers = %q", got)
	}
	h.setUp("plex", false)
	if a := late.next(t); a.Labels["service"] != "plex" {
		t.Fatalf("got %+v", a)
	}
}

func TestNotifierGetsItsOwnCopy(t *testing.T) {
	mutator := newRecorder("mutator")
	mutator.setReply(func(_ int, a Alert) error { a.Labels["service"] = "mutated"; return nil })
	h := deliveryHarness(t, DeliveryConfig{}, mutator)
	h.setUp("plex", false)
	mutator.next(t)
	if a := h.rec.next(t); a.Labels["service"] != "plex" {
		t.Fatalf("one notifier's change reached another: %+v", a.Labels)
	}
	if a := h.eng.Active()[0]; a.Labels["service"] != "plex" {
		t.Fatalf("a notifier's change reached the engine: %+v", a.Labels)
	}
}

// hangingNotifier blocks in Notify, whatever its context, until released.
type hangingNotifier struct {
	name    string
	started chan struct{} // receives once, when the first call blocks
	release chan struct{}
	calls   atomic.Int64
}

func (n *hangingNotifier) Name() string { return n.name }

func (n *hangingNotifier) Notify(context.Context, Alert) error {
	if n.calls.Add(1) == 1 {
		close(n.started)
	}
	<-n.release
	return nil
}

// A burst of 1000 alerts in one evaluation reaches every healthy notifier
// although the queue bound is 64; only the hanging notifier drops, and its
// drops are logged as one summary line per interval, not one per alert.
func TestBurstReachesHealthyNotifiers(t *testing.T) {
	const burst = 1000
	hang := &hangingNotifier{name: "hang", started: make(chan struct{}), release: make(chan struct{})}
	other := newRecorder("other")
	h := deliveryHarness(t, DeliveryConfig{}, hang, other)
	services := make([]string, burst)
	for i := range services {
		services[i] = fmt.Sprintf("s%04d", i)
	}
	setAll := func(up int64) {
		for _, s := range services {
			h.up.Record(context.Background(), up, svc(s))
		}
		h.step(time.Second)
	}
	receive := func(state State) {
		t.Helper()
		for _, r := range []*recorder{h.rec, other} {
			got := map[string]bool{}
			for range burst {
				a := r.next(t)
				if a.State != state {
					t.Fatalf("%s got %s, want %s", r.name, summary([]Alert{a}), state)
				}
				got[a.Labels["service"]] = true
			}
			if len(got) != burst {
				t.Fatalf("%s got %d distinct alerts, want %d", r.name, len(got), burst)
			}
		}
	}
	dropLines := func() []string {
		var out []string
		for _, l := range strings.Split(h.logs.String(), "\n") {
			if strings.Contains(l, "dropped") {
				out = append(out, l)
			}
		}
		return out
	}

	setAll(0) // the hanging notifier's queue was empty: it takes the burst too
	<-hang.started
	receive(Firing)
	if n := len(dropLines()); n != 0 {
		t.Fatalf("drops logged for the first burst: %d lines", n)
	}
	setAll(1) // hang has not delivered the first burst: it drops the second
	receive(Resolved)
	if got := dropLines(); len(got) != 1 || !strings.Contains(got[0], "notifier=hang count=1000 ") {
		t.Fatalf("drop log lines %q, want one summary of 1000 for hang", got)
	}
	setAll(0) // within the interval: counted, summarized later
	receive(Firing)
	if n := len(dropLines()); n != 1 {
		t.Fatalf("%d drop lines within one interval, want 1", n)
	}
	h.step(dropLogInterval) // the next evaluation logs the summary due
	if got := dropLines(); len(got) != 2 || !strings.Contains(got[1], "notifier=hang count=1000 ") {
		t.Fatalf("drop log lines %q, want a second summary of 1000", got)
	}
	for name, want := range map[string]int64{"hang": 2 * burst, "rec": 0, "other": 0} {
		if got := h.counter(names.NotificationsDroppedTotal, name); got != want {
			t.Errorf("dropped{%s} = %d, want %d", name, got, want)
		}
	}
	close(hang.release)
	if err := h.eng.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := hang.calls.Load(); got != burst {
		t.Fatalf("hang called %d times, want the first burst (%d)", got, burst)
	}
	for _, name := range []string{"rec", "other"} {
		if got := h.counter(names.NotificationsSentTotal, name); got != 3*burst {
			t.Errorf("sent{%s} = %d, want %d", name, got, 3*burst)
		}
	}
	if n := len(strings.Split(h.logs.String(), "\n")); n > 50 {
		t.Errorf("%d log lines for three bursts, want a handful", n)
	}
}
