package alerting

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestNewRejectsInvalidConfig(t *testing.T) {
	cases := []struct {
		name   string
		cfg    Config
		fields []string
	}{
		{"negative evaluation interval", Config{EvaluationInterval: -time.Second}, []string{"EvaluationInterval"}},
		{"negative retention", Config{Retention: -time.Hour}, []string{"Retention"}},
		{"negative max resolved", Config{MaxResolved: -1}, []string{"MaxResolved"}},
		{"negative restore grace", Config{RestoreGrace: -time.Minute}, []string{"RestoreGrace"}},
		{"negative delivery values", Config{Delivery: DeliveryConfig{
			QueueSize: -1, Timeout: -1, MaxAttempts: -1, InitialBackoff: -1, MaxBackoff: -1, MaxElapsed: -1,
		}}, []string{"Delivery.QueueSize", "Delivery.Timeout", "Delivery.MaxAttempts", "Delivery.InitialBackoff", "Delivery.MaxBackoff", "Delivery.MaxElapsed"}},
		{"max backoff below initial backoff", Config{Delivery: DeliveryConfig{InitialBackoff: time.Minute, MaxBackoff: time.Second}}, []string{"Delivery.MaxBackoff"}},
		{"negative silence bounds", Config{Silences: SilenceConfig{
			MaxDuration: -1, MaxSilences: -1, Retention: -1, MaxSize: -1, MaxMatchers: -1, MaxRegexLength: -1, MaxRegexMemory: -1, Refresh: -1,
		}}, []string{"Silences.MaxDuration", "Silences.MaxSilences", "Silences.Retention", "Silences.MaxSize", "Silences.MaxMatchers",
			"Silences.MaxRegexLength", "Silences.MaxRegexMemory", "Silences.Refresh"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			eng, err := New(c.cfg)
			if eng != nil || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want ErrInvalidConfig", eng, err)
			}
			var got []string
			for _, e := range unjoin(err) {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("%v is not a *ConfigError", e)
				}
				got = append(got, ce.Field)
			}
			if !slices.Equal(got, c.fields) {
				t.Fatalf("fields %q, want %q (%v)", got, c.fields, err)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{Delivery: DeliveryConfig{InitialBackoff: 2 * time.Minute}}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d := cfg.Delivery
	if cfg.EvaluationInterval != DefaultEvaluationInterval || cfg.Retention != DefaultRetention || cfg.MaxResolved != DefaultMaxResolved ||
		cfg.RestoreGrace != DefaultRestoreGrace || d.QueueSize != DefaultQueueSize || d.Timeout != DefaultNotifyTimeout ||
		d.MaxAttempts != DefaultMaxAttempts || d.MaxElapsed != DefaultMaxElapsed {
		t.Fatalf("defaults not applied: %+v", cfg)
	}
	if s := cfg.Silences; s != (SilenceConfig{MaxDuration: DefaultMaxSilenceDuration, MaxSilences: DefaultMaxSilences, Retention: DefaultSilenceRetention,
		MaxSize: DefaultMaxSilenceSize, MaxMatchers: DefaultMaxSilenceMatchers, MaxRegexLength: DefaultMaxSilenceRegexLength,
		MaxRegexMemory: DefaultMaxSilenceRegexMemory, Refresh: DefaultSilenceRefresh}) {
		t.Fatalf("silence defaults not applied: %+v", s)
	}
	// A MaxBackoff left to its default follows a longer InitialBackoff.
	if d.MaxBackoff != 2*time.Minute {
		t.Fatalf("MaxBackoff = %s, want InitialBackoff's 2m", d.MaxBackoff)
	}
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
