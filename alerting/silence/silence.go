package silence

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Silence mutes the alerts its matchers select from StartsAt to EndsAt.
// Values are snapshots: a Store hands out copies.
//
// A muted alert is still evaluated and listed, with the silence's ID in
// its SilencedBy (a resolved alert lists none); no notifier hears of it
// while it is muted, neither its firing, nor reminders, nor its
// resolution, and a firing kept from the notifiers does not count for the
// rule's rate limit. When the silence ends and the alert still fires,
// every notifier gets it once, whatever the rate limit; when it resolved
// meanwhile, they get nothing.
//
// One thing goes on: a Resender (the Alertmanager notifier) that was told
// the alert fires before it was muted keeps getting its resends while it
// stays muted and firing. They are the same alert with a refreshed end,
// not a new notice (Alertmanager deduplicates them, and applies its own
// silences); without them Alertmanager would resolve the alert on its own
// and its receivers would hear of a recovery that did not happen. It gets
// no new firing notice and no resolved notice while the alert is muted; if
// the alert resolves muted, the resends stop, and Alertmanager then
// resolves it itself, which is then true. A Resender that did not know the
// alert as firing gets nothing while it is muted.
type Silence struct {
	// ID identifies the silence; the store sets it on creation.
	ID string `json:"id"`
	// Matchers select the alerts; all must match. Required: at least one,
	// and at least one that does not match the empty string, so that a
	// silence cannot mute every alert by accident.
	Matchers []Matcher `json:"matchers"`
	// StartsAt is when the silence starts; zero or past means now. At
	// most Config.MaxDuration from now.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it ends. Required: after StartsAt and in the future,
	// at most Config.MaxDuration after StartsAt.
	EndsAt time.Time `json:"endsAt"`
	// UpdatedAt is when the silence was created or last expired; the
	// store sets it.
	UpdatedAt time.Time `json:"updatedAt"`
	// CreatedBy says who created it; Comment why. Optional.
	CreatedBy string `json:"createdBy"`
	Comment   string `json:"comment"`
	// Status is the silence's state when it was read; the store sets it.
	Status Status `json:"status"`
}

// StateAt returns the silence's state at now: pending before StartsAt,
// active until EndsAt, expired from then on.
func (s *Silence) StateAt(now time.Time) State {
	switch {
	case !now.Before(s.EndsAt):
		return Expired
	case now.Before(s.StartsAt):
		return Pending
	}
	return Active
}

func (s Silence) clone() Silence {
	s.Matchers = slices.Clone(s.Matchers)
	return s
}

// textSize returns the bytes of s's text that Config.MaxSize bounds.
func textSize(s *Silence) int {
	n := len(s.CreatedBy) + len(s.Comment)
	for _, m := range s.Matchers {
		n += len(m.Name) + len(m.Value)
	}
	return n
}

// State is where a silence is in time. The zero value is Pending.
type State int

// Silence states.
const (
	Pending State = iota // its start is in the future
	Active               // it mutes the alerts it matches
	Expired              // it has ended (or was expired)
)

// String returns "pending", "active" or "expired".
func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Active:
		return "active"
	case Expired:
		return "expired"
	}
	return fmt.Sprintf("SilenceState(%d)", int(s))
}

