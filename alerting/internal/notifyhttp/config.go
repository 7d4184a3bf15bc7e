package notifyhttp

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/internal/configerr"
)

// ErrInvalidConfig is wrapped by every *ConfigError. Each notifier package
// exports it as its own ErrInvalidConfig: the same value, so errors.Is
// matches it whichever package's name a caller uses.
var ErrInvalidConfig = errors.New("invalid notifier config")

// ConfigError reports one invalid argument or option of a notifier's New.
// Each notifier package exports it as its ConfigError. It wraps
// ErrInvalidConfig; find it with errors.As. Its message never holds a
// secret: Value is left empty for URLs, header values and signing secrets.
type ConfigError struct {
	// Field is the argument or option at fault, e.g. "webhookURL" or
	// "WithResendWindow".
	Field string
	// Value is the offending value as text; empty when there is none or it
	// may be secret.
	Value string
	// Reason says what the value must be.
	Reason string

	kind string // the notifier package, which prefixes the message
}

// Error returns "<package>: invalid config: <Field>[ = <Value>]: <Reason>",
// e.g. "alertmanager: invalid config: WithResendWindow = -1s: must not be
// negative".
func (e *ConfigError) Error() string {
	prefix := "invalid config"
	if e.kind != "" {
		prefix = e.kind + ": " + prefix
	}
	return configerr.Message(prefix, e.Field, e.Value, e.Reason)
}

// Unwrap returns ErrInvalidConfig.
func (e *ConfigError) Unwrap() error { return ErrInvalidConfig }

// Config is the configuration of a notifier of some package: what every HTTP
// notifier has (its name, client and clock, and the problems its options
// found) and, in Own, the package's own settings. A package declares
//
//	type config = notifyhttp.Config[settings]
//
// and its options are optionFuncs over config that return a changed copy:
// the common ones are Name, HTTPClient and Clock. Make one with NewConfig.
type Config[T any] struct {
	// Own holds the package's own settings.
	Own T

	kind   string // the package's name: the default name and the error prefix
	name   string
	client *http.Client // nil means NewClient
	now    func() time.Time
	errs   []error
}

// NewConfig returns the configuration of a notifier of package kind
// ("webhook", "discord", ...): defaults (named kind, a NewClient client, the
// wall clock, own) with opts applied in order by apply, which is the package's
// Option.apply. Nil options are skipped.
func NewConfig[T, O any](kind string, own T, opts []O, apply func(O, Config[T]) Config[T]) Config[T] {
	c := Config[T]{Own: own, kind: kind, name: kind, now: time.Now}
	for _, o := range opts {
		if any(o) != nil {
			c = apply(o, c)
		}
	}
	return c
}

// Name is the body of each package's WithName: it sets the notifier's
// name; the empty name is invalid.
func Name[T any](name string) func(Config[T]) Config[T] {
	return func(c Config[T]) Config[T] {
		if name == "" {
			return c.Invalid("WithName", "", "must not be empty")
		}
		c.name = name
		return c
	}
}

// HTTPClient is the body of each package's WithHTTPClient: it sets the
// client that sends notifications; nil means a NewClient client.
func HTTPClient[T any](client *http.Client) func(Config[T]) Config[T] {
	return func(c Config[T]) Config[T] {
		c.client = client
		return c
	}
}

// Clock is the body of each package's WithClock: it sets the clock that
// tells the current time; nil means the wall clock.
func Clock[T any](clk alerting.Clock) func(Config[T]) Config[T] {
	return func(c Config[T]) Config[T] {
		c.now = time.Now
		if clk != nil {
			c.now = clk.Now
		}
		return c
	}
}

// Invalid returns c with a *ConfigError for field recorded, for Err to
// return.
func (c Config[T]) Invalid(field, value, reason string) Config[T] {
	c.errs = append(slices.Clip(c.errs), c.configError(field, value, reason))
	return c
}

func (c Config[T]) configError(field, value, reason string) *ConfigError {
	return &ConfigError{Field: field, Value: value, Reason: reason, kind: c.kind}
}

// ParseURL parses raw, the notifier's argument field, with the function
// ParseURL. Its error, a *ConfigError, never repeats raw.
func (c Config[T]) ParseURL(field, raw string) (*url.URL, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return nil, c.configError(field, "", err.Error())
	}
	return u, nil
}

// CheckURL returns c, with a *ConfigError for field recorded unless raw is
// empty (an optional URL left at its default) or a URL that ParseURL
// accepts.
func (c Config[T]) CheckURL(field, raw string) Config[T] {
	if raw == "" {
		return c
	}
	if _, err := ParseURL(raw); err != nil {
		return c.Invalid(field, "", err.Error())
	}
	return c
}

// Err returns the *ConfigErrors recorded by the options, joined, or nil if
// there are none.
func (c Config[T]) Err() error { return errors.Join(c.errs...) }

// Endpoint returns the Endpoint that posts to t with c's name, client and
// clock.
func (c Config[T]) Endpoint(t Target) Endpoint {
	client := c.client
	if client == nil {
		client = NewClient()
	}
	return Endpoint{kind: c.kind, name: c.name, client: client, now: c.now, target: t}
}
