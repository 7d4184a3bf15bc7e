// Command discord shows how to write a notification handler of your own:
// DiscordNotificationHandler, an alerting.Notifier that posts each alert to
// a Discord webhook as one chat message.
//
// The program wires the handler into a Monitor with otelmon.WithNotifiers,
// adds a custom rule (custom_rule: five consecutive failed syncs of the
// source "my_service"), records failing syncs of that source, evaluates the
// rules, and exits once the alert has been delivered:
//
//	go run ./examples/discord -webhook "$DISCORD_WEBHOOK_URL"
//
// The engine calls the handler from a delivery goroutine of its own and
// retries it as its error says (see alerting.Retryable). The engine's
// Shutdown returns once what is queued has been delivered, retries
// included, or -timeout has passed.
//
// For production use the alerting/discord package, which posts embeds,
// honours Discord's limits and reads retry_after from 429 bodies.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf16"

	"github.com/listsync/otelmon/alerting"
	"github.com/listsync/otelmon/otelmon"
)

// maxContent is the longest message content Discord accepts, counted in
// UTF-16 code units (an emoji such as 🚨 counts two).
const maxContent = 2000

// maxDrain is how much of a response body Notify reads before closing it,
// so that the connection can be reused.
const maxDrain = 64 << 10

// DiscordNotificationHandler posts alerts to one Discord webhook. Its
// webhook URL is a secret (the token is in the path): it never appears in
// its errors, and String shows the scheme and host only. Create it with
// NewDiscordNotificationHandler; it is safe for concurrent use.
type DiscordNotificationHandler struct {
	webhook   *url.URL
	client    *http.Client
	delivered atomic.Int64 // notifications the webhook accepted
}

var _ alerting.Notifier = (*DiscordNotificationHandler)(nil)

// NewDiscordNotificationHandler returns a handler posting to webhookURL, an
// absolute http or https URL such as
// https://discord.com/api/webhooks/<id>/<token>. A nil client means one
// with a 10 s timeout that follows no redirects: a moved webhook then fails
// with a non-retryable 3xx instead of a POST silently turned into a GET.
// Its errors never repeat webhookURL.
func NewDiscordNotificationHandler(webhookURL string, client *http.Client) (*DiscordNotificationHandler, error) {
	if webhookURL == "" {
		return nil, errors.New("webhook URL is empty")
	}
	u, err := url.Parse(webhookURL)
	switch {
	case err != nil: // url.Parse's error quotes the URL: drop it
		return nil, errors.New("webhook URL does not parse")
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("webhook URL must start with https:// (or http://)")
	case u.Host == "":
		return nil, errors.New("webhook URL has no host")
	}
	if client == nil {
		client = &http.Client{
			Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		}
	}
	return &DiscordNotificationHandler{webhook: u, client: client}, nil
}

// Name returns "discord", the handler's name in the engine's logs and
// metrics.
func (h *DiscordNotificationHandler) Name() string { return "discord" }

// String returns the name and the webhook's scheme and host, e.g.
// "discord(https://discord.com)".
func (h *DiscordNotificationHandler) String() string {
	return h.Name() + "(" + h.webhook.Scheme + "://" + h.webhook.Host + ")"
}

// GoString is String, so that %#v does not print the webhook either.
func (h *DiscordNotificationHandler) GoString() string { return h.String() }

// Delivered returns how many notifications the webhook has accepted.
func (h *DiscordNotificationHandler) Delivered() int64 { return h.delivered.Load() }

// payload is the JSON body of a webhook message.
type payload struct {
	Content string `json:"content"`
	// AllowedMentions with an empty Parse list stops "@everyone" in a label
	// value from pinging the channel.
	AllowedMentions allowedMentions `json:"allowed_mentions"`
}

type allowedMentions struct {
	Parse []string `json:"parse"`
}

