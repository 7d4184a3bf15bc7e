package clock

import (
	"context"
	"testing"
	"time"
)

func TestFakeTimerFiresOnAdvance(t *testing.T) {
	start := time.Unix(1000, 0)
	f := NewFake(start)
	c, _ := f.NewTimer(10 * time.Second)
	f.Advance(9 * time.Second)
	select {
	case <-c:
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-c:
		if !got.Equal(start.Add(10 * time.Second)) {
			t.Fatalf("fired at %v", got)
		}
	default:
		t.Fatal("timer did not fire")
	}
	if f.Timers() != 0 {
		t.Fatalf("fired timer still armed: %d", f.Timers())
	}
}

func TestFakeTimerStop(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	c, stop := f.NewTimer(time.Minute)
	if !stop() {
		t.Fatal("stop of an armed timer reported false")
	}
	if stop() {
		t.Fatal("second stop reported true")
	}
	f.Advance(time.Hour)
	select {
	case <-c:
		t.Fatal("stopped timer fired")
	default:
	}
}

func TestFakeZeroTimerFiresAtOnce(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	c, _ := f.NewTimer(0)
	select {
	case <-c:
	default:
		t.Fatal("zero timer did not fire")
	}
}

func TestBlockUntilTimersAndSleep(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	done := make(chan bool)
	go func() { done <- Sleep(context.Background(), f, time.Minute) }()
	f.BlockUntilTimers(1)
	f.Advance(time.Minute)
	if !<-done {
		t.Fatal("Sleep reported an interrupted wait")
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- Sleep(ctx, f, time.Minute) }()
	f.BlockUntilTimers(1)
	cancel()
	if <-done {
		t.Fatal("Sleep ignored the cancelled context")
	}
	if !Sleep(ctx, f, 0) {
		t.Fatal("a zero Sleep must pass at once")
	}
}

func TestRealTimer(t *testing.T) {
	c, stop := Real{}.NewTimer(time.Millisecond)
	<-c
	if stop() {
		t.Fatal("stop after firing reported true")
	}
}
