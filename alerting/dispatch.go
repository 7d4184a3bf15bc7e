package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

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
//
// The queue takes one evaluation's notifications as a whole. Its bound,
// QueueSize, applies to the backlog left from earlier evaluations: a
// notifier that has delivered what it was given before (backlog below
// QueueSize) gets the whole of the next evaluation, however large the
// burst; one that has not is failing or too slow, and the evaluation's
// notifications for it are dropped. So a burst of a thousand alerts
// reaches every healthy notifier, and memory stays bounded by QueueSize
// plus one evaluation's notifications per notifier. This was chosen over
// batching (one Notify call per evaluation) because it keeps the one-alert
// Notifier interface every integration implements, and over a larger fixed
// queue because no fixed size fits every burst. Drops are counted one by
// one (notifications_dropped_total) but logged as one summary per notifier
// and dropLogInterval, with the count: a notifier that is down for an hour
// writes a line a minute, not one per alert.

// maxLost bounds the per-notifier set of alerts whose firing notification
// was lost; past it the set is cleared (and a stray resolved notification
// may be sent).
const maxLost = 4096

// dropLogInterval spaces the log lines that summarize a notifier's drops.
const dropLogInterval = time.Minute

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

// add registers a notifier that knew of the firing alerts known (restored
// from the state file), starting its goroutine if the dispatcher runs. A
// Resender also knew of kept: muted firing alerts whose resends it keeps
// getting.
func (dp *dispatcher) add(n Notifier, known, kept []string) error {
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
		wake:  make(chan struct{}, 1),
		lost:  map[string]struct{}{},
		known: make(map[string]time.Time, len(known)),
	}
	for _, id := range known {
		d.known[id] = time.Time{}
	}
	if r, ok := n.(Resender); ok && r.ResendInterval() > 0 {
		d.resend = r.ResendInterval()
		for _, id := range kept {
			d.known[id] = time.Time{}
		}
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

// delivery is one change's work for every deliverer.
type delivery struct {
	batch  []Alert  // the notifications, in order
	forget []string // alerts every notifier drops: resolved while muted
	muted  []string // alerts muted while firing: dropped but by Resenders
	// firing are the notified firing alerts, for Resenders' resends; kept
	// the muted ones whose resends go on to the Resenders that know them.
	firing, kept []Alert
	now          time.Time
}

// dispatch queues one change's notices for every notifier, in order,
// with the resends due to Resenders among the firing alerts: those
// notified, and those muted since that the Resender knows (kept).
func (dp *dispatcher) dispatch(notices []notice, firing, kept []Alert, now time.Time) {
	dp.mu.Lock()
	ds := slices.Clone(dp.deliverers)
	dp.mu.Unlock()
	dl := delivery{batch: make([]Alert, 0, len(notices)), firing: firing, kept: kept, now: now}
	for _, n := range notices {
		switch n.forget {
		case forgetAll:
			dl.forget = append(dl.forget, n.a.ID)
		case forgetUnlessResending:
			dl.muted = append(dl.muted, n.a.ID)
		default:
			dl.batch = append(dl.batch, n.a)
		}
	}
	for _, d := range ds {
		d.enqueue(&dl)
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
