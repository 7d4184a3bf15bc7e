package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// MaintenanceWindow mutes the alerts its matchers select while the time is
// inside one of its intervals, e.g. "plex, every day 03:00–03:15
// Europe/Berlin":
//
//	alerting.MaintenanceWindow{
//		Name:     "plex-nightly-restart",
//		Matchers: []alerting.Matcher{{Name: "service", Value: "plex"}},
//		TimeIntervals: []alerting.TimeInterval{{
//			Times:    []alerting.TimeRange{{Start: "03:00", End: "03:15"}},
//			Location: "Europe/Berlin",
//		}},
//	}
//
// An alert inside a window behaves as silenced, and its MutedBy names the
// window.
type MaintenanceWindow struct {
	// Name identifies the window in alerts' MutedBy. Required, unique.
	Name string `json:"name"`
	// Matchers select the alerts; all must match. Empty selects every
	// alert.
	Matchers []Matcher `json:"matchers"`
	// TimeIntervals are when the window is open: inside any of them.
	// Required: at least one.
	TimeIntervals []TimeInterval `json:"timeIntervals"`
}

// window is a MaintenanceWindow compiled.
type window struct {
	name      string
	m         []labelMatcher
	intervals []interval
}

func (w *window) openAt(t time.Time) bool {
	for i := range w.intervals {
		if w.intervals[i].contains(t) {
			return true
		}
	}
	return false
}

// compileWindows checks the windows and compiles them; errors are
// *ConfigErrors naming MaintenanceWindows[i].
func compileWindows(ws []MaintenanceWindow) ([]*window, error) {
	var errs []error
	out := make([]*window, 0, len(ws))
	seen := map[string]bool{}
	for i, mw := range ws {
		prefix := fmt.Sprintf("MaintenanceWindows[%d]", i)
		bad := func(fe fieldError) {
			errs = append(errs, &ConfigError{Field: prefix + "." + fe.field, Value: fe.value, Reason: fe.reason})
		}
		switch {
		case mw.Name == "":
			bad(fieldError{field: "Name", reason: "must not be empty"})
		case seen[mw.Name]:
			bad(fieldError{field: "Name", value: strconv.Quote(mw.Name), reason: "duplicate window name"})
		}
		seen[mw.Name] = true
		w := &window{name: mw.Name}
		var ferrs []fieldError
		w.m, ferrs = compileMatchers("Matchers", mw.Matchers)
		for _, fe := range ferrs {
			bad(fe)
		}
		if len(mw.TimeIntervals) == 0 {
			bad(fieldError{field: "TimeIntervals", reason: "at least one interval is required"})
		}
		for j, ti := range mw.TimeIntervals {
			iv, ferrs := ti.compile()
			for _, fe := range ferrs {
				fe.field = fmt.Sprintf("TimeIntervals[%d].%s", j, fe.field)
				bad(fe)
			}
			w.intervals = append(w.intervals, iv)
		}
		out = append(out, w)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// MaintenanceWindowStatus is a configured maintenance window and whether it
// is open now.
type MaintenanceWindowStatus struct {
	MaintenanceWindow
	// Active is true while the time is inside one of the window's
	// intervals.
	Active bool `json:"active"`
}

// MaintenanceWindows returns the configured maintenance windows in
// configuration order, each with whether it is open now.
func (e *Engine) MaintenanceWindows() []MaintenanceWindowStatus {
	now := e.clock.Now()
	out := make([]MaintenanceWindowStatus, len(e.cfg.MaintenanceWindows))
	for i, mw := range e.cfg.MaintenanceWindows {
		out[i] = MaintenanceWindowStatus{MaintenanceWindow: cloneWindow(mw), Active: e.windows[i].openAt(now)}
	}
	return out
}

func cloneWindow(mw MaintenanceWindow) MaintenanceWindow {
	mw.Matchers = slices.Clone(mw.Matchers)
	mw.TimeIntervals = slices.Clone(mw.TimeIntervals)
	for i := range mw.TimeIntervals {
		ti := &mw.TimeIntervals[i]
		ti.Times = slices.Clone(ti.Times)
		ti.Weekdays = slices.Clone(ti.Weekdays)
		ti.DaysOfMonth = slices.Clone(ti.DaysOfMonth)
		ti.Months = slices.Clone(ti.Months)
		ti.Years = slices.Clone(ti.Years)
	}
	return mw
}
