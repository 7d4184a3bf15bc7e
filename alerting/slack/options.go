package slack

import (
	"net/http"

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
	channel  string
	username string
}

func newConfig(opts []Option) (config, error) {
	c := config{Common: notifyhttp.NewCommon("slack")}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c, c.Err()
}

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy or an otelhttp transport. Its Timeout bounds each attempt. Default
// (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *config) { cfg.SetHTTPClient(c) })
}

// WithClock sets the clock that tells the current time: for a
// Retry-After date, and as the attachment's ts when the alert carries no
// time. Default: the wall clock. A nil clock is ignored.
func WithClock(c alerting.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.SetClock(c) })
}

// WithChannel sets the channel to post to, e.g. "#alerts"; only legacy
// webhooks honour it. Default: "" (the webhook's channel; not sent).
func WithChannel(channel string) Option {
	return optionFunc(func(cfg *config) { cfg.channel = channel })
}

// WithUsername sets the name to post as; only legacy webhooks honour it.
// Default: "" (the webhook's name; not sent).
func WithUsername(name string) Option {
	return optionFunc(func(cfg *config) { cfg.username = name })
}

// WithName sets what Name returns, so that several slack notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "slack".
func WithName(name string) Option {
	return optionFunc(func(cfg *config) { cfg.SetName(name) })
}
