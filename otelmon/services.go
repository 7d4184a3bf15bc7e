package otelmon

import (
	"time"

	"github.com/listsync/otelmon/breaker"
)

// serviceBreakers are the reference service's circuit breakers, per
// external service; any other service gets otherBreaker. The breaker
// package knows no service names: the per-service defaults live here.
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
