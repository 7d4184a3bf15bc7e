package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/url"
	"strings"
	"testing"
)

func TestAlertJSON(t *testing.T) {
	a := Alert{ID: "x", Rule: "r", Level: Critical, State: Firing, Value: 3}
	b, err := json.Marshal(a)
	if err != nil || !strings.Contains(string(b), `"value":3`) || !strings.Contains(string(b), `"level":"critical"`) {
		t.Fatalf("%s %v", b, err)
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		a.Value = v
		b, err := json.Marshal(a)
		if err != nil || !strings.Contains(string(b), `"value":null`) || strings.Count(string(b), `"value"`) != 1 {
			t.Fatalf("%v: %s %v", v, b, err)
		}
		var back Alert
		if err := json.Unmarshal(b, &back); err != nil || back.ID != "x" || back.State != Firing {
			t.Fatalf("round trip: %+v %v", back, err)
		}
	}
}

func TestRedactError(t *testing.T) {
	err := RedactError(&url.Error{Op: "Post", URL: "https://discord.example/api/webhooks/1/TOKEN?wait=1", Err: context.Canceled})
	if strings.Contains(err.Error(), "TOKEN") || !strings.Contains(err.Error(), "https://discord.example") {
		t.Fatalf("RedactError = %v", err)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatal("cause lost")
	}
}
