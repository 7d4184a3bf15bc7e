package httperr

import (
	"net/http"
	"testing"
	"time"
)

func TestFromResponse(t *testing.T) {
	now := time.Unix(1000, 0)
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}}
	e := FromResponse(resp, now)
	if e.StatusCode != 429 || e.Delay != 7*time.Second || e.RetryAfter() != 7*time.Second {
		t.Fatalf("FromResponse = %+v", e)
	}
	if got, want := e.Error(), "unexpected HTTP status 429 Too Many Requests"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
	if got, want := (&StatusError{StatusCode: 599}).Error(), "unexpected HTTP status 599"; got != want {
		t.Fatalf("Error() = %q, want %q", got, want)
	}
}
