package discord_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/discord"
)

func Example() {
	// A stand-in for https://discord.com/api/webhooks/<id>/<token>.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg struct {
			Username string `json:"username"`
			Embeds   []struct {
				Title string `json:"title"`
				Color int    `json:"color"`
			} `json:"embeds"`
		}
		_ = json.NewDecoder(r.Body).Decode(&msg)
		fmt.Printf("%s: %s (#%06X)\n", msg.Username, msg.Embeds[0].Title, msg.Embeds[0].Color)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	n, err := discord.New(srv.URL + "/api/webhooks/123/token")
	if err != nil {
		fmt.Println(err)
		return
	}
	a := alerting.Alert{
		Rule:     "service-down",
		Level:    alerting.Critical,
		State:    alerting.Firing,
		Title:    "Service imdb is down",
		Labels:   map[string]string{"service": "imdb"},
		StartsAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	}
	_ = n.Notify(context.Background(), a)

	ended := a.StartsAt.Add(5 * time.Minute)
	a.State, a.ResolvedAt = alerting.Resolved, &ended
	_ = n.Notify(context.Background(), a)
	// Output:
	// otelmon: 🔴 CRITICAL - Service imdb is down (#E74C3C)
	// otelmon: ✅ RESOLVED - Service imdb is down (#2ECC71)
}

func Example_rateLimited() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"message": "You are being rate limited.", "retry_after": 1.5, "global": false}`)
	}))
	defer srv.Close()

	n, _ := discord.New(srv.URL + "/api/webhooks/123/token")
	err := n.Notify(context.Background(), alerting.Alert{Title: "Sync failing", Level: alerting.Warning, State: alerting.Firing})
	retry, after := alerting.Retryable(err)
	fmt.Println(err)
	fmt.Println(retry, after)
	// Output:
	// discord: unexpected HTTP status 429 Too Many Requests (You are being rate limited.)
	// true 1.5s
}

func ExampleNotifier_String() {
	n, _ := discord.New("https://discord.com/api/webhooks/123456/s3cr3t-t0ken")
	fmt.Println(n)
	// Output:
	// discord(https://discord.com)
}
