package slack

import (
	"net/http"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Option configures a Notifier. Options are made by the With functions of
// this package; a nil Option is ignored.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// settings are Slack's own; the rest of config is every notifier's.
type settings struct {
	channel  string
	username string
}

type config = notifyhttp.Config[settings]

func newConfig(opts []Option) config {
	return notifyhttp.NewConfig("slack", settings{}, opts, Option.apply)
}

// ErrInvalidConfig is wrapped by every error of New: a URL or an option it
// cannot use. It is the same value in every notifier package.
var ErrInvalidConfig = notifyhttp.ErrInvalidConfig

// ConfigError is the error New returns for each argument or option it
// cannot use (several are joined with errors.Join): Field names it
// ("webhookURL", "WithName"), Value shows it when it is not secret, Reason
// says what it must be. It wraps ErrInvalidConfig and never holds the
// webhook URL. It is the same type in every notifier package.
type ConfigError = notifyhttp.ConfigError

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy or an otelhttp transport. Its Timeout bounds each attempt. Default
// (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option { return optionFunc(notifyhttp.HTTPClient[settings](c)) }

// WithClock sets the clock that tells the current time: for a
// Retry-After date, and as the attachment's ts when the alert carries no
// time. Default (and for nil): the wall clock.
func WithClock(c alerting.Clock) Option { return optionFunc(notifyhttp.Clock[settings](c)) }

// WithName sets what Name returns, so that several slack notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "slack".
func WithName(name string) Option { return optionFunc(notifyhttp.Name[settings](name)) }

// WithChannel sets the channel to post to, e.g. "#alerts"; only legacy
// webhooks honour it. Default (and for ""): the webhook's channel; none is
// sent.
func WithChannel(channel string) Option {
	return optionFunc(func(c config) config { c.Own.channel = channel; return c })
}

// WithUsername sets the name to post as; only legacy webhooks honour it.
// Default (and for ""): the webhook's name; none is sent.
func WithUsername(name string) Option {
	return optionFunc(func(c config) config { c.Own.username = name; return c })
}
