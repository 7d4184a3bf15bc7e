package breaker

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxBreakers is the number of breakers a Registry holds when
// RegistryConfig.MaxBreakers is zero.
const DefaultMaxBreakers = 64

// RegistryConfig configures a Registry. Its zero value is valid: every
// breaker gets the zero Config (the defaults), up to DefaultMaxBreakers.
type RegistryConfig struct {
	// ConfigFor returns the configuration of the breaker made for a name,
	// on its first Get. The registry knows no names of its own: a caller
	// with per-name defaults (otelmon's per-service table, say) puts them
	// here. Optional; nil means the zero Config for every name.
	ConfigFor func(name string) Config
	// MaxBreakers bounds how many breakers the registry creates, so that
	// unbounded names (from user input, say) cannot grow memory without
	// limit; Get beyond it returns an error wrapping ErrRegistryFull.
	// Optional; zero means DefaultMaxBreakers (64); negative is invalid
	// (a *ConfigError, reported by Get).
	MaxBreakers int
}

// Registry holds one breaker per name, created on first use. It is safe
// for concurrent use; Get of an existing breaker takes no lock.
type Registry struct {
	configFor func(string) Config // never nil
	opts      []Option            // applied to every breaker
	optsErr   error               // what is wrong with cfg or opts; Get reports it
	max       int

	// breakers is replaced, never changed in place, so Get reads it
	// without a lock.
	breakers atomic.Pointer[map[string]*Breaker]

	mu   sync.Mutex // serialises creation and SetMode
	mode Mode       // guarded by mu; the mode of breakers created next
}

// NewRegistry returns an empty registry. Get(name) configures a new
// breaker with cfg.ConfigFor(name). opts apply to every breaker: a shared
// clock or listener, WithOpenTimeoutOverride for demos, WithMode. Invalid
// options, a negative MaxBreakers and invalid configurations are reported
// by Get.
func NewRegistry(cfg RegistryConfig, opts ...Option) *Registry {
	o := newOptions(opts)
	r := &Registry{
		configFor: cfg.ConfigFor,
		opts:      slices.Clone(opts),
		optsErr:   o.validate(),
		max:       cmp.Or(cfg.MaxBreakers, DefaultMaxBreakers),
		mode:      o.mode,
	}
	if r.configFor == nil {
		r.configFor = func(string) Config { return Config{} }
	}
	if cfg.MaxBreakers < 0 {
		r.optsErr = errors.Join(r.optsErr, &ConfigError{Field: "MaxBreakers", Value: strconv.Itoa(cfg.MaxBreakers), Reason: "must not be negative"})
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
	b, err := New(service, r.configFor(service), append(r.opts[:len(r.opts):len(r.opts)], WithMode(r.mode))...)
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
