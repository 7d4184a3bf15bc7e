package alerting

import (
	"errors"
	"log/slog"
	"slices"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting/silence"
	"github.com/listsync/otelmon/internal/clock"
	"github.com/listsync/otelmon/internal/configerr"
	"github.com/listsync/otelmon/internal/names"
)

// Defaults applied to the zero values of Config and DeliveryConfig.
const (
	DefaultEvaluationInterval = 60 * time.Second
	DefaultRetention          = 30 * 24 * time.Hour
	DefaultMaxResolved        = 1000
	DefaultRestoreGrace       = 10 * time.Minute

	DefaultQueueSize      = 64
	DefaultNotifyTimeout  = 10 * time.Second
	DefaultMaxAttempts    = 5
	DefaultInitialBackoff = time.Second
	DefaultMaxBackoff     = time.Minute
	DefaultMaxElapsed     = 5 * time.Minute

	DefaultMaxSilenceDuration    = silence.DefaultMaxDuration
	DefaultMaxSilences           = silence.DefaultMaxSilences
	DefaultSilenceRetention      = silence.DefaultRetention
	DefaultMaxSilenceSize        = silence.DefaultMaxSize
	DefaultMaxSilenceMatchers    = silence.DefaultMaxMatchers
	DefaultMaxSilenceRegexLength = silence.DefaultMaxRegexLength
	DefaultMaxSilenceRegexMemory = silence.DefaultMaxRegexMemory
	DefaultSilenceRefresh        = silence.DefaultRefresh
)

// Config holds the engine's settings. The zero value is valid: every field
// that is zero takes its documented default. A negative duration or count is
// an error (*ConfigError from New).
type Config struct {
	// EvaluationInterval is how often the goroutine started by Start
	// evaluates the rules. Optional; default 60 s.
	EvaluationInterval time.Duration
	// Retention is how long resolved alerts are kept for the API before they
	// are dropped. Optional; default 30 days.
	Retention time.Duration
	// MaxResolved caps how many resolved alerts are kept; past it the oldest
	// are dropped first, whatever their age. Optional; default 1000.
	MaxResolved int
	// StatePath, when set, is the file in which alert state
	// (acknowledgements and notification bookkeeping) is kept across
	// restarts. It is written atomically (temporary file and rename) after
	// every change and read by New. The engine owns it from New to Shutdown
	// through a lock file beside it (StatePath+".lock"); see New. Symbolic
	// links are followed: the engine locks and saves the file they lead
	// to (and the link stays a link), so two paths to one file have one
	// owner. Optional; empty means memory only.
	StatePath string
	// RestoreGrace is how long, from the first evaluation after New, an
	// alert restored from StatePath stays as it was while its series has not
	// been reported yet, or its rule not added again: after a restart the
	// host's gauges and counters take a while to be recorded again, and a
	// host may add its rules after Start; neither absence is evidence that
	// the problem went away. A reading that clears the condition still
	// resolves the alert at once. Optional; default 10 min.
	RestoreGrace time.Duration
	// Delivery configures notification queues and retries.
	Delivery DeliveryConfig
	// Silences bounds the silences (CreateSilence) and how long expired
	// ones are kept.
	Silences SilenceConfig
	// MaintenanceWindows mute the alerts they select at recurring times
	// (see MaintenanceWindow). Optional; names must be unique, and each
	// window is checked by New (*ConfigError naming
	// MaintenanceWindows[i]).
	MaintenanceWindows []MaintenanceWindow
}

// DeliveryConfig configures how notifications reach notifiers. The zero
// value is valid; zero fields take their defaults, negative ones are an
// error (*ConfigError from New).
type DeliveryConfig struct {
	// QueueSize bounds the backlog a notifier may carry from one evaluation
	// to the next. An evaluation's notifications are queued whole, however
	// many (a burst of a thousand reaches every notifier that keeps up),
	// for a notifier whose backlog is below QueueSize; for one whose
	// backlog is not, a notifier that is failing or too slow, they are
	// dropped, counted in notifications_dropped_total and logged as one
	// summary line per notifier and minute. Default 64.
	QueueSize int
	// Timeout bounds one call to Notify. Default 10 s.
	Timeout time.Duration
	// MaxAttempts bounds the calls made for one notification, first try
	// included. Default 5.
	MaxAttempts int
	// InitialBackoff is the first retry delay; delays then double (with
	// jitter) up to MaxBackoff. Defaults 1 s and 1 min; a MaxBackoff left
	// zero is raised to InitialBackoff if that is longer, an explicit
	// MaxBackoff below InitialBackoff is an error. A longer delay asked by
	// the receiver (Retry-After) is honoured.
	InitialBackoff time.Duration
	MaxBackoff     time.Duration
	// MaxElapsed bounds the time spent on one notification, waits
	// included; a retry that would end past it is not made. Default 5 min.
	MaxElapsed time.Duration
}

