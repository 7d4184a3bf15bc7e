package breaker

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestConfigMerge(t *testing.T) {
	base := Config{FailureThreshold: 3, OpenTimeout: 30 * time.Second, RequestTimeout: 10 * time.Second}
	for _, tc := range []struct {
		name     string
		override Config
		want     Config
	}{
		{"empty", Config{}, base},
		{"one field", Config{OpenTimeout: 5 * time.Second}, Config{FailureThreshold: 3, OpenTimeout: 5 * time.Second, RequestTimeout: 10 * time.Second}},
		{"every field",
			Config{FailureThreshold: 1, SuccessThreshold: 2, HalfOpenMaxRequests: 3, OpenTimeout: 4, MaxOpenTimeout: 5, BackoffMultiplier: 6, RequestTimeout: 7},
			Config{FailureThreshold: 1, SuccessThreshold: 2, HalfOpenMaxRequests: 3, OpenTimeout: 4, MaxOpenTimeout: 5, BackoffMultiplier: 6, RequestTimeout: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := base.Merge(tc.override); got != tc.want {
				t.Fatalf("Merge = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cfg    Config
		fields []string // nil: valid
	}{
		{"zero", Config{}, nil},
		{"defaults", Config{FailureThreshold: 5, OpenTimeout: 60 * time.Second, RequestTimeout: 30 * time.Second}, nil},
		{"negative ints", Config{FailureThreshold: -1, SuccessThreshold: -2, HalfOpenMaxRequests: -3}, []string{"FailureThreshold", "SuccessThreshold", "HalfOpenMaxRequests"}},
		{"negative durations", Config{OpenTimeout: -1, MaxOpenTimeout: -1, RequestTimeout: -time.Second}, []string{"OpenTimeout", "MaxOpenTimeout", "RequestTimeout"}},
		{"threshold too large", Config{FailureThreshold: MaxFailureThreshold + 1}, []string{"FailureThreshold"}},
		{"threshold at max", Config{FailureThreshold: MaxFailureThreshold}, nil},
		{"multiplier below one", Config{BackoffMultiplier: 0.5}, []string{"BackoffMultiplier"}},
		{"multiplier negative", Config{BackoffMultiplier: -2}, []string{"BackoffMultiplier"}},
		{"multiplier NaN", Config{BackoffMultiplier: math.NaN()}, []string{"BackoffMultiplier"}},
		{"multiplier one", Config{BackoffMultiplier: 1}, nil},
		{"max below open", Config{OpenTimeout: time.Minute, MaxOpenTimeout: time.Second}, []string{"MaxOpenTimeout"}},
		{"max below default open", Config{MaxOpenTimeout: time.Second}, []string{"MaxOpenTimeout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.fields == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			var got []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *ConfigError
				if !errors.As(e, &ce) {
					t.Fatalf("%v is not a *ConfigError", e)
				}
				got = append(got, ce.Field)
			}
			if len(got) != len(tc.fields) {
				t.Fatalf("invalid fields %v, want %v", got, tc.fields)
			}
			for i := range got {
				if got[i] != tc.fields[i] {
					t.Fatalf("invalid fields %v, want %v", got, tc.fields)
				}
			}
		})
	}
}

func TestNewEffectiveConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		opts []Option
		want Config
	}{
		{"zero", Config{}, nil, Config{
			FailureThreshold: 5, SuccessThreshold: 1, HalfOpenMaxRequests: 1,
			OpenTimeout: time.Minute, MaxOpenTimeout: 10 * time.Minute, BackoffMultiplier: 2,
		}},
		{"success threshold follows half-open limit", Config{HalfOpenMaxRequests: 3}, nil, Config{
			FailureThreshold: 5, SuccessThreshold: 3, HalfOpenMaxRequests: 3,
			OpenTimeout: time.Minute, MaxOpenTimeout: 10 * time.Minute, BackoffMultiplier: 2,
		}},
		{"tmdb", tmdbConfig, nil, Config{
			FailureThreshold: 3, SuccessThreshold: 1, HalfOpenMaxRequests: 1,
			OpenTimeout: 30 * time.Second, MaxOpenTimeout: 5 * time.Minute, BackoffMultiplier: 2, RequestTimeout: 10 * time.Second,
		}},
		{"open timeout override", Config{OpenTimeout: time.Minute, MaxOpenTimeout: time.Hour}, []Option{WithOpenTimeoutOverride(2 * time.Second)}, Config{
			FailureThreshold: 5, SuccessThreshold: 1, HalfOpenMaxRequests: 1,
			OpenTimeout: 2 * time.Second, MaxOpenTimeout: 20 * time.Second, BackoffMultiplier: 2,
		}},
		{"huge open timeout", Config{OpenTimeout: math.MaxInt64 / 2}, nil, Config{
			FailureThreshold: 5, SuccessThreshold: 1, HalfOpenMaxRequests: 1,
			OpenTimeout: math.MaxInt64 / 2, MaxOpenTimeout: math.MaxInt64, BackoffMultiplier: 2,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New("svc", tc.cfg, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got := b.Config(); got != tc.want {
				t.Fatalf("Config() = %+v, want %+v", got, tc.want)
			}
			if b.Name() != "svc" || b.State() != Closed || b.Mode() != ModeNormal {
				t.Fatalf("new breaker: name %q state %v mode %v", b.Name(), b.State(), b.Mode())
			}
		})
	}
}

func TestNewRejectsInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		bname string
		cfg   Config
		opts  []Option
		field string
	}{
		{"empty name", "", Config{}, nil, "name"},
		{"negative threshold", "x", Config{FailureThreshold: -1}, nil, "FailureThreshold"},
		{"negative request timeout", "x", Config{RequestTimeout: -1}, nil, "RequestTimeout"},
		{"jitter too large", "x", Config{}, []Option{WithJitter(1)}, "WithJitter"},
		{"jitter negative", "x", Config{}, []Option{WithJitter(-0.1)}, "WithJitter"},
		{"unknown mode", "x", Config{}, []Option{WithMode(Mode(9))}, "WithMode"},
		{"negative open timeout override", "x", Config{}, []Option{WithOpenTimeoutOverride(-time.Second)}, "WithOpenTimeoutOverride"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := New(tc.bname, tc.cfg, tc.opts...)
			if b != nil || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New = %v, %v; want nil, ErrInvalidConfig", b, err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Field != tc.field {
				t.Fatalf("error %v: want a *ConfigError for %s", err, tc.field)
			}
		})
	}
}
