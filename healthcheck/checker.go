package healthcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/redact"
)

// Checker checks targets over HTTP, on a schedule once started and on demand
// with CheckNow and CheckAll, and keeps each target's status. Create one with
// New; the zero value is not usable. Its methods are safe for concurrent use.
type Checker struct {
	cfg       Config // with defaults applied
	clock     Clock
	log       *slog.Logger
	client    *http.Client
	ownClient bool // client was built by New; Shutdown closes its idle connections
	clientFor func(string) *http.Client
	listeners []func(Transition)
	jitter    func() float64
	sem       chan struct{} // one token per running check

	// done is canceled by Shutdown; every check's context ends with it.
	done   context.Context
	cancel context.CancelCauseFunc
	// loops counts scheduler goroutines, probes the goroutines that run
	// requests. Both are added to only under mu while closed is false.
	loops  sync.WaitGroup
	probes sync.WaitGroup

	shutdownOnce sync.Once
	shutdownErr  error // the first Shutdown's result

	mu      sync.Mutex // guards the fields below and every entry's mutable state
	entries map[string]*entry
	names   []string // sorted keys of entries
	started bool
	closed  bool
}

// entry is a registered target. The fields above the blank line are set by
// Add and never change; those below are guarded by Checker.mu.
type entry struct {
	target  Target
	url     string // target.URL, for requests
	host    string // Headers' "Host", if any
	client  *http.Client
	timeout time.Duration
	secrets []string // parts of the URL that are masked in panic messages

	stop        context.CancelFunc // ends the scheduler loop; nil until started
	status      Status
	successes   int
	failures    int
	last        Result
	checked     bool
	pending     []Transition // not yet given to listeners
	dispatching bool         // a goroutine is giving pending to listeners
}

// New returns a Checker with configuration cfg, whose zero fields mean their
// defaults. It returns an error wrapping ErrInvalidConfig when cfg does not
// validate: a *ConfigError for each invalid field, joined. It starts
// nothing: see Start.
func New(cfg Config, opts ...Option) (*Checker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	o := newOptions(opts)
	c := &Checker{
		cfg:       cfg.withDefaults(),
		clock:     o.clock,
		log:       o.logger,
		client:    o.client,
		clientFor: o.clientFor,
		listeners: o.listeners,
		jitter:    o.jitter,
		entries:   make(map[string]*entry),
	}
	if c.client == nil {
		c.client = &http.Client{Transport: newTransport()}
		c.ownClient = true
	}
	c.sem = make(chan struct{}, c.cfg.MaxConcurrency)
	c.done, c.cancel = context.WithCancelCause(context.Background())
	return c, nil
}

// Add registers t. It returns a *TargetError when t cannot be registered:
// wrapping a *ConfigError for a field it cannot use (a blank Name, a URL
// that is not absolute http or https, a negative Timeout, ...), or
// ErrDuplicateTarget; or wrapping ErrNoURL when t has no URL: such a target
// is skipped, with the reason logged, and callers usually carry on (see the
// package example). After Shutdown it returns ErrShutdown. A target added
// after Start is checked at once and then on schedule. Add keeps a copy of t.
func (c *Checker) Add(t Target) error {
	if err := t.validate(); err != nil {
		if errors.Is(err, ErrNoURL) {
			c.log.Info("health check target skipped", "target", t.Name, "reason", "no URL configured")
		}
		return err
	}
	t = t.clone()
	e := &entry{
		target:  t,
		url:     t.URL,
		host:    t.Headers.Get("Host"),
		client:  c.client,
		timeout: c.cfg.RequestTimeout,
		secrets: urlSecrets(t.URL),
	}
	if t.Timeout > 0 {
		e.timeout = t.Timeout
	}
	if c.clientFor != nil {
		if cl := c.clientFor(t.Name); cl != nil {
			e.client = cl
		}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrShutdown
	}
	if _, dup := c.entries[t.Name]; dup {
		return &TargetError{Name: t.Name, Err: ErrDuplicateTarget}
	}
	c.entries[t.Name] = e
	i, _ := slices.BinarySearch(c.names, t.Name)
	c.names = slices.Insert(c.names, i, t.Name)
	if c.started {
		c.startLoopLocked(e)
	}
	c.log.Debug("health check target added", "target", t.Name, "url", redact.URL(t.URL))
	return nil
}

