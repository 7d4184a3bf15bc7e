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
