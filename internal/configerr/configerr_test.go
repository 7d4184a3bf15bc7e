package configerr

import (
	"errors"
	"testing"
	"time"
)

func TestMessage(t *testing.T) {
	for _, tc := range []struct{ field, value, reason, want string }{
		{"Timeout", "-1s", "must not be negative", "pkg: invalid config: Timeout = -1s: must not be negative"},
		{"URL", "", "must not be empty", "pkg: invalid config: URL: must not be empty"},
		{"Breakers[tmdb]", "", "", "pkg: invalid config: Breakers[tmdb]"},
	} {
		if got := Message("pkg: invalid config", tc.field, tc.value, tc.reason); got != tc.want {
			t.Errorf("Message = %q, want %q", got, tc.want)
		}
	}
}

type testError struct{ field, value, reason string }

func (e *testError) Error() string { return Message("test", e.field, e.value, e.reason) }

func invalid(field, value, reason string) error { return &testError{field, value, reason} }

func TestOrDefault(t *testing.T) {
	d := time.Duration(0)
	if err := OrDefault(&d, time.Minute, "D", invalid); err != nil || d != time.Minute {
		t.Fatalf("zero: %v, %v", d, err)
	}
	n := 3
	if err := OrDefault(&n, 5, "N", invalid); err != nil || n != 3 {
		t.Fatalf("set: %v, %v", n, err)
	}
	n = -2
	err := OrDefault(&n, 5, "N", invalid)
	var te *testError
	if !errors.As(err, &te) || te.field != "N" || te.value != "-2" || te.reason != "must not be negative" || n != -2 {
		t.Fatalf("negative: %v (n=%d)", err, n)
	}
}
