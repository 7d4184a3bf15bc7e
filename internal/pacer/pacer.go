// Package pacer paces the requests of one external service: a steady rate
// from the service's published limits, a pause that every request waits out
// when the service sends Retry-After, a rate learned from the budget headers
// the service announces (X-RateLimit-*, IETF RateLimit, Trakt's X-Ratelimit)
// and, when it announces none, from its 429 answers: additive increase,
// multiplicative decrease, as the AWS SDKs' adaptive retry mode does.
// (The increase is quick back to the rate that worked, then slow past it.)
//
// The token bucket is golang.org/x/time/rate's: a limiter that is well kept,
// takes explicit times (so a fake clock drives it) and lets a reservation be
// cancelled when the caller will not wait for it. This package only decides
// the rate and the pauses.
//
// No answer stops a service for long: a pause, from Retry-After or from a
// spent budget, lasts MaxPause at most, and a pace learned from budget
// headers is never slower than one request per MaxPause. When a pause was
// cut short, the first request after it goes alone, as a probe, and its
// answer decides what follows: another pause, a pace, or none.
//
// A Pacer is safe for concurrent use. Its hot path, for a service that is
// neither paced nor paused, is two atomic loads and an atomic add.
package pacer

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/retryafter"
)

// Learning constants.
const (
	// decrease is the factor applied to the measured rate on a 429 without
	// budget headers (multiplicative decrease).
	decrease = 0.8
	// After a decrease, successes raise the rate back towards the peak (the
	// rate the service accepted when it throttled) with time constant
	// recoverTau, then probe beyond it by probePerSecond of the peak per
	// second (additive increase), as TCP CUBIC and the AWS SDKs' adaptive
	// retry mode do: quick back to what worked, slow past it.
	recoverTau     = time.Second
	probePerSecond = 0.005
	// minRate is the slowest pace learning sets, in requests per second.
	minRate = 0.2
	// reactGap is how long after a decrease further 429s are taken as
	// echoes of the same overload (requests already in flight) rather than
	// a new one.
	reactGap = time.Second
	// measureWindow is the span over which successes are counted to
	// measure the rate the service accepted.
	measureWindow = time.Second
	bucketCount   = 10
)

// DefaultMaxPause is Config.MaxPause when it is zero.
const DefaultMaxPause = 5 * time.Minute

// Config is a service's starting pace. Its zero value is unpaced, with
// pauses of DefaultMaxPause at most.
type Config struct {
	// Rate is the steady pace of requests (reads, and writes unless
	// WriteRate is set), per second; zero or +Inf is unpaced until the
	// service pushes back.
	Rate float64
	// Burst is how many requests may go at once above Rate; zero means 1.
	Burst int
	// WriteRate, when positive, paces writes (POST, PUT, PATCH, DELETE) on a
	// limiter of their own, with burst 1.
	WriteRate float64
	// MaxWait bounds the wait of one request; zero is unbounded (the
	// request's deadline still bounds it).
	MaxWait time.Duration
	// MaxPause bounds what one answer can hold requests for: a pause it
	// asks for (Retry-After, a spent budget) lasts MaxPause at most, and a
	// pace learned from its budget headers is one request per MaxPause at
	// least. Zero means DefaultMaxPause (5 minutes).
	MaxPause time.Duration
}

// WaitError is returned by Wait when the wait for a slot would pass the
// request's deadline or the pacer's MaxWait. Nothing was waited.
type WaitError struct {
	// Wait is how long the request would have had to wait.
	Wait time.Duration
	// Paused is true when the wait is a pause the service asked for
	// (Retry-After, or an exhausted budget), false when it is the pace.
	Paused bool
}

func (e *WaitError) Error() string {
	return fmt.Sprintf("rate limited: the next slot is %v away", e.Wait)
}

// Pacer paces the requests of one service.
type Pacer struct {
	clk      clock.Clock
	maxWait  time.Duration
	maxPause time.Duration
	floor    rate.Limit // one request per maxPause: the slowest pace a budget sets
	read     *rate.Limiter
	write    *rate.Limiter // == read when writes share the pace

	unpaced atomic.Bool // read's limit is +Inf: skip it
	paused  pause       // the pause of reads, and of writes unless they have a pace of their own
	// writePaused is the pause of writes when they have a pace of their
	// own (write != read): a write's 429 or spent budget pauses writes only,
	// and a read's pauses reads only, as the service counts them apart.
	writePaused pause
	budgetUntil atomic.Int64 // Unix nanoseconds when an announced budget renews; 0 when no budget sets the pace
	inflight    atomic.Int64 // requests sent whose answer has not arrived
	waited      atomic.Int64 // nanoseconds requests spent waiting, in total
	remaining   atomic.Int64 // last announced budget; -1 until one is

	mu          sync.Mutex // guards the learning state below
	ceiling     rate.Limit // the configured read rate, rate.Inf when unpaced
	burst       int        // the configured read burst
	peak        rate.Limit // the accepted rate at the last decrease; 0 when not recovering
	floored     bool       // the budget's pace was raised to floor: an answer without a budget ends it
	decreasedAt time.Time
	buckets     [bucketCount]bucket // successes, for the measured rate
}

