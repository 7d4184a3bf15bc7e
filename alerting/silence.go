package alerting

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Silences and maintenance windows, with Alertmanager's semantics inside
// the process. A silence mutes the alerts its matchers select from its
// start to its end; a maintenance window mutes the alerts its matchers
// select while the time is inside one of its recurring intervals. A muted
// alert is still evaluated and listed, with the silences (SilencedBy) and
// windows (MutedBy) that mute it, but no notifier hears of it: neither its
// firing, nor reminders, nor its resolution. The one exception are the
// resends a Resender already gets of an alert it knows as firing: they go
// on while the alert fires muted (see Silence). When it is no longer muted
// and still fires, the notifiers get it once; when it resolved meanwhile,
// they get nothing. The lifecycle applies this (see step); this file holds
// the silences, what mutes an alert at an instant (muteSet) and the
// Engine's silence API; matcher.go the matchers, window.go the windows.

// Sentinel errors of silences; the errors returned wrap them, most inside a
// *SilenceError.
var (
	// ErrInvalidSilence is wrapped by the *SilenceError CreateSilence and
	// SilenceAlert return for a silence that cannot be kept as written: no
	// matchers, a regular expression that does not compile, a matcher name
	// or value with a control or invisible formatting character, an end
	// before the start or in the past, longer than
	// SilenceConfig.MaxDuration, a start further ahead than
	// SilenceConfig.MaxDuration.
	ErrInvalidSilence = errors.New("alerting: invalid silence")
	// ErrSilenceNotFound is returned by ExpireSilence for an ID the engine
	// does not know (never created, or dropped after its retention).
	ErrSilenceNotFound = errors.New("alerting: silence not found")
	// ErrTooManySilences is wrapped by the *SilenceError CreateSilence
	// returns when SilenceConfig.MaxSilences silences are pending or active.
	ErrTooManySilences = errors.New("alerting: too many silences")
	// ErrSilenceTooLarge is wrapped by the *SilenceError CreateSilence and
	// SilenceAlert return for a silence beyond one of the bounds of
	// SilenceConfig on its size: MaxSize, MaxMatchers, MaxRegexLength or
	// MaxRegexMemory, which the error's Limit names.
	ErrSilenceTooLarge = errors.New("alerting: silence too large")
)

// SilenceError reports what is wrong with a silence. It wraps
// ErrInvalidSilence, ErrSilenceTooLarge or ErrTooManySilences; several are
// joined with errors.Join.
type SilenceError struct {
	// Field is the Silence field at fault, e.g. "endsAt" or
	// "matchers[1].value"; empty when the error is about the whole silence.
	Field string
	// Reason says what is wrong in words.
	Reason string
	// Limit is the SilenceConfig field whose bound the silence exceeds,
	// e.g. "MaxRegexLength"; empty when no bound is at fault.
	Limit string
	// Err is the sentinel this error wraps.
	Err error
}

// Error names the field, the reason and the limit.
func (e *SilenceError) Error() string {
	msg := e.Err.Error()
	if e.Field != "" {
		msg += ": " + e.Field
	}
	return msg + ": " + e.Reason + e.limitSuffix()
}

// ReasonWithLimit returns Reason followed by the limit at fault, if any,
// as " (SilenceConfig.MaxRegexLength)".
func (e *SilenceError) ReasonWithLimit() string { return e.Reason + e.limitSuffix() }

func (e *SilenceError) limitSuffix() string {
	if e.Limit == "" {
		return ""
	}
	return " (SilenceConfig." + e.Limit + ")"
}

// Unwrap returns the wrapped sentinel.
func (e *SilenceError) Unwrap() error { return e.Err }

func invalidSilence(field, format string, args ...any) error {
	return &SilenceError{Field: field, Reason: fmt.Sprintf(format, args...), Err: ErrInvalidSilence}
}

func silenceTooLarge(field, limit, format string, args ...any) error {
	return &SilenceError{Field: field, Reason: fmt.Sprintf(format, args...), Limit: limit, Err: ErrSilenceTooLarge}
}

