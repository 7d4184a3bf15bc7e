package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/clock"
)

// deliverer is one notifier's queue and goroutine (see dispatch.go): it
// queues each change's notifications whole, delivers them in order with
// retries, and remembers which alerts the notifier was told are firing.
type deliverer struct {
	dp    *dispatcher
	n     Notifier
	name  string
	attrs []metric.AddOption
	wake  chan struct{} // buffer 1: the queue has work, or was closed

	// resend is the notifier's ResendInterval (0: not a Resender).
	resend time.Duration

	mu     sync.Mutex // guards the fields below
	queue  []Alert    // FIFO; the worker takes from the front
	closed bool
	drops  dropSummary
	lost   map[string]struct{}
	// known holds the alerts whose firing notification was queued for this
	// notifier (or that it knew of before a restart), by ID, with when it was
	// last queued (zero for those restored). Only these get a resolved
	// notice; a Resender gets them again every resend interval.
	known map[string]time.Time
}

// enqueue forgets the alerts whose resolution will not be sent (muted:
// forget, and muted unless d is a Resender), queues one change's
// notifications, then the resends due (Resenders only): among firing, and
// among kept those d knows, without blocking: all of them if the backlog
// left from earlier changes is below QueueSize, none otherwise (each drop
// is counted, and summarized in the log).
//
// A resolved notification goes only to a notifier that was told the alert
// fired; whether that firing notification was then delivered is checked
// when the resolved one comes out of the queue (see run), since a later
// firing notification still in the queue may succeed where an earlier one
// failed.
func (d *deliverer) enqueue(dl *delivery) {
	now := dl.now
	d.mu.Lock()
	for _, id := range dl.forget {
		delete(d.known, id)
	}
	if d.resend <= 0 {
		for _, id := range dl.muted {
			delete(d.known, id)
		}
	}
	why := ""
	switch {
	case d.closed:
		why = "engine shut down"
	case len(d.queue) >= d.dp.cfg.QueueSize:
		why = "queue full"
	}
	queued, unknown := len(d.queue), 0
	for _, a := range dl.batch {
		_, known := d.known[a.ID]
		if a.State == Resolved {
			if !known {
				unknown++
				continue
			}
			delete(d.known, a.ID)
		}
		d.offerLocked(a, known, why, now)
	}
	if d.resend > 0 {
		for _, a := range dl.firing {
			if last, ok := d.known[a.ID]; !ok || now.Sub(last) >= d.resend {
				d.offerLocked(a, ok, why, now)
			}
		}
		// A muted alert is resent only to the Resenders that know it: the
		// same alert again, not a new notice.
		for _, a := range dl.kept {
			if last, ok := d.known[a.ID]; ok && now.Sub(last) >= d.resend {
				d.offerLocked(a, ok, why, now)
			}
		}
	}
	if len(d.queue) > queued {
		d.signal()
	}
	summary := d.drops.due(now, false)
	d.mu.Unlock()
	if unknown > 0 {
		d.dp.log.Debug("alerting: resolved notifications not sent: the notifier was never told the alerts fired",
			slog.String("notifier", d.name), slog.Int("count", unknown))
	}
	d.logDrops(summary)
}

// offerLocked queues a, or drops it for the reason why.
func (d *deliverer) offerLocked(a Alert, known bool, why string, now time.Time) {
	if why != "" {
		// A dropped firing of an alert the notifier never heard of leaves
		// it unknown: its resolution will not be queued either.
		d.dropLocked(a, why)
		return
	}
	d.queue = append(d.queue, a)
	if a.State != Resolved && (known || len(d.known) < maxKnown) {
		d.known[a.ID] = now
	}
}

// signal wakes the worker without blocking.
func (d *deliverer) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// next waits for the next queued notification; it reports false once the
// queue is closed and empty.
func (d *deliverer) next() (Alert, bool) {
	for {
		d.mu.Lock()
		if len(d.queue) > 0 {
			a := d.queue[0]
			d.queue[0] = Alert{}
			d.queue = d.queue[1:]
			d.mu.Unlock()
			return a, true
		}
		closed := d.closed
		d.mu.Unlock()
		if closed {
			return Alert{}, false
		}
		<-d.wake
	}
}

func (d *deliverer) dropLocked(a Alert, why string) {
	if inst := d.dp.inst.Load(); inst != nil {
		inst.dropped.Add(context.Background(), 1, d.attrs...)
	}
	if a.State != Resolved {
		d.markLostLocked(a.ID)
	}
	d.drops.add(why)
}

// dropSummary counts a notifier's drops between two log lines.
type dropSummary struct {
	count   int
	reasons map[string]int
	logged  time.Time // when the last summary was logged; zero: never
}

func (s *dropSummary) add(why string) {
	if s.reasons == nil {
		s.reasons = map[string]int{}
	}
	s.count++
	s.reasons[why]++
}