type bucket struct {
	start int64 // Unix nanoseconds, a multiple of the bucket width
	n     int
}

// New returns a Pacer starting at cfg's pace, reading time from clk.
func New(cfg Config, clk clock.Clock) *Pacer {
	limit := rate.Limit(cfg.Rate)
	if cfg.Rate <= 0 || math.IsInf(cfg.Rate, 1) {
		limit = rate.Inf
	}
	burst := max(cfg.Burst, 1)
	maxPause := cfg.MaxPause
	if maxPause <= 0 {
		maxPause = DefaultMaxPause
	}
	p := &Pacer{
		clk: clk, maxWait: cfg.MaxWait, maxPause: maxPause, floor: rate.Every(maxPause),
		read: rate.NewLimiter(limit, burst), ceiling: limit, burst: burst,
	}
	p.write = p.read
	if cfg.WriteRate > 0 && !math.IsInf(cfg.WriteRate, 1) {
		p.write = rate.NewLimiter(rate.Limit(cfg.WriteRate), 1)
	}
	p.unpaced.Store(limit == rate.Inf)
	p.remaining.Store(-1)
	return p
}

// IsWrite reports whether method changes state on the server, and so is
// paced by the write limiter.
func IsWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Wait waits until a request may be sent: past any pause, then for a slot
// of the pace. A wait that would end after ctx's deadline, or last longer
// than MaxWait, fails at once with a *WaitError and waits for nothing; a
// ctx that ends while waiting returns ctx.Err(). On success the request
// counts as in flight until Observe, ObserveError or Abandon.
//
// After a pause cut to MaxPause, the first request goes as a probe and the
// others wait for its answer, MaxPause at most.
func (p *Pacer) Wait(ctx context.Context, write bool) error {
	now := p.clk.Now()
	p.expireBudget(now)
	pause := p.pauseOf(write)
	var waited time.Duration
	reserved := false
	for {
		if end := pause.until.Load(); end > now.UnixNano() {
			end, release := pause.running()
			d := time.Duration(end - now.UnixNano())
			if d <= 0 {
				continue // ended meanwhile: look again
			}
			if err := p.check(ctx, now, waited, d, true); err != nil {
				return err
			}
			ok := sleepOrRelease(ctx, p.clk, d, release)
			waited += p.clk.Now().Sub(now)
			now = p.clk.Now()
			if !ok {
				p.waited.Add(int64(waited))
				return ctx.Err()
			}
			continue
		} else if end != 0 && pause.capped.Load() && !pause.startProbe(now, p.maxPause) {
			continue // another request is the probe: wait for its answer
		}
		if reserved {
			break
		}
		lim := p.read
		if write {
			lim = p.write
		}
		if lim == p.read && p.unpaced.Load() {
			break
		}
		r := lim.ReserveN(now, 1)
		reserved = true
		d := r.DelayFrom(now)
		if d <= 0 {
			break
		}
		if err := p.check(ctx, now, waited, d, false); err != nil {
			r.CancelAt(now)
			return err
		}
		if !clock.Sleep(ctx, p.clk, d) {
			r.CancelAt(p.clk.Now())
			p.waited.Add(int64(waited + p.clk.Now().Sub(now)))
			return ctx.Err()
		}
		waited += d
		now = p.clk.Now() // a pause may have begun meanwhile: look again
	}
	if waited > 0 {
		p.waited.Add(int64(waited))
	}
	p.inflight.Add(1)
	return nil
}

// check fails a wait of d, after waited already, that would pass ctx's
// deadline or the pacer's MaxWait.
func (p *Pacer) check(ctx context.Context, now time.Time, waited, d time.Duration, paused bool) error {
	if dl, ok := ctx.Deadline(); ok && now.Add(d).After(dl) {
		return &WaitError{Wait: d, Paused: paused}
	}
	if p.maxWait > 0 && waited+d > p.maxWait {
		return &WaitError{Wait: d, Paused: paused}
	}
	return ctx.Err()
}

