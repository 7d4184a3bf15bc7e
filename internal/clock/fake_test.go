package clock

import (
	"testing"
	"time"
)

func TestFakeTimerFiresOnAdvance(t *testing.T) {
	start := time.Unix(1000, 0)
	f := NewFake(start)
	tm := f.NewTimer(10 * time.Second)
	f.Advance(9 * time.Second)
	select {
	case <-tm.C():
		t.Fatal("timer fired early")
	default:
	}
	f.Advance(time.Second)
	select {
	case got := <-tm.C():
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

func TestFakeTickerAndStop(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	tk := f.NewTicker(time.Minute)
	for i := 0; i < 3; i++ {
		f.Advance(time.Minute)
		select {
		case <-tk.C():
		default:
			t.Fatalf("tick %d missing", i)
		}
	}
	tk.Stop()
	f.Advance(time.Hour)
	select {
	case <-tk.C():
		t.Fatal("stopped ticker ticked")
	default:
	}
}

func TestFakeTimerResetAndBlockUntil(t *testing.T) {
	f := NewFake(time.Unix(0, 0))
	done := make(chan struct{})
	go func() {
		tm := f.NewTimer(time.Second)
		<-tm.C()
		if tm.Reset(2 * time.Second) {
			t.Error("Reset of a fired timer reported active")
		}
		<-tm.C()
		close(done)
	}()
	f.BlockUntilTimers(1)
	f.Advance(time.Second)
	f.BlockUntilTimers(1)
	f.Advance(2 * time.Second)
	<-done
	if got := f.Since(time.Unix(0, 0)); got != 3*time.Second {
		t.Fatalf("Since = %v", got)
	}
}
