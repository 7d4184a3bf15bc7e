package breaker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestTicketDoubleDone(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 2})
	tk, _, err := b.Allow(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if o := tk.Done(errBoom); o != Failure {
		t.Fatalf("first Done = %v, want failure", o)
	}
	for range 3 {
		if o := tk.Done(errBoom); o != Ignored {
			t.Fatalf("repeated Done = %v, want ignored", o)
		}
		tk.Release()
	}
	if c := b.Counts().ConsecutiveFailures; c != 1 {
		t.Fatalf("ConsecutiveFailures = %d, want 1", c)
	}
}

func TestTicketReleaseWithoutDoneFreesSlot(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1})
	trip(t, b)
	fc.Advance(time.Minute)
	for range 3 {
		tk, _, err := b.Allow(context.Background())
		if err != nil {
			t.Fatalf("slot not freed: %v", err)
		}
		tk.Release()
		wantState(t, b, HalfOpen)
	}
}

func TestTicketContextLivesUntilRelease(t *testing.T) {
	b, _ := newTest(t, Config{RequestTimeout: time.Hour})
	parent := context.Background()
	tk, ctx, err := b.Allow(parent)
	if err != nil {
		t.Fatal(err)
	}
	if ctx == parent {
		t.Fatal("Allow did not derive a request-timeout context")
	}
	if _, ok := ctx.Deadline(); !ok {
		t.Fatal("request context has no deadline")
	}
	if o := tk.Done(nil); o != Success {
		t.Fatalf("Done = %v", o)
	}
	if ctx.Err() != nil {
		t.Fatal("Done canceled the request context: a response body could not be read")
	}
	tk.Release()
	if !errors.Is(ctx.Err(), context.Canceled) {
		t.Fatalf("after Release ctx.Err() = %v, want Canceled", ctx.Err())
	}
}

func TestTicketTimeoutIsFailure(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1, RequestTimeout: time.Millisecond})
	tk, ctx, _ := b.Allow(context.Background())
	defer tk.Release()
	<-ctx.Done()
	if o := tk.Done(nil); o != Failure { // the body was read after the deadline
		t.Fatalf("Done(nil) after the request timeout = %v, want failure", o)
	}
	wantState(t, b, Open)
}

func TestTicketCallerCancelIsIgnored(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1, RequestTimeout: time.Hour})
	parent, cancel := context.WithCancel(context.Background())
	tk, ctx, _ := b.Allow(parent)
	defer tk.Release()
	cancel()
	if o := tk.Done(ctx.Err()); o != Ignored {
		t.Fatalf("Done = %v, want ignored", o)
	}
	wantState(t, b, Closed)
}

func TestRejectedTicket(t *testing.T) {
	b, _ := newTest(t, Config{FailureThreshold: 1, RequestTimeout: time.Hour})
	trip(t, b)
	parent := context.Background()
	tk, ctx, err := b.Allow(parent)
	if !errors.Is(err, ErrOpen) || ctx != parent || tk.b != nil {
		t.Fatalf("Allow on open breaker = %+v, %v, %v", tk, ctx, err)
	}
	if o := tk.Done(errBoom); o != Ignored {
		t.Fatalf("Done on zero ticket = %v", o)
	}
	tk.Release()
	var zero Ticket
	zero.Release()
}

func TestTicketConcurrentDoneAndRelease(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, SuccessThreshold: 50})
	trip(t, b)
	fc.Advance(time.Minute)
	for range 50 {
		tk, _, err := b.Allow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); tk.Done(nil) }()
		tk.Release()
		<-done
	}
	// Each ticket freed its slot exactly once.
	if b.inflight != 0 {
		t.Fatalf("inflight = %d, want 0", b.inflight)
	}
}

// Admit admits like Allow but sets no deadline: a long job that succeeds
// is a success, however long it took.
func TestAdmitHasNoRequestTimeout(t *testing.T) {
	b, fc := newTest(t, Config{FailureThreshold: 1, RequestTimeout: time.Second})
	tk, err := b.Admit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fc.Advance(time.Minute)
	if o := tk.Done(nil); o != Success {
		t.Fatalf("outcome %v", o)
	}
	tk.Release()
	tk, _ = b.Admit(context.Background())
	tk.Done(errors.New("boom"))
	tk.Release()
	if _, err := b.Admit(context.Background()); !errors.Is(err, ErrOpen) {
		t.Fatalf("Admit on an open breaker: %v", err)
	}
}