// Take records a request sent without waiting (a health probe): it takes
// a slot of the pace if one is free now, never one that a waiting request
// reserved, and counts the request as in flight until Observe or Abandon.
// Probes thus count against the budget without starving the requests that
// wait, however often they run.
func (p *Pacer) Take(write bool) {
	p.expireBudget(p.clk.Now())
	lim := p.read
	if write {
		lim = p.write
	}
	if lim != p.read || !p.unpaced.Load() {
		lim.AllowN(p.clk.Now(), 1)
	}
	p.inflight.Add(1)
}

// Abandon ends a request that got no answer through no fault of the
// service (a breaker rejection, the caller's cancellation). If a probe was
// out, the next request is the probe.
func (p *Pacer) Abandon() { p.unanswered() }

// ObserveError ends a request that failed without an answer: a transport
// error or a timeout. If a probe was out, the next request is the probe.
func (p *Pacer) ObserveError() { p.unanswered() }

func (p *Pacer) unanswered() {
	p.inflight.Add(-1)
	p.paused.unanswered(p.clk)
	p.writePaused.unanswered(p.clk)
}

// Observe ends a request (a write when write is true) with the answer it
// got and learns from it. It returns the pause the answer set: the longer
// of its Retry-After (on a 429 or 503) and its spent budget's reset, at
// most MaxPause; zero when it set none.
//
// When writes have a pace of their own, a write's answer pauses writes
// only and leaves the read pace alone: Trakt, say, counts its 1 write a
// second apart from its 1000 GETs per 5 minutes.
func (p *Pacer) Observe(write bool, status int, h http.Header) time.Duration {
	p.inflight.Add(-1)
	now := p.clk.Now()
	ownPace := write && p.write != p.read
	var asked time.Duration
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		asked = retryafter.Parse(h.Get("Retry-After"), now)
	}
	b, announced := ParseBudget(h, now)
	if announced {
		p.remaining.Store(b.Remaining)
		switch {
		case !ownPace:
			asked = max(asked, p.paceBudget(now, b))
		case b.Remaining <= 0 && b.Reset.After(now):
			asked = max(asked, b.Reset.Sub(now))
		}
	}
	pause := p.pauseOf(write).ask(now, asked, p.maxPause)
	switch {
	case status == http.StatusTooManyRequests:
		if !announced && !ownPace {
			p.decrease(now)
		}
	case status >= 500:
	case !ownPace:
		p.succeeded(now, announced)
	}
	return pause
}

// pauseOf returns the pause that a request (a write when write is true)
// waits out.
func (p *Pacer) pauseOf(write bool) *pause {
	if write && p.write != p.read {
		return &p.writePaused
	}
	return &p.paused
}

// expireBudget restores the configured pace once the budget that set it
// has renewed: a service that announced "1 left until in an hour" must not
// hold its pace at one an hour after the hour.
func (p *Pacer) expireBudget(now time.Time) {
	until := p.budgetUntil.Load()
	if until == 0 || now.UnixNano() < until || !p.budgetUntil.CompareAndSwap(until, 0) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.peak == 0 { // not recovering from 429s meanwhile
		p.floored = false
		p.setLocked(now, p.ceiling, p.burst)
	}
}

// paceBudget spreads an announced budget over the time left until it is
// renewed, keeping room for the requests already in flight, one request
// per MaxPause at least. When nothing is left it returns the time until
// the budget renews, for a pause.
func (p *Pacer) paceBudget(now time.Time, b Budget) time.Duration {
	left := b.Reset.Sub(now)
	if left <= 0 {
		return 0
	}
	avail := b.Remaining - p.inflight.Load()
	if avail <= 0 {
		return left
	}
	r := rate.Limit(float64(avail) / left.Seconds())
	p.mu.Lock()
	defer p.mu.Unlock()
	p.peak = 0 // the budget, not the 429s, sets the pace now
	p.floored = r < p.floor
	p.setLocked(now, min(max(r, p.floor), p.ceiling), 1)
	p.budgetUntil.Store(unixNano(b.Reset))
	return 0
}

// lastNano is the last time whose Unix nanoseconds an int64 holds (2262).
var lastNano = time.Unix(0, math.MaxInt64)

// unixNano returns t's Unix nanoseconds, math.MaxInt64 for a time past
// lastNano (a reset in the year 2262 or beyond renews never).
func unixNano(t time.Time) int64 {
	if t.After(lastNano) {
		return math.MaxInt64
	}
	return t.UnixNano()
}

