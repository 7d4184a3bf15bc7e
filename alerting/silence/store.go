package silence

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Store holds silences by ID, within the bounds of its Config. It is not
// safe for concurrent use: its owner guards it, and changes a Clone to
// keep the silences it shows as they are until a change is saved.
type Store struct {
	cfg  Config // with defaults; read only
	byID map[string]*entry
}

// entry is a kept silence with its compiled matchers. An expired silence
// mutes nothing and keeps none: m is nil once the store has seen it
// expired (see releaseExpired), so that only the silences that can still
// mute hold compiled regular expressions. Entries are never changed in
// place: a Mutes or a Clone made earlier keeps the ones it has whole.
type entry struct {
	s Silence // Status unset
	m matchers
}

// NewStore returns an empty store with the bounds of cfg, whose zero
// fields take their defaults.
func NewStore(cfg Config) *Store {
	return &Store{cfg: cfg.withDefaults(), byID: map[string]*entry{}}
}

// Clone returns a copy of the store that changes apart from it. It copies
// the index only: silences are shared, and never changed in place.
func (st *Store) Clone() *Store {
	byID := make(map[string]*entry, len(st.byID)+1)
	for id, e := range st.byID {
		byID[id] = e
	}
	return &Store{cfg: st.cfg, byID: byID}
}

// Create adds a silence and returns it with its ID and state at now. The
// ID must be empty (silences are not updated in place: expire one and
// create another); the store gives it a random version 4 UUID, as
// Alertmanager's silence IDs are. A zero or past StartsAt means now; one
// further ahead than Config.MaxDuration is refused.
//
// It returns an *Error wrapping ErrInvalid when the silence cannot be
// kept as written (several joined), one wrapping ErrTooLarge when it is
// beyond a bound of Config on its size (MaxSize, MaxMatchers,
// MaxRegexLength, MaxRegexMemory; Limit names it), and one wrapping
// ErrTooMany when Config.MaxSilences silences are pending or active.
func (st *Store) Create(s Silence, now time.Time) (Silence, error) {
	e, err := st.check(s, now)
	if err != nil {
		return Silence{}, err
	}
	// At most MaxSilences silences, those pending or active, hold compiled
	// matchers.
	st.releaseExpired(now)
	if n := st.live(now); n >= st.cfg.MaxSilences {
		return Silence{}, &Error{Reason: fmt.Sprintf("%d silences are pending or active, the maximum", n), Limit: "MaxSilences", Err: ErrTooMany}
	}
	st.byID[e.s.ID] = e
	return e.public(now), nil
}

// check validates a new silence and returns its entry, with its ID, start
// and update time set.
func (st *Store) check(s Silence, now time.Time) (*entry, error) {
	var errs []error
	if s.ID != "" {
		errs = append(errs, invalid("id", "must be empty: a silence gets its ID when created, and is not updated (expire it and create another)"))
	}
	if s.StartsAt.IsZero() || s.StartsAt.Before(now) {
		s.StartsAt = now
	}
	maxDur := st.cfg.MaxDuration
	if ahead := s.StartsAt.Sub(now); ahead > maxDur {
		errs = append(errs, &Error{Field: "startsAt", Limit: "MaxDuration", Err: ErrInvalid,
			Reason: fmt.Sprintf("%s is %s from now, further ahead than the maximum %s", s.StartsAt.UTC().Format(time.RFC3339), ahead, maxDur)})
	}
	switch {
	case s.EndsAt.IsZero():
		errs = append(errs, invalid("endsAt", "is required"))
	case !s.EndsAt.After(s.StartsAt):
		errs = append(errs, invalid("endsAt", "%s is not after startsAt %s", s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339)))
	case s.EndsAt.Sub(s.StartsAt) > maxDur:
		errs = append(errs, &Error{Field: "endsAt", Limit: "MaxDuration", Err: ErrInvalid,
			Reason: fmt.Sprintf("the silence lasts %s, longer than the maximum %s", s.EndsAt.Sub(s.StartsAt), maxDur)})
	}
	s.ID = uuid.NewString()
	s.UpdatedAt = now
	e, err := st.newEntry(s)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return e, nil
}

