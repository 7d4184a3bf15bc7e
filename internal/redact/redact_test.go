package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/listsync/otelmon/internal/redact/redacttest"
)

func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://api.example.com/3/movie?api_key=SECRET&page=2", "https://api.example.com/3/movie?api_key=xxxxx&page=xxxxx"},
		{"https://user:SECRET@plex.local:32400/identity", "https://xxxxx:xxxxx@plex.local:32400/identity"},
		{"https://SECRET@api.example/v1", "https://xxxxx@api.example/v1"},
		{"https://example.com/a#SECRET", "https://example.com/a"},
		{"http://127.0.0.1:1/health", "http://127.0.0.1:1/health"},
		{"::not a url SECRET", Mask},
		{"https://x.example/h?SECRET", "https://x.example/h?xxxxx"},
		{"https://x.example/h?page=2&SECRET", "https://x.example/h?xxxxx"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := Endpoint("https://discord.com/api/webhooks/123/SECRET?wait=true"); got != "https://discord.com" {
		t.Errorf("Endpoint = %q", got)
	}
}

func TestErrorKeepsCause(t *testing.T) {
	orig := &url.Error{Op: "Get", URL: "https://x.example/list?apikey=SECRET", Err: context.DeadlineExceeded}
	err := Error(fmt.Errorf("fetch list: %w", orig))
	if strings.Contains(err.Error(), "SECRET") {
		t.Fatalf("secret survived: %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cause lost: %v", err)
	}
	if strings.Contains(err.Error(), "/list") || !strings.Contains(err.Error(), "fetch list: ") {
		t.Fatalf("Error kept the path or lost the wrapping text: %v", err)
	}
	plain := errors.New("boom")
	if Error(plain) != plain {
		t.Fatal("plain error changed")
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{"GET https://api.themoviedb.org/3/list/1?api_key=SECRET1: 401", "SECRET1"},
		{"GET https://user:SECRET2@plex.local:32400/library", "SECRET2"},
		{"plex: X-Plex-Token=SECRET3 refused", "SECRET3"},
		{"trakt said: Authorization: Bearer SECRET4", "SECRET4"},
		{"token=SECRET5&page=2", "SECRET5"},
	} {
		got := Text(tc.in)
		if strings.Contains(got, tc.secret) || !strings.Contains(got, Mask) {
			t.Errorf("Text(%q) = %q: want %s masked", tc.in, got, tc.secret)
		}
	}
	for _, clean := range []string{"", "list unavailable", "unexpected HTTP status 503 Service Unavailable", "page=2 of 3"} {
		if got := Text(clean); got != clean {
			t.Errorf("Text(%q) = %q, want it unchanged", clean, got)
		}
	}
}

// An error without a *url.Error that quotes a secret in its message has
// the message masked, and stays in the chain; a clean one is returned as
// it is.
func TestErrorMasksSecretsInText(t *testing.T) {
	cause := errors.New("GET https://api.themoviedb.org/3/list/1?api_key=SECRET123: status 401")
	err := Error(fmt.Errorf("sync tmdb: %w", cause))
	if strings.Contains(err.Error(), "SECRET123") || !strings.Contains(err.Error(), "api.themoviedb.org") || !strings.Contains(err.Error(), "status 401") {
		t.Errorf("Error() = %q: want the key masked, the host and status kept", err)
	}
	if !errors.Is(err, cause) {
		t.Error("the masked error lost its cause")
	}
	clean := errors.New("list unavailable")
	if got := Error(clean); got != clean {
		t.Errorf("Error(clean) = %v, want the same error", got)
	}
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}

// Every case of the shared corpus is masked by Error, keeping the text
// around its secrets and the errors it wraps, and by Text; masked text
// stays as it is when masked again.
func TestCorpus(t *testing.T) {
	corpus := redacttest.Corpus()
	if len(corpus) < 30 {
		t.Fatalf("corpus of %d cases, want 30 at least", len(corpus))
	}
	for _, c := range corpus {
		t.Run(c.Name, func(t *testing.T) {
			masked := Error(c.Err)
			for name, got := range map[string]string{"Error": masked.Error(), "Text": Text(c.Err.Error())} {
				for _, s := range c.Secrets {
					if strings.Contains(got, s) {
						t.Errorf("%s = %q: holds %q", name, got, s)
					}
				}
				if again := Text(got); again != got {
					t.Errorf("Text(%s) = %q, changed again to %q", name, got, again)
				}
			}
			for _, k := range c.Keep {
				if !strings.Contains(masked.Error(), k) {
					t.Errorf("Error = %q: lost %q", masked, k)
				}
			}
			for _, target := range c.Is {
				if !errors.Is(masked, target) {
					t.Errorf("errors.Is(%q, %v) = false", masked, target)
				}
			}
			// No error reached through Unwrap tells a secret either.
			walk(masked, func(e error) {
				for _, s := range c.Secrets {
					if strings.Contains(e.Error(), s) {
						t.Errorf("wrapped %T %q holds %q", e, e, s)
					}
				}
			})
		})
	}
}

// walk calls f for err and every error it wraps, depth first.
func walk(err error, f func(error)) {
	if err == nil {
		return
	}
	f(err)
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		walk(x.Unwrap(), f)
	case interface{ Unwrap() []error }:
		for _, e := range x.Unwrap() {
			walk(e, f)
		}
	}
}

