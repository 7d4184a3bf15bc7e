// Package redacttest holds the corpus of secrets in error text that every
// redaction test runs: the redact package's own tests, and otelmon's
// through a span's status and exception event and through the Monitor's
// log line. It is for tests only.
package redacttest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
)

// Case is one error whose text quotes secrets.
type Case struct {
	// Name says what the case tries.
	Name string
	// Err is the error.
	Err error
	// Secrets must not appear in the masked text.
	Secrets []string
	// Keep must still appear in it: the text around the secrets.
	Keep []string
	// Is are errors that errors.Is must still find in the masked error.
	Is []error
}

// Corpus returns the cases, made anew on each call.
func Corpus() []Case {
	text := func(name, msg string, secrets []string, keep ...string) Case {
		return Case{Name: name, Err: errors.New(msg), Secrets: secrets, Keep: keep}
	}
	one := func(s string) []string { return []string{s} }
	sentinel := errors.New("upstream refused")
	return []Case{
		// JSON members.
		text("json pair", `upstream said {"api_key": "Z01qvX7w"} is invalid`, one("Z01qvX7w"), "upstream said", `"api_key"`, "is invalid"),
		text("json compact", `{"token":"Z02qvX7w","page":2}`, one("Z02qvX7w"), `"page":2`),
		text("json escaped in a quoted body", fmt.Sprintf("body %q", `{"client_secret":"Z03qvX7w","ok":false}`), one("Z03qvX7w"), "body", "ok"),
		text("json value with spaces", `{"password": "correct horse Z04qvX7w"}`, []string{"Z04qvX7w", "correct horse"}, "password"),
		text("single-quoted pair", `{'api_key': 'Z05qvX7w'}`, one("Z05qvX7w"), "api_key"),
		// Header lines.
		text("x-api-key header", "header X-Api-Key: Z06qvX7w rejected", one("Z06qvX7w"), "X-Api-Key", "rejected"),
		text("authorization token scheme", "Authorization: Token Z07qvX7w", one("Z07qvX7w"), "Authorization: Token"),
		text("authorization bearer", "sent Authorization: Bearer Z08qvX7w.", one("Z08qvX7w"), "Authorization: Bearer", "sent"),
		text("authorization basic", "Authorization: Basic dXNlcjpLMDlzRWNSZVQ=", one("dXNlcjpLMDlzRWNSZVQ="), "Authorization: Basic"),
		text("proxy-authorization", "Proxy-Authorization: Basic Z10qvX7w", one("Z10qvX7w"), "Proxy-Authorization"),
		text("x-plex-token with a space", "plex refused X-Plex-Token Z11qvX7w", one("Z11qvX7w"), "plex refused X-Plex-Token"),
		text("x-plex-token pair", "GET /library?X-Plex-Token=Z12qvX7w: 401", one("Z12qvX7w"), "/library", "401"),
		text("trakt-api-key header", "trakt-api-key: Z13qvX7w", one("Z13qvX7w"), "trakt-api-key"),
		text("x-auth-token header", "X-Auth-Token:Z14qvX7w", one("Z14qvX7w"), "X-Auth-Token"),
		text("bare token line", "token: Z15qvX7w", one("Z15qvX7w"), "token"),
		text("cookie", "Cookie: session=Z16qvX7w; theme=d4rkY16", []string{"Z16qvX7w", "d4rkY16"}, "Cookie"),
		text("set-cookie", "Set-Cookie: sid=Z17qvX7w; Path=/; HttpOnly", one("Z17qvX7w"), "Set-Cookie"),
		text("go header map", "headers map[Authorization:[Bearer Z18qvX7w] X-Api-Key:[Y18mnB4t]]", []string{"Z18qvX7w", "Y18mnB4t"}, "headers", "X-Api-Key"),
		text("multi-line dump", "request:\nX-Api-Key: Z19qvX7w\nAccept: */*", one("Z19qvX7w"), "request:", "Accept: */*"),
		// key = value, forms and URL-encoded text.
		text("spaced key = value", "config api_key = Z20qvX7w loaded", one("Z20qvX7w"), "api_key", "loaded"),
		text("form pair", "password=Z21qvX7w&user=bob", one("Z21qvX7w"), "user=bob"),
		text("access_token pair", "refresh failed: access_token=Z22qvX7w expired", one("Z22qvX7w"), "refresh failed", "expired"),
		text("url-encoded", "q=api_key%3DZ23qvX7w%26page%3D2", one("Z23qvX7w"), "api_key%3D", "%26page%3D2"),
		text("two pairs", "api_key=Z24qvX7w token=Y24mnB4t", []string{"Z24qvX7w", "Y24mnB4t"}, "api_key", "token"),
		// URLs and webhook paths in text.
		text("tmdb query", "GET https://api.themoviedb.org/3/list/1?api_key=Z25qvX7w: status 401", one("Z25qvX7w"), "api.themoviedb.org", "status 401"),
		text("userinfo", "GET https://user:Z26qvX7w@plex.local:32400/library", one("Z26qvX7w"), "plex.local"),
		text("bare query token", "GET https://x.example/h?Z27qvX7w failed", one("Z27qvX7w"), "x.example", "failed"),
		text("discord webhook url", `Post "https://discord.com/api/webhooks/123456/Z28qvX7w": 404`, one("Z28qvX7w"), "discord.com", "404"),
		text("discord webhook path", "POST /api/webhooks/123456/Z29qvX7w failed", one("Z29qvX7w"), "/api/webhooks/", "failed"),
		text("slack webhook url", "https://hooks.slack.com/services/T0001/B0001/Z30qvX7w returned 403", one("Z30qvX7w"), "hooks.slack.com", "403"),
		text("slack webhook path", "POST /services/T0001/B0001/Z31qvX7w: 404", one("Z31qvX7w"), "/services/", "404"),
		// Errors that wrap and join.
		{
			Name: "join keeps every error",
			Err: errors.Join(errors.New("sync failed: token=Z32qvX7w"),
				&url.Error{Op: "Get", URL: "https://api.trakt.tv/users/me?client_id=Y32mnB4t", Err: context.DeadlineExceeded}),
			Secrets: []string{"Z32qvX7w", "Y32mnB4t"},
			Keep:    []string{"sync failed", "api.trakt.tv", "context deadline exceeded"},
			Is:      []error{context.DeadlineExceeded},
		},
		{
			Name:    "wrapped url.Error",
			Err:     fmt.Errorf("fetch list: %w", &url.Error{Op: "Get", URL: "https://api.themoviedb.org/3/list/1?api_key=Z33qvX7w", Err: io.ErrUnexpectedEOF}),
			Secrets: one("Z33qvX7w"),
			Keep:    []string{"fetch list", "api.themoviedb.org", "unexpected EOF"},
			Is:      []error{io.ErrUnexpectedEOF},
		},
		{
			Name:    "url.Error of a webhook",
			Err:     &url.Error{Op: "Post", URL: "https://discord.com/api/webhooks/1/Z34qvX7w?wait=true", Err: io.EOF},
			Secrets: one("Z34qvX7w"),
			Keep:    []string{"discord.com", "EOF"},
			Is:      []error{io.EOF},
		},
		{
			Name:    "url.Error whose cause quotes a secret",
			Err:     &url.Error{Op: "Get", URL: "https://h.example/x", Err: fmt.Errorf("proxy said X-Api-Key: Z35qvX7w: %w", sentinel)},
			Secrets: one("Z35qvX7w"),
			Keep:    []string{"h.example", "proxy said", "upstream refused"},
			Is:      []error{sentinel},
		},
		{
			Name:    "two %w",
			Err:     fmt.Errorf("notify: %w; fallback: %w", errors.New("bad X-Api-Key: Z36qvX7w"), errors.New("bad Authorization: Bearer Y36mnB4t")),
			Secrets: []string{"Z36qvX7w", "Y36mnB4t"},
			Keep:    []string{"notify", "fallback", "X-Api-Key", "Authorization: Bearer"},
		},
		{
			Name:    "deep wrap",
			Err:     fmt.Errorf("a: %w", fmt.Errorf("b: %w", fmt.Errorf(`c {"secret":"Z37qvX7w"}: %w`, sentinel))),
			Secrets: one("Z37qvX7w"),
			Keep:    []string{"a: b: c", "upstream refused"},
			Is:      []error{sentinel},
		},
		{
			Name: "join of a url.Error and a sentinel",
			Err: errors.Join(sentinel,
				&url.Error{Op: "Get", URL: "https://uSr38zQ:Z38qvX7w@api.example/v1", Err: context.Canceled}),
			Secrets: []string{"Z38qvX7w", "uSr38zQ"},
			Keep:    []string{"upstream refused", "api.example", "context canceled"},
			Is:      []error{sentinel, context.Canceled},
		},
	}
}
