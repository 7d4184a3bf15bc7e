package webhook

import (
	"net/http"
	"strings"

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
	header http.Header
	secret []byte
}

func newConfig(opts []Option) (config, error) {
	c := config{Common: notifyhttp.NewCommon("webhook"), header: http.Header{}}
	for _, o := range opts {
		if o != nil {
			c = o.apply(c)
		}
	}
	return c, c.Err()
}

// WithHTTPClient sets the client that sends notifications, e.g. one with a
// proxy, custom TLS or an otelhttp transport. Its Timeout bounds each
// attempt. Default (and for nil): a client with a 10 s timeout that does not
// follow redirects.
func WithHTTPClient(c *http.Client) Option {
	return optionFunc(func(cfg *config) { cfg.SetHTTPClient(c) })
}

// WithClock sets the clock that tells the current time, used to read a
// Retry-After date. Default: the wall clock. A nil clock is ignored.
func WithClock(c alerting.Clock) Option {
	return optionFunc(func(cfg *config) { cfg.SetClock(c) })
}

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
	return optionFunc(func(cfg *config) {
		key := http.CanonicalHeaderKey(name)
		switch {
		case !validHeaderName(name):
			cfg.Errorf("header name is not a valid token")
		case reserved[key]:
			cfg.Errorf("header %q is set by the notifier", key)
		case strings.ContainsAny(value, "\r\n\x00"):
			cfg.Errorf("header %q: value contains control characters", key)
		case len(cfg.header.Values(key)) > 0:
			cfg.Errorf("header %q given twice", key)
		default:
			h := cfg.header.Clone()
			h.Set(key, value)
			cfg.header = h
		}
	})
}

// WithSigningSecret makes the notifier sign every body with HMAC-SHA256
// under secret and send the signature in the SignatureHeader header as
// "sha256=<hex>" (see Sign and Verify). The secret is copied and never
// appears in errors; New fails for an empty one. Default: bodies are not
// signed.
func WithSigningSecret(secret []byte) Option {
	return optionFunc(func(cfg *config) {
		if len(secret) == 0 {
			cfg.Errorf("signing secret is empty")
			return
		}
		cfg.secret = append([]byte(nil), secret...)
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

// WithName sets what Name returns, so that several webhook notifiers (one per
// channel, say) can be registered with one engine, which requires unique
// names. The name shows in metrics and logs: it must not contain secrets.
// New fails for an empty name. Default: "webhook".
func WithName(name string) Option {
	return optionFunc(func(cfg *config) { cfg.SetName(name) })
}