// newEntry checks s against the store's bounds and compiles its matchers;
// the errors are *Errors. The bounds on the number and size of the
// matchers are checked first: past them nothing is compiled.
func (st *Store) newEntry(s Silence) (*entry, error) {
	b := &st.cfg
	switch {
	case len(s.Matchers) == 0:
		return nil, invalid("matchers", "at least one matcher is required")
	case len(s.Matchers) > b.MaxMatchers:
		return nil, tooLarge("matchers", "MaxMatchers", "%d matchers, more than the maximum %d", len(s.Matchers), b.MaxMatchers)
	}
	if n := textSize(&s); n > b.MaxSize {
		return nil, tooLarge("", "MaxSize", "the silence's text (matchers, createdBy and comment) is %d bytes, more than the maximum %d", n, b.MaxSize)
	}
	ms, ferrs, berrs := compileMatchers("matchers", s.Matchers, regexBounds{maxLength: b.MaxRegexLength, maxMemory: b.MaxRegexMemory})
	var errs []error
	for _, fe := range ferrs {
		reason := fe.Reason
		if fe.Value != "" {
			reason = fe.Value + ": " + reason
		}
		errs = append(errs, invalid(fe.Field, "%s", reason))
	}
	for _, be := range berrs {
		errs = append(errs, tooLarge(be.field, be.limit, "%s", be.reason))
	}
	if len(errs) == 0 && ms.matchesEmpty() {
		errs = append(errs, invalid("matchers", "at least one matcher must not match the empty string, or the silence would mute every alert"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.Status = Status{}
	s.Matchers = slices.Clone(s.Matchers)
	return &entry{s: s, m: ms}, nil
}

// Expire ends the silence id at now and returns it. Expiring an expired
// silence changes nothing. Past Config.MaxSilences expired silences, the
// one that ended first is dropped. It returns an error wrapping
// ErrNotFound for an unknown ID.
func (st *Store) Expire(id string, now time.Time) (Silence, error) {
	old, ok := st.byID[id]
	if !ok {
		return Silence{}, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if old.s.StateAt(now) == Expired {
		return old.public(now), nil
	}
	next := &entry{s: old.s.clone()} // expired: no compiled matchers
	next.s.EndsAt, next.s.UpdatedAt = now, now
	if next.s.StartsAt.After(now) {
		next.s.StartsAt = now
	}
	st.byID[id] = next
	st.trimExpired(now, st.cfg.MaxSilences)
	return next.public(now), nil
}

// Get returns a copy of the silence id with its state at now.
func (st *Store) Get(id string, now time.Time) (Silence, bool) {
	e, ok := st.byID[id]
	if !ok {
		return Silence{}, false
	}
	return e.public(now), true
}

// Restore adds a silence as a state file kept it, ID and times included,
// held to the store's bounds (a silence saved under larger bounds is
// refused with the *Error Create would return). Whether it is expired is
// read at now.
func (st *Store) Restore(s Silence, now time.Time) error {
	e, err := st.newEntry(s)
	if err != nil {
		return err
	}
	if e.s.StateAt(now) == Expired {
		e.m = nil
	}
	st.byID[s.ID] = e
	return nil
}

// All returns copies of every silence kept, in ID order, without their
// status: what a state file keeps.
func (st *Store) All() []Silence {
	out := make([]Silence, 0, len(st.byID))
	for _, e := range st.byID {
		out = append(out, e.s.clone())
	}
	slices.SortFunc(out, func(a, b Silence) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// List returns copies of the silences with their state at now: active
// ones first (ending soonest first), then pending (starting soonest
// first), then expired (most recently ended first), then by ID.
func (st *Store) List(now time.Time) []Silence {
	out := make([]Silence, 0, len(st.byID))
	for _, e := range st.byID {
		out = append(out, e.public(now))
	}
	rank := map[State]int{Active: 0, Pending: 1, Expired: 2}
	slices.SortFunc(out, func(a, b Silence) int {
		if d := rank[a.Status.State] - rank[b.Status.State]; d != 0 {
			return d
		}
		var c int
		switch a.Status.State {
		case Active:
			c = a.EndsAt.Compare(b.EndsAt)
		case Pending:
			c = a.StartsAt.Compare(b.StartsAt)
		default:
			c = b.EndsAt.Compare(a.EndsAt)
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Prune drops the silences that expired more than Config.Retention before
// now, and the expired ones that ended first past Config.MaxSilences; it
// reports whether it dropped any.
func (st *Store) Prune(now time.Time) bool {
	dropped := false
	for id, e := range st.byID {
		if now.Sub(e.s.EndsAt) > st.cfg.Retention {
			delete(st.byID, id)
			dropped = true
		}
	}
	return st.trimExpired(now, st.cfg.MaxSilences) || dropped
}

// live returns how many silences are pending or active at now.
func (st *Store) live(now time.Time) int {
	n := 0
	for _, e := range st.byID {
		if e.s.StateAt(now) != Expired {
			n++
		}
	}
	return n
}

// releaseExpired lets the silences expired at now drop their compiled
// matchers. Each gets a new entry: a Mutes made earlier keeps the old one
// whole.
func (st *Store) releaseExpired(now time.Time) {
	for id, e := range st.byID {
		if e.m != nil && e.s.StateAt(now) == Expired {
			st.byID[id] = &entry{s: e.s}
		}
	}
}

// trimExpired drops the expired silences that ended first until at most
// keep are left, and reports whether it dropped any. Dropping an expired
// silence changes no alert: it mutes nothing.
func (st *Store) trimExpired(now time.Time, keep int) bool {
	var expired []*entry
	for _, e := range st.byID {
		if e.s.StateAt(now) == Expired {
			expired = append(expired, e)
		}
	}
	over := len(expired) - keep
	if over <= 0 {
		return false
	}
	slices.SortFunc(expired, func(a, b *entry) int {
		if c := a.s.EndsAt.Compare(b.s.EndsAt); c != 0 {
			return c
		}
		return strings.Compare(a.s.ID, b.s.ID)
	})
	for _, e := range expired[:over] {
		delete(st.byID, e.s.ID)
	}
	return true
}

func (e *entry) public(now time.Time) Silence {
	s := e.s.clone()
	s.Status = Status{State: s.StateAt(now)}
	return s
}
