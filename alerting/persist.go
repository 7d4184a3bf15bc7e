package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
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

type saveJob struct {
	version uint64
	state   stateFile
}

// saveJobLocked snapshots the alert state for writing, if there is a state
// file and something changed.
func (e *Engine) saveJobLocked(changed bool) *saveJob {
	if e.cfg.StatePath == "" || !changed {
		return nil
	}
	e.version++
	job := &saveJob{version: e.version, state: stateFile{Version: stateVersion, Alerts: make([]savedAlert, 0, len(e.alerts))}}
	for _, st := range e.alerts {
		st.savedSeen = st.lastSeen
		sa := savedAlert{
			Alert: cloneAlert(st.a), LastSeen: st.lastSeen, ClearCount: st.clearCount,
			LastNotified: st.lastNotified, Notified: st.notified, HeldBack: st.heldBack,
			Transitions: append([]time.Time(nil), st.transitions...),
			Flapping:    st.flapping, FlapNotified: st.flapNotified, HeldFiring: st.heldFiring,
		}
		if st.prev != nil {
			p := cloneAlert(*st.prev)
			sa.Prev = &p
		}
		job.state.Alerts = append(job.state.Alerts, sa)
	}
	return job
}

// persist writes a snapshot unless a newer one has been written already.
func (e *Engine) persist(job *saveJob) {
	if job == nil {
		return
	}
	e.persistMu.Lock()
	defer e.persistMu.Unlock()
	if job.version <= e.written {
		return
	}
	data, err := json.Marshal(job.state)
	if err == nil {
		err = writeAtomic(e.cfg.StatePath, data)
	}
	if err != nil {
		e.log.Error("alerting: cannot save alert state", slog.String("path", e.cfg.StatePath), slog.Any("error", err))
		return
	}
	e.written = job.version
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

// load reads the state file into e; see New for how problems are handled.
func (e *Engine) load() {
	path := e.cfg.StatePath
	if path == "" {
		return
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		e.log.Error("alerting: cannot read alert state; starting empty", slog.String("path", path), slog.Any("error", err))
		return
	}
	var sf stateFile
	if err := decodeState(data, &sf); err != nil {
		aside := path + ".corrupt"
		if rerr := os.Rename(path, aside); rerr != nil {
			e.log.Error("alerting: corrupt alert state file could not be moved aside", slog.String("path", path), slog.Any("error", errors.Join(err, rerr)))
		} else {
			e.log.Error("alerting: corrupt alert state file moved aside; starting empty", slog.String("path", path), slog.String("movedTo", aside), slog.Any("error", err))
		}
		return
	}
	for _, sa := range sf.Alerts {
		st := &alertState{
			restored: true,
			a:        sa.Alert, prev: sa.Prev, lastSeen: sa.LastSeen, savedSeen: sa.LastSeen, clearCount: sa.ClearCount,
			lastNotified: sa.LastNotified, notified: sa.Notified, heldBack: sa.HeldBack,
			transitions: sa.Transitions, flapping: sa.Flapping, flapNotified: sa.FlapNotified, heldFiring: sa.HeldFiring,
		}
		e.alerts[st.a.ID] = st
		if st.a.State != Resolved {
			e.active[st.a.ID] = st
		}
	}
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
