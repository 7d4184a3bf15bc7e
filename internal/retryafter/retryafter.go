// Package retryafter parses the HTTP Retry-After header, which both the
// instrumented HTTP client (to hold a breaker open) and the alert notifiers
// (to delay a retry) honour.
package retryafter

import (
	"net/http"
	"strconv"
	"time"
)

// maxDelay bounds what a server can ask for; anything longer is treated as
// a malformed value.
const maxDelay = 24 * time.Hour

// Parse reads a Retry-After value: delay-seconds or an HTTP date, relative to
// now. It returns zero when v is empty, malformed, negative, in the past, or
// longer than a day.
func Parse(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if secs <= 0 || secs > maxDelay.Seconds() {
			return 0
		}
		d = time.Duration(secs * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 || d > maxDelay {
		return 0
	}
	return d
}
