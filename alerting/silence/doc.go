// Package silence decides what mutes an alert: silences, which mute the
// alerts their matchers select from a start to an end, and maintenance
// windows, which do so at recurring times, both with Alertmanager's
// semantics.
//
// It is a leaf of package alerting: it knows an alert only by its labels
// (Labels), and alerting, which imports it, applies what it decides to
// the notifications (see alerting.Silence). alerting re-exports its types
// under their former names (alerting.Silence, alerting.Matcher,
// alerting.MaintenanceWindow, alerting.SilenceConfig, ...).
//
// # Matchers
//
// A [Matcher] selects alerts by one label, equal, not equal, or matching a
// regular expression anchored at both ends, as Alertmanager's do; in JSON
// it has Alertmanager v2's shape ([MatcherJSON]).
//
// # Time intervals and maintenance windows
//
// A [TimeInterval] is one entry of Alertmanager's time_intervals: times
// of day, weekdays, days of the month (negative ones counted from the
// end), months and years, read in a location. A [MaintenanceWindow] mutes
// the alerts its matchers select while the time is inside one of its
// intervals; [NewWindow] checks and compiles one into a [Window].
//
// # Silences and the store
//
// A [Silence] mutes the alerts its matchers select from StartsAt to
// EndsAt. A [Store] keeps silences within the bounds of its [Config] (how
// many, how long, how large, how costly their regular expressions are
// compiled), validates new ones ([Store.Create]), expires them, and drops
// expired ones after Config.Retention. Its errors wrap [ErrInvalid],
// [ErrTooLarge] or [ErrTooMany] inside an [*Error], or are [ErrNotFound].
//
// # What mutes an alert
//
// [Store.Mutes] takes what mutes alerts at one instant, the active
// silences and the open windows, as an immutable [Mutes]; [Mutes.Of]
// names those that mute one alert.
//
// Nothing here is safe for concurrent use but what says so (Window,
// Mutes): the Store's owner guards it.
package silence
