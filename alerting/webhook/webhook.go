package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Version is the version of the Message format this package sends.
const Version = "1"

// SignatureHeader carries the body's HMAC-SHA256 signature when a signing
// secret is set: "sha256=" followed by the lowercase hex digest.
const SignatureHeader = "X-Otelmon-Signature"

// Message is the JSON body of a notification. Receivers written in Go can
// decode it directly; a null value decodes as 0.
type Message struct {
	// Version is the format version, Version for this package.
	Version string `json:"version"`
	// Status is the alert's state: "firing" or "resolved".
	Status alerting.State `json:"status"`
	// Alert is the alert as it encodes to JSON.
	Alert alerting.Alert `json:"alert"`
}

// Notifier posts alerts to one webhook URL. Create it with New; it is safe
// for concurrent use.
type Notifier struct {
	endpoint notifyhttp.Endpoint // its URL is a secret: never in errors or String
	header   http.Header         // static headers; values are secrets
	secret   []byte              // signing secret; nil means unsigned
}

var _ alerting.Notifier = (*Notifier)(nil)

// New returns a Notifier that posts to rawURL, an absolute http or https
// URL. It fails with a *ConfigError for each problem (the URL does not
// parse, an option is invalid), joined; its errors never contain the URL or
// any secret. New starts nothing.
func New(rawURL string, opts ...Option) (*Notifier, error) {
	cfg := newConfig(opts)
	u, err := cfg.ParseURL("rawURL", rawURL)
	if err = errors.Join(err, cfg.Err()); err != nil {
		return nil, err
	}
	return &Notifier{
		endpoint: cfg.Endpoint(notifyhttp.Target{URL: u}),
		header:   cfg.Own.header,
		secret:   cfg.Own.secret,
	}, nil
}

// Name returns "webhook" or the name set by WithName.
func (n *Notifier) Name() string { return n.endpoint.Name() }

// String returns the notifier's name and the scheme and host of its URL,
// e.g. "webhook(https://hooks.example.com)"; the rest of the URL is secret.
func (n *Notifier) String() string { return n.endpoint.String() }

// GoString is String, so that %#v does not print the URL either.
func (n *Notifier) GoString() string { return n.String() }

// Notify posts a as a Message, once. See the package documentation for how
// its error classifies the failure.
func (n *Notifier) Notify(ctx context.Context, a alerting.Alert) error {
	body, err := encode(a)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	h := n.header.Clone()
	if n.secret != nil {
		h.Set(SignatureHeader, Sign(n.secret, body))
	}
	return n.endpoint.Post(ctx, body, h)
}

// encode returns the body that Notify sends for a. Its errors wrap
// alerting.ErrPermanent.
func encode(a alerting.Alert) ([]byte, error) {
	return notifyhttp.MarshalJSON(Message{Version: Version, Status: a.State, Alert: a})
}

// Sign returns the SignatureHeader value for body under secret:
// "sha256=" and the hex HMAC-SHA256 digest.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether signature, a SignatureHeader value, is the
// signature of body under secret. It compares in constant time.
func Verify(secret, body []byte, signature string) bool {
	return hmac.Equal([]byte(signature), []byte(Sign(secret, body)))
}