// Remove unregisters the target called name and stops its schedule; a check
// of it in flight is not counted. It returns a *TargetError wrapping
// ErrUnknownTarget when no such target is registered.
func (c *Checker) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok {
		return &TargetError{Name: name, Err: ErrUnknownTarget}
	}
	delete(c.entries, name)
	if i, found := slices.BinarySearch(c.names, name); found {
		c.names = slices.Delete(c.names, i, i+1)
	}
	if e.stop != nil {
		e.stop()
	}
	return nil
}

// Targets returns copies of the registered targets, sorted by name. Their
// URLs are as given to Add, secrets included.
func (c *Checker) Targets() []Target {
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := make([]Target, 0, len(c.names))
	for _, name := range c.names {
		ts = append(ts, c.entries[name].target.clone())
	}
	return ts
}

// Start begins checking every target: each once right away, then every
// CheckInterval plus jitter. ctx bounds only the call: the schedule runs
// until Shutdown. Start is idempotent; after Shutdown it returns ErrShutdown.
func (c *Checker) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrShutdown
	}
	if c.started {
		return nil
	}
	c.started = true
	for _, name := range c.names {
		c.startLoopLocked(c.entries[name])
	}
	return nil
}

// Shutdown stops the schedule, cancels checks in flight (they are not
// counted; their callers get ErrShutdown) and waits until every goroutine of
// the Checker has exited, or until ctx is done, in which case it returns an
// error wrapping ctx's error and the goroutines exit in the background. It is
// safe before Start and idempotent: later calls return the first call's
// result without waiting again. Status, Summary and Health keep answering
// with the last statuses; Start, Add and CheckNow return ErrShutdown.
func (c *Checker) Shutdown(ctx context.Context) error {
	c.shutdownOnce.Do(func() { c.shutdownErr = c.shutdown(ctx) })
	return c.shutdownErr
}

func (c *Checker) shutdown(ctx context.Context) error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel(ErrShutdown)
	if c.ownClient {
		defer c.client.CloseIdleConnections()
	}

	idle := make(chan struct{})
	go func() {
		c.loops.Wait()
		c.probes.Wait()
		close(idle)
	}()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("healthcheck: shutdown: %w", ctx.Err())
	}
}

// startLoopLocked starts e's scheduler goroutine. c.mu must be held and
// c.closed false.
func (c *Checker) startLoopLocked(e *entry) {
	ctx, stop := context.WithCancel(c.done)
	e.stop = stop
	c.loops.Add(1)
	go c.loop(ctx, e)
}

// loop checks e at once and then every interval plus jitter, measured from
// the start of the previous check, until ctx ends.
func (c *Checker) loop(ctx context.Context, e *entry) {
	defer c.loops.Done()
	for ctx.Err() == nil {
		start := c.clock.Now()
		_, _ = c.run(ctx, e)
		wait := max(c.nextInterval()-c.clock.Now().Sub(start), 0)
		if !clock.Sleep(ctx, c.clock, wait) {
			return
		}
	}
}

// newTransport returns a transport with the settings of
// http.DefaultTransport, built afresh rather than cloned from the global,
// which a host may have replaced.
func newTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: 1 * time.Second,
	}
}

// nextInterval returns CheckInterval plus a random jitter.
func (c *Checker) nextInterval() time.Duration {
	f := c.jitter()
	if !(f >= 0) { // also NaN
		f = 0
	}
	if f >= 1 {
		f = 0.999999
	}
	iv := c.cfg.CheckInterval
	return iv + time.Duration(f*c.cfg.Jitter*float64(iv))
}

// minSecretLen is the length from which a query value is masked in free
// text: shorter values ("page=2") are too likely to occur by chance.
const minSecretLen = 4

// urlSecrets returns the password and the query values of raw, longest
// first, so that they can be masked in free text such as a panic message.
func urlSecrets(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	var s []string
	if p, ok := u.User.Password(); ok && p != "" {
		s = append(s, p, url.PathEscape(p), url.QueryEscape(p))
	}
	for k, vs := range u.Query() {
		for _, v := range vs {
			if v == "" {
				v = k // "?<token>": the key is the secret
			}
			if len(v) >= minSecretLen {
				s = append(s, v, url.QueryEscape(v), url.PathEscape(v))
			}
		}
	}
	slices.SortFunc(s, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(s)
}
