package httpapi

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/listsync/otelmon/alerting"
)

// ackError maps the engine's errors: a change the state file could not
// take is 503 unavailable, since it was not kept and a retry may work.
func TestAckError(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{fmt.Errorf("%w: %q", alerting.ErrAlertNotFound, "x"), 404, CodeNotFound},
		{fmt.Errorf("%w: %q", alerting.ErrAlertResolved, "x"), 409, CodeConflict},
		{fmt.Errorf("alerting: save state: %w", errors.Join(alerting.ErrNotSaved, os.ErrPermission)), 503, CodeUnavailable},
		{alerting.ErrShutdown, 503, CodeUnavailable},
		{errors.New("boom"), 500, CodeInternal},
	} {
		status, code, msg := ackError(tc.err)
		if status != tc.status || code != tc.code || msg == "" {
			t.Errorf("ackError(%v) = %d %s %q, want %d %s", tc.err, status, code, msg, tc.status, tc.code)
		}
	}
}
