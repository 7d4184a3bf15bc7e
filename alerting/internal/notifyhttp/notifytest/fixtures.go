package notifytest

import (
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// StartsAt is when the alerts of Firing and Resolved start; those of
// Resolved resolve at ResolvedAt, ten minutes later. Tests must not change
// them.
var (
	StartsAt   = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ResolvedAt = StartsAt.Add(10 * time.Minute)
)

// Firing returns the firing alert of level l that the notifier tests send:
// rule service-down with two labels, value 0 and a description holding
// '<', '>' and '&', started at StartsAt and updated a minute later.
func Firing(l alerting.Level) alerting.Alert {
	return alerting.Alert{
		ID:          "r1-9f2c",
		Rule:        "service-down",
		Level:       l,
		State:       alerting.Firing,
		Title:       "Service imdb is down",
		Description: "3 failed checks <in a row> & counting",
		Labels:      map[string]string{"source": "health", "service": "imdb"},
		Value:       0,
		StartsAt:    StartsAt,
		UpdatedAt:   StartsAt.Add(time.Minute),
	}
}

// Resolved returns Firing(l) resolved at ResolvedAt, with value 1.5.
func Resolved(l alerting.Level) alerting.Alert {
	a := Firing(l)
	a.State = alerting.Resolved
	a.Value = 1.5
	a.UpdatedAt = ResolvedAt
	resolvedAt := ResolvedAt
	a.ResolvedAt = &resolvedAt
	return a
}

// MustNew returns newNotifier(raw, opts...), failing the test if it
// returns an error. newNotifier is a notifier package's New.
func MustNew[N, O any](t testing.TB, newNotifier func(string, ...O) (N, error), raw string, opts ...O) N {
	t.Helper()
	n, err := newNotifier(raw, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
