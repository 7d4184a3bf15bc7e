package clientstack

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/listsync/otelmon/breaker"
	"github.com/listsync/otelmon/internal/names"
)

// Metric name suffixes of the client stack's pacing and retries.
const (
	apiRetriesTotal         = "api_retries_total"
	apiRateLimitWaitSeconds = "api_rate_limit_wait_seconds_total"
	apiRateLimitRemaining   = "api_rate_limit_remaining"
)

// register registers the stack's instruments: the API's, the breakers'
// and the health probes'.
func (s *Stack) register() error {
	meter, prefix := s.cfg.Meter, s.cfg.Prefix
	if err := s.registerAPI(meter, prefix); err != nil {
		return err
	}
	if err := s.registerBreakers(meter, prefix); err != nil {
		return err
	}
	return s.registerProbes(meter, prefix)
}

// registerAPI exports the API requests, rate-limit hits, retries and
// pacer waits per service, and the budget a service last announced.
func (s *Stack) registerAPI(meter metric.Meter, prefix names.Prefix) error {
	requests, err1 := meter.Int64ObservableCounter(prefix.Name(names.APIRequestsTotal),
		metric.WithDescription("Requests sent to external APIs, per service."))
	limited, err2 := meter.Int64ObservableCounter(prefix.Name(names.APIRateLimitHitsTotal),
		metric.WithDescription("Requests answered 429 Too Many Requests, per service."))
	retries, err3 := meter.Int64ObservableCounter(prefix.Name(apiRetriesTotal),
		metric.WithDescription("Requests sent again after a 429, a 502, 503 or 504, or a broken connection, per service."))
	waited, err4 := meter.Float64ObservableCounter(prefix.Name(apiRateLimitWaitSeconds),
		metric.WithDescription("Time requests spent waiting for the service's pace or a pause it asked for, per service."),
		metric.WithUnit("s"))
	remaining, err5 := meter.Int64ObservableGauge(prefix.Name(apiRateLimitRemaining),
		metric.WithDescription("Requests the service last announced it still accepts in its current window, per service; absent until it announces a budget."))
	failed, err6 := meter.Int64ObservableCounter(prefix.Name(names.APIRequestErrorsTotal),
		metric.WithDescription("Requests that failed: answered 5xx, or not answered (a transport error or a timeout), per service."))
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return fmt.Errorf("otelmon: API instruments: %w", err)
	}
	reg, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		s.services.Each(func(se *Series) {
			o.ObserveInt64(requests, int64(se.requests.Load()), se.obs...)
			o.ObserveInt64(limited, int64(se.rateLimited.Load()), se.obs...)
			o.ObserveInt64(failed, int64(se.failed.Load()), se.obs...)
		})
		// Pacing is per service: services that share a label (past the
		// cardinality limit) add up their waits; a budget is only shown
		// for a label that one service has.
		type paced struct {
			waited    float64
			remaining int64
			announced bool
			services  int
		}
		bySeries := map[*Series]*paced{}
		var order []*Series
		s.clients.each(func(c *client) {
			p := bySeries[c.series]
			if p == nil {
				p = &paced{}
				bySeries[c.series] = p
				order = append(order, c.series)
			}
			p.services++
			p.waited += c.pacer.Waited().Seconds()
			p.remaining, p.announced = c.pacer.Remaining()
		})
		for _, se := range order {
			p := bySeries[se]
			o.ObserveInt64(retries, int64(se.retries.Load()), se.obs...)
			o.ObserveFloat64(waited, p.waited, se.obs...)
			if p.announced && p.services == 1 {
				o.ObserveInt64(remaining, p.remaining, se.obs...)
			}
		}
		return nil
	}, requests, limited, retries, waited, remaining, failed)
	if err != nil {
		return fmt.Errorf("otelmon: register API callback: %w", err)
	}
	s.regs = append(s.regs, reg)
	return nil
}

// transitionAttrs are the from/to attributes of every transition, by
// [from][to] state.
func transitionAttrs() (out [3][3]attribute.Set) {
	for from := breaker.Closed; from <= breaker.HalfOpen; from++ {
		for to := breaker.Closed; to <= breaker.HalfOpen; to++ {
			out[from][to] = attribute.NewSet(
				attribute.String(names.AttrFrom, from.String()),
				attribute.String(names.AttrTo, to.String()))
		}
	}
	return out
}

// registerBreakers exports the registry's breakers from their atomics.
func (s *Stack) registerBreakers(meter metric.Meter, prefix names.Prefix) error {
	failures, err1 := meter.Int64ObservableGauge(prefix.Name(names.CircuitBreakerFailures),
		metric.WithDescription("Consecutive failures counted toward the circuit breaker's threshold, per service; reset when it opens."))
	state, err2 := meter.Int64ObservableGauge(prefix.Name(names.CircuitBreakerState),
		metric.WithDescription("Circuit breaker state per service: 0 closed, 1 open, 2 half-open."))
	rejected, err3 := meter.Int64ObservableCounter(prefix.Name(names.CircuitBreakerRejected),
		metric.WithDescription("Calls rejected by the circuit breaker without running, per service."))
	transitions, err4 := meter.Int64ObservableCounter(prefix.Name(names.CircuitBreakerTransits),
		metric.WithDescription("Circuit breaker state transitions, per service and from/to state."))
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return fmt.Errorf("otelmon: breaker instruments: %w", err)
	}
	pairs := transitionAttrs()
	r, err := meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, st := range s.cfg.Breakers.Stats() {
			se := s.services.Get(st.Name)
			o.ObserveInt64(failures, int64(st.Counts.ConsecutiveFailures), se.obs...)
			o.ObserveInt64(state, int64(st.State), se.obs...)
			o.ObserveInt64(rejected, int64(st.Rejected), se.obs...)
			for from := range st.Transitions {
				for to, n := range st.Transitions[from] {
					if from == to {
						continue
					}
					kvs := append(se.set.ToSlice(), pairs[from][to].ToSlice()...)
					o.ObserveInt64(transitions, int64(n), metric.WithAttributes(kvs...))
				}
			}
		}
		return nil
	}, failures, state, rejected, transitions)
	if err != nil {
		return fmt.Errorf("otelmon: register breaker callback: %w", err)
	}
	s.regs = append(s.regs, r)
	return nil
}
