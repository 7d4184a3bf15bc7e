package alertmanager

import (
	"net/http"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Option configures a Notifier. Options are made by the With functions of
// this package.
type Option interface {
	apply(config) config
}

type optionFunc func(*config)

func (f optionFunc) apply(c config) config {
	f(&c)
	return c
}

type config struct {
	notifyhttp.Common
	generatorURL string
	resend       time.Duration
	resendEvery  time.Duration
}

func newConfig(opts []Option) (config, error) {
	c := config{Common: notifyhttp.NewCommon("alertmanager"), resendEvery: DefaultResendInterval}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c, c.Err()
}

// WithHTTPClient sets the client that sends notifications, e.g. one with
// custom TLS or an otelhttp transport. Its Timeout bounds each attempt.
// Default (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *config) { cfg.SetHTTPClient(c) })
}

// WithClock sets the clock that tells the current time: for endsAt (see
// WithResendWindow) and for a Retry-After date. Default: the wall clock. A
// nil clock is ignored.
func WithClock(c alerting.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.SetClock(c) })
}

// WithGeneratorURL sets the generatorURL of every alert: the page that
// Alertmanager's UI and templates link to, e.g. the service's status page.
// It must be an absolute http or https URL. Default: none (left out).
func WithGeneratorURL(raw string) Option {
	return optionFunc(func(cfg *config) {
		if _, err := notifyhttp.ParseURL(raw); err != nil {
			cfg.Errorf("generator %w", err)
			return
		}
		cfg.generatorURL = raw
	})
}

// WithResendWindow sets endsAt of firing alerts to now + d, after which
// Alertmanager resolves an alert that was not sent again. Choose a few times
// the interval at which firing alerts are re-sent (Prometheus uses 4×).
// New fails for a negative d. Default (and for 0): endsAt is left out and
// Alertmanager's resolve_timeout applies.
func WithResendWindow(d time.Duration) Option {
	return optionFunc(func(cfg *config) {
		if d < 0 {
			cfg.Errorf("negative resend window %v", d)
			return
		}
		cfg.resend = d
	})
}

// WithResendInterval sets how often the engine sends each firing alert
// again (see alerting.Resender), so that Alertmanager keeps it firing:
// keep it well below Alertmanager's resolve_timeout (5m by default) or the
// window of WithResendWindow. Resends happen at alert evaluations, so the
// effective interval is rounded up to the evaluation interval. New fails
// for a negative d; 0 turns resending off. Default: DefaultResendInterval.
func WithResendInterval(d time.Duration) Option {
	return optionFunc(func(cfg *config) {
		if d < 0 {
			cfg.Errorf("negative resend interval %v", d)
			return
		}
		cfg.resendEvery = d
	})
}

// WithName sets what Name returns, so that several alertmanager notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "alertmanager".
func WithName(name string) Option {
	return optionFunc(func(cfg *config) { cfg.SetName(name) })
}