// Notify posts a once. The engine decides on retries from the error: a
// *alerting.StatusError from alerting.CheckResponse (429 and 5xx are
// retried, after Retry-After if the receiver sent one), an error wrapping
// alerting.ErrPermanent, or a transport error (retried). It honours ctx.
func (h *DiscordNotificationHandler) Notify(ctx context.Context, a alerting.Alert) error {
	body, err := json.Marshal(payload{Content: message(a), AllowedMentions: allowedMentions{Parse: []string{}}})
	if err != nil {
		return fmt.Errorf("discord: encode message: %w: %w", err, alerting.ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.webhook.String(), bytes.NewReader(body))
	if err != nil { // its text may quote the URL: keep only the verdict
		return fmt.Errorf("discord: build request: %w", alerting.ErrPermanent)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("discord: %w", alerting.RedactError(err))
	}
	defer func() {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
		_ = resp.Body.Close()
	}()
	if err := alerting.CheckResponse(resp, time.Now()); err != nil {
		return fmt.Errorf("discord: %w", err)
	}
	h.delivered.Add(1)
	return nil
}

// message is the text posted for a: "<emoji> **LEVEL** - title", then the
// description on the next line; "✅ **RESOLVED** - title" when a has
// resolved. It is cut to Discord's limit of 2000.
func message(a alerting.Alert) string {
	emoji, word := "🚨", a.Level.String()
	if a.State == alerting.Resolved {
		emoji, word = "✅", "resolved"
	}
	title := a.Title
	if title == "" {
		title = a.Rule
	}
	s := fmt.Sprintf("%s **%s** - %s", emoji, upper(word), title)
	if a.Description != "" {
		s += "\n" + a.Description
	}
	return truncate(s, maxContent)
}

// upper upper-cases the ASCII words Level.String and "resolved" return.
func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// truncate cuts s to at most n UTF-16 code units, ending in "…" when cut.
func truncate(s string, n int) string {
	if utf16Len(s) <= n {
		return s
	}
	used := 1 // the "…"
	for i, r := range s {
		if used += utf16.RuneLen(r); used > n {
			return s[:i] + "…"
		}
	}
	return s
}

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Names the custom rule uses.
const (
	customRuleName = "custom_rule"
	customSource   = "my_service"
)

// customRule is the custom rule: five consecutive failed syncs of
// my_service raise a warning, notified again at most every 30 minutes while
// it lasts.
func customRule() alerting.Rule {
	return alerting.Rule{
		Name:        customRuleName,
		Level:       alerting.Warning,
		Description: "my_service has failed its last five syncs; its list is going stale.",
		Labels:      map[string]string{"component": "custom"},
		Condition:   alerting.ConsecutiveFailures{Source: customSource, Count: 5},
		RateLimit:   30 * time.Minute,
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "discord:", err)
		os.Exit(1)
	}
}

// run raises the custom rule's alert and returns once it has been
// delivered to -webhook, or with an error saying why not.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("discord", flag.ContinueOnError)
	fs.SetOutput(stderr)
	webhook := fs.String("webhook", "", "Discord webhook URL, https://discord.com/api/webhooks/<id>/<token> (required)")
	failures := fs.Int("failures", 5, "failed syncs of my_service to record (custom_rule fires at 5)")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for delivery, retries included")
	verbose := fs.Bool("v", false, "log delivery attempts and retries")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments: %q", fs.Args())
	case *webhook == "":
		return errors.New("-webhook is required: a Discord webhook URL, https://discord.com/api/webhooks/<id>/<token>")
	case *failures < 0:
		return fmt.Errorf("-failures %d: must not be negative", *failures)
	case *timeout <= 0:
		return fmt.Errorf("-timeout %v: must be positive", *timeout)
	}
	handler, err := NewDiscordNotificationHandler(*webhook, nil)
	if err != nil {
		return fmt.Errorf("-webhook: %w", err)
	}
	level := slog.LevelWarn // failed deliveries
	if *verbose {
		level = slog.LevelDebug // and each retry
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg := otelmon.DefaultConfig()
	// Only the custom rule speaks here: no default rule, no objective.
	cfg.DisableDefaultAlerts, cfg.DisableDefaultSLOs = true, true
	mon, err := otelmon.New(cfg, otelmon.WithNotifiers(handler), otelmon.WithLogger(logger))
	if err != nil {
		return err
	}
	raised, raiseErr := raise(ctx, mon, *failures, stdout)
	if raised > 0 {
		fmt.Fprintln(stdout, "delivering to", handler)
	}
	// The engine's Shutdown lets the handler deliver what is queued,
	// retries included, before it returns; -timeout bounds that wait, and
	// Ctrl-C ends it. The Monitor's Shutdown then stops the rest with a
	// budget of its own (it skips the engine, already stopped).
	dctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	deliverErr := mon.Alerts().Shutdown(dctx)
	if errors.Is(deliverErr, context.DeadlineExceeded) {
		deliverErr = fmt.Errorf("delivery did not finish within -timeout %v", *timeout)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := errors.Join(raiseErr, deliverErr, mon.Shutdown(sctx)); err != nil {
		return err
	}
	n := handler.Delivered()
	fmt.Fprintf(stdout, "discord accepted %d notification(s)\n", n)
	if n < int64(raised) {
		return errors.New("the alert was not delivered; the log says why")
	}
	return nil
}

// raise adds the custom rule, records failures failed syncs of my_service
// and evaluates the rules. It prints the alerts of the custom rule and
// returns how many fire.
func raise(ctx context.Context, mon *otelmon.Monitor, failures int, stdout io.Writer) (int, error) {
	if err := mon.Alerts().AddRule(customRule()); err != nil {
		return 0, err
	}
	// Start starts the notifiers' delivery goroutines (and evaluation every
	// AlertEvaluationInterval).
	if err := mon.Start(ctx); err != nil {
		return 0, err
	}
	for range failures {
		mon.RecordSyncOperation(ctx, customSource, false, 2*time.Second, 0, 0, 0)
	}
	// Evaluate now rather than wait for the next interval.
	if err := mon.Alerts().Evaluate(ctx); err != nil {
		return 0, fmt.Errorf("evaluate alerts: %w", err)
	}
	firing := mon.Alerts().Alerts(alerting.Filter{Rule: customRuleName, States: []alerting.State{alerting.Firing}})
	for _, a := range firing {
		fmt.Fprintf(stdout, "alert %s %s %s: %s\n", a.Rule, a.Level, a.State, a.Title)
	}
	return len(firing), nil
}
