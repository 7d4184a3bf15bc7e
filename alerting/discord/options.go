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
	username  string
	avatarURL string
}

func newConfig(opts []Option) (config, error) {
	c := config{Common: notifyhttp.NewCommon("discord"), username: DefaultUsername}
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
// Retry-After date, and as the embed's timestamp when the alert carries no
// time. Default: the wall clock. A nil clock is ignored.
func WithClock(c alerting.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.SetClock(c) })
}

// WithUsername sets the name messages are posted under. Discord allows 1 to
// 80 characters and refuses names containing "discord" or "clyde"; New
// fails for those. The empty string leaves the webhook's own name. Default:
// DefaultUsername.
func WithUsername(name string) Option {
	return optionFunc(func(cfg *config) {
		lower := strings.ToLower(name)
		switch {
		case utf8.RuneCountInString(name) > 80:
			cfg.Errorf("username is longer than 80 characters")
		case strings.Contains(lower, "discord"), strings.Contains(lower, "clyde"):
			cfg.Errorf("username %q contains a name Discord refuses", name)
		default:
			cfg.username = name
		}
	})
}

// WithAvatarURL sets the image shown next to messages; it must be an http
// or https URL. Default: the webhook's own avatar.
func WithAvatarURL(raw string) Option {
	return optionFunc(func(cfg *config) {
		if _, err := notifyhttp.ParseURL(raw); err != nil {
			cfg.Errorf("avatar %w", err)
			return
		}
		cfg.avatarURL = raw
	})
}

// WithName sets what Name returns, so that several discord notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "discord".
func WithName(name string) Option {
	return optionFunc(func(cfg *config) { cfg.SetName(name) })
}
