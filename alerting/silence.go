package alerting

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// Silences and maintenance windows, with Alertmanager's semantics inside
// the process, live in package silence; this file re-exports its types
// under the names they have always had here, and holds the Engine's
// silence API. A silence mutes the alerts its matchers select from its
// start to its end; a maintenance window mutes the alerts its matchers
// select while the time is inside one of its recurring intervals. A muted
// alert is still evaluated and listed, with the silences (SilencedBy) and
// windows (MutedBy) that mute it, but no notifier hears of it: neither its
// firing, nor reminders, nor its resolution. The one exception are the
// resends a Resender already gets of an alert it knows as firing: they go
// on while the alert fires muted (see Silence). When it is no longer muted
// and still fires, the notifiers get it once; when it resolved meanwhile,
// they get nothing. The mute pass applies this (see mute.go).

// Silence mutes the alerts its matchers select from StartsAt to EndsAt;
// see silence.Silence for what muting does. Values are snapshots: the
// engine hands out copies.
type Silence = silence.Silence

// SilenceState is where a silence is in time. The zero value is
// SilencePending.
type SilenceState = silence.State

// Silence states.
const (
	SilencePending = silence.Pending // its start is in the future
	SilenceActive  = silence.Active  // it mutes the alerts it matches
	SilenceExpired = silence.Expired // it has ended (or was expired)
)

// SilenceStatus is a silence's status, as Alertmanager's v2 API nests it.
type SilenceStatus = silence.Status

// SilenceConfig bounds silences (see silence.Config). The zero value is
// valid; zero fields take their defaults, negative ones are an error
// (*ConfigError from New).
type SilenceConfig = silence.Config

// SilenceError reports what is wrong with a silence. It wraps
// ErrInvalidSilence, ErrSilenceTooLarge or ErrTooManySilences; several are
// joined with errors.Join.
type SilenceError = silence.Error

// Matcher selects alerts by one label (see silence.Matcher): the alert's
// labels plus alertname, the rule, and severity, the level.
type Matcher = silence.Matcher

// MatchType is how a Matcher compares a label's value. The zero value is
// MatchEqual.
type MatchType = silence.MatchType

// Match types, as Alertmanager's: =, !=, =~ and !~.
const (
	MatchEqual     = silence.MatchEqual
	MatchNotEqual  = silence.MatchNotEqual
	MatchRegexp    = silence.MatchRegexp
	MatchNotRegexp = silence.MatchNotRegexp
)

// MaintenanceWindow mutes the alerts its matchers select while the time is
// inside one of its intervals (see silence.MaintenanceWindow).
type MaintenanceWindow = silence.MaintenanceWindow

// TimeInterval is one recurring interval of a MaintenanceWindow, as one
// entry of Alertmanager's time_intervals (see silence.TimeInterval).
type TimeInterval = silence.TimeInterval

// TimeRange is a range of the time of day, "HH:MM" to "HH:MM", the end
// exclusive (and at most "24:00").
type TimeRange = silence.TimeRange

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
	ErrInvalidSilence = silence.ErrInvalid
	// ErrSilenceNotFound is returned by ExpireSilence for an ID the engine
	// does not know (never created, or dropped after its retention).
	ErrSilenceNotFound = silence.ErrNotFound
	// ErrTooManySilences is wrapped by the *SilenceError CreateSilence
	// returns when SilenceConfig.MaxSilences silences are pending or active.
	ErrTooManySilences = silence.ErrTooMany
	// ErrSilenceTooLarge is wrapped by the *SilenceError CreateSilence and
	// SilenceAlert return for a silence beyond one of the bounds of
	// SilenceConfig on its size: MaxSize, MaxMatchers, MaxRegexLength or
	// MaxRegexMemory, which the error's Limit names.
	ErrSilenceTooLarge = silence.ErrTooLarge
	// ErrSilencesUnavailable is wrapped by the error CreateSilence,
	// SilenceAlert and ExpireSilence return when the silences are the
	// Alertmanager cluster's and no member of it answered: the change was
	// not made. The error wraps what each member failed with too.
	ErrSilencesUnavailable = errors.New("alerting: the Alertmanager cluster's silences are unavailable")
)

// alertLabels is an alert as matchers read it, as the Alertmanager
// notifier sends it: its labels, plus alertname (the rule) and severity
// (the level), which win over labels of the same name.
type alertLabels Alert

var _ silence.Labels = (*alertLabels)(nil)

// Get returns the value of the label name.
func (a *alertLabels) Get(name string) string {
	switch name {
	case "alertname":
		return a.Rule
	case "severity":
		return a.Level.String()
	}
	return a.Labels[name]
}

