package alertmanager

import (
	"net/http"
	"time"

	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
	"github.com/listsync/otelmon/exporters"
)

// DefaultResendInterval is how often a firing alert is sent again by
// default, as Prometheus' default resend delay.
const DefaultResendInterval = time.Minute

// Option configures a Notifier. Options are made by the With functions of
// this package; a nil Option is ignored.
type Option interface {
	apply(config) config
}

type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

// settings are Alertmanager's own; the rest of config is every notifier's.
type settings struct {
	generatorURL string
	resend       time.Duration      // endsAt window; 0 leaves endsAt out
	resendEvery  time.Duration      // 0 turns resending off
	external     map[string]string  // WithExternalLabels; over the resource's job and instance
	serviceName  string             // WithServiceName; the resource's service.name unless the env sets one
	resource     *resource.Resource // WithResource; nil builds one from serviceName and the env
}

type config = notifyhttp.Config[settings]

func newConfig(opts []Option) config {
	return notifyhttp.NewConfig("alertmanager", settings{resendEvery: DefaultResendInterval, serviceName: exporters.DefaultServiceName}, opts, Option.apply)
}

// ErrInvalidConfig is wrapped by every error of New: a URL or an option it
// cannot use. It is the same value in every notifier package.
var ErrInvalidConfig = notifyhttp.ErrInvalidConfig

// ConfigError is the error New returns for each argument or option it
// cannot use (several are joined with errors.Join): Field names it
// ("baseURL", "WithResendWindow", ...), Value shows it when it is not
// secret, Reason says what it must be. It wraps ErrInvalidConfig and never
// holds the URL or its credentials. It is the same type in every notifier
// package.
type ConfigError = notifyhttp.ConfigError

// WithHTTPClient sets the client that sends notifications, e.g. one with
// custom TLS or an otelhttp transport. Its Timeout bounds each attempt.
// Default (and for nil): a client with a 10 s timeout that does not follow
// redirects.
func WithHTTPClient(c *http.Client) Option { return optionFunc(notifyhttp.HTTPClient[settings](c)) }

// WithClock sets the clock that tells the current time: for endsAt (see
// WithResendWindow) and for a Retry-After date. Default (and for nil): the
// wall clock.
func WithClock(c alerting.Clock) Option { return optionFunc(notifyhttp.Clock[settings](c)) }

// WithName sets what Name returns, so that several alertmanager notifiers
// (one per Alertmanager, say) can be registered with one engine, which
// requires unique names. The name shows in metrics and logs: it must not
// contain secrets. New fails for an empty name. Default: "alertmanager".
func WithName(name string) Option { return optionFunc(notifyhttp.Name[settings](name)) }

// WithGeneratorURL sets the generatorURL of every alert: the page that
// Alertmanager's UI and templates link to, e.g. the service's status page.
// New fails unless it is an absolute http or https URL. Default (and for
// ""): none, left out.
func WithGeneratorURL(raw string) Option {
	return optionFunc(func(c config) config {
		c = c.CheckURL("WithGeneratorURL", raw)
		c.Own.generatorURL = raw
		return c
	})
}

// WithResendWindow sets endsAt of firing alerts to now + d, after which
// Alertmanager resolves an alert that was not sent again. Choose a few times
// the interval at which firing alerts are re-sent (Prometheus uses 4×).
// New fails for a negative d. Default (and for 0): endsAt is left out and
// Alertmanager's resolve_timeout applies.
func WithResendWindow(d time.Duration) Option {
	return optionFunc(func(c config) config {
		if d < 0 {
			return c.Invalid("WithResendWindow", d.String(), "must not be negative")
		}
		c.Own.resend = d
		return c
	})
}

// WithResendInterval sets how often the engine sends each firing alert
// again (see alerting.Resender), so that Alertmanager keeps it firing:
// keep it well below Alertmanager's resolve_timeout (5m by default) or the
// window of WithResendWindow. Resends happen at alert evaluations, so the
// effective interval is rounded up to the evaluation interval. New fails
// for a negative d. Default (and for 0): DefaultResendInterval. To turn
// resending off, use WithoutResend.
func WithResendInterval(d time.Duration) Option {
	return optionFunc(func(c config) config {
		switch {
		case d < 0:
			return c.Invalid("WithResendInterval", d.String(), "must not be negative")
		case d == 0:
			d = DefaultResendInterval
		}
		c.Own.resendEvery = d
		return c
	})
}

// WithoutResend turns resending off: each firing alert is sent once, when
// it starts firing, and Alertmanager resolves it once its endsAt (see
// WithResendWindow) or resolve_timeout passes, while it may still fire.
// Default: firing alerts are re-sent every DefaultResendInterval.
func WithoutResend() Option {
	return optionFunc(func(c config) config { c.Own.resendEvery = 0; return c })
}

// WithExternalLabels adds labels to every alert, over the job and instance
// labels that New takes from the process's resource (see the package
// documentation, WithServiceName and WithResource): a label given here replaces the resource's, and one given
// with an empty value removes it (WithExternalLabels(map[string]string{
// "instance": ""}) sends no instance label). Names are made valid as the
// alert's own labels are; alertname, severity and the alert's own labels win
// over external ones. The map is copied. Default: none, so alerts carry job
// and instance as the resource gives them.
func WithExternalLabels(labels map[string]string) Option {
	return optionFunc(func(c config) config {
		ext := make(map[string]string, len(c.Own.external)+len(labels))
		for k, v := range c.Own.external {
			ext[k] = v
		}
		for k, v := range labels {
			ext[k] = v
		}
		c.Own.external = ext
		return c
	})
}

// WithServiceName sets the service.name of the resource that the job label
// comes from, as otelmon.WithServiceName does for the Monitor's metrics:
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override it. Give both the
// same name, so that an alert and its Prometheus twin carry the same job.
// WithResource takes precedence. Default (and for ""):
// exporters.DefaultServiceName ("otelmon"), the Monitor's default.
func WithServiceName(name string) Option {
	return optionFunc(func(c config) config {
		if name == "" {
			name = exporters.DefaultServiceName
		}
		c.Own.serviceName = name
		return c
	})
}

// WithResource sets the resource that job and instance come from, for a
// host that builds its own (the resource of its MeterProvider, say), so
// that alerts name the process exactly as its metrics do. It is used as
// given: the environment is not read again. It takes precedence over
// WithServiceName. Default (and for nil): a resource built as the
// Monitor builds its own, from WithServiceName's name, a UUID per process
// as service.instance.id, and the environment (exporters.Resource).
func WithResource(res *resource.Resource) Option {
	return optionFunc(func(c config) config {
		c.Own.resource = res
		return c
	})
}
