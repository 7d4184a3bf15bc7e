package alerting

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/listsync/otelmon/alerting/silence"
)

// The silences of an Alertmanager cluster. When the engine sends alerts to
// Alertmanager (one or more notifiers of package alertmanager, one per
// member of the cluster), its silences are the cluster's: CreateSilence,
// SilenceAlert and ExpireSilence change them there, through the v2 API of
// the first member that answers, and Silences lists them as last fetched.
// The cluster replicates them to every member by gossip, so a silence made
// through one process mutes the alerts of every process that sends to the
// cluster: Alertmanager mutes what it notifies itself, and each engine
// mutes its notifiers (webhook, chats, custom ones) by the active silences
// it fetched, matched against the labels Alertmanager gets for the alert,
// instance and job included. The Alertmanager members themselves are not
// muted by them: they get every firing alert and its resends, silenced or
// not, and list the silenced ones suppressed, as they do for Prometheus;
// an alert that starts firing under a silence reaches the other notifiers
// once the silence ends. (A maintenance window is the engine's own: it
// mutes the members too.) The list is fetched every
// SilenceConfig.Refresh, and at once after each change made here; when no
// member answers, the last list fetched keeps muting (each silence until
// its end) and SilenceSourceOf says since when it is stale.

// silenceCluster is what the engine needs of a notifier whose receiver
// keeps silences for a cluster: alertmanager.Notifier implements it. The
// engine finds it among the notifiers it is given.
type silenceCluster interface {
	Notifier
	// SilenceLabels returns the labels the receiver gets for a: those
	// its silences match.
	SilenceLabels(a Alert) map[string]string
	// CreateSilence creates s (its ID empty) and returns the ID given.
	CreateSilence(ctx context.Context, s Silence) (string, error)
	// ListSilences hands every silence kept to each, reading at most
	// maxBytes of the answer.
	ListSilences(ctx context.Context, maxBytes int64, each func(Silence) error) error
	// ExpireSilence expires the silence id; an unknown one is an error
	// wrapping ErrSilenceNotFound.
	ExpireSilence(ctx context.Context, id string) error
}

// SilenceSource says where the engine's silences are kept and how fresh
// its list of them is.
type SilenceSource struct {
	// Alertmanager is true when the silences are the Alertmanager
	// cluster's: the engine sends alerts to Alertmanager.
	Alertmanager bool `json:"alertmanager"`
	// FetchedAt is when the list was last fetched from the cluster; zero
	// before the first fetch, and for in-process silences.
	FetchedAt time.Time `json:"fetchedAt,omitzero"`
	// StaleSince is when the first fetch failed since the last one that
	// succeeded: the list is stale from then on, and the silences fetched
	// last mute until they end. Zero while fetches succeed.
	StaleSince time.Time `json:"staleSince,omitzero"`
	// Error says why the last fetch failed; empty while fetches succeed.
	// It names members by scheme and host only.
	Error string `json:"error,omitempty"`
	// Ignored counts the silences of the last list fetched that the
	// engine cannot keep within Config.Silences (too large, too costly
	// to compile, or with an ID that is not printable text of at most
	// 128 bytes): they do not mute this process's notifiers.
	Ignored int `json:"ignored,omitempty"`
}

// maxClusterSilenceID bounds the ID of a silence fetched from the cluster
// (Alertmanager's are 36-byte UUIDs).
const maxClusterSilenceID = 128

// clusterSilences keeps the engine's silences in the Alertmanager cluster
// (see above). Its members, view and status are guarded by the ledger's
// mu; fetchMu serializes fetches; the refresh goroutine runs from Start (or
// the first member added after it) to Shutdown.
type clusterSilences struct {
	cfg     SilenceConfig // with defaults; read only
	timeout time.Duration // bounds each request: Config.Delivery.Timeout
	clock   Clock
	log     *slog.Logger
	ctx     context.Context // cancelled by stop: requests in flight end
	cancel  context.CancelFunc
	wg      sync.WaitGroup // the refresh goroutine
	fetchMu sync.Mutex     // held from a fetch to its list being kept: an older list never replaces a newer one

	// Guarded by the ledger's mu.
	members []silenceCluster // in the order added
	running bool             // the refresh goroutine was started
	view    *silence.Store   // the list last fetched; empty before the first
	status  SilenceSource
}

func newClusterSilences(cfg Config, clk Clock, log *slog.Logger) *clusterSilences {
	ctx, cancel := context.WithCancel(context.Background())
	return &clusterSilences{
		cfg: cfg.Silences, timeout: cfg.Delivery.Timeout, clock: clk, log: log, ctx: ctx, cancel: cancel,
		view: silence.NewStore(cfg.Silences),
	}
}

// add takes n as a member of the cluster if it is one, starting the
// refresh goroutine if the engine runs. It is called with the ledger's mu
// held.
func (c *clusterSilences) add(l *ledger, n Notifier) {
	m, ok := n.(silenceCluster)
	if !ok {
		return
	}
	c.members = append(c.members, m)
	c.startLocked(l)
}

