package notifyhttp

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/listsync/otelmon/alerting"
)

// body is a response body that counts what is read from it and whether it
// was closed; its length is unbounded when n < 0.
type body struct {
	n      int64
	read   atomic.Int64
	closed atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	if b.n >= 0 && b.read.Load() >= b.n {
		return 0, io.EOF
	}
	if b.n >= 0 {
		p = p[:min(int64(len(p)), b.n-b.read.Load())]
	}
	for i := range p {
		p[i] = 'x'
	}
	b.read.Add(int64(len(p)))
	return len(p), nil
}

func (b *body) Close() error { b.closed.Store(true); return nil }

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPostDrainsAndCloses(t *testing.T) {
	u, _ := url.Parse("https://hooks.example.com/T0KEN")
	for _, tc := range []struct {
		name   string
		code   int
		n      int64
		wantOK bool
	}{
		{"ok short", 200, 10, true},
		{"ok endless", 200, -1, true},
		{"error endless", 500, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &body{n: tc.n}
			var got *http.Request
			c := &http.Client{Transport: roundTripper(func(r *http.Request) (*http.Response, error) {
				got = r
				return &http.Response{StatusCode: tc.code, Header: http.Header{}, Body: b, Request: r}, nil
			})}
			var seen []byte
			err := Post(context.Background(), c, Request{
				URL: u, Body: []byte(`{}`),
				Header: http.Header{"User-Agent": {"custom"}, "Authorization": {"Bearer x"}},
				OnStatus: func(se *alerting.StatusError, b []byte) error {
					seen = b
					return se
				},
			})
			if (err == nil) != tc.wantOK {
				t.Fatalf("Post = %v", err)
			}
			if !b.closed.Load() {
				t.Error("body not closed")
			}
			if tc.n < 0 && b.read.Load() > maxDrain+MaxErrorBody {
				t.Errorf("read %d bytes of an endless body", b.read.Load())
			}
			if tc.n > 0 && b.read.Load() != tc.n {
				t.Errorf("drained %d of %d bytes", b.read.Load(), tc.n)
			}
			if !tc.wantOK && len(seen) != MaxErrorBody {
				t.Errorf("OnStatus saw %d bytes, want %d", len(seen), MaxErrorBody)
			}
			if got.Method != http.MethodPost || got.Header.Get("Content-Type") != "application/json" ||
				got.Header.Get("User-Agent") != "custom" || got.Header.Get("Authorization") != "Bearer x" {
				t.Errorf("request %s %v", got.Method, got.Header)
			}
		})
	}
}

func TestPostRedactsTransportErrors(t *testing.T) {
	u, _ := url.Parse("https://user:PASS@hooks.example.com/T0KEN?k=QSECRET")
	c := &http.Client{Transport: roundTripper(func(*http.Request) (*http.Response, error) {
		return nil, context.DeadlineExceeded
	})}
	err := Post(context.Background(), c, Request{URL: u})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cause lost: %v", err)
	}
	for _, s := range []string{"PASS", "QSECRET", "T0KEN"} {
		if strings.Contains(err.Error(), s) {
			t.Errorf("%v contains %s", err, s)
		}
	}
}

func TestNewClientDoesNotFollowRedirects(t *testing.T) {
	c := NewClient()
	if c.Timeout != DefaultTimeout {
		t.Errorf("Timeout = %v", c.Timeout)
	}
	if err := c.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("CheckRedirect = %v", err)
	}
}

func TestMarshalJSON(t *testing.T) {
	b, err := MarshalJSON(map[string]string{"t": "<a> & b"})
	if err != nil || string(b) != `{"t":"<a> & b"}` {
		t.Errorf("MarshalJSON = %s, %v", b, err)
	}
	if _, err := MarshalJSON(math.NaN()); !errors.Is(err, alerting.ErrPermanent) {
		t.Errorf("MarshalJSON(NaN) = %v, want ErrPermanent", err)
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"hello", 5, "hello"},
		{"hello!", 5, "hell…"},
		{"héllo!", 5, "héll…"},
		{"ab🔴cd", 4, "ab…"},  // the emoji takes two units and does not fit
		{"ab🔴cd", 5, "ab🔴…"}, // it does
		{"abc", 0, ""},
		{"a\xffb", 5, "a\uFFFDb"},
	} {
		if got := Truncate(tc.in, tc.limit); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
		if got := Len(Truncate(tc.in, tc.limit)); got > max(tc.limit, 0) {
			t.Errorf("Len(Truncate(%q, %d)) = %d", tc.in, tc.limit, got)
		}
	}
}

func TestEventTime(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	t1, t2, t3 := t0.Add(time.Minute), t0.Add(2*time.Minute), t0.Add(3*time.Minute)
	now := func() time.Time { return t3 }
	for _, tc := range []struct {
		a    alerting.Alert
		want time.Time
	}{
		{alerting.Alert{State: alerting.Firing, StartsAt: t0, UpdatedAt: t1}, t0},
		{alerting.Alert{State: alerting.Firing, UpdatedAt: t1}, t1},
		{alerting.Alert{State: alerting.Firing}, t3},
		{alerting.Alert{State: alerting.Resolved, StartsAt: t0, UpdatedAt: t1, ResolvedAt: &t2}, t2},
		{alerting.Alert{State: alerting.Resolved, StartsAt: t0, UpdatedAt: t1}, t1},
	} {
		if got := EventTime(tc.a, now); !got.Equal(tc.want) {
			t.Errorf("EventTime(%+v) = %v, want %v", tc.a, got, tc.want)
		}
	}
}

func TestParseURL(t *testing.T) {
	for _, raw := range []string{"", "::SECRET", "ftp://h/SECRET", "https:///SECRET", "h/SECRET", "https://h/%zzSECRET"} {
		_, err := ParseURL(raw)
		if err == nil || strings.Contains(err.Error(), "SECRET") {
			t.Errorf("ParseURL(%q) = %v", raw, err)
		}
	}
	if u, err := ParseURL("https://h.example/x?y=1"); err != nil || u.Host != "h.example" {
		t.Errorf("ParseURL = %v, %v", u, err)
	}
}
