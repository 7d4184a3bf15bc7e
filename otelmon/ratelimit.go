package otelmon

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/listsync/otelmon/internal/httperr"
	"github.com/listsync/otelmon/internal/pacer"
	"github.com/listsync/otelmon/otelmon/internal/clientstack"
)

// Defaults of RateLimit that do not depend on the service.
const (
	// DefaultMaxAttempts is how many times an idempotent request is sent at
	// most, the first attempt included.
	DefaultMaxAttempts = 3
	// DefaultMaxWait is the longest a request waits for the pacer.
	DefaultMaxWait = time.Minute
	// DefaultMaxPause is the longest one answer of a service can pause
	// its requests.
	DefaultMaxPause = 5 * time.Minute
)

// RateLimit says how the Monitor's clients pace, retry and judge the
// requests to one service. Every field left zero takes the service's
// default (see DefaultRateLimitFor); negative or non-finite values are
// invalid.
type RateLimit struct {
	// RequestsPerSecond is the steady pace of the service's requests
	// (reads, and writes unless WritesPerSecond is set). Default: the
	// service's published limit, tmdb 40, trakt 990 per 300 s (its 1000
	// GET calls per 5 minutes, less the burst); other services are unpaced
	// until they push back.
	RequestsPerSecond float64
	// Burst is how many requests may go at once above the pace. Default:
	// tmdb 20, trakt 10, others 1.
	Burst int
	// WritesPerSecond, when set, paces POST, PUT, PATCH and DELETE requests
	// on a limiter of their own. Default: trakt 1 (its 1 write per
	// second); others pace writes with reads.
	WritesPerSecond float64
	// Unpaced starts the service without a pace, whatever its default; it
	// still learns one when the service pushes back. Default false.
	Unpaced bool
	// MaxAttempts is how many times an idempotent request is sent at most,
	// the first attempt included; 1 turns retries off. Default 3.
	MaxAttempts int
	// MaxWait is the longest a request waits for the pacer (a pause the
	// service asked for, or its pace); a longer wait fails at once with a
	// *RateLimitError, as does one that would pass the request's deadline.
	// Default 1 minute.
	MaxWait time.Duration
	// MaxPause bounds what one answer of the service can hold its requests
	// for, so that a buggy or hostile upstream cannot stop a sync for long:
	// a pause it asks for (Retry-After, in seconds or as a date; a budget
	// header announcing none left until a far reset) lasts MaxPause at
	// most, and a pace learned from its budget headers (X-RateLimit-*, the
	// IETF RateLimit and RateLimit-Policy fields, Trakt's X-Ratelimit) is
	// one request per MaxPause at least. After a pause cut short, one
	// request goes alone as a probe and its answer decides what follows.
	// Default 5 minutes.
	MaxPause time.Duration
	// ThrottleIsFailure makes 429 answers circuit-breaker failures whose
	// Retry-After holds the breaker open, as in otelmon 0.1. Default
	// false: a throttled service is not a broken one.
	ThrottleIsFailure bool
}

// Merge returns rl with every non-zero field of override in place of rl's.
func (rl RateLimit) Merge(override RateLimit) RateLimit {
	rl.RequestsPerSecond = cmp.Or(override.RequestsPerSecond, rl.RequestsPerSecond)
	rl.Burst = cmp.Or(override.Burst, rl.Burst)
	rl.WritesPerSecond = cmp.Or(override.WritesPerSecond, rl.WritesPerSecond)
	rl.MaxAttempts = cmp.Or(override.MaxAttempts, rl.MaxAttempts)
	rl.MaxWait = cmp.Or(override.MaxWait, rl.MaxWait)
	rl.MaxPause = cmp.Or(override.MaxPause, rl.MaxPause)
	rl.Unpaced = rl.Unpaced || override.Unpaced
	rl.ThrottleIsFailure = rl.ThrottleIsFailure || override.ThrottleIsFailure
	return rl
}

// validate reports every invalid field of rl, each a *ConfigError whose
// Field is prefixed with field, joined.
func (rl RateLimit) validate(field string) error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"RequestsPerSecond", rl.RequestsPerSecond},
		{"WritesPerSecond", rl.WritesPerSecond},
	} {
		if f.v < 0 || math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			errs = append(errs, invalid(field+"."+f.name, strconv.FormatFloat(f.v, 'g', -1, 64), "must be a finite number, not negative"))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"Burst", int64(rl.Burst)},
		{"MaxAttempts", int64(rl.MaxAttempts)},
		{"MaxWait", int64(rl.MaxWait)},
		{"MaxPause", int64(rl.MaxPause)},
	} {
		if f.v < 0 {
			errs = append(errs, invalid(field+"."+f.name, fmt.Sprint(f.v), "must not be negative"))
		}
	}
	return errors.Join(errs...)
}

// rateLimitFor returns the effective RateLimit of service under cfg.
func (c Config) rateLimitFor(service string) RateLimit {
	return DefaultRateLimitFor(service).Merge(c.RateLimits[service])
}

// limits returns rl as the client stack takes it.
func (rl RateLimit) limits() clientstack.Limits {
	pc := pacer.Config{MaxWait: rl.MaxWait, MaxPause: rl.MaxPause}
	if !rl.Unpaced {
		pc.Rate, pc.Burst, pc.WriteRate = rl.RequestsPerSecond, rl.Burst, rl.WritesPerSecond
	}
	return clientstack.Limits{Pacer: pc, MaxAttempts: rl.MaxAttempts, ThrottleIsFailure: rl.ThrottleIsFailure}
}

// ErrRateLimited is wrapped by every *RateLimitError: a request the pacer
// did not send because the wait for its slot would pass its deadline or
// RateLimit.MaxWait.
var ErrRateLimited = httperr.ErrRateLimited

// RateLimitError is returned, without waiting, for a request whose wait
// for the service's pacer would pass the request's deadline or
// RateLimit.MaxWait. The request was not sent. It wraps ErrRateLimited,
// and is a breaker.RetryAfterError: a host that counts it as a failure
// holds the breaker open for Wait. Its fields: Service, the service whose
// pacer held the request; Wait, how long the request would have had to
// wait (what is left of the pause the service asked for, or of the pace);
// Paused, true when Wait is a pause the service asked for.
type RateLimitError = httperr.RateLimitError
