// Package redact removes secrets from URLs, from free text and from the
// errors that carry them, so that API keys in query strings, credentials in
// userinfo, header lines or JSON, and webhook tokens in paths never reach
// logs, errors or API output.
//
// Every pattern is compiled once, when the package loads; Text returns its
// input at once when it holds nothing that could introduce a secret.
package redact

import (
	"net/url"
	"reflect"
	"strconv"
	"strings"
)

// Mask replaces each secret part of a URL or text.
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

// Error returns err with its secrets masked, keeping the text of every
// error it wraps or joins. Its message is err's, with the URL of every
// *url.Error in its tree reduced to its scheme and host, as Endpoint does
// (API keys sit in query strings, user names in userinfo, webhook tokens
// in paths: only the scheme and host are safe to show for every kind of
// URL), and the rest masked by Text.
//
// The masked error mirrors err's tree: each *url.Error is a copy with the
// safe URL, each error whose text changed is replaced by one with the
// masked text, and the rest are err's own. So errors.Is and errors.As see
// every error of the tree (context.DeadlineExceeded, a caller's sentinel,
// a typed error; As on *url.Error gets the masked copy), while the text of
// every error reached through Unwrap is masked too. An error that holds no
// secret is returned unchanged, and Error(nil) is nil.
//
// It is the one redaction every error of otelmon goes through.
func Error(err error) error {
	if err == nil {
		return nil
	}
	m, _ := maskError(err)
	return m
}

// maskError returns err masked, and whether anything changed.
func maskError(err error) (error, bool) {
	if ue, ok := err.(*url.Error); ok {
		safe := errorEndpoint(ue.URL)
		cause, changed := ue.Err, false
		if cause != nil {
			cause, changed = maskError(cause)
		}
		if safe == ue.URL && !changed {
			return err, false
		}
		return &url.Error{Op: ue.Op, URL: safe, Err: cause}, true
	}
	var kids []error
	switch x := err.(type) {
	case interface{ Unwrap() error }:
		if k := x.Unwrap(); k != nil {
			kids = []error{k}
		}
	case interface{ Unwrap() []error }:
		kids = x.Unwrap()
	}
	changed := false
	masked := make([]error, 0, len(kids))
	for _, k := range kids {
		if k == nil {
			continue
		}
		mk, c := maskError(k)
		masked = append(masked, mk)
		changed = changed || c
	}
	msg := err.Error()
	safe := Text(endpoints(msg, err))
	if safe == msg && !changed {
		return err, false
	}
	m := maskedError{msg: safe, orig: err}
	switch err.(type) {
	case interface{ Unwrap() error }:
		if len(masked) == 1 {
			return &maskedWrap{m, masked[0]}, true
		}
	case interface{ Unwrap() []error }:
		return &maskedJoin{m, masked}, true
	}
	return &m, true
}

// errorEndpoint returns the URL of a *url.Error as Error shows it: its
// endpoint, or Mask for a URL without a host (a path may be a secret).
func errorEndpoint(raw string) string {
	if e := Endpoint(raw); e != "" || raw == "" {
		return e
	}
	return Mask
}

// endpoints returns msg with the URL of every *url.Error in err's tree,
// quoted (as url.Error.Error quotes it) or not, replaced by its endpoint.
func endpoints(msg string, err error) string {
	var pairs []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		switch x := e.(type) {
		case *url.Error:
			if safe := errorEndpoint(x.URL); safe != x.URL {
				pairs = append(pairs, strconv.Quote(x.URL), strconv.Quote(safe))
				if strings.Contains(x.URL, "://") { // unquoted only when it cannot be a common word
					pairs = append(pairs, x.URL, safe)
				}
			}
			walk(x.Err)
		case interface{ Unwrap() error }:
			walk(x.Unwrap())
		case interface{ Unwrap() []error }:
			for _, k := range x.Unwrap() {
				walk(k)
			}
		}
	}
	walk(err)
	if len(pairs) == 0 {
		return msg
	}
	return strings.NewReplacer(pairs...).Replace(msg)
}

// maskedError is an error whose text was masked. errors.Is and errors.As match
// it as they would the error it masks (orig), but go on to the masked
// copies of orig's wrapped errors, never to orig's own.
type maskedError struct {
	msg  string
	orig error
}

func (e *maskedError) Error() string { return e.msg }

// Is reports whether orig is target, or says it is.
func (e *maskedError) Is(target error) bool {
	if reflect.TypeOf(e.orig).Comparable() && e.orig == target {
		return true
	}
	if x, ok := e.orig.(interface{ Is(error) bool }); ok {
		return x.Is(target)
	}
	return false
}

// As sets target to orig when orig's type fits it, or when orig's own As
// does.
func (e *maskedError) As(target any) bool {
	if x, ok := e.orig.(interface{ As(any) bool }); ok && x.As(target) {
		return true
	}
	v := reflect.ValueOf(target)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return false
	}
	if reflect.TypeOf(e.orig).AssignableTo(v.Type().Elem()) {
		v.Elem().Set(reflect.ValueOf(e.orig))
		return true
	}
	return false
}

// maskedWrap is a masked error that wrapped one error.
type maskedWrap struct {
	maskedError
	err error
}

func (e *maskedWrap) Unwrap() error { return e.err }

// maskedJoin is a masked error that wrapped several (errors.Join, or
// fmt.Errorf with more than one %w).
type maskedJoin struct {
	maskedError
	errs []error
}

func (e *maskedJoin) Unwrap() []error { return e.errs }

// ErrorText is the text of err with every secret masked, as it may go to
// a span's status, an exception event or a log line: Error's text, with
// Text's masking of what no URL parser saw.
func ErrorText(err error) string { return Text(Error(err).Error()) }
