package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/listsync/otelmon/alerting/silence"
)

// compileWindows checks the windows and compiles them; errors are
// *ConfigErrors naming MaintenanceWindows[i].
func compileWindows(ws []MaintenanceWindow) ([]*silence.Window, error) {
	var errs []error
	out := make([]*silence.Window, 0, len(ws))
	seen := map[string]bool{}
	for i, mw := range ws {
		prefix := fmt.Sprintf("MaintenanceWindows[%d].", i)
		if mw.Name != "" && seen[mw.Name] {
			errs = append(errs, &ConfigError{Field: prefix + "Name", Value: strconv.Quote(mw.Name), Reason: "duplicate window name"})
		}
		seen[mw.Name] = true
		w, err := silence.NewWindow(mw)
		for _, err := range joined(err) {
			var fe *silence.FieldError
			if errors.As(err, &fe) {
				err = &ConfigError{Field: prefix + fe.Field, Value: fe.Value, Reason: fe.Reason}
			}
			errs = append(errs, err)
		}
		out = append(out, w)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// joined returns the errors err joins, or err alone; none for nil.
func joined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
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
		out[i] = MaintenanceWindowStatus{MaintenanceWindow: cloneWindow(mw), Active: e.ledger.windows[i].OpenAt(now)}
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
