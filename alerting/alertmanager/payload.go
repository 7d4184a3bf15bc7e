package alertmanager

import (
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// postableAlert is an alert as the v2 API's POST /alerts takes it.
type postableAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt,omitzero"`
	EndsAt       time.Time         `json:"endsAt,omitzero"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
}

func newPostable(a alerting.Alert, external map[string]string, generatorURL string, resend time.Duration, now time.Time) postableAlert {
	p := postableAlert{
		Labels:       labels(a, external),
		Annotations:  map[string]string{"summary": valid(a.Title), "value": notifyhttp.FormatValue(a.Value)},
		GeneratorURL: generatorURL,
	}
	if a.Description != "" {
		p.Annotations["description"] = valid(a.Description)
	}
	if len(a.TraceIDs) > 0 {
		p.Annotations["traceIds"] = strings.Join(a.TraceIDs, ",")
	}
	if !a.StartsAt.IsZero() {
		p.StartsAt = a.StartsAt.UTC()
	}
	switch {
	case a.State == alerting.Resolved:
		p.EndsAt = notifyhttp.EventTime(a, func() time.Time { return now }).UTC()
	case resend > 0:
		p.EndsAt = now.Add(resend).UTC()
	}
	// Alertmanager refuses an alert that ends before it starts.
	if !p.EndsAt.IsZero() && p.EndsAt.Before(p.StartsAt) {
		p.EndsAt = p.StartsAt
	}
	return p
}

// labels returns alertname, severity, a's labels under valid names and then
// the external labels (valid names already) that none of these set; see the
// package documentation for how collisions are settled.
func labels(a alerting.Alert, external map[string]string) map[string]string {
	out := make(map[string]string, len(a.Labels)+2+len(external))
	add := func(name, value string) {
		if _, taken := out[name]; !taken && name != "" && value != "" {
			out[name] = valid(value)
		}
	}
	add("alertname", a.Rule)
	add("severity", a.Level.String())
	keys := notifyhttp.SortedKeys(a.Labels)
	var changed []string
	for _, k := range keys {
		if sanitize(k) == k {
			add(k, a.Labels[k])
		} else {
			changed = append(changed, k)
		}
	}
	for _, k := range changed {
		add(sanitize(k), a.Labels[k])
	}
	for k, v := range external {
		add(k, v)
	}
	return out
}

// sanitize turns name into a valid Prometheus label name.
func sanitize(name string) string {
	if name == "" {
		return ""
	}
	var b strings.Builder
	for i, r := range name {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r >= '0' && r <= '9':
			if i == 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// valid replaces invalid UTF-8, which Alertmanager refuses in values.
func valid(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }
