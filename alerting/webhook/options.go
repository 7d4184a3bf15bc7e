package webhook

import (
	"bytes"
	"net/http"
	"strings"

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

// settings are the webhook's own; the rest of config is every notifier's.
type settings struct {
	header http.Header // canonical keys; values are secrets
	secret []byte      // signing secret; nil means unsigned
}

type config = notifyhttp.Config[settings]

func newConfig(opts []Option) config {
	return notifyhttp.NewConfig("webhook", settings{header: http.Header{}}, opts, Option.apply)
}

// ErrInvalidConfig is wrapped by every error of New: a URL or an option it
// cannot use. It is the same value in every notifier package.
var ErrInvalidConfig = notifyhttp.ErrInvalidConfig

// ConfigError is the error New returns for each argument or option it
// cannot use (several are joined with errors.Join): Field names it ("rawURL",
// "WithHeader", ...), Value shows it when it is not secret, Reason says what
// it must be. It wraps ErrInvalidConfig and never holds the URL, a header
// value or the signing secret. It is the same type in every notifier
// package.
type ConfigError = notifyhttp.ConfigError

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy, custom TLS or an otelhttp transport. Its Timeout bounds each
// attempt. Default (and for nil): a client with a 10 s timeout that does not
// follow redirects.
func WithHTTPClient(c *http.Client) Option { return optionFunc(notifyhttp.HTTPClient[settings](c)) }

// WithClock sets the clock that tells the current time, used to read a
// Retry-After date. Default (and for nil): the wall clock.
func WithClock(c alerting.Clock) Option { return optionFunc(notifyhttp.Clock[settings](c)) }

// WithName sets what Name returns, so that several webhook notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "webhook".
func WithName(name string) Option { return optionFunc(notifyhttp.Name[settings](name)) }

// reserved are the headers that the notifier owns.
var reserved = map[string]bool{
	"Content-Type":      true,
	"Content-Length":    true,
	"Host":              true,
	"Transfer-Encoding": true,
	"Connection":        true,
	SignatureHeader:     true,
}

// WithHeader adds a static header to every request, e.g.
// WithHeader("Authorization", "Bearer "+token). The value is treated as a
// secret: it never appears in errors. New fails for an invalid name, a value
// with control characters, a name given twice, or a header the notifier sets
// itself (Content-Type, Content-Length, Host, Transfer-Encoding, Connection,
// X-Otelmon-Signature). Default: no extra headers.
func WithHeader(name, value string) Option {
	return optionFunc(func(c config) config {
		key := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			return c.Invalid("WithHeader", "", "name must be a valid token")
		case reserved[key]:
			return c.Invalid("WithHeader", key, "is set by the notifier")
		case strings.ContainsAny(value, "\r\n\x00"):
			return c.Invalid("WithHeader", key, "value must not contain control characters")
		case len(c.Own.header.Values(key)) > 0:
			return c.Invalid("WithHeader", key, "given twice")
		}
		c.Own.header = c.Own.header.Clone()
		c.Own.header.Set(key, value)
		return c
	})
}

// WithSigningSecret makes the notifier sign every body with HMAC-SHA256
// under secret and send the signature in the SignatureHeader header as
// "sha256=<hex>" (see Sign and Verify). The secret is copied and never
// appears in errors; New fails for an empty one. Default: bodies are not
// signed.
func WithSigningSecret(secret []byte) Option {
	return optionFunc(func(c config) config {
		if len(secret) == 0 {
			return c.Invalid("WithSigningSecret", "", "must not be empty")
		}
		c.Own.secret = bytes.Clone(secret)
		return c
	})
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
