package healthcheck

import (
	"time"

	"github.com/listsync/otelmon/internal/strutil"
)

// maxErrorLen bounds ServiceHealth.LastError and health+json output.
const maxErrorLen = 512

// Summary counts services by status and lists them. Its JSON form uses
// camelCase names.
type Summary struct {
	// HealthyServices is the number of services Up.
	HealthyServices int `json:"healthyServices"`
	// UnhealthyServices is the number of services Down.
	UnhealthyServices int `json:"unhealthyServices"`
	// UnknownServices is the number of services Unknown.
	UnknownServices int `json:"unknownServices"`
	// TotalServices is the number of registered targets.
	TotalServices int `json:"totalServices"`
	// Services lists every registered target, sorted by name.
	Services []ServiceHealth `json:"services"`
}

// ServiceHealth is the state of one service.
type ServiceHealth struct {
	// Name is the target's name.
	Name string `json:"name"`
	// Status is the current status.
	Status Status `json:"status"`
	// LastCheck is when the last counted check started; zero (and omitted
	// from JSON) before the first.
	LastCheck time.Time `json:"lastCheck,omitzero"`
	// Latency is the last counted check's latency.
	Latency time.Duration `json:"-"`
	// LatencyMs is Latency in milliseconds.
	LatencyMs float64 `json:"latencyMs"`
	// ConsecutiveSuccesses is the number of successes since the last failure.
	ConsecutiveSuccesses int `json:"consecutiveSuccesses"`
	// ConsecutiveFailures is the number of failures since the last success.
	ConsecutiveFailures int `json:"consecutiveFailures"`
	// LastError is the last counted check's error, redacted and cut to 512
	// bytes; empty when that check succeeded.
	LastError string `json:"lastError,omitempty"`
}

// Summary returns the state of every service. It is cheap enough to call on
// every API request.
func (c *Checker) Summary() Summary {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := Summary{
		TotalServices: len(c.names),
		Services:      make([]ServiceHealth, 0, len(c.names)),
	}
	for _, name := range c.names {
		e := c.entries[name]
		h := ServiceHealth{
			Name:                 name,
			Status:               e.status,
			ConsecutiveSuccesses: e.successes,
			ConsecutiveFailures:  e.failures,
		}
		if e.checked {
			h.LastCheck = e.last.Time
			h.Latency = e.last.Latency
			h.LatencyMs = millis(e.last.Latency)
			if e.last.Err != nil {
				h.LastError = strutil.Truncate(e.last.Err.Error(), maxErrorLen)
			}
		}
		switch e.status {
		case Up:
			s.HealthyServices++
		case Down:
			s.UnhealthyServices++
		default:
			s.UnknownServices++
		}
		s.Services = append(s.Services, h)
	}
	return s
}

// Status returns the status of the target called name, and false when no
// such target is registered.
func (c *Checker) Status(name string) (Status, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok {
		return Unknown, false
	}
	return e.status, true
}

// Statuses calls f with the name and status of every registered target, in
// name order, on a snapshot taken under the lock; f runs without the lock
// and may call the Checker. It suits an observable gauge callback.
func (c *Checker) Statuses(f func(name string, s Status)) {
	type pair struct {
		name   string
		status Status
	}
	c.mu.Lock()
	snap := make([]pair, len(c.names))
	for i, name := range c.names {
		snap[i] = pair{name, c.entries[name].status}
	}
	c.mu.Unlock()
	for _, p := range snap {
		f(p.name, p.status)
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