func TestTextLeavesCleanTextAlone(t *testing.T) {
	for _, clean := range []string{
		"",
		"list unavailable",
		"unexpected HTTP status 503 Service Unavailable",
		"page=2 of 3",
		`Get "http://127.0.0.1:8080/health": dial tcp 127.0.0.1:8080: connect: connection refused`,
		"otelmon: tmdb rate limited: asked to wait 5m0s, past the request's deadline or MaxWait",
		"circuit breaker is open",
		"sync tmdb",
		"GET",
		"Go-http-client/1.1",
		"https://api.themoviedb.org/3/list/1",
		"authorization failed: 401",
		"/api/webhooks/",
	} {
		if got := Text(clean); got != clean {
			t.Errorf("Text(%q) = %q, want it unchanged", clean, got)
		}
	}
}

// syncError is a caller's error type around a *url.Error.
type syncError struct {
	source string
	err    error
}

func (e *syncError) Error() string { return e.source + ": " + e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// The masked error mirrors the tree: errors.As finds the caller's type (the
// original, which only it holds) and a *url.Error whose URL is the
// endpoint; errors.Is finds the original error itself.
func TestErrorMirrorsTree(t *testing.T) {
	cause := context.DeadlineExceeded
	orig := &syncError{source: "tmdb", err: &url.Error{Op: "Get", URL: "https://api.themoviedb.org/3/list/1?api_key=SECRET", Err: cause}}
	masked := Error(orig)
	if want := `tmdb: Get "https://api.themoviedb.org": context deadline exceeded`; masked.Error() != want {
		t.Errorf("Error() = %q, want %q", masked, want)
	}
	var se *syncError
	if !errors.As(masked, &se) || se != orig {
		t.Errorf("errors.As(*syncError) = %v, %v", se, errors.As(masked, &se))
	}
	var ue *url.Error
	if !errors.As(masked, &ue) || ue.URL != "https://api.themoviedb.org" {
		t.Errorf("errors.As(*url.Error) found %v", ue)
	}
	if !errors.Is(masked, orig) || !errors.Is(masked, cause) {
		t.Error("errors.Is lost the original or its cause")
	}
	if got := errors.Unwrap(masked); got == nil || strings.Contains(got.Error(), "SECRET") {
		t.Errorf("errors.Unwrap = %v", got)
	}
	// A URL without a host is masked whole, and only where it is quoted.
	rel := Error(fmt.Errorf("list: %w", &url.Error{Op: "Get", URL: "list", Err: cause}))
	if want := `list: Get "xxxxx": context deadline exceeded`; rel.Error() != want {
		t.Errorf("Error() = %q, want %q", rel, want)
	}
	// A joined error without a secret is returned as it is.
	clean := errors.Join(errors.New("a"), cause)
	if Error(clean) != clean {
		t.Error("a clean join changed")
	}
}

func TestURLMasksWebhookTokens(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://discord.com/api/webhooks/123/TOKEN", "https://discord.com/api/webhooks/123/xxxxx"},
		{"https://discord.com/api/v10/webhooks/123/TOKEN/messages/9", "https://discord.com/api/v10/webhooks/123/xxxxx/messages/9"},
		{"https://hooks.slack.com/services/T00/B00/TOKEN", "https://hooks.slack.com/services/T00/B00/xxxxx"},
		{"https://example.com/api/webhooks", "https://example.com/api/webhooks"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// Text runs on every string attribute of every span: text without a
// trigger must cost little and allocate nothing.
func BenchmarkText(b *testing.B) {
	for _, bc := range []struct{ name, s string }{
		{"clean short", "Go-http-client/1.1"},
		{"clean error", "unexpected HTTP status 503 Service Unavailable from upstream"},
		{"url", "https://api.themoviedb.org/3/list/1"},
		{"secret", "GET https://api.themoviedb.org/3/list/1?api_key=SECRET: status 401, X-Api-Key: SECRET"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Text(bc.s)
			}
		})
	}
}

func BenchmarkError(b *testing.B) {
	err := redacttest.Corpus()[31].Err // a join with a *url.Error
	b.ReportAllocs()
	for b.Loop() {
		_ = Error(err)
	}
}

// Every word of a secret name triggers Text (its triggers and its patterns
// agree), in any case.
func TestEverySecretWordTriggers(t *testing.T) {
	for _, w := range []string{"key", "token", "secret", "password", "passwd", "passphrase", "pwd", "signature",
		"auth", "session", "cookie", "credential", "jwt", "Authorization", "API_KEY"} {
		for _, s := range []string{w + "=Zz9q", w + ": Zz9q", `{"` + w + `":"Zz9q"}`} {
			if got := Text(s); strings.Contains(got, "Zz9q") {
				t.Errorf("Text(%q) = %q", s, got)
			}
		}
	}
}

// Paths that only look like webhooks keep their last segment.
func TestURLKeepsOtherPaths(t *testing.T) {
	for _, u := range []string{
		"https://k8s.local/api/v1/namespaces/ns/services/name/proxy/health",
		"https://example.com/api/webhooks/list/all",
	} {
		if got := URL(u); got != u {
			t.Errorf("URL(%q) = %q, want it unchanged", u, got)
		}
	}
}
