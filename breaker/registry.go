package breaker

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds one breaker per service name, created on first use. It is
// safe for concurrent use; Get of an existing breaker takes no lock.
type Registry struct {
	overrides map[string]Config // copied in NewRegistry; read-only
	opts      []Option          // applied to every breaker
	optsErr   error             // what is wrong with opts; Get reports it
	max       int

	// breakers is replaced, never changed in place, so Get reads it
	// without a lock.
	breakers atomic.Pointer[map[string]*Breaker]

	mu   sync.Mutex // serialises creation and SetMode
	mode Mode       // guarded by mu; the mode of breakers created next
}

// NewRegistry returns an empty registry. Get(service) configures a new
// breaker as DefaultConfigFor(service) merged with overrides[service] (see
// Config.Merge), so an override sets only the fields it changes; services
// absent from DefaultConfigs may be configured here too. opts apply to every
// breaker: a shared clock or listener, WithOpenTimeoutOverride for demos,
// WithMaxBreakers for the registry's bound. Invalid overrides or options are
// reported by Get.
func NewRegistry(overrides map[string]Config, opts ...Option) *Registry {
	o := newOptions(opts)
	r := &Registry{
		overrides: maps.Clone(overrides),
		opts:      slices.Clone(opts),
		optsErr:   o.validate(),
		max:       o.maxBreakers,
		mode:      o.mode,
	}
	r.breakers.Store(&map[string]*Breaker{})
	return r
}

// Get returns the breaker of service, creating it on first use. It returns
// an error for an empty name, an invalid configuration (*ConfigError), or
// when the registry already holds its maximum of breakers (ErrRegistryFull).
func (r *Registry) Get(service string) (*Breaker, error) {
	if b, ok := (*r.breakers.Load())[service]; ok {
		return b, nil
	}
	return r.create(service)
}

func (r *Registry) create(service string) (*Breaker, error) {
	if service == "" {
		return nil, &ConfigError{Field: "name", Reason: "must not be empty"}
	}
	if r.optsErr != nil {
		return nil, fmt.Errorf("breaker %q: %w", service, r.optsErr)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.breakers.Load()
	if b, ok := old[service]; ok {
		return b, nil
	}
	if len(old) >= r.max {
		return nil, fmt.Errorf("breaker %q: %w (limit %d)", service, ErrRegistryFull, r.max)
	}
	cfg := DefaultConfigFor(service).Merge(r.overrides[service])
	b, err := New(service, cfg, append(r.opts[:len(r.opts):len(r.opts)], WithMode(r.mode))...)
	if err != nil {
		return nil, err
	}
	m := make(map[string]*Breaker, len(old)+1)
	maps.Copy(m, old)
	m[service] = b
	r.breakers.Store(&m)
	return b, nil
}

// Breakers returns the registry's breakers sorted by name.
func (r *Registry) Breakers() []*Breaker {
	bs := slices.Collect(maps.Values(*r.breakers.Load()))
	slices.SortFunc(bs, func(a, b *Breaker) int { return strings.Compare(a.name, b.name) })
	return bs
}

// Stats returns a snapshot of every breaker, sorted by name: what an
// observable-instrument callback exports at collection time.
func (r *Registry) Stats() []Stats {
	bs := r.Breakers()
	s := make([]Stats, len(bs))
	for i, b := range bs {
		s[i] = b.Stats()
	}
	return s
}

// SetMode sets the mode of every breaker in the registry and of those it
// creates later. Listeners of breakers that change state run before SetMode
// returns. Values other than the four modes are ignored. Concurrent calls
// race; each breaker ends in the mode of one of them.
func (r *Registry) SetMode(m Mode) {
	if !m.valid() {
		return
	}
	r.mu.Lock()
	r.mode = m
	bs := *r.breakers.Load()
	r.mu.Unlock()
	for _, b := range bs {
		b.SetMode(m)
	}
}

// Mode returns the mode that breakers created next start in: the last
// SetMode, or WithMode given to NewRegistry.
func (r *Registry) Mode() Mode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mode
}
