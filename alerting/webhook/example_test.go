package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/alerting/webhook"
)

func Example() {
	secret := []byte("shared secret")

	// A receiver: check the signature over the raw body, then decode it.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var m webhook.Message
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Printf("v%s %s %s: %s (%s)\n", m.Version, m.Status, m.Alert.Level, m.Alert.Title, r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	n, err := webhook.New(srv.URL+"/hooks/alerts",
		webhook.WithHeader("Authorization", "Bearer token"),
		webhook.WithSigningSecret(secret),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	err = n.Notify(context.Background(), alerting.Alert{
		ID:       "service-down-imdb",
		Rule:     "service-down",
		Level:    alerting.Critical,
		State:    alerting.Firing,
		Title:    "Service imdb is down",
		Labels:   map[string]string{"service": "imdb"},
		StartsAt: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC),
	})
	fmt.Println("error:", err)
	// Output:
	// v1 firing critical: Service imdb is down (Bearer token)
	// error: <nil>
}

func ExampleNew_invalidURL() {
	_, err := webhook.New("hooks.example.com/T0KEN")
	var ce *webhook.ConfigError
	if errors.As(err, &ce) {
		fmt.Println(ce.Field, "-", ce.Reason)
	}
	fmt.Println(err)
	// Output:
	// rawURL - scheme must be http or https
	// webhook: invalid config: rawURL: scheme must be http or https
}

func ExampleNotifier_String() {
	n, _ := webhook.New("https://hooks.example.com/services/T0KEN?key=SECRET")
	fmt.Println(n)
	// Output:
	// webhook(https://hooks.example.com)
}