// startLocked starts the refresh goroutine once the engine is started and
// has a member. It is called with the ledger's mu held.
func (c *clusterSilences) startLocked(l *ledger) {
	if c.running || !l.started || l.stopped || len(c.members) == 0 {
		return
	}
	c.running = true
	c.wg.Add(1)
	go c.run(l)
}

// stop ends the refresh goroutine and the requests in flight, and waits
// for it. It is called once the ledger is stopped.
func (c *clusterSilences) stop() {
	c.cancel()
	c.wg.Wait()
}

// on reports whether the silences are the cluster's. It is called with the
// ledger's mu held.
func (c *clusterSilences) on() bool { return len(c.members) > 0 }

// run fetches the list at once, then every Refresh, until stop.
func (c *clusterSilences) run(l *ledger) {
	defer c.wg.Done()
	for {
		_ = c.refresh(l)
		tick, cancel := c.clock.NewTimer(c.cfg.Refresh)
		select {
		case <-tick:
		case <-c.ctx.Done():
			cancel()
			return
		}
	}
}

// mutes returns what mutes alerts at now: the windows, with the cluster's
// silences when there is a cluster, the in-process ones (local)
// otherwise. It is called with the ledger's mu held.
func (c *clusterSilences) mutes(local *silence.Store, windows []*silence.Window, now time.Time) *muting {
	if !c.on() {
		return &muting{ms: local.Mutes(windows, now)}
	}
	return &muting{ms: c.view.Mutes(windows, now), labels: c.members[0].SilenceLabels}
}

// maxBody bounds an answer listing the silences: twice MaxSilences
// silences (as many expired ones as live ones) of 2 MaxSize bytes of text
// (escaped in JSON) and 2 KiB of the rest (ID, times, MaxMatchers
// matchers' punctuation). With the defaults, 20 MiB.
func (c *clusterSilences) maxBody() int64 {
	return 2 * int64(c.cfg.MaxSilences) * (2*int64(c.cfg.MaxSize) + 2<<10)
}

// try calls f with each member in order, each call bounded by c.timeout,
// until one answers, and returns what it answered: nil, or a refusal (an
// invalid silence, an unknown one). When none answers it returns an
// error wrapping ErrSilencesUnavailable and what each failed with.
func (c *clusterSilences) try(l *ledger, f func(context.Context, silenceCluster) error) error {
	l.mu.Lock()
	members := slices.Clone(c.members)
	l.mu.Unlock()
	var errs []error
	for _, m := range members {
		ctx, cancel := context.WithTimeout(c.ctx, c.timeout)
		err := f(ctx, m)
		cancel()
		switch {
		case err == nil || answered(err):
			return err
		case c.ctx.Err() != nil:
			return ErrShutdown
		}
		errs = append(errs, fmt.Errorf("%s: %w", m.Name(), err))
	}
	return fmt.Errorf("%w: %w", ErrSilencesUnavailable, errors.Join(errs...))
}

// answered reports whether err is a member's answer, which the next
// member would give too: a silence it refused, or one it does not know.
// Anything else (no connection, a timeout, an error status, an answer
// that does not read) is a member that did not answer, whatever stands in
// front of it (a proxy's 404, a 401 for wrong credentials).
func answered(err error) bool {
	return errors.Is(err, ErrInvalidSilence) || errors.Is(err, ErrSilenceTooLarge) || errors.Is(err, ErrSilenceNotFound)
}

// fetch reads the list from the first member that answers, held to the
// silences' bounds: it fails when more than MaxSilences silences are
// pending or active, keeps the MaxSilences expired ones that ended last,
// and counts the silences it cannot keep.
func (c *clusterSilences) fetch(l *ledger) (*silence.Store, int, error) {
	now := c.clock.Now()
	var next *silence.Store
	ignored := 0
	err := c.try(l, func(ctx context.Context, m silenceCluster) error {
		next, ignored = silence.NewStore(c.cfg), 0
		live := 0
		return m.ListSilences(ctx, c.maxBody(), func(s Silence) error {
			if s.StateAt(now) != SilenceExpired {
				if live++; live > c.cfg.MaxSilences {
					return &SilenceError{Reason: fmt.Sprintf("the cluster has more than %d pending or active silences", c.cfg.MaxSilences),
						Limit: "MaxSilences", Err: ErrTooManySilences}
				}
			}
			if !validClusterID(s.ID) || next.Restore(s, now) != nil {
				ignored++
			}
			return nil
		})
	})
	if err != nil {
		return nil, 0, err
	}
	next.Prune(now)
	return next, ignored, nil
}