// CreateSilence adds a silence and returns it with its ID and state.
//
// When the engine sends alerts to Alertmanager (a notifier of package
// alertmanager is registered; several are the members of one cluster),
// the silence is created in the Alertmanager cluster, through the first
// member that answers, and its ID is Alertmanager's: every process sending
// to the cluster is muted by it (see cluster.go's documentation and
// SilenceSourceOf). It is checked here first as below (MaxSilences counting
// the cluster's live silences as last fetched), and a silence Alertmanager
// refuses is a *SilenceError wrapping ErrInvalidSilence. When no member
// answers the error wraps ErrSilencesUnavailable and nothing was created.
// Its matchers then read the labels Alertmanager gets for an alert (label
// names made valid, job, instance), not the alert's own. The state file
// keeps no cluster silence.
//
// Without Alertmanager the silence is the engine's own. The
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
	l := e.ledger
	if l.clustered() {
		return l.cluster.create(l, s)
	}
	if !l.lock() {
		return Silence{}, ErrShutdown
	}
	defer l.change.Unlock()
	next := l.silences.Clone()
	created, err := next.Create(s, e.clock.Now())
	if err != nil {
		l.mu.Unlock()
		return Silence{}, err
	}
	if err := l.saveSilences(next); err != nil {
		return Silence{}, fmt.Errorf("%w: silence: %w", ErrNotSaved, err)
	}
	return created, nil
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
// could not be saved (the silence is then left as it was). With
// Alertmanager, the silence is expired in the cluster (see CreateSilence),
// and the error wraps ErrSilencesUnavailable when no member answered.
func (e *Engine) ExpireSilence(id string) (Silence, error) {
	l := e.ledger
	if l.clustered() {
		return l.cluster.expire(l, id)
	}
	if !l.lock() {
		return Silence{}, ErrShutdown
	}
	defer l.change.Unlock()
	now := e.clock.Now()
	if cur, ok := l.silences.Get(id, now); !ok || cur.Status.State == SilenceExpired {
		l.mu.Unlock()
		if !ok {
			return Silence{}, fmt.Errorf("%w: %q", ErrSilenceNotFound, id)
		}
		return cur, nil
	}
	next := l.silences.Clone()
	expired, err := next.Expire(id, now)
	if err != nil {
		l.mu.Unlock()
		return Silence{}, err
	}
	if err := l.saveSilences(next); err != nil {
		return Silence{}, fmt.Errorf("%w: expiry of silence %q: %w", ErrNotSaved, id, err)
	}
	return expired, nil
}

// SilenceAlert silences exactly the alert with the given ID for d from now:
// its matchers are alertname (the rule) and each of its labels, equal. A
// resolved alert may be silenced too, to mute it if it fires again.
// With Alertmanager the labels are those Alertmanager gets but instance
// (job and external labels included), so that the silence, the cluster's,
// mutes the alert on every instance of the fleet. Errors are those of
// CreateSilence, and ErrAlertNotFound for an unknown alert.
func (e *Engine) SilenceAlert(id string, d time.Duration, by, comment string) (Silence, error) {
	l := e.ledger
	l.mu.Lock()
	rec, ok := l.alerts.all[id]
	var ms []Matcher
	if ok {
		ms = l.cluster.alertMatchers(&rec.st.a)
	}
	now := e.clock.Now()
	l.mu.Unlock()
	if !ok {
		return Silence{}, fmt.Errorf("%w: %q", ErrAlertNotFound, id)
	}
	if d <= 0 {
		return Silence{}, &SilenceError{Field: "duration", Reason: "must be positive", Err: ErrInvalidSilence}
	}
	return e.CreateSilence(Silence{Matchers: ms, StartsAt: now, EndsAt: now.Add(d), CreatedBy: by, Comment: comment})
}

// Silences returns copies of every silence kept (expired ones until
// SilenceConfig.Retention after their end, and at most
// SilenceConfig.MaxSilences of them) with their state now: active ones
// first, then pending, then expired. With Alertmanager they are the
// cluster's as last fetched (see SilenceSourceOf), held to the same bounds.
func (e *Engine) Silences() []Silence {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shownSilences().List(e.clock.Now())
}

// Silence returns a copy of the silence with the given ID and its state
// now, from the list Silences returns.
func (e *Engine) Silence(id string) (Silence, bool) {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shownSilences().Get(id, e.clock.Now())
}

// SilenceSourceOf says whether e's silences are the Alertmanager
// cluster's and, if so, when the list was last fetched and since when it
// is stale. It is a function, not a method, to keep the Engine's method
// set within its bound: it only reads a part's status.
func SilenceSourceOf(e *Engine) SilenceSource {
	l := e.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.cluster.on() {
		return SilenceSource{}
	}
	src := l.cluster.status
	src.Alertmanager = true
	return src
}

// clustered reports whether the silences are the Alertmanager cluster's.
func (l *ledger) clustered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cluster.on()
}

// shownSilences returns the silences the engine shows: the cluster's as
// last fetched, or its own. It is called with mu held.
func (l *ledger) shownSilences() *silence.Store {
	if l.cluster.on() {
		return l.cluster.view
	}
	return l.silences
}