// SilenceState is where a silence is in time. The zero value is
// SilencePending.
type SilenceState int

// Silence states.
const (
	SilencePending SilenceState = iota // its start is in the future
	SilenceActive                      // it mutes the alerts it matches
	SilenceExpired                     // it has ended (or was expired)
)

// String returns "pending", "active" or "expired".
func (s SilenceState) String() string {
	switch s {
	case SilencePending:
		return "pending"
	case SilenceActive:
		return "active"
	case SilenceExpired:
		return "expired"
	}
	return fmt.Sprintf("SilenceState(%d)", int(s))
}

// MarshalText encodes the state as its String form.
func (s SilenceState) MarshalText() ([]byte, error) {
	if s < SilencePending || s > SilenceExpired {
		return nil, fmt.Errorf("alerting: invalid silence state %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes a state from its String form.
func (s *SilenceState) UnmarshalText(b []byte) error {
	for _, v := range []SilenceState{SilencePending, SilenceActive, SilenceExpired} {
		if strings.EqualFold(string(b), v.String()) {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("alerting: unknown silence state %q", b)
}

// SilenceStatus is a silence's status, as Alertmanager's v2 API nests it.
type SilenceStatus struct {
	State SilenceState `json:"state"`
}

// Silence mutes the alerts its matchers select from StartsAt to EndsAt.
// Values are snapshots: the engine hands out copies.
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
	// ID identifies the silence; the engine sets it on creation.
	ID string `json:"id"`
	// Matchers select the alerts; all must match. Required: at least one,
	// and at least one that does not match the empty string, so that a
	// silence cannot mute every alert by accident.
	Matchers []Matcher `json:"matchers"`
	// StartsAt is when the silence starts; zero or past means now. At
	// most SilenceConfig.MaxDuration from now.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it ends. Required: after StartsAt and in the future,
	// at most SilenceConfig.MaxDuration after StartsAt.
	EndsAt time.Time `json:"endsAt"`
	// UpdatedAt is when the silence was created or last expired; the
	// engine sets it.
	UpdatedAt time.Time `json:"updatedAt"`
	// CreatedBy says who created it; Comment why. Optional.
	CreatedBy string `json:"createdBy"`
	Comment   string `json:"comment"`
	// Status is the silence's state when it was read; the engine sets it.
	Status SilenceStatus `json:"status"`
}

// stateAt returns the silence's state at now.
func (s *Silence) stateAt(now time.Time) SilenceState {
	switch {
	case !now.Before(s.EndsAt):
		return SilenceExpired
	case now.Before(s.StartsAt):
		return SilencePending
	}
	return SilenceActive
}

func cloneSilence(s Silence) Silence {
	s.Matchers = slices.Clone(s.Matchers)
	return s
}

// silenceEntry is a kept silence with its compiled matchers. An expired
// silence mutes nothing and keeps none: m is nil once the store has seen
// it expired (see releaseExpired), so that only the silences that can
// still mute hold compiled regular expressions.
type silenceEntry struct {
	s Silence // Status unset
	m []labelMatcher
}

// textSize returns the bytes of s's text that SilenceConfig.MaxSize bounds.
func textSize(s *Silence) int {
	n := len(s.CreatedBy) + len(s.Comment)
	for _, m := range s.Matchers {
		n += len(m.Name) + len(m.Value)
	}
	return n
}

// newEntry checks s against the store's bounds and compiles its matchers;
// the errors are *SilenceErrors. The bounds on the number and size of the
// matchers are checked first: past them nothing is compiled.
func (st *silenceStore) newEntry(s Silence) (*silenceEntry, error) {
	b := &st.bounds
	switch {
	case len(s.Matchers) == 0:
		return nil, invalidSilence("matchers", "at least one matcher is required")
	case len(s.Matchers) > b.MaxMatchers:
		return nil, silenceTooLarge("matchers", "MaxMatchers", "%d matchers, more than the maximum %d", len(s.Matchers), b.MaxMatchers)
	}
	if n := textSize(&s); n > b.MaxSize {
		return nil, silenceTooLarge("", "MaxSize", "the silence's text (matchers, createdBy and comment) is %d bytes, more than the maximum %d", n, b.MaxSize)
	}
	ms, ferrs, berrs := compileMatchersBounded("matchers", s.Matchers, regexBounds{maxLength: b.MaxRegexLength, maxMemory: b.MaxRegexMemory})
	var errs []error
	for _, fe := range ferrs {
		reason := fe.reason
		if fe.value != "" {
			reason = fe.value + ": " + reason
		}
		errs = append(errs, invalidSilence(fe.field, "%s", reason))
	}
	for _, be := range berrs {
		errs = append(errs, silenceTooLarge(be.field, be.limit, "%s", be.reason))
	}
	if len(errs) == 0 && matchesEmpty(ms) {
		errs = append(errs, invalidSilence("matchers", "at least one matcher must not match the empty string, or the silence would mute every alert"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.Status = SilenceStatus{}
	s.Matchers = slices.Clone(s.Matchers)
	return &silenceEntry{s: s, m: ms}, nil
}

// matchesEmpty reports whether every matcher matches the empty string.
func matchesEmpty(ms []labelMatcher) bool {
	for i := range ms {
		if !ms[i].matches("") {
			return false
		}
	}
	return true
}

// silenceStore holds the silences by ID. It is not safe for concurrent
// use: the engine guards it with its mu.
type silenceStore struct {
	bounds SilenceConfig // with defaults; read only
	byID   map[string]*silenceEntry
}

func newSilenceStore(bounds SilenceConfig) *silenceStore {
	return &silenceStore{bounds: bounds, byID: map[string]*silenceEntry{}}
}

// live returns how many silences are pending or active at now.
func (st *silenceStore) live(now time.Time) int {
	n := 0
	for _, e := range st.byID {
		if e.s.stateAt(now) != SilenceExpired {
			n++
		}
	}
	return n
}

// releaseExpired lets the silences expired at now drop their compiled
// matchers. Each gets a new entry: a muteSet built earlier keeps the old
// one whole.
func (st *silenceStore) releaseExpired(now time.Time) {
	for id, e := range st.byID {
		if e.m != nil && e.s.stateAt(now) == SilenceExpired {
			st.byID[id] = &silenceEntry{s: e.s}
		}
	}
}

// prune drops silences that expired more than retention ago, and the
// expired ones that ended first past maxExpired; it reports whether it
// dropped any.
func (st *silenceStore) prune(now time.Time, retention time.Duration, maxExpired int) bool {
	dropped := false
	for id, e := range st.byID {
		if now.Sub(e.s.EndsAt) > retention {
			delete(st.byID, id)
			dropped = true
		}
	}
	return len(st.trimExpired(now, maxExpired)) > 0 || dropped
}

// trimExpired drops the expired silences that ended first until at most
// keep are left, and returns those it dropped. Dropping an expired silence
// changes no alert: it mutes nothing.
func (st *silenceStore) trimExpired(now time.Time, keep int) []*silenceEntry {
	var expired []*silenceEntry
	for _, e := range st.byID {
		if e.s.stateAt(now) == SilenceExpired {
			expired = append(expired, e)
		}
	}
	over := len(expired) - keep
	if over <= 0 {
		return nil
	}
	slices.SortFunc(expired, func(a, b *silenceEntry) int {
		if c := a.s.EndsAt.Compare(b.s.EndsAt); c != 0 {
			return c
		}
		return strings.Compare(a.s.ID, b.s.ID)
	})
	for _, e := range expired[:over] {
		delete(st.byID, e.s.ID)
	}
	return expired[:over]
}

// list returns copies of the silences with their state at now: active
// ones first (ending soonest first), then pending (starting soonest
// first), then expired (most recently ended first), then by ID.
func (st *silenceStore) list(now time.Time) []Silence {
	out := make([]Silence, 0, len(st.byID))
	for _, e := range st.byID {
		out = append(out, e.public(now))
	}
	rank := map[SilenceState]int{SilenceActive: 0, SilencePending: 1, SilenceExpired: 2}
	slices.SortFunc(out, func(a, b Silence) int {
		if d := rank[a.Status.State] - rank[b.Status.State]; d != 0 {
			return d
		}
		var c int
		switch a.Status.State {
		case SilenceActive:
			c = a.EndsAt.Compare(b.EndsAt)
		case SilencePending:
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

func (e *silenceEntry) public(now time.Time) Silence {
	s := cloneSilence(e.s)
	s.Status = SilenceStatus{State: s.stateAt(now)}
	return s
}

// saved returns the silences to write to the state file, in ID order.
func (st *silenceStore) saved() []savedSilence {
	out := make([]savedSilence, 0, len(st.byID))
	for _, e := range st.byID {
		s := &e.s
		out = append(out, savedSilence{ID: s.ID, Matchers: toSaved(s.Matchers), StartsAt: s.StartsAt, EndsAt: s.EndsAt,
			UpdatedAt: s.UpdatedAt, CreatedBy: s.CreatedBy, Comment: s.Comment})
	}
	slices.SortFunc(out, func(a, b savedSilence) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// muteSet is what mutes alerts at one instant: the active silences and the
// open maintenance windows. The engine builds one per change of state; the
// lifecycle asks it about each alert it steps.
type muteSet struct {
	silences []*silenceEntry // in ID order
	windows  []*window       // in configuration order
}

// of returns the IDs of the silences and the names of the windows that
// mute a, nil when none do.
func (ms *muteSet) of(a *Alert) (silencedBy, mutedBy []string) {
	for _, s := range ms.silences {
		if s.m != nil && matchesAlert(s.m, a) {
			silencedBy = append(silencedBy, s.s.ID)
		}
	}
	for _, w := range ms.windows {
		if matchesAlert(w.m, a) {
			mutedBy = append(mutedBy, w.name)
		}
	}
	return silencedBy, mutedBy
}

// muteSetLocked returns what mutes alerts at now. It is called with mu
// held.
func (e *Engine) muteSetLocked(now time.Time) *muteSet {
	ms := &muteSet{}
	for _, s := range e.silences.byID {
		if s.s.stateAt(now) == SilenceActive {
			ms.silences = append(ms.silences, s)
		}
	}
	slices.SortFunc(ms.silences, func(a, b *silenceEntry) int { return strings.Compare(a.s.ID, b.s.ID) })
	for _, w := range e.windows {
		if w.openAt(now) {
			ms.windows = append(ms.windows, w)
		}
	}
	return ms
}

// newSilenceID returns a random version 4 UUID, as Alertmanager's silence
// IDs are.
func newSilenceID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// CreateSilence adds a silence and returns it with its ID and state. The
// ID must be empty (silences are not updated in place: expire one and
// create another). A zero or past StartsAt means now; one further ahead
// than SilenceConfig.MaxDuration is refused. Alerts the silence
// matches are muted from its start: at once when it starts now, otherwise
// from the first evaluation after StartsAt.
//
// It returns a *SilenceError wrapping ErrInvalidSilence when the silence
// cannot be kept as written (several joined), one wrapping
// ErrSilenceTooLarge when it is beyond a bound of SilenceConfig on its size
// (MaxSize, MaxMatchers, MaxRegexLength, MaxRegexMemory; Limit names it),
// one wrapping ErrTooManySilences when SilenceConfig.MaxSilences silences
// are pending or active, and ErrShutdown after Shutdown. With Config.StatePath set, the
// silence is saved before CreateSilence returns; if it cannot be, the
// error wraps ErrNotSaved and the silence is not kept.
func (e *Engine) CreateSilence(s Silence) (Silence, error) {
	if !e.lockChange() {
		return Silence{}, ErrShutdown
	}
	defer e.evalMu.Unlock()
	now := e.clock.Now()
	ent, err := e.checkSilence(s, now)
	if err != nil {
		e.mu.Unlock()
		return Silence{}, err
	}
	// At most MaxSilences silences, those pending or active, hold compiled
	// matchers.
	e.silences.releaseExpired(now)
	if n := e.silences.live(now); n >= e.cfg.Silences.MaxSilences {
		e.mu.Unlock()
		return Silence{}, &SilenceError{Reason: fmt.Sprintf("%d silences are pending or active, the maximum", n), Limit: "MaxSilences", Err: ErrTooManySilences}
	}
	id := ent.s.ID
	put := func() { e.silences.byID[id] = ent }
	undo := func() { delete(e.silences.byID, id) }
	if err := e.saveSilenceChangeLocked(put, undo); err != nil {
		return Silence{}, fmt.Errorf("%w: silence: %w", ErrNotSaved, err)
	}
	return ent.public(now), nil
}

// lockChange takes evalMu and mu for a change of state and reports true;
// after Shutdown it takes neither and reports false. The caller releases
// both (mu through commitLocked or saveSilenceChangeLocked).
func (e *Engine) lockChange() bool {
	e.evalMu.Lock()
	e.mu.Lock()
	if e.stopped {
		e.mu.Unlock()
		e.evalMu.Unlock()
		return false
	}
	return true
}

// checkSilence validates a new silence and returns its entry, with its ID,
// start and update time set.
func (e *Engine) checkSilence(s Silence, now time.Time) (*silenceEntry, error) {
	var errs []error
	if s.ID != "" {
		errs = append(errs, invalidSilence("id", "must be empty: a silence gets its ID when created, and is not updated (expire it and create another)"))
	}
	if s.StartsAt.IsZero() || s.StartsAt.Before(now) {
		s.StartsAt = now
	}
	if ahead := s.StartsAt.Sub(now); ahead > e.cfg.Silences.MaxDuration {
		errs = append(errs, &SilenceError{Field: "startsAt", Limit: "MaxDuration", Err: ErrInvalidSilence,
			Reason: fmt.Sprintf("%s is %s from now, further ahead than the maximum %s", s.StartsAt.UTC().Format(time.RFC3339), ahead, e.cfg.Silences.MaxDuration)})
	}
	switch {
	case s.EndsAt.IsZero():
		errs = append(errs, invalidSilence("endsAt", "is required"))
	case !s.EndsAt.After(s.StartsAt):
		errs = append(errs, invalidSilence("endsAt", "%s is not after startsAt %s", s.EndsAt.UTC().Format(time.RFC3339), s.StartsAt.UTC().Format(time.RFC3339)))
	case s.EndsAt.Sub(s.StartsAt) > e.cfg.Silences.MaxDuration:
		errs = append(errs, &SilenceError{Field: "endsAt", Limit: "MaxDuration", Err: ErrInvalidSilence,
			Reason: fmt.Sprintf("the silence lasts %s, longer than the maximum %s", s.EndsAt.Sub(s.StartsAt), e.cfg.Silences.MaxDuration)})
	}
	s.ID = newSilenceID()
	s.UpdatedAt = now
	ent, err := e.silences.newEntry(s)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return ent, nil
}

// saveSilenceChangeLocked applies a change of the silences, saves the state
// with it and keeps it only if it was saved; then it mutes and unmutes the
// active alerts at once, queueing the notifications of those no longer
// muted. It is called with evalMu and mu held and releases mu.
func (e *Engine) saveSilenceChangeLocked(do, undo func()) error {
	var sf *stateFile
	do()
	sf = e.persist.snapshot(e.alerts.all)
	undo()
	e.mu.Unlock()
	if err := e.persist.write(sf); err != nil {
		return err
	}
	e.mu.Lock()
	do()
	p := e.newPass()
	for _, id := range sortedKeys(e.alerts.active) {
		rec := e.alerts.active[id]
		re := e.rules.get(rec.st.a.Rule)
		if re != nil && re.rule.Disabled {
			re = nil // a disabled rule notifies nothing; evaluation retires its alert
		}
		p.apply(rec, re, observation{kind: obsMute})
	}
	e.commitLocked(p)
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// ExpireSilence ends a silence now and returns it. Alerts it muted that
// are muted by nothing else and still fire are notified at once; those
// that resolved while it lasted are not. Expiring an expired silence
// changes nothing. Past SilenceConfig.MaxSilences expired silences, the
// one that ended first is dropped. It returns an error wrapping
// ErrSilenceNotFound for an unknown ID, ErrShutdown after Shutdown, and,
// with Config.StatePath set, one wrapping ErrNotSaved when the change
// could not be saved (the silence is then left as it was).
func (e *Engine) ExpireSilence(id string) (Silence, error) {
	if !e.lockChange() {
		return Silence{}, ErrShutdown
	}
	defer e.evalMu.Unlock()
	now := e.clock.Now()
	old, ok := e.silences.byID[id]
	if !ok {
		e.mu.Unlock()
		return Silence{}, fmt.Errorf("%w: %q", ErrSilenceNotFound, id)
	}
	if old.s.stateAt(now) == SilenceExpired {
		e.mu.Unlock()
		return old.public(now), nil
	}
	next := &silenceEntry{s: cloneSilence(old.s)} // expired: no compiled matchers
	next.s.EndsAt, next.s.UpdatedAt = now, now
	if next.s.StartsAt.After(now) {
		next.s.StartsAt = now
	}
	var trimmed []*silenceEntry
	put := func() {
		e.silences.byID[id] = next
		trimmed = e.silences.trimExpired(now, e.cfg.Silences.MaxSilences)
	}
	undo := func() {
		e.silences.byID[id] = old
		for _, t := range trimmed {
			e.silences.byID[t.s.ID] = t
		}
	}
	if err := e.saveSilenceChangeLocked(put, undo); err != nil {
		return Silence{}, fmt.Errorf("%w: expiry of silence %q: %w", ErrNotSaved, id, err)
	}
	return next.public(now), nil
}

// SilenceAlert silences exactly the alert with the given ID for d from now:
// its matchers are alertname (the rule) and each of its labels, equal. A
// resolved alert may be silenced too, to mute it if it fires again.
// Errors are those of CreateSilence, and ErrAlertNotFound for an unknown
// alert.
func (e *Engine) SilenceAlert(id string, d time.Duration, by, comment string) (Silence, error) {
	e.mu.Lock()
	rec, ok := e.alerts.all[id]
	var ms []Matcher
	if ok {
		a := &rec.st.a
		ms = append(ms, Matcher{Name: "alertname", Value: a.Rule})
		for _, k := range sortedKeys(a.Labels) {
			if k != "alertname" && k != "severity" {
				ms = append(ms, Matcher{Name: k, Value: a.Labels[k]})
			}
		}
	}
	now := e.clock.Now()
	e.mu.Unlock()
	if !ok {
		return Silence{}, fmt.Errorf("%w: %q", ErrAlertNotFound, id)
	}
	if d <= 0 {
		return Silence{}, invalidSilence("duration", "must be positive")
	}
	return e.CreateSilence(Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: by, Comment: comment})
}

// Silences returns copies of every silence kept (expired ones until
// SilenceConfig.Retention after their end, and at most
// SilenceConfig.MaxSilences of them) with their state now: active ones
// first, then pending, then expired.
func (e *Engine) Silences() []Silence {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.silences.list(e.clock.Now())
}

// Silence returns a copy of the silence with the given ID and its state
// now.
func (e *Engine) Silence(id string) (Silence, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ent, ok := e.silences.byID[id]
	if !ok {
		return Silence{}, false
	}
	return ent.public(e.clock.Now()), true
}