// validClusterID reports whether a fetched silence's ID can be kept:
// printable UTF-8 of at most maxClusterSilenceID bytes.
func validClusterID(id string) bool {
	if id == "" || len(id) > maxClusterSilenceID || !utf8.ValidString(id) {
		return false
	}
	for _, r := range id {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// refresh fetches the list and keeps it: alerts are muted and unmuted by
// it at once. When no member answers, the list kept stays, and the status
// records since when it is stale (logged once, when it becomes stale).
func (c *clusterSilences) refresh(l *ledger) error {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	next, ignored, err := c.fetch(l)
	now := c.clock.Now()
	if err != nil {
		l.mu.Lock()
		first := c.status.StaleSince.IsZero()
		if first {
			c.status.StaleSince = now
		}
		c.status.Error = err.Error()
		l.mu.Unlock()
		if first && !errors.Is(err, ErrShutdown) {
			c.log.Warn("alerting: cannot fetch the Alertmanager cluster's silences; the last fetched mute until they end",
				slog.Any("error", err))
		}
		return err
	}
	if !l.lock() {
		return ErrShutdown
	}
	if !c.status.StaleSince.IsZero() {
		c.log.Info("alerting: the Alertmanager cluster's silences are fetched again", slog.Time("staleSince", c.status.StaleSince))
	}
	if ignored > 0 && ignored != c.status.Ignored {
		c.log.Warn("alerting: silences of the Alertmanager cluster ignored: beyond Config.Silences' bounds", slog.Int("count", ignored))
	}
	changed := !slices.EqualFunc(c.view.All(), next.All(), sameSilence)
	c.view, c.status = next, SilenceSource{Alertmanager: true, FetchedAt: now, Ignored: ignored}
	if !changed {
		l.mu.Unlock()
		l.change.Unlock()
		return nil
	}
	defer l.change.Unlock()
	l.remute()
	return nil
}

// sameSilence reports whether a and b are the same silence, as kept.
func sameSilence(a, b Silence) bool {
	return a.ID == b.ID && a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// refreshAfterChange fetches the list after a change made through the
// engine, so that the change mutes or unmutes at once; a failure is
// logged, and the next refresh tries again.
func (c *clusterSilences) refreshAfterChange(l *ledger) {
	if err := c.refresh(l); err != nil && !errors.Is(err, ErrShutdown) {
		c.log.Warn("alerting: cannot fetch the Alertmanager cluster's silences after a change", slog.Any("error", err))
	}
}

// create is CreateSilence with a cluster: the silence is checked as an
// in-process one would be (against the live silences last fetched for
// MaxSilences), then created in the cluster.
func (c *clusterSilences) create(l *ledger, s Silence) (Silence, error) {
	now := c.clock.Now()
	l.mu.Lock()
	stopped, probe := l.stopped, c.view.Clone()
	l.mu.Unlock()
	if stopped {
		return Silence{}, ErrShutdown
	}
	checked, err := probe.Create(s, now)
	if err != nil {
		return Silence{}, err
	}
	checked.ID = ""
	var id string
	err = c.try(l, func(ctx context.Context, m silenceCluster) (err error) {
		id, err = m.CreateSilence(ctx, checked)
		return err
	})
	if err != nil {
		c.logUnavailable("created", err)
		return Silence{}, err
	}
	c.refreshAfterChange(l)
	if got, ok := c.get(l, id); ok {
		return got, nil
	}
	checked.ID = id
	return checked, nil
}

// expire is ExpireSilence with a cluster.
func (c *clusterSilences) expire(l *ledger, id string) (Silence, error) {
	now := c.clock.Now()
	l.mu.Lock()
	stopped := l.stopped
	cur, known := c.view.Get(id, now)
	l.mu.Unlock()
	switch {
	case stopped:
		return Silence{}, ErrShutdown
	case known && cur.Status.State == SilenceExpired:
		return cur, nil
	}
	if err := c.try(l, func(ctx context.Context, m silenceCluster) error { return m.ExpireSilence(ctx, id) }); err != nil {
		c.logUnavailable("expired", err)
		return Silence{}, err
	}
	c.refreshAfterChange(l)
	if got, ok := c.get(l, id); ok {
		return got, nil
	}
	// Expired in the cluster, not yet in the list.
	cur.ID, cur.EndsAt, cur.UpdatedAt, cur.Status = id, now, now, SilenceStatus{State: SilenceExpired}
	return cur, nil
}

// logUnavailable logs why a change was not made when no member answered:
// the caller's error says only that.
func (c *clusterSilences) logUnavailable(what string, err error) {
	if errors.Is(err, ErrSilencesUnavailable) {
		c.log.Warn("alerting: silence not "+what+": no member of the Alertmanager cluster answered", slog.Any("error", err))
	}
}

// get returns the silence id of the list with its state now.
func (c *clusterSilences) get(l *ledger, id string) (Silence, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return c.view.Get(id, c.clock.Now())
}

// alertMatchers returns the matchers that select the alert a: alertname
// and each of its labels, equal, but severity, so that a change of level
// does not escape the silence. With a cluster, the labels are those
// Alertmanager gets, but instance: the silence selects the alert on every
// instance of the fleet, as one made to quiet an outage must. It is
// called with the ledger's mu held.
func (c *clusterSilences) alertMatchers(a *Alert) []Matcher {
	labels, skip := a.Labels, ""
	if c.on() {
		labels, skip = c.members[0].SilenceLabels(*a), "instance"
	}
	ms := []Matcher{{Name: "alertname", Value: a.Rule}}
	for _, k := range sortedKeys(labels) {
		if k != "alertname" && k != "severity" && k != skip {
			ms = append(ms, Matcher{Name: k, Value: labels[k]})
		}
	}
	return ms
}
