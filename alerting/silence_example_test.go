package alerting_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/listsync/otelmon/alerting"
)

// A host silences imdb from code during a planned outage: its alert still
// fires and is listed, with the silence in SilencedBy, but no notifier
// hears of it until the silence is expired.
func ExampleEngine_CreateSilence() {
	ctx := context.Background()
	eng, err := alerting.New(alerting.Config{})
	if err != nil {
		panic(err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(eng.Reader()))
	defer func() { _ = mp.Shutdown(ctx) }()
	for _, r := range alerting.DefaultRules() {
		if err := eng.AddRule(r); err != nil {
			panic(err)
		}
	}
	s, err := eng.CreateSilence(alerting.Silence{
		Matchers:  []alerting.Matcher{{Name: "service", Value: "imdb"}},
		EndsAt:    time.Now().Add(2 * time.Hour),
		CreatedBy: "alice",
		Comment:   "IMDb maintenance",
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Status.State, s.Matchers[0])

	up, _ := mp.Meter("example").Int64Gauge("radarr_list_sync_service_up")
	up.Record(ctx, 0, metric.WithAttributes(attribute.String("service", "imdb")))
	if err := eng.Evaluate(ctx); err != nil {
		panic(err)
	}
	for _, a := range eng.Active() {
		fmt.Println(a.State, a.Title, "silenced:", len(a.SilencedBy) == 1 && a.SilencedBy[0] == s.ID)
	}

	// A silence without an end is refused, saying why.
	_, err = eng.CreateSilence(alerting.Silence{Matchers: s.Matchers})
	var se *alerting.SilenceError
	fmt.Println(errors.Is(err, alerting.ErrInvalidSilence), errors.As(err, &se) && se.Field == "endsAt")

	if s, err = eng.ExpireSilence(s.ID); err != nil {
		panic(err)
	}
	fmt.Println(s.Status.State, len(eng.Active()[0].SilencedBy))
	_ = eng.Shutdown(ctx)
	// Output:
	// active service="imdb"
	// firing Service imdb is down silenced: true
	// true true
	// expired 0
}
