package slack_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/slack"
)

func Example() {
	// A stand-in for https://hooks.slack.com/services/T…/B…/….
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Text        string `json:"text"`
			Attachments []struct {
				Color string `json:"color"`
			} `json:"attachments"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		fmt.Printf("%s (%s)\n", msg.Text, msg.Attachments[0].Color)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()

	n, err := slack.New(srv.URL + "/services/T000/B000/XXXX")
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Notify(context.Background(), alerting.Alert{
		Rule:     "sync-failing",
		Level:    alerting.Warning,
		State:    alerting.Firing,
		Title:    "Sync of trakt failing",
		Labels:   map[string]string{"source": "trakt"},
		Value:    3,
		StartsAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	fmt.Println("error:", err)
	// Output:
	// 🟠 WARNING - Sync of trakt failing (#F39C12)
	// error: <nil>
}

func ExampleNew_invalidURL() {
	_, err := slack.New("hooks.slack.com/services/T000/B000/XXXX")
	fmt.Println(err)
	// Output:
	// slack: invalid config: webhookURL: scheme must be http or https
}
