package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
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
	if strings.Contains(err.Error(), "list") {
		t.Fatalf("Error kept the path: %v", err)
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
