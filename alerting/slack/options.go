package slack

import (
	"errors"
	"net/http"
	"time"

	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
	"github.com/listsync/otelmon/internal/clock"
)

// Option configures a Notifier. Options are made by the With functions of
// this package.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

type config struct {
	name     string
	client   *http.Client
	now      func() time.Time
	channel  string
	username string
	errs     []error
}

func newConfig(opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	if c.client == nil {
		c.client = notifyhttp.NewClient()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.name == "" {
		c.name = "slack"
	}
	return c, errors.Join(c.errs...)
}

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy or an otelhttp transport. Its Timeout bounds each attempt. Default
// (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg config) config {
		cfg.client = c
		return cfg
	})
}

// WithClock sets the clock that tells the current time: for a
// Retry-After date, and as the attachment's ts when the alert carries no
// time. Default: the wall clock. A nil clock is ignored. Tests pass a
// clock.Fake.
func WithClock(c clock.Clock) Option {
	return optionFunc(func(cfg config) config {
		if c != nil {
			cfg.now = c.Now
		}
		return cfg
	})
}

// WithChannel sets the channel to post to, e.g. "#alerts"; only legacy
// webhooks honour it. Default: "" (the webhook's channel; not sent).
func WithChannel(channel string) Option {
	return optionFunc(func(cfg config) config {
		cfg.channel = channel
		return cfg
	})
}

// WithUsername sets the name to post as; only legacy webhooks honour it.
// Default: "" (the webhook's name; not sent).
func WithUsername(name string) Option {
	return optionFunc(func(cfg config) config {
		cfg.username = name
		return cfg
	})
}

// WithName sets what Name returns, so that several slack notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "slack".
func WithName(name string) Option {
	return optionFunc(func(cfg config) config {
		if name == "" {
			cfg.errs = append(cfg.errs, errors.New("slack: empty name"))
			return cfg
		}
		cfg.name = name
		return cfg
	})
}
