package healthcheck

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/listsync/otelmon/internal/redact"
)

// Names of the reference services, as used by DefaultTargets.
const (
	ServiceIMDb  = "imdb"
	ServiceTMDb  = "tmdb"
	ServiceTrakt = "trakt"
	ServicePlex  = "plex"
)

// Default URLs of the public reference services. They need no credentials:
// an API root answers 401 or 404 without an API key, and any answer below 500
// means the service is up (see Target.ExpectedStatus), so a fresh install
// without keys reports these services up while they answer. A host that
// wants a probe to prove its key too passes a URL the key authorizes (its
// query values are redacted everywhere) and sets Target.ExpectedStatus to
// the 2xx statuses.
const (
	DefaultIMDbURL  = "https://www.imdb.com/"
	DefaultTMDbURL  = "https://api.themoviedb.org/3/"
	DefaultTraktURL = "https://api.trakt.tv/"
)

// Target is an HTTP endpoint whose answers tell whether a service is up.
type Target struct {
	// Name identifies the service in results, summaries and listeners
	// ("tmdb"); it must be unique within a Checker. Required.
	Name string
	// URL is the absolute http or https URL to request. Required to be
	// checked: Add skips a target without a URL and returns ErrNoURL.
	URL string
	// Method is the HTTP method. Optional; default GET.
	Method string
	// ExpectedStatus lists the response status codes that count as success.
	// Optional; by default any answer below 500, and 429, is a success:
	// the service answered, so it is up, even when it refused the request
	// (401, 403, 404) or asked for a pause (429). Only 5xx answers, transport
	// errors and timeouts mean down. When set, it narrows (or replaces) that
	// rule: only the listed statuses count as success, and any other answer
	// fails with a *StatusError. Redirects are followed by the client first,
	// as its CheckRedirect says.
	ExpectedStatus []int
	// Headers are added to every request. Optional. A User-Agent is set when
	// Headers has none; a "Host" entry sets the request's host.
	Headers http.Header
	// Timeout bounds each check of this target. Optional; default (and for
	// zero) Config.RequestTimeout. Negative is invalid.
	Timeout time.Duration
}

// DefaultTargets returns targets for imdb, tmdb, trakt and plex, in that
// order, followed by any other key of urls in name order. urls maps a
// service name to its URL and overrides the defaults (DefaultIMDbURL,
// DefaultTMDbURL, DefaultTraktURL); plex has no default, as it is a local
// server (for example "http://plex.local:32400/identity", which answers
// without a token). An empty URL, given or left by default, yields a target
// that Add skips with ErrNoURL. urls may be nil.
func DefaultTargets(urls map[string]string) []Target {
	defaults := []Target{
		{Name: ServiceIMDb, URL: DefaultIMDbURL},
		{Name: ServiceTMDb, URL: DefaultTMDbURL},
		{Name: ServiceTrakt, URL: DefaultTraktURL},
		{Name: ServicePlex},
	}
	known := make(map[string]bool, len(defaults))
	for i := range defaults {
		known[defaults[i].Name] = true
		if u, ok := urls[defaults[i].Name]; ok {
			defaults[i].URL = u
		}
	}
	for _, name := range slices.Sorted(maps.Keys(urls)) {
		if !known[name] {
			defaults = append(defaults, Target{Name: name, URL: urls[name]})
		}
	}
	return defaults
}

// clone returns a deep copy of t, so that a caller's later changes to its
// slices and maps do not reach the Checker, and the other way round.
func (t Target) clone() Target {
	t.ExpectedStatus = slices.Clone(t.ExpectedStatus)
	t.Headers = t.Headers.Clone()
	return t
}

// validate checks t and reports the first problem as a *TargetError, nil
// when t can be checked. Its errors never contain the URL's secrets.
func (t Target) validate() error {
	if t.URL == "" && strings.TrimSpace(t.Name) != "" {
		return &TargetError{Name: t.Name, Err: ErrNoURL}
	}
	if err := t.check(); err != nil {
		return &TargetError{Name: t.Name, Err: err}
	}
	return nil
}

// check returns a *ConfigError for the first field of t that cannot be used.
func (t Target) check() *ConfigError {
	invalid := func(field, value, reason string) *ConfigError {
		return &ConfigError{Field: "Target." + field, Value: value, Reason: reason}
	}
	if strings.TrimSpace(t.Name) == "" {
		return invalid("Name", strconv.Quote(t.Name), "must not be empty or blank")
	}
	u, err := url.Parse(t.URL)
	switch {
	case err != nil:
		return invalid("URL", "", "does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return invalid("URL", redact.URL(t.URL), "scheme must be http or https")
	case u.Host == "":
		return invalid("URL", redact.URL(t.URL), "has no host")
	}
	if t.Timeout < 0 {
		return invalid("Timeout", t.Timeout.String(), "must not be negative")
	}
	for _, code := range t.ExpectedStatus {
		if code < 100 || code > 599 {
			return invalid("ExpectedStatus", strconv.Itoa(code), "must be in 100-599")
		}
	}
	if _, err := http.NewRequest(t.method(), "http://localhost/", nil); err != nil {
		return invalid("Method", strconv.Quote(t.Method), "must be an HTTP method token")
	}
	return nil
}

func (t Target) method() string {
	if t.Method == "" {
		return http.MethodGet
	}
	return t.Method
}

// accepts reports whether code counts as success for t: by default any
// answer but a server error (429 is below 500), since a service that
// answers, even 401 or 429, is up.
func (t Target) accepts(code int) bool {
	if len(t.ExpectedStatus) == 0 {
		return code < 500
	}
	return slices.Contains(t.ExpectedStatus, code)
}
