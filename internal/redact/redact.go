// Package redact removes secrets from URLs, from free text and from the
// errors that carry them, so that API keys in query strings, credentials in
// userinfo, header lines or JSON, and webhook tokens in paths never reach
// logs, errors or API output.
//
// Every pattern is compiled once, when the package loads; Text returns its
// input at once when it holds nothing that could introduce a secret.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Mask replaces each secret part of a URL.
const Mask = "xxxxx"

// URL returns raw with its user information and every query value masked
// (the whole query when it holds a bare token, as in "?s3cr3t"), and the
// token of a Discord (/api/webhooks/ID/TOKEN) or Slack
// (/services/T/B/TOKEN) webhook path. A URL that does not parse is replaced
// by Mask as a whole, since it cannot be told apart from a secret.
func URL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Mask
	}
	return redactURL(u, false)
}

// Endpoint returns only the scheme and host of raw, for URLs whose path is
// itself a secret (Discord and Slack webhooks carry their token in the path).
func Endpoint(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Mask
	}
	return redactURL(u, true)
}

func redactURL(u *url.URL, dropPath bool) string {
	c := *u
	if c.User != nil {
		// Some APIs take their key as the user name: mask both parts.
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(Mask, Mask)
		} else {
			c.User = url.User(Mask)
		}
	}
	if c.RawQuery != "" {
		if bareToken(c.RawQuery) {
			// "?<token>": the key itself is the secret.
			c.RawQuery = Mask
		} else {
			q := c.Query()
			for k := range q {
				q[k] = []string{Mask}
			}
			c.RawQuery = q.Encode()
		}
	}
	c.Fragment, c.RawFragment = "", ""
	if dropPath {
		c.User = nil
		c.Path, c.RawPath, c.RawQuery = "", "", ""
	} else if p := maskWebhookPaths(c.Path); p != c.Path {
		c.Path, c.RawPath = p, ""
	}
	return c.String()
}

// bareToken reports whether a raw query has a part without "=": a bare
// token, which masking values alone would leave in the clear.
func bareToken(rawQuery string) bool {
	for _, part := range strings.Split(rawQuery, "&") {
		if part != "" && !strings.Contains(part, "=") {
			return true
		}
	}
	return false
}

// Error returns err with its secrets masked. The first *url.Error in its
// chain has its URL reduced to its scheme and host, as Endpoint (the
// wrapping around it, which may repeat the URL, is dropped), and the cause
// stays in the chain, so errors.Is and errors.As still see it
// (context.DeadlineExceeded, ...). An error without one whose message
// quotes a secret anyway (a URL with its query, api_key=..., a bearer
// token) gets that message masked by Text, the error itself staying in the
// chain behind it; other errors are returned unchanged.
//
// It is the one redaction every error of otelmon goes through: API keys sit
// in query strings, user names in userinfo, and webhook tokens in paths, so
// only the scheme and host are safe to show for every kind of URL.
func Error(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		if err == nil {
			return nil
		}
		if msg := err.Error(); Text(msg) != msg {
			return &textError{msg: Text(msg), err: err}
		}
		return err
	}
	u, perr := url.Parse(ue.URL)
	safe := Mask
	if perr == nil {
		safe = redactURL(u, true)
	}
	if ue.URL == safe {
		return err
	}
	return &url.Error{Op: ue.Op, URL: safe, Err: ue.Err}
}

// textError is an error whose message was masked by Text.
type textError struct {
	msg string
	err error
}

func (e *textError) Error() string { return e.msg }
func (e *textError) Unwrap() error { return e.err }