// withDefaults returns c with its zero fields defaulted, or the
// *ConfigErrors of its invalid fields, joined.
func (c Config) withDefaults() (Config, error) {
	d := &c.Delivery
	maxBackoffSet := d.MaxBackoff != 0
	errs := []error{
		orDefault("EvaluationInterval", &c.EvaluationInterval, DefaultEvaluationInterval),
		orDefault("Retention", &c.Retention, DefaultRetention),
		orDefault("MaxResolved", &c.MaxResolved, DefaultMaxResolved),
		orDefault("RestoreGrace", &c.RestoreGrace, DefaultRestoreGrace),
		orDefault("Delivery.QueueSize", &d.QueueSize, DefaultQueueSize),
		orDefault("Delivery.Timeout", &d.Timeout, DefaultNotifyTimeout),
		orDefault("Delivery.MaxAttempts", &d.MaxAttempts, DefaultMaxAttempts),
		orDefault("Delivery.InitialBackoff", &d.InitialBackoff, DefaultInitialBackoff),
		orDefault("Delivery.MaxBackoff", &d.MaxBackoff, DefaultMaxBackoff),
		orDefault("Delivery.MaxElapsed", &d.MaxElapsed, DefaultMaxElapsed),
		orDefault("Silences.MaxDuration", &c.Silences.MaxDuration, DefaultMaxSilenceDuration),
		orDefault("Silences.MaxSilences", &c.Silences.MaxSilences, DefaultMaxSilences),
		orDefault("Silences.Retention", &c.Silences.Retention, DefaultSilenceRetention),
		orDefault("Silences.MaxSize", &c.Silences.MaxSize, DefaultMaxSilenceSize),
		orDefault("Silences.MaxMatchers", &c.Silences.MaxMatchers, DefaultMaxSilenceMatchers),
		orDefault("Silences.MaxRegexLength", &c.Silences.MaxRegexLength, DefaultMaxSilenceRegexLength),
		orDefault("Silences.MaxRegexMemory", &c.Silences.MaxRegexMemory, DefaultMaxSilenceRegexMemory),
		orDefault("Silences.Refresh", &c.Silences.Refresh, DefaultSilenceRefresh),
	}
	if d.MaxBackoff < d.InitialBackoff {
		if maxBackoffSet {
			errs = append(errs, &ConfigError{Field: "Delivery.MaxBackoff", Value: d.MaxBackoff.String(),
				Reason: "must not be below Delivery.InitialBackoff " + d.InitialBackoff.String()})
		}
		d.MaxBackoff = d.InitialBackoff
	}
	if _, err := compileWindows(c.MaintenanceWindows); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	c.MaintenanceWindows = slices.Clone(c.MaintenanceWindows)
	for i, mw := range c.MaintenanceWindows {
		c.MaintenanceWindows[i] = cloneWindow(mw)
	}
	return c, nil
}

// Validate reports every invalid value of c, each a *ConfigError wrapping
// ErrInvalidConfig, joined; nil when New would accept it.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// orDefault replaces a zero *v by def and rejects a negative one.
func orDefault[T int | time.Duration](field string, v *T, def T) error {
	return configerr.OrDefault(v, def, field, func(field, value, reason string) error {
		return &ConfigError{Field: field, Value: value, Reason: reason}
	})
}

// options holds what the sealed Options set.
type options struct {
	clock     Clock
	logger    *slog.Logger
	prefix    names.Prefix
	notifiers []Notifier
	reader    *sdkmetric.ManualReader
}

func newOptions(opts []Option) options {
	o := options{
		clock:  clock.Real{},
		logger: slog.Default(),
		prefix: names.Default,
	}
	for _, opt := range opts {
		if opt != nil {
			o = opt.apply(o)
		}
	}
	if o.reader == nil {
		o.reader = sdkmetric.NewManualReader()
	}
	return o
}

// Option configures an Engine at construction. Options are sealed: only
// this package's With* functions make them.
type Option interface {
	apply(options) options
}

type optionFunc func(options) options

func (f optionFunc) apply(o options) options { return f(o) }

// Clock tells the time and waits. Its methods use standard types only, so
// any clock a test or host writes fits, and one value serves breaker,
// healthcheck and alerting alike.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer arms a timer that fires once after d: c receives the time
	// when it fires; stop disarms it and reports whether it was still armed.
	NewTimer(d time.Duration) (c <-chan time.Time, stop func() bool)
}

// WithClock sets the clock used for evaluation times, the evaluation
// schedule and retry waits. Default: the wall clock. A nil clock is ignored.
func WithClock(c Clock) Option {
	return optionFunc(func(o options) options {
		if c != nil {
			o.clock = c
		}
		return o
	})
}

// WithLogger sets the logger for evaluation errors, delivery failures and
// state file problems. Default: slog.Default() as it is when New runs. A nil
// logger is ignored.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(o options) options {
		if l != nil {
			o.logger = l
		}
		return o
	})
}

// WithNamespace sets the namespace and subsystem that prefix the metric
// names the built-in conditions read and the engine's own instruments, as
// the Monitor's metrics configuration does. Default: "radarr", "list_sync"
// (prefix "radarr_list_sync_"). Empty parts are left out of the prefix.
func WithNamespace(namespace, subsystem string) Option {
	return optionFunc(func(o options) options {
		o.prefix = names.New(namespace, subsystem)
		return o
	})
}

// WithNotifier registers a notifier. Default: no notifiers. It may be
// given several times; names must be unique (New returns
// ErrDuplicateNotifier otherwise). A nil notifier is ignored. Notifiers can
// also be added later with AddNotifier.
func WithNotifier(n Notifier) Option {
	return optionFunc(func(o options) options {
		if n != nil {
			o.notifiers = append(o.notifiers, n)
		}
		return o
	})
}

// WithReader makes the engine read metrics through r instead of a
// ManualReader of its own: for a reader that had to exist before the
// engine, such as one a host registered on its MeterProvider when it built
// it (otelmon.Embedding does). Reader then returns r. r must not be read
// by anything else that expects delta temporality: the engine collects
// cumulative sums. Default: the engine makes its own ManualReader. A nil
// reader is ignored.
func WithReader(r *sdkmetric.ManualReader) Option {
	return optionFunc(func(o options) options {
		if r != nil {
			o.reader = r
		}
		return o
	})
}
