package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// The state file keeps what a restart must not lose: acknowledgements and
// notification bookkeeping (whether and when each alert was notified), so
// that a restarted engine neither forgets an acknowledgement nor notifies
// an alert twice. It is JSON, written to a temporary file in the same
// directory and renamed over the old one, so a crash leaves either the old
// or the new state, never half of one.

const stateVersion = 1

type stateFile struct {
	Version int          `json:"version"`
	Alerts  []savedAlert `json:"alerts"`
	// Silences were added within version 1: a file without them (written
	// before silences existed) has none, and is read as it always was.
	Silences []savedSilence `json:"silences,omitempty"`
}

// savedSilence is a silence as the state file keeps it: without its
// status, which depends on the time it is read.
type savedSilence struct {
	ID        string                `json:"id"`
	Matchers  []silence.MatcherJSON `json:"matchers"`
	StartsAt  time.Time             `json:"startsAt"`
	EndsAt    time.Time             `json:"endsAt"`
	UpdatedAt time.Time             `json:"updatedAt,omitzero"`
	CreatedBy string                `json:"createdBy,omitempty"`
	Comment   string                `json:"comment,omitempty"`
}

// saveSilence returns s as the state file keeps it. Its matchers are plain
// structs, encoded without a MarshalJSON call (the state file, silences
// included, is written at every change) and decoded leniently: a field a
// later version adds does not make the file unreadable (and moved aside
// as corrupt) after a downgrade.
func saveSilence(s *Silence) savedSilence {
	ms := make([]silence.MatcherJSON, len(s.Matchers))
	for i, m := range s.Matchers {
		ms[i] = m.JSON()
	}
	return savedSilence{ID: s.ID, Matchers: ms, StartsAt: s.StartsAt, EndsAt: s.EndsAt,
		UpdatedAt: s.UpdatedAt, CreatedBy: s.CreatedBy, Comment: s.Comment}
}

// silence returns the silence ss keeps.
func (ss *savedSilence) silence() Silence {
	ms := make([]Matcher, len(ss.Matchers))
	for i, m := range ss.Matchers {
		ms[i] = m.Matcher()
	}
	return Silence{ID: ss.ID, Matchers: ms, StartsAt: ss.StartsAt, EndsAt: ss.EndsAt,
		UpdatedAt: ss.UpdatedAt, CreatedBy: ss.CreatedBy, Comment: ss.Comment}
}

type savedAlert struct {
	Alert        Alert       `json:"alert"`
	Prev         *Alert      `json:"prev,omitempty"`
	LastSeen     time.Time   `json:"lastSeen,omitzero"`
	ClearCount   int         `json:"clearCount,omitempty"`
	LastNotified time.Time   `json:"lastNotified,omitzero"`
	Notified     bool        `json:"notified,omitempty"`
	HeldBack     int         `json:"heldBack,omitempty"`
	Transitions  []time.Time `json:"transitions,omitempty"`
	Flapping     bool        `json:"flapping,omitempty"`
	FlapNotified bool        `json:"flapNotified,omitempty"`
	HeldFiring   bool        `json:"heldFiring,omitempty"`
	Owed         bool        `json:"owed,omitempty"`
	KeepAlive    *Alert      `json:"keepAlive,omitempty"`
}

// snapshot returns the state of the alerts and silences (nil: none) to
// write, or nil when there is no state file. It records on each alert what
// is being saved. It is called with the ledger's mu held.
func (p *statePersister) snapshot(alerts map[string]*alertRecord, silences *silence.Store) *stateFile {
	if p.path == "" {
		return nil
	}
	sf := &stateFile{Version: stateVersion, Alerts: make([]savedAlert, 0, len(alerts))}
	if silences != nil {
		all := silences.All()
		sf.Silences = make([]savedSilence, len(all))
		for i := range all {
			sf.Silences[i] = saveSilence(&all[i])
		}
	}
	for _, rec := range alerts {
		st, tl := &rec.st, &rec.told
		st.savedSeen = st.lastSeen
		sa := savedAlert{
			Alert: cloneAlert(st.a), LastSeen: st.lastSeen, ClearCount: st.clearCount,
			LastNotified: tl.lastNotified, Notified: tl.notified, HeldBack: tl.heldBack,
			Transitions: slices.Clone(st.transitions),
			Flapping:    st.flapping, FlapNotified: tl.flapNotified, HeldFiring: st.heldFiring,
			Owed: tl.owed, KeepAlive: tl.kept,
		}
		if st.prev != nil {
			p := cloneAlert(*st.prev)
			sa.Prev = &p
		}
		sf.Alerts = append(sf.Alerts, sa)
	}
	return sf
}

