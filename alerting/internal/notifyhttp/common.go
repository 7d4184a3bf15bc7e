package notifyhttp

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// Common is the configuration that every HTTP notifier has: its name, its
// client and its clock. Each notifier package's config embeds it, so that
// the package's WithName, WithHTTPClient and WithClock options are one-line
// wrappers over SetName, SetHTTPClient and SetClock, and its own options
// record their errors with Errorf. Make it with NewCommon.
type Common struct {
	kind   string // the package's name: the default name and the error prefix
	name   string
	client *http.Client // nil means NewClient
	now    func() time.Time
	errs   []error
}

// NewCommon returns the defaults of a notifier of package kind ("webhook",
// "discord", ...): named kind, a NewClient client and the wall clock.
func NewCommon(kind string) Common {
	return Common{kind: kind, name: kind, now: time.Now}
}

// SetHTTPClient sets the client that sends notifications; nil means a
// NewClient client.
func (c *Common) SetHTTPClient(client *http.Client) { c.client = client }

// SetClock sets the clock that tells the current time; nil is ignored.
func (c *Common) SetClock(clk alerting.Clock) {
	if clk != nil {
		c.now = clk.Now
	}
}

// SetName sets the notifier's name; the empty name is an error.
func (c *Common) SetName(name string) {
	if name == "" {
		c.Errorf("empty name")
		return
	}
	c.name = name
}

// Errorf records an error for Err to return, its message prefixed with the
// package's name, e.g. "webhook: empty name".
func (c *Common) Errorf(format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: "+format, append([]any{c.kind}, args...)...))
}

// Err returns the errors recorded by Errorf, joined, or nil if there are
// none.
func (c *Common) Err() error { return errors.Join(c.errs...) }

// Endpoint returns the Endpoint that posts to t with c's name, client and
// clock.
func (c *Common) Endpoint(t Target) Endpoint {
	client := c.client
	if client == nil {
		client = NewClient()
	}
	return Endpoint{kind: c.kind, name: c.name, client: client, now: c.now, target: t}
}
