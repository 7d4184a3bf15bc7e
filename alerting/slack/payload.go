package slack

import (
	"fmt"
	"strings"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/internal/notifyhttp"
)

type payload struct {
	Channel     string       `json:"channel,omitempty"`
	Username    string       `json:"username,omitempty"`
	Text        string       `json:"text"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	Fallback string  `json:"fallback"`
	Color    string  `json:"color"`
	Title    string  `json:"title"`
	Text     string  `json:"text,omitempty"`
	Fields   []field `json:"fields"`
	TS       int64   `json:"ts"`
}

type field struct {
	Title string `json:"title"`
	Value string `json:"value"`
	Short bool   `json:"short"`
}

// escaper escapes the three characters Slack reserves for its markup.
var escaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func newPayload(a alerting.Alert, channel, username string, now func() time.Time) payload {
	emoji, word, color := notifyhttp.Heading(a)
	title := a.Title
	if title == "" {
		title = a.Rule
	}
	title = escaper.Replace(strings.ToValidUTF8(title, "\uFFFD"))
	text := emoji + " " + word + " - " + title
	att := attachment{
		Fallback: text,
		Color:    fmt.Sprintf("#%06X", color),
		Title:    title,
		Text:     escaper.Replace(strings.ToValidUTF8(a.Description, "\uFFFD")),
		TS:       notifyhttp.EventTime(a, now).Unix(),
	}
	for _, k := range notifyhttp.SortedKeys(a.Labels) {
		att.Fields = append(att.Fields, newField(k, a.Labels[k]))
	}
	att.Fields = append(att.Fields, newField("value", notifyhttp.FormatValue(a.Value)))
	if ids := notifyhttp.TraceIDs(a); ids != "" {
		f := newField("traces", ids)
		f.Short = false // a line of its own
		att.Fields = append(att.Fields, f)
	}
	return payload{Channel: channel, Username: username, Text: text, Attachments: []attachment{att}}
}

func newField(title, value string) field {
	return field{
		Title: escaper.Replace(strings.ToValidUTF8(title, "\uFFFD")),
		Value: escaper.Replace(strings.ToValidUTF8(value, "\uFFFD")),
		Short: true,
	}
}
