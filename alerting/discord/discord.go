package discord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// maxRetryAfter bounds the wait a 429 body can ask for, as the Retry-After
// header parser does.
const maxRetryAfter = 24 * time.Hour

// Notifier posts alerts to one Discord webhook. Create it with New; it is
// safe for concurrent use.
type Notifier struct {
	endpoint  notifyhttp.Endpoint // its URL is a secret: the token is in the path
	username  string
	avatarURL string
}

var _ alerting.Notifier = (*Notifier)(nil)

// New returns a Notifier that posts to webhookURL, a Discord webhook URL
// such as https://discord.com/api/webhooks/<id>/<token> (any absolute http
// or https URL is accepted, so that a proxy or a stand-in can be used). It
// fails with a *ConfigError for each problem with the URL or an option,
// joined; its errors never contain the URL. New starts nothing.
func New(webhookURL string, opts ...Option) (*Notifier, error) {
	cfg := newConfig(opts)
	u, err := cfg.ParseURL("webhookURL", webhookURL)
	if err = errors.Join(err, cfg.Err()); err != nil {
		return nil, err
	}
	return &Notifier{
		endpoint:  cfg.Endpoint(notifyhttp.Target{URL: u, OnStatus: onStatus}),
		username:  cfg.Own.username,
		avatarURL: cfg.Own.avatarURL,
	}, nil
}

// Name returns "discord" or the name set by WithName.
func (n *Notifier) Name() string { return n.endpoint.Name() }

// String returns the notifier's name and the scheme and host of its
// webhook, e.g. "discord(https://discord.com)".
func (n *Notifier) String() string { return n.endpoint.String() }

// GoString is String, so that %#v does not print the webhook either.
func (n *Notifier) GoString() string { return n.String() }

// Notify posts a as one embed, once. See the package documentation for the
// payload and for how its error classifies the failure.
func (n *Notifier) Notify(ctx context.Context, a alerting.Alert) error {
	return n.endpoint.PostJSON(ctx, newPayload(a, n.username, n.avatarURL, n.endpoint.Now), nil)
}

// errorBody is the part of Discord's error answers that Notify reads.
type errorBody struct {
	Message    string  `json:"message"`
	RetryAfter float64 `json:"retry_after"` // seconds, on 429
	Global     bool    `json:"global"`
}

// onStatus takes the wait from a 429 body when it is longer than the
// Retry-After header's, and adds Discord's message to the error.
func onStatus(se *alerting.StatusError, body []byte) error {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return se
	}
	if se.StatusCode == http.StatusTooManyRequests && eb.RetryAfter > 0 && eb.RetryAfter <= maxRetryAfter.Seconds() {
		d := time.Duration(math.Ceil(eb.RetryAfter * float64(time.Second)))
		if d > se.Delay {
			se.Delay = d
		}
	}
	if eb.Message == "" {
		return se
	}
	msg := notifyhttp.Truncate(eb.Message, 200)
	if eb.Global {
		msg += ", global"
	}
	return fmt.Errorf("%w (%s)", se, msg)
}
