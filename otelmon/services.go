package otelmon

import (
	"time"

	"github.com/listsync/otelmon/breaker"
)

// The per-service defaults live in this file, and only here: the
// reference service's circuit breakers, and the pace of each service's
// published limits. The breaker and pacer packages know no service names.

// serviceBreakers are the reference service's circuit breakers, per
// external service; any other service gets otherBreaker.
var serviceBreakers = map[string]breaker.Config{
	"imdb":  {FailureThreshold: 5, OpenTimeout: 60 * time.Second, RequestTimeout: 30 * time.Second},
	"tmdb":  {FailureThreshold: 3, OpenTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second},
	"trakt": {FailureThreshold: 3, OpenTimeout: 45 * time.Second, RequestTimeout: 15 * time.Second},
	"plex":  {FailureThreshold: 2, OpenTimeout: 30 * time.Second, RequestTimeout: 20 * time.Second},
}

// otherBreaker is the breaker of a service serviceBreakers does not name.
var otherBreaker = breaker.Config{FailureThreshold: 5, OpenTimeout: 60 * time.Second, RequestTimeout: 30 * time.Second}

// DefaultBreakerConfigFor returns the circuit breaker configuration the
// Monitor gives service before Config.CircuitBreakers overrides it:
//
//	service  FailureThreshold  OpenTimeout  RequestTimeout
//	imdb     5                 60 s         30 s
//	tmdb     3                 30 s         10 s
//	trakt    3                 45 s         15 s
//	plex     2                 30 s         20 s
//	other    5                 60 s         30 s
//
// Names match exactly (lower case). The other fields are zero, that is,
// breaker's defaults, so that an override of OpenTimeout also moves the
// derived MaxOpenTimeout.
func DefaultBreakerConfigFor(service string) breaker.Config {
	if c, ok := serviceBreakers[service]; ok {
		return c
	}
	return otherBreaker
}

// DefaultRateLimitFor returns service's defaults, from the services'
// published limits:
//
//	service  pace                      burst  writes
//	tmdb     40/s                      20     with reads
//	trakt    990 per 300 s (3.3/s)     10     1/s
//	other    unpaced until pushed back 1      with reads
//
// and for all: 3 attempts, 1 minute of waiting at most, pauses of 5
// minutes at most, 429 not a breaker failure. Names match exactly (lower
// case).
func DefaultRateLimitFor(service string) RateLimit {
	rl := RateLimit{MaxAttempts: DefaultMaxAttempts, MaxWait: DefaultMaxWait, MaxPause: DefaultMaxPause}
	switch service {
	case "tmdb":
		// TMDb: "rate limiting ... sits somewhere in the 50 requests per
		// second range", enforced with 429 and Retry-After; 40/s stays clear.
		rl.RequestsPerSecond, rl.Burst = 40, 20
	case "trakt":
		// Trakt: 1000 GET calls every 5 minutes, 1 POST, PUT or DELETE per
		// second. A burst of 10 plus 990 per 300 s never passes 1000 in a window.
		rl.RequestsPerSecond, rl.Burst, rl.WritesPerSecond = 990.0/300, 10, 1
	default:
		rl.Burst = 1
	}
	return rl
}
