package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"
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
}

// statePersister keeps the alert state in a file. Its zero value (no path)
// keeps nothing. Writes are not serialized here: the engine makes them one
// at a time, in the order the changes were decided.
type statePersister struct {
	path string
	log  *slog.Logger
}

// snapshot returns the state of the alerts to write, or nil when there is
// no state file. It records on each alert what is being saved.
func (p statePersister) snapshot(alerts map[string]*alertRecord) *stateFile {
	if p.path == "" {
		return nil
	}
	sf := &stateFile{Version: stateVersion, Alerts: make([]savedAlert, 0, len(alerts))}
	for _, rec := range alerts {
		st := &rec.st
		st.savedSeen = st.lastSeen
		sa := savedAlert{
			Alert: cloneAlert(st.a), LastSeen: st.lastSeen, ClearCount: st.clearCount,
			LastNotified: st.lastNotified, Notified: st.notified, HeldBack: st.heldBack,
			Transitions: slices.Clone(st.transitions),
			Flapping:    st.flapping, FlapNotified: st.flapNotified, HeldFiring: st.heldFiring,
		}
		if st.prev != nil {
			p := cloneAlert(*st.prev)
			sa.Prev = &p
		}
		sf.Alerts = append(sf.Alerts, sa)
	}
	return sf
}

// write saves a snapshot atomically; a failure is logged.
func (p statePersister) write(sf *stateFile) {
	if sf == nil {
		return
	}
	data, err := json.Marshal(sf)
	if err == nil {
		err = writeAtomic(p.path, data)
	}
	if err != nil {
		p.log.Error("alerting: cannot save alert state", slog.String("path", p.path), slog.Any("error", err))
	}
}

func writeAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// load reads the state file; see New for how problems are handled.
func (p statePersister) load() []*alertRecord {
	if p.path == "" {
		return nil
	}
	data, err := os.ReadFile(p.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		p.log.Error("alerting: cannot read alert state; starting empty", slog.String("path", p.path), slog.Any("error", err))
		return nil
	}
	var sf stateFile
	if err := decodeState(data, &sf); err != nil {
		aside := p.path + ".corrupt"
		if rerr := os.Rename(p.path, aside); rerr != nil {
			p.log.Error("alerting: corrupt alert state file could not be moved aside", slog.String("path", p.path), slog.Any("error", errors.Join(err, rerr)))
		} else {
			p.log.Error("alerting: corrupt alert state file moved aside; starting empty", slog.String("path", p.path), slog.String("movedTo", aside), slog.Any("error", err))
		}
		return nil
	}
	out := make([]*alertRecord, 0, len(sf.Alerts))
	for _, sa := range sf.Alerts {
		out = append(out, &alertRecord{restored: true, st: alertState{
			a: sa.Alert, prev: sa.Prev, lastSeen: sa.LastSeen, savedSeen: sa.LastSeen, clearCount: sa.ClearCount,
			lastNotified: sa.LastNotified, notified: sa.Notified, heldBack: sa.HeldBack,
			transitions: sa.Transitions, flapping: sa.Flapping, flapNotified: sa.FlapNotified, heldFiring: sa.HeldFiring,
		}})
	}
	return out
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
	return nil
}