// MarshalText encodes the state as its String form.
func (s State) MarshalText() ([]byte, error) {
	if s < Pending || s > Expired {
		return nil, fmt.Errorf("alerting: invalid silence state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state from its String form.
func (s *State) UnmarshalText(b []byte) error {
	for _, v := range []State{Pending, Active, Expired} {
		if strings.EqualFold(string(b), v.String()) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("alerting: unknown silence state %q", b)
}

// Status is a silence's status, as Alertmanager's v2 API nests it.
type Status struct {
	State State `json:"state"`
}

// Defaults applied to the zero fields of Config.
const (
	DefaultMaxDuration    = 30 * 24 * time.Hour
	DefaultMaxSilences    = 1000
	DefaultRetention      = 120 * time.Hour
	DefaultMaxSize        = 4 << 10
	DefaultMaxMatchers    = 32
	DefaultMaxRegexLength = 1 << 10
	DefaultMaxRegexMemory = 48 << 10
	DefaultRefresh        = 15 * time.Second
)

// Config bounds silences. The zero value is valid: zero fields (and, for
// NewStore, negative ones) take their defaults; alerting.New refuses
// negative ones (a *ConfigError naming Silences.<field>).
type Config struct {
	// MaxDuration is the longest a silence may last, from its start to its
	// end; a longer one is refused with ErrInvalid. Recurring quiet
	// times are maintenance windows. Default 30 days.
	MaxDuration time.Duration
	// MaxSilences bounds the silences pending or active at once; past it
	// Store.Create returns ErrTooMany. It bounds the expired silences
	// kept as well: past it the one that ended first is dropped before its
	// Retention, so that the silences kept (and the state file) stay
	// bounded however many are created and expired. Default 1000.
	MaxSilences int
	// Retention is how long an expired silence is kept for the API (and in
	// the state file) after its end, within MaxSilences. Default 120 h, as
	// Alertmanager's.
	Retention time.Duration

	// The bounds below keep what the silences cost bounded: with the
	// defaults, MaxSilences pending or active silences at the largest,
	// and as many expired ones, take under 64 MiB of heap (50 MiB for the
	// costliest shape TestMaxSilencesHeap tries). A silence beyond one of
	// them is refused with an *Error wrapping ErrTooLarge whose Limit
	// names the field. Silences restored from a state file are held to
	// them too: one saved under larger bounds is dropped.

	// MaxSize bounds a silence's text, in bytes: its matchers' names and
	// values, CreatedBy and Comment, as Alertmanager's
	// --silences.max-silence-size-bytes bounds its silences. It bounds the
	// state file, rewritten at every change: with the defaults, twice
	// MaxSilences silences at the largest take 11.4 MiB of it (JSON adds
	// about 60 bytes a matcher). Default 4 KiB.
	MaxSize int
	// MaxMatchers bounds a silence's matchers. Default 32.
	MaxMatchers int
	// MaxRegexLength bounds each regular expression of a silence, in bytes
	// as written. Default 1 KiB.
	MaxRegexLength int
	// MaxRegexMemory bounds the memory a silence's regular expressions
	// take once compiled, in bytes, as estimated from their programs
	// before they are made; the estimate errs high. An expression costs
	// by its shape more than by its length: service=~"imdb|tmdb" is
	// estimated at 3.4 KiB, a literal at about 170 bytes a character,
	// a{100} as a hundred characters, a Unicode class such as \pL at
	// 33 KiB. An expired silence keeps no compiled expressions. Default
	// 48 KiB: an alternation of 13 host names such as
	// web-01.prod.example.com fits.
	MaxRegexMemory int

	// Refresh is how often the silences of an Alertmanager cluster are
	// fetched, when they are the cluster's (see alerting.Engine.CreateSilence):
	// a silence made elsewhere in the cluster mutes this process's
	// notifiers at most Refresh after it was made, as long as the cluster
	// answers. The bounds above hold for the silences fetched too. Default
	// 15 s.
	Refresh time.Duration
}

// withDefaults returns c with its zero and negative fields defaulted.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur(&c.MaxDuration, DefaultMaxDuration)
	def(&c.MaxSilences, DefaultMaxSilences)
	defDur(&c.Retention, DefaultRetention)
	def(&c.MaxSize, DefaultMaxSize)
	def(&c.MaxMatchers, DefaultMaxMatchers)
	def(&c.MaxRegexLength, DefaultMaxRegexLength)
	def(&c.MaxRegexMemory, DefaultMaxRegexMemory)
	defDur(&c.Refresh, DefaultRefresh)
	return c
}
