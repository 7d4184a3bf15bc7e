package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/names"
)

// Delivery, as in Alertmanager's notify package but inside one process:
// every notifier has its own bounded queue and goroutine, so a slow,
// failing or panicking notifier delays only itself. Notifications reach a
// notifier in the order they were decided (one FIFO per notifier), so a
// resolved notification never overtakes its firing one. When a firing
// notification is dropped (queue full) or fails for good, the resolved
// notification of that alert is not sent to that notifier either: the
// receiver never heard of the alert.

// maxLost bounds the per-notifier set of alerts whose firing notification
// was lost; past it the set is cleared (and a stray resolved notification
// may be sent).
const maxLost = 4096

// maxKnown bounds the per-notifier set of alerts it was told are firing;
// past it, new firings are not remembered, and their resolved notices are
// not sent to that notifier.
const maxKnown = 4096

// dispatcher hands notifications to the notifiers: one deliverer (queue
// and goroutine) per notifier.
type dispatcher struct {
	cfg    DeliveryConfig
	clock  Clock
	log    *slog.Logger
	inst   *atomic.Pointer[instruments] // the engine's, once instrumented
	runCtx context.Context              // cancelled when shutdown gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup // the deliverers' goroutines

	mu         sync.Mutex // guards the fields below
	deliverers []*deliverer
	started    bool
	closed     bool
}

func newDispatcher(cfg DeliveryConfig, clk Clock, log *slog.Logger, inst *atomic.Pointer[instruments]) *dispatcher {
	ctx, cancel := context.WithCancel(context.Background())
	return &dispatcher{cfg: cfg, clock: clk, log: log, inst: inst, runCtx: ctx, cancel: cancel}
}

type deliverer struct {
	dp    *dispatcher
	n     Notifier
	name  string
	attrs []metric.AddOption
	queue chan Alert

	// resend is the notifier's ResendInterval (0: not a Resender).
	resend time.Duration

	mu     sync.Mutex // guards closed, lost and known
	closed bool
	lost   map[string]struct{}
	// known holds the alerts whose firing notification was queued for this
	// notifier (or that it knew of before a restart), by ID, with when it was
	// last queued (zero for those restored). Only these get a resolved
	// notice; a Resender gets them again every resend interval.
	known map[string]time.Time
}

// add registers a notifier that knew of the firing alerts known (restored
// from the state file), starting its goroutine if the dispatcher runs.
func (dp *dispatcher) add(n Notifier, known []string) error {
	name := n.Name()
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.closed {
		return ErrShutdown
	}
	for _, d := range dp.deliverers {
		if d.name == name {
			return fmt.Errorf("%w: %q", ErrDuplicateNotifier, name)
		}
	}
	d := &deliverer{
		dp:    dp,
		n:     n,
		name:  name,
		attrs: []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(attribute.String(names.AttrNotifier, name)))},
		queue: make(chan Alert, dp.cfg.QueueSize),
		lost:  map[string]struct{}{},
		known: make(map[string]time.Time, len(known)),
	}
	for _, id := range known {
		d.known[id] = time.Time{}
	}
	if r, ok := n.(Resender); ok && r.ResendInterval() > 0 {
		d.resend = r.ResendInterval()
	}
	dp.deliverers = append(dp.deliverers, d)
	if dp.started {
		dp.wg.Add(1)
		go d.run(dp.runCtx)
	}
	return nil
}

// names returns the notifiers' names in registration order.
func (dp *dispatcher) names() []string {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	out := make([]string, len(dp.deliverers))
	for i, d := range dp.deliverers {
		out[i] = d.name
	}
	return out
}

// resends reports whether a notifier is a Resender, which needs the
// notified firing alerts at every dispatch.
func (dp *dispatcher) resends() bool {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	for _, d := range dp.deliverers {
		if d.resend > 0 {
			return true
		}
	}
	return false
}

// start starts the deliverers' goroutines.
func (dp *dispatcher) start() {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if dp.started || dp.closed {
		return
	}
	dp.started = true
	for _, d := range dp.deliverers {
		dp.wg.Add(1)
		go d.run(dp.runCtx)
	}
}

// dispatch queues the notices for every notifier, in order, then the
// resends due to Resenders among the notified firing alerts.
func (dp *dispatcher) dispatch(notices []notice, firing []Alert, now time.Time) {
	dp.mu.Lock()
	ds := slices.Clone(dp.deliverers)
	dp.mu.Unlock()
	for _, n := range notices {
		for _, d := range ds {
			d.enqueue(n.a)
		}
	}
	for _, d := range ds {
		d.resendDue(firing, now)
	}
}

// shutdown stops accepting notifications and lets each started deliverer
// deliver what is queued (what is queued for one never started is dropped),
// waiting for them until ctx ends; deliveries still running then are
// cancelled.
func (dp *dispatcher) shutdown(ctx context.Context) error {
	dp.mu.Lock()
	dp.closed = true
	started := dp.started
	ds := slices.Clone(dp.deliverers)
	dp.mu.Unlock()
	defer dp.cancel() // a no-op when everything finished in time
	for _, d := range ds {
		d.close(started)
	}
	done := make(chan struct{})
	go func() {
		dp.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue queues a notification without blocking; it drops it (and counts
// the drop) when the queue is full or closed.
//
// A resolved notification goes only to a notifier that was told the alert
// fired; whether that firing notification was then delivered is checked
// when the resolved one comes out of the queue (see run), since a later
// firing notification still in the queue may succeed where an earlier one
// failed.
func (d *deliverer) enqueue(a Alert) {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, known := d.known[a.ID]
	if a.State == Resolved {
		if !known {
			d.dp.log.Debug("alerting: resolved notification not sent: the notifier was never told the alert fired",
				slog.String("notifier", d.name), slog.String("alert", a.ID))
			return
		}
		delete(d.known, a.ID)
	}
	why := "engine shut down"
	if !d.closed {
		select {
		case d.queue <- a:
			why = ""
		default:
			why = "queue full"
		}
	}
	if why != "" {
		// A dropped firing of an alert the notifier never heard of leaves
		// it unknown: its resolution will not be queued either.
		d.dropLocked(a, why)
		return
	}
	if a.State != Resolved && (known || len(d.known) < maxKnown) {
		d.known[a.ID] = d.dp.clock.Now()
	}
}

// resendDue queues again, for a Resender, the notified firing alerts that
// it was last sent more than its ResendInterval before now, or never (it
// was added after they fired, or the process restarted).
func (d *deliverer) resendDue(firing []Alert, now time.Time) {
	if d.resend <= 0 {
		return
	}
	var due []Alert
	d.mu.Lock()
	for _, a := range firing {
		if last, ok := d.known[a.ID]; !ok || now.Sub(last) >= d.resend {
			due = append(due, a)
		}
	}
	d.mu.Unlock()
	for _, a := range due {
		d.enqueue(a) // records the new send time
	}
}

func (d *deliverer) dropLocked(a Alert, why string) {
	if inst := d.dp.inst.Load(); inst != nil {
		inst.dropped.Add(context.Background(), 1, d.attrs...)
	}
	if a.State != Resolved {
		d.markLostLocked(a.ID)
	}
	d.dp.log.Warn("alerting: notification dropped", slog.String("notifier", d.name),
		slog.String("alert", a.ID), slog.String("state", a.State.String()), slog.String("reason", why))
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
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	close(d.queue)
	if !started {
		for a := range d.queue {
			d.dropLocked(a, "engine shut down before start")
		}
	}
}

func (d *deliverer) run(ctx context.Context) {
	defer d.dp.wg.Done()
	for a := range d.queue {
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
