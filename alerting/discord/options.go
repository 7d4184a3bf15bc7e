package discord

import (
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// DefaultUsername is the name the messages are posted under unless
// WithUsername says otherwise.
const DefaultUsername = "otelmon"

// Option configures a Notifier. Options are made by the With functions of
// this package; a nil Option is ignored.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// settings are Discord's own; the rest of config is every notifier's.
type settings struct {
	username  string
	avatarURL string
}

type config = notifyhttp.Config[settings]

func newConfig(opts []Option) config {
	return notifyhttp.NewConfig("discord", settings{username: DefaultUsername}, opts, Option.apply)
}

// ErrInvalidConfig is wrapped by every error of New: a URL or an option it
// cannot use. It is the same value in every notifier package.
var ErrInvalidConfig = notifyhttp.ErrInvalidConfig

// ConfigError is the error New returns for each argument or option it
// cannot use (several are joined with errors.Join): Field names it
// ("webhookURL", "WithUsername", ...), Value shows it when it is not
// secret, Reason says what it must be. It wraps ErrInvalidConfig and never
// holds the webhook URL. It is the same type in every notifier package.
type ConfigError = notifyhttp.ConfigError

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy or an otelhttp transport. Its Timeout bounds each attempt. Default
// (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option { return optionFunc(notifyhttp.HTTPClient[settings](c)) }

// WithClock sets the clock that tells the current time: for a
// Retry-After date, and as the embed's timestamp when the alert carries no
// time. Default (and for nil): the wall clock.
func WithClock(c alerting.Clock) Option { return optionFunc(notifyhttp.Clock[settings](c)) }

// WithName sets what Name returns, so that several discord notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "discord".
func WithName(name string) Option { return optionFunc(notifyhttp.Name[settings](name)) }

// WithUsername sets the name messages are posted under. Discord allows 1 to
// 80 characters and refuses names containing "discord" or "clyde"; New
// fails for those. The empty string leaves the webhook's own name. Default:
// DefaultUsername.
func WithUsername(name string) Option {
	return optionFunc(func(c config) config {
		lower := strings.ToLower(name)
		switch {
		case utf8.RuneCountInString(name) > 80:
			return c.Invalid("WithUsername", "", "must be at most 80 characters")
		case strings.Contains(lower, "discord"), strings.Contains(lower, "clyde"):
			return c.Invalid("WithUsername", `"`+name+`"`, `must not contain "discord" or "clyde"`)
		}
		c.Own.username = name
		return c
	})
}

// WithAvatarURL sets the image shown next to messages; New fails unless it
// is an absolute http or https URL. Default (and for ""): the webhook's own
// avatar.
func WithAvatarURL(raw string) Option {
	return optionFunc(func(c config) config {
		c = c.CheckURL("WithAvatarURL", raw)
		c.Own.avatarURL = raw
		return c
	})
}
