package pacer

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Budget is what a service announced of its rate limit in one answer.
type Budget struct {
	// Remaining is how many requests the service still accepts in the
	// current window.
	Remaining int64
	// Reset is when the window ends and the budget is renewed; zero when
	// the service did not say.
	Reset time.Time
}

// epochThreshold tells an X-RateLimit-Reset that is a Unix time (GitHub,
// Twitter) from one that is a number of seconds (IETF drafts, many APIs).
const epochThreshold = 1_000_000_000

// ParseBudget reads the budget a response announces, from the first of
// these that is present and well formed:
//
//   - Trakt's X-Ratelimit, a JSON object
//     {"name","period","limit","remaining","until"} (Trakt API docs, "Rate
//     Limiting"), until an RFC 3339 time;
//   - the IETF RateLimit field (draft-ietf-httpapi-ratelimit-headers):
//     the structured form `"default";r=50;t=30` or the earlier
//     `limit=100, remaining=50, reset=30`, t and reset in seconds; when it
//     gives no reset, the window w of the RateLimit-Policy field
//     (`"default";q=100;w=60`) bounds when the budget renews;
//   - RateLimit-Remaining with RateLimit-Reset (earlier drafts, seconds);
//   - X-RateLimit-Remaining with X-RateLimit-Reset, a Unix time when it is
//     that large, else seconds (GitHub and many others).
//
// It reports false when the response announces none.
func ParseBudget(h map[string][]string, now time.Time) (Budget, bool) {
	get := func(k string) string {
		if v := h[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if v := get("X-Ratelimit"); v != "" {
		var t struct {
			Remaining *int64 `json:"remaining"`
			Until     string `json:"until"`
		}
		if json.Unmarshal([]byte(v), &t) == nil && t.Remaining != nil && *t.Remaining >= 0 {
			b := Budget{Remaining: *t.Remaining}
			if u, err := time.Parse(time.RFC3339, t.Until); err == nil {
				b.Reset = u
			}
			return b, true
		}
	}
	if v := get("Ratelimit"); v != "" {
		if b, ok := parseRateLimitField(v, now); ok {
			if b.Reset.IsZero() {
				b.Reset = policyWindowEnd(get("Ratelimit-Policy"), now)
			}
			return b, true
		}
	}
	for _, prefix := range []string{"Ratelimit-", "X-Ratelimit-"} {
		rem, err := strconv.ParseInt(strings.TrimSpace(get(prefix+"Remaining")), 10, 64)
		if err != nil || rem < 0 {
			continue
		}
		b := Budget{Remaining: rem}
		if r, err := strconv.ParseFloat(strings.TrimSpace(get(prefix+"Reset")), 64); err == nil && r >= 0 {
			if r >= epochThreshold && prefix == "X-Ratelimit-" {
				b.Reset = after(time.Unix(0, 0), r)
			} else {
				b.Reset = after(now, r)
			}
		}
		return b, true
	}
	return Budget{}, false
}

// policyWindowEnd returns now plus the window (w, in seconds) of the first
// policy of an IETF RateLimit-Policy field, or zero when it gives none: a
// budget announced without a reset renews at the latest then.
func policyWindowEnd(v string, now time.Time) time.Time {
	first, _, _ := strings.Cut(v, ",")
	for _, part := range strings.Split(first, ";") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || strings.TrimSpace(k) != "w" {
			continue
		}
		if w, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil && w > 0 {
			return after(now, w)
		}
	}
	return time.Time{}
}

// parseRateLimitField reads the IETF RateLimit field in either of its
// published shapes. Only the first limit listed is read.
func parseRateLimitField(v string, now time.Time) (Budget, bool) {
	var rem, reset string
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "r", "remaining":
			if rem == "" {
				rem = strings.TrimSpace(val)
			}
		case "t", "reset":
			if reset == "" {
				reset = strings.TrimSpace(val)
			}
		}
	}
	n, err := strconv.ParseInt(rem, 10, 64)
	if err != nil || n < 0 {
		return Budget{}, false
	}
	b := Budget{Remaining: n}
	if s, err := strconv.ParseFloat(reset, 64); err == nil && s >= 0 {
		b.Reset = after(now, s)
	}
	return b, true
}

// maxSeconds is the longest time.Duration, in seconds.
const maxSeconds = float64(math.MaxInt64) / float64(time.Second)

// after returns t plus secs seconds, or the farthest time a Duration
// reaches from t when secs is larger (+Inf included): an absurd reset is
// far ahead, never wrapped into the past.
func after(t time.Time, secs float64) time.Time {
	if secs >= maxSeconds {
		return t.Add(math.MaxInt64)
	}
	return t.Add(time.Duration(secs * float64(time.Second)))
}
