package discord

import (
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

// Discord's limits on embeds.
const (
	maxTitle      = 256
	maxDesc       = 4096
	maxFieldName  = 256
	maxFieldValue = 1024
	maxFields     = 25
	maxEmbed      = 6000
)

type payload struct {
	Username        string          `json:"username,omitempty"`
	AvatarURL       string          `json:"avatar_url,omitempty"`
	AllowedMentions allowedMentions `json:"allowed_mentions"`
	Embeds          []embed         `json:"embeds"`
}

// allowedMentions with an empty (not null) Parse list turns every mention
// off.
type allowedMentions struct {
	Parse []string `json:"parse"`
}

type embed struct {
	Title       string  `json:"title"`
	Description string  `json:"description,omitempty"`
	Color       int     `json:"color"`
	Fields      []field `json:"fields,omitempty"`
	Timestamp   string  `json:"timestamp"`
}

type field struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Inline bool   `json:"inline"`
}

func newPayload(a alerting.Alert, username, avatarURL string, now func() time.Time) payload {
	emoji, word, color := notifyhttp.Heading(a)
	title := a.Title
	if title == "" {
		title = a.Rule
	}
	e := embed{
		Title:       notifyhttp.Truncate(emoji+" "+word+" - "+title, maxTitle),
		Description: notifyhttp.Truncate(a.Description, maxDesc),
		Color:       color,
		Timestamp:   notifyhttp.EventTime(a, now).UTC().Format(time.RFC3339),
	}
	if ids := notifyhttp.TraceIDs(a); ids != "" {
		f := newField("traces", ids)
		f.Inline = false // a line of its own
		e.Fields = append(e.Fields, f)
	}
	for _, k := range notifyhttp.SortedKeys(a.Labels) {
		if len(e.Fields) == maxFields-1 {
			break // keep room for the value
		}
		e.Fields = append(e.Fields, newField(k, a.Labels[k]))
	}
	e.Fields = append(e.Fields, newField("value", notifyhttp.FormatValue(a.Value)))
	fit(&e)
	return payload{
		Username:        username,
		AvatarURL:       avatarURL,
		AllowedMentions: allowedMentions{Parse: []string{}},
		Embeds:          []embed{e},
	}
}

func newField(name, value string) field {
	if name == "" {
		name = "-"
	}
	if value == "" {
		value = "-"
	}
	return field{Name: notifyhttp.Truncate(name, maxFieldName), Value: notifyhttp.Truncate(value, maxFieldValue), Inline: true}
}

// fit keeps e within Discord's total of maxEmbed characters: it drops labels
// from the end, keeping the value field, then shortens the description.
func fit(e *embed) {
	for size(e) > maxEmbed && len(e.Fields) > 1 {
		last := len(e.Fields) - 1
		e.Fields = append(e.Fields[:last-1], e.Fields[last])
	}
	if over := size(e) - maxEmbed; over > 0 {
		e.Description = notifyhttp.Truncate(e.Description, notifyhttp.Len(e.Description)-over)
	}
}

func size(e *embed) int {
	n := notifyhttp.Len(e.Title) + notifyhttp.Len(e.Description)
	for _, f := range e.Fields {
		n += notifyhttp.Len(f.Name) + notifyhttp.Len(f.Value)
	}
	return n
}