// decrease lowers the pace after a 429 that announced no budget: to a
// fraction of the rate the service accepted over the last second.
func (p *Pacer) decrease(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.decreasedAt.IsZero() && now.Sub(p.decreasedAt) < reactGap {
		return
	}
	measured := rate.Limit(p.measuredLocked(now))
	peak := min(p.read.Limit(), measured)
	if measured == 0 {
		// Nothing accepted lately: no rate to start from. An unpaced
		// service stays unpaced (its Retry-After, if any, pauses it); a
		// paced one decreases from its pace.
		if peak = p.read.Limit(); peak == rate.Inf {
			return
		}
	}
	if peak*decrease < minRate {
		peak = minRate / decrease
	}
	p.peak, p.decreasedAt, p.floored = peak, now, false
	p.setLocked(now, peak*decrease, 1)
}

// succeeded counts a success and, while recovering from a decrease,
// raises the pace.
func (p *Pacer) succeeded(now time.Time, announced bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	width := int64(measureWindow / bucketCount)
	start := now.UnixNano() / width * width
	bk := &p.buckets[(start/width)%bucketCount]
	if bk.start != start {
		*bk = bucket{start: start}
	}
	bk.n++
	if p.floored && !announced {
		// The budget's pace was raised to one request per MaxPause, and
		// this answer, a success, announces none: the pace is the
		// configured one again.
		p.floored = false
		p.budgetUntil.Store(0)
		p.setLocked(now, p.ceiling, p.burst)
		return
	}
	if p.peak == 0 || announced {
		return
	}
	t := now.Sub(p.decreasedAt).Seconds()
	next := p.peak * rate.Limit(1-(1-decrease)*math.Exp(-t/recoverTau.Seconds())+probePerSecond*t)
	if next >= p.ceiling {
		p.peak = 0
		p.setLocked(now, p.ceiling, p.burst)
		return
	}
	if next > p.read.Limit()*1.01 {
		p.setLocked(now, next, 1)
	}
}

// measuredLocked returns the successes per second over the last window.
func (p *Pacer) measuredLocked(now time.Time) float64 {
	from := now.Add(-measureWindow).UnixNano()
	n := 0
	for _, bk := range p.buckets {
		if bk.start > from {
			n += bk.n
		}
	}
	return float64(n) / measureWindow.Seconds()
}

func (p *Pacer) setLocked(now time.Time, r rate.Limit, burst int) {
	p.read.SetLimitAt(now, r)
	p.read.SetBurstAt(now, burst)
	p.unpaced.Store(r == rate.Inf)
}

// Snapshot is a Pacer's state at one time.
type Snapshot struct {
	// Rate is the read pace in requests per second; +Inf when unpaced.
	Rate float64
	// WriteRate is the write pace; equal to Rate when writes share it.
	WriteRate float64
	// PausedUntil is the end of the running pause of reads; zero when none
	// runs.
	PausedUntil time.Time
	// MaxPause is the longest pause an answer sets (Config.MaxPause, or
	// its default).
	MaxPause time.Duration
	// Remaining is the last budget the service announced; -1 until one is.
	Remaining int64
	// Waited is the time requests spent waiting, in total.
	Waited time.Duration
}

// Snapshot returns the pacer's state at the clock's current time.
func (p *Pacer) Snapshot() Snapshot {
	s := Snapshot{
		Rate:      limitValue(p.read.Limit()),
		WriteRate: limitValue(p.write.Limit()),
		Remaining: p.remaining.Load(),
		Waited:    time.Duration(p.waited.Load()),
		MaxPause:  p.maxPause,
	}
	if end := p.paused.until.Load(); end > p.clk.Now().UnixNano() {
		s.PausedUntil = time.Unix(0, end)
	}
	return s
}

// limitValue returns l in requests per second, +Inf for rate.Inf (which
// is math.MaxFloat64).
func limitValue(l rate.Limit) float64 {
	if l == rate.Inf {
		return math.Inf(1)
	}
	return float64(l)
}

// Remaining returns the last budget the service announced and whether it
// announced one.
func (p *Pacer) Remaining() (int64, bool) {
	r := p.remaining.Load()
	return r, r >= 0
}

// Waited returns the time requests spent waiting, in total.
func (p *Pacer) Waited() time.Duration { return time.Duration(p.waited.Load()) }

// PauseLeft returns how long the running pause of reads lasts from now;
// zero when none runs. It is MaxPause at most.
func (p *Pacer) PauseLeft(now time.Time) time.Duration { return p.paused.left(now) }
