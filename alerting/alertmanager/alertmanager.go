package alertmanager

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
	"github.com/listsync/otelmon/exporters"
)

// alertsPath is the v2 API's endpoint for posting alerts.
const alertsPath = "/api/v2/alerts"

// Notifier posts alerts to one Alertmanager. Create it with New; it is safe
// for concurrent use.
type Notifier struct {
	endpoint     notifyhttp.Endpoint // posts to {base}/api/v2/alerts, credentials removed
	base         *url.URL            // {base}, credentials removed: the silences' endpoints are under it
	header       http.Header         // Authorization from the base URL's userinfo; a secret
	generatorURL string
	resend       time.Duration
	resendEvery  time.Duration
	external     map[string]string // valid names, no empty values; read-only
}

var _ alerting.Notifier = (*Notifier)(nil)

// New returns a Notifier that posts to the Alertmanager at baseURL, an
// absolute http or https URL such as http://alertmanager:9093 or
// https://user:password@example.com/alertmanager. The path /api/v2/alerts
// is appended unless baseURL ends with it already. It fails with a
// *ConfigError for each problem with the URL or an option, joined; its
// errors never contain the URL. New starts nothing.
func New(baseURL string, opts ...Option) (*Notifier, error) {
	cfg := newConfig(opts)
	u, err := cfg.ParseURL("baseURL", baseURL)
	external, rerr := externalLabels(cfg.Own)
	if rerr != nil {
		cfg = cfg.Invalid("OTEL_RESOURCE_ATTRIBUTES", "", rerr.Error())
	}
	if err = errors.Join(err, cfg.Err()); err != nil {
		return nil, err
	}
	header := http.Header{}
	if u.User != nil {
		pass, _ := u.User.Password()
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)))
		u.User = nil
	}
	u.Fragment, u.RawFragment = "", ""
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), alertsPath) {
		u = u.JoinPath(alertsPath)
	}
	base := *u
	// JoinPath leaves an empty path relative: "api/v2/alerts".
	base.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), alertsPath[1:])
	base.RawPath = ""
	return &Notifier{
		base:         &base,
		endpoint:     cfg.Endpoint(notifyhttp.Target{URL: u, OnStatus: onStatus}),
		header:       header,
		generatorURL: cfg.Own.generatorURL,
		resend:       cfg.Own.resend,
		resendEvery:  cfg.Own.resendEvery,
		external:     external,
	}, nil
}

// Name returns "alertmanager" or the name set by WithName.
func (n *Notifier) Name() string { return n.endpoint.Name() }

// String returns the notifier's name and the endpoint it posts to, without
// credentials and with query values masked, e.g.
// "alertmanager(http://alertmanager:9093/api/v2/alerts)".
func (n *Notifier) String() string { return n.endpoint.String() }

// GoString is String, so that %#v does not print credentials either.
func (n *Notifier) GoString() string { return n.String() }

// Notify posts a as a one-element array of postable alerts, once. See the
// package documentation for the payload and for how its error classifies
// the failure.
func (n *Notifier) Notify(ctx context.Context, a alerting.Alert) error {
	p := newPostable(a, n.external, n.generatorURL, n.resend, n.endpoint.Now())
	return n.endpoint.PostJSON(ctx, []postableAlert{p}, n.header)
}

// onStatus adds Alertmanager's reason for a 400 to the error (see
// reason).
func onStatus(se *alerting.StatusError, body []byte) error {
	if se.StatusCode != http.StatusBadRequest {
		return se
	}
	r := reason(body)
	if r == "" {
		return se
	}
	return fmt.Errorf("%w (%s)", se, r)
}

// ResendInterval implements alerting.Resender: the engine sends each
// firing alert again this often, so Alertmanager does not resolve it on its
// own. It is zero, for no resending, after WithoutResend.
func (n *Notifier) ResendInterval() time.Duration { return n.resendEvery }

var _ alerting.Resender = (*Notifier)(nil)

// externalLabels returns the labels every alert carries besides its own:
// job and instance from the process's resource (s.resource, or one built
// from s.serviceName and the environment as the Monitor builds its own), as
// the collector's Prometheus exporters derive them from the metrics'
// resource (job is service.namespace/service.name, or service.name alone;
// instance is service.instance.id), with s.external applied over them.
func externalLabels(s settings) (map[string]string, error) {
	res := s.resource
	if res == nil {
		var err error
		if res, err = exporters.Resource(context.Background(), s.serviceName, ""); err != nil {
			return nil, err
		}
	}
	set := s.external
	var name, namespace, instance string
	for _, kv := range res.Attributes() {
		switch kv.Key {
		case "service.name":
			name = kv.Value.String()
		case "service.namespace":
			namespace = kv.Value.String()
		case "service.instance.id":
			instance = kv.Value.String()
		}
	}
	out := map[string]string{"instance": instance}
	switch {
	case name != "" && namespace != "":
		out["job"] = namespace + "/" + name
	case name != "":
		out["job"] = name
	}
	for _, k := range notifyhttp.SortedKeys(set) {
		if name := sanitize(k); name != "" {
			out[name] = set[k]
		}
	}
	for k, v := range out {
		if v == "" {
			delete(out, k)
		} else {
			out[k] = valid(v)
		}
	}
	return out, nil
}