// load reads the state file: missing is an empty state, corrupt is moved
// aside (an empty state), any other read error is returned. The silences
// go to silences (nil: they are not read).
func (p *statePersister) load(now time.Time, silences *silence.Store) ([]*alertRecord, error) {
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("alerting: cannot read alert state: %w", err)
	}
	var sf stateFile
	if err := decodeState(data, &sf); err != nil {
		aside, merr := moveAside(p.path, now)
		if merr != nil {
			return nil, fmt.Errorf("alerting: corrupt alert state file %s could not be moved aside: %w", p.path, errors.Join(err, merr))
		}
		p.log.Error("alerting: corrupt alert state file moved aside; starting empty", slog.String("path", p.path), slog.String("movedTo", aside), slog.Any("error", err))
		return nil, nil
	}
	if silences != nil {
		for i := range sf.Silences {
			if err := silences.Restore(sf.Silences[i].silence(), now); err != nil {
				// Only a change of the matching rules or of the bounds
				// (SilenceConfig) can bring this: keep the others.
				p.log.Error("alerting: saved silence dropped: it is no longer valid", slog.String("silence", sf.Silences[i].ID), slog.Any("error", err))
			}
		}
	}
	out := make([]*alertRecord, 0, len(sf.Alerts))
	for _, sa := range sf.Alerts {
		out = append(out, &alertRecord{restored: true,
			st: alertState{
				a: sa.Alert, prev: sa.Prev, lastSeen: sa.LastSeen, savedSeen: sa.LastSeen, clearCount: sa.ClearCount,
				transitions: sa.Transitions, flapping: sa.Flapping, heldFiring: sa.HeldFiring,
			},
			told: told{
				notified: sa.Notified, lastNotified: sa.LastNotified, heldBack: sa.HeldBack, flapNotified: sa.FlapNotified,
				owed: sa.Owed, kept: sa.KeepAlive,
			},
		})
	}
	return out, nil
}

func decodeState(data []byte, sf *stateFile) error {
	if err := json.Unmarshal(data, sf); err != nil {
		return err
	}
	if sf.Version != stateVersion {
		return fmt.Errorf("unknown state version %d", sf.Version)
	}
	seen := make(map[string]bool, len(sf.Alerts))
	for i, sa := range sf.Alerts {
		switch {
		case sa.Alert.ID == "" || sa.Alert.Rule == "":
			return fmt.Errorf("alert %d: missing id or rule", i)
		case seen[sa.Alert.ID]:
			return fmt.Errorf("alert %d: duplicate id %q", i, sa.Alert.ID)
		case sa.Alert.State == Resolved && sa.Alert.ResolvedAt == nil:
			return fmt.Errorf("alert %q: resolved without resolvedAt", sa.Alert.ID)
		}
		seen[sa.Alert.ID] = true
	}
	seen = make(map[string]bool, len(sf.Silences))
	for i, s := range sf.Silences {
		switch {
		case s.ID == "":
			return fmt.Errorf("silence %d: missing id", i)
		case seen[s.ID]:
			return fmt.Errorf("silence %d: duplicate id %q", i, s.ID)
		case s.StartsAt.IsZero() || s.EndsAt.IsZero():
			return fmt.Errorf("silence %q: missing startsAt or endsAt", s.ID)
		}
		seen[s.ID] = true
	}
	return nil
}
