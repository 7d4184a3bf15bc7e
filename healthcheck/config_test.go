package healthcheck_test

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/listsync/otelmon/healthcheck"
)

func TestDefaultConfig(t *testing.T) {
	got := healthcheck.DefaultConfig()
	want := healthcheck.Config{
		CheckInterval:     5 * time.Minute,
		RequestTimeout:    30 * time.Second,
		FailureThreshold:  3,
		RecoveryThreshold: 2,
		MaxConcurrency:    8,
		Jitter:            0.1,
	}
	if got != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", got, want)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     healthcheck.Config
		wantErr []string // the reported fields, in order
	}{
		{name: "zero value", cfg: healthcheck.Config{}},
		{name: "max jitter", cfg: healthcheck.Config{Jitter: 0.999}},
		{name: "negative interval", cfg: healthcheck.Config{CheckInterval: -time.Second}, wantErr: []string{"CheckInterval"}},
		{name: "negative timeout", cfg: healthcheck.Config{RequestTimeout: -1}, wantErr: []string{"RequestTimeout"}},
		{name: "negative failure threshold", cfg: healthcheck.Config{FailureThreshold: -1}, wantErr: []string{"FailureThreshold"}},
		{name: "negative recovery threshold", cfg: healthcheck.Config{RecoveryThreshold: -2}, wantErr: []string{"RecoveryThreshold"}},
		{name: "negative concurrency", cfg: healthcheck.Config{MaxConcurrency: -8}, wantErr: []string{"MaxConcurrency"}},
		{name: "negative jitter", cfg: healthcheck.Config{Jitter: -0.1}, wantErr: []string{"Jitter"}},
		{name: "jitter one", cfg: healthcheck.Config{Jitter: 1}, wantErr: []string{"Jitter"}},
		{name: "jitter NaN", cfg: healthcheck.Config{Jitter: math.NaN()}, wantErr: []string{"Jitter"}},
		{
			name:    "all reported",
			cfg:     healthcheck.Config{CheckInterval: -1, MaxConcurrency: -1, Jitter: 2},
			wantErr: []string{"CheckInterval", "MaxConcurrency", "Jitter"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, healthcheck.ErrInvalidConfig) {
				t.Fatalf("Validate() = %v, want ErrInvalidConfig", err)
			}
			if got := configErrorFields(t, err); !slices.Equal(got, tc.wantErr) {
				t.Errorf("Validate() = %q reports %v, want %v", err, got, tc.wantErr)
			}
			_, nerr := healthcheck.New(tc.cfg)
			if !errors.Is(nerr, healthcheck.ErrInvalidConfig) || !slices.Equal(configErrorFields(t, nerr), tc.wantErr) {
				t.Errorf("New() error = %v, want Validate's", nerr)
			}
		})
	}
}

// configErrorFields returns the Field of each error joined in err, failing
// the test for one that is not a *ConfigError.
func configErrorFields(t *testing.T, err error) []string {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	var fields []string
	for _, e := range errs {
		ce, ok := e.(*healthcheck.ConfigError)
		if !ok {
			t.Fatalf("%#v is not a *ConfigError", e)
		}
		fields = append(fields, ce.Field)
	}
	return fields
}

func TestConfigErrorMessage(t *testing.T) {
	err := healthcheck.Config{CheckInterval: -time.Second, Jitter: 1}.Validate()
	const want = "invalid health check config: CheckInterval = -1s: must not be negative\n" +
		"invalid health check config: Jitter = 1: must be at least 0 and less than 1"
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v, want %q", err, want)
	}
}

func TestStatusText(t *testing.T) {
	for _, tc := range []struct {
		s    healthcheck.Status
		want string
	}{
		{healthcheck.Unknown, "unknown"},
		{healthcheck.Up, "up"},
		{healthcheck.Down, "down"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := tc.s.String(); got != tc.want {
				t.Fatalf("String() = %q", got)
			}
			b, err := json.Marshal(tc.s)
			if err != nil || string(b) != `"`+tc.want+`"` {
				t.Fatalf("json.Marshal = %s, %v", b, err)
			}
			var back healthcheck.Status
			if err := json.Unmarshal(b, &back); err != nil || back != tc.s {
				t.Fatalf("json.Unmarshal = %v, %v", back, err)
			}
		})
	}
	if got := healthcheck.Status(7).String(); got != "Status(7)" {
		t.Errorf("String() of invalid = %q", got)
	}
	if _, err := healthcheck.Status(7).MarshalText(); err == nil {
		t.Error("MarshalText of invalid status succeeded")
	}
	var s healthcheck.Status
	if err := s.UnmarshalText([]byte("sideways")); err == nil {
		t.Error("UnmarshalText(sideways) succeeded")
	}
}
