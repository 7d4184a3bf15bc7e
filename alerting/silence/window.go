package silence

import (
	"errors"
	"fmt"
	"time"
)

// MaintenanceWindow mutes the alerts its matchers select while the time is
// inside one of its intervals, e.g. "plex, every day 03:00–03:15
// Europe/Berlin":
//
//	silence.MaintenanceWindow{
//		Name:     "plex-nightly-restart",
//		Matchers: []silence.Matcher{{Name: "service", Value: "plex"}},
//		TimeIntervals: []silence.TimeInterval{{
//			Times:    []silence.TimeRange{{Start: "03:00", End: "03:15"}},
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

// Window is a MaintenanceWindow checked and compiled. It is immutable and
// safe for concurrent use.
type Window struct {
	name      string
	m         matchers
	intervals []interval
}

// NewWindow checks mw and compiles it. Its error joins a *FieldError
// (wrapping ErrInvalidWindow) per problem, each naming the field relative
// to mw: "Name", "Matchers[0].value", "TimeIntervals",
// "TimeIntervals[1].Times[0].End", ... Whether names are unique is the
// caller's to check.
func NewWindow(mw MaintenanceWindow) (*Window, error) {
	var errs []*FieldError
	if mw.Name == "" {
		errs = append(errs, &FieldError{Field: "Name", Reason: "must not be empty"})
	}
	w := &Window{name: mw.Name}
	w.m, errs = appendMatcherErrors(errs, mw.Matchers)
	if len(mw.TimeIntervals) == 0 {
		errs = append(errs, &FieldError{Field: "TimeIntervals", Reason: "at least one interval is required"})
	}
	for j, ti := range mw.TimeIntervals {
		iv, ferrs := ti.compile()
		errs = append(errs, prefixed(fmt.Sprintf("TimeIntervals[%d].", j), ferrs)...)
		w.intervals = append(w.intervals, iv)
	}
	if len(errs) > 0 {
		joined := make([]error, len(errs))
		for i, fe := range errs {
			joined[i] = fe
		}
		return nil, errors.Join(joined...)
	}
	return w, nil
}

// appendMatcherErrors compiles a window's matchers, which no bound holds,
// and appends their errors to errs.
func appendMatcherErrors(errs []*FieldError, ms []Matcher) (matchers, []*FieldError) {
	m, ferrs, _ := compileMatchers("Matchers", ms, regexBounds{})
	return m, append(errs, ferrs...)
}

// Name returns the window's name.
func (w *Window) Name() string { return w.name }

// OpenAt reports whether t is inside one of the window's intervals.
func (w *Window) OpenAt(t time.Time) bool {
	for i := range w.intervals {
		if w.intervals[i].contains(t) {
			return true
		}
	}
	return false
}