// due returns the summary to log and starts a new one, when there are
// drops and the last summary is dropLogInterval old (or force); otherwise
// nil. The first drops are logged at once.
func (s *dropSummary) due(now time.Time, force bool) []any {
	if s.count == 0 || !(force || s.logged.IsZero() || now.Sub(s.logged) >= dropLogInterval) {
		return nil
	}
	why := slices.Sorted(maps.Keys(s.reasons))
	for i, r := range why {
		why[i] = r + ": " + strconv.Itoa(s.reasons[r])
	}
	attrs := []any{slog.Int("count", s.count), slog.String("reasons", strings.Join(why, ", "))}
	if !s.logged.IsZero() {
		attrs = append(attrs, slog.Duration("since", now.Sub(s.logged)))
	}
	s.count, s.logged = 0, now
	clear(s.reasons)
	return attrs
}

func (d *deliverer) logDrops(summary []any) {
	if summary != nil {
		d.dp.log.Warn("alerting: notifications dropped", append([]any{slog.String("notifier", d.name)}, summary...)...)
	}
}

// flushDrops logs the drops not summarized yet.
func (d *deliverer) flushDrops() {
	d.mu.Lock()
	summary := d.drops.due(d.dp.clock.Now(), true)
	d.mu.Unlock()
	d.logDrops(summary)
}

func (d *deliverer) markLostLocked(id string) {
	if len(d.lost) >= maxLost {
		clear(d.lost)
	}
	d.lost[id] = struct{}{}
}

// takeLost reports whether id's firing notification was lost, forgetting
// it.
func (d *deliverer) takeLost(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.lost[id]
	delete(d.lost, id)
	return ok
}

func (d *deliverer) setLost(id string, lost bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if lost {
		d.markLostLocked(id)
	} else {
		delete(d.lost, id)
	}
}

// close stops accepting notifications. A started worker delivers what is
// queued and exits; otherwise what is queued is dropped.
func (d *deliverer) close(started bool) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	d.closed = true
	if !started {
		for _, a := range d.queue {
			d.dropLocked(a, "engine shut down before start")
		}
		d.queue = nil
	}
	d.mu.Unlock()
	d.signal()
	if !started {
		d.flushDrops()
	}
}

func (d *deliverer) run(ctx context.Context) {
	defer d.dp.wg.Done()
	defer d.flushDrops()
	for {
		a, ok := d.next()
		if !ok {
			return
		}
		if a.State == Resolved && d.takeLost(a.ID) {
			continue // its firing notification failed after this was queued
		}
		if ctx.Err() != nil {
			d.mu.Lock()
			d.dropLocked(a, "shutdown deadline passed")
			d.mu.Unlock()
			continue
		}
		d.deliver(ctx, a)
	}
}

// deliver calls the notifier until it succeeds, fails for good, or runs out
// of attempts or time, waiting between attempts with capped exponential
// backoff or the receiver's Retry-After, whichever is longer.
func (d *deliverer) deliver(ctx context.Context, a Alert) {
	cfg := d.dp.cfg
	clk := d.dp.clock
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(cfg.InitialBackoff),
		backoff.WithMaxInterval(cfg.MaxBackoff),
		backoff.WithMaxElapsedTime(0),
		backoff.WithClockProvider(clk),
	)
	start := clk.Now()
	for attempt := 1; ; attempt++ {
		err := d.call(ctx, a)
		if err == nil {
			d.count(func(i *instruments) metric.Int64Counter { return i.sent })
			if a.State != Resolved {
				d.setLost(a.ID, false)
			}
			return
		}
		retry, after := Retryable(err)
		wait := b.NextBackOff()
		wait = max(wait, after)
		if !retry || ctx.Err() != nil || attempt >= cfg.MaxAttempts || clk.Now().Sub(start)+wait > cfg.MaxElapsed {
			d.fail(a, attempt, err)
			return
		}
		d.dp.log.Debug("alerting: notification failed; retrying", slog.String("notifier", d.name),
			slog.String("alert", a.ID), slog.Int("attempt", attempt), slog.Duration("wait", wait), slog.Any("error", err))
		if !clock.Sleep(ctx, clk, wait) {
			d.fail(a, attempt, ctx.Err())
			return
		}
	}
}

func (d *deliverer) fail(a Alert, attempts int, err error) {
	d.count(func(i *instruments) metric.Int64Counter { return i.failed })
	if a.State != Resolved {
		d.setLost(a.ID, true)
	}
	d.dp.log.Warn("alerting: notification failed", slog.String("notifier", d.name), slog.String("alert", a.ID),
		slog.String("state", a.State.String()), slog.Int("attempts", attempts), slog.Any("error", err))
}

func (d *deliverer) count(pick func(*instruments) metric.Int64Counter) {
	if inst := d.dp.inst.Load(); inst != nil {
		pick(inst).Add(context.Background(), 1, d.attrs...)
	}
}

// call makes one bounded attempt, turning a panic into a permanent failure.
func (d *deliverer) call(ctx context.Context, a Alert) (err error) {
	ctx, cancel := context.WithTimeout(ctx, d.dp.cfg.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("alerting: notifier %s panicked: %v: %w", d.name, r, ErrPermanent)
		}
	}()
	return d.n.Notify(ctx, cloneAlert(a))
}
