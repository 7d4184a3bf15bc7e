// Package redact removes secrets from URLs and from the errors that carry
// them, so that API keys in query strings, credentials in userinfo and webhook
// tokens in paths never reach logs, errors or API output.
package redact

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces each secret part of a URL.
const Mask = "xxxxx"

// URL returns raw with its user information and every query value masked (the
// whole query when it holds a bare token, as in "?s3cr3t"). A URL that
// does not parse is replaced by Mask as a whole, since it cannot be told
// apart from a secret.
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

var (
	urlInText    = regexp.MustCompile(`[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>]*[^\s"'<>.,;:!?)\]]`) // not the punctuation after it
	secretInText = regexp.MustCompile(`(?i)([a-z0-9_.-]*(?:key|token|secret|password|passwd|signature|auth|session)[a-z0-9_.-]*=)([^&\s"'<>]*[^&\s"'<>.,;:!?)\]])`)
	bearerInText = regexp.MustCompile(`(?i)\b(bearer|basic)\s+[a-z0-9._~+/=-]+`)
)

// Text masks what looks like a secret in free text: every URL (its query
// values and user information, as URL does), key=value
// pairs whose key names a secret (api_key=, token=, X-Plex-Token=, ...),
// and bearer or basic credentials.
func Text(s string) string {
	if !strings.ContainsAny(s, ":=") && !strings.Contains(strings.ToLower(s), "bearer") && !strings.Contains(strings.ToLower(s), "basic") {
		return s
	}
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, URL)
	}
	if strings.Contains(s, "=") {
		s = secretInText.ReplaceAllString(s, "${1}"+Mask)
	}
	s = bearerInText.ReplaceAllString(s, "${1} "+Mask)
	return s
}
