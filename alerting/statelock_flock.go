//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package alerting

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockState takes an exclusive flock(2) on <path>.lock without waiting;
// shown names the state file in errors.
// flock locks belong to the open file description, so a second open of the
// same file, in this process or another, is refused; the OS releases the
// lock when the process dies.
func lockState(path, shown string) (stateLock, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("alerting: create alert state lock file: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s (lock file %s held by another engine)", ErrStateLocked, shown, name)
		}
		return nil, fmt.Errorf("alerting: lock alert state file %s: %w", name, err)
	}
	return f, nil
}

// unlockState releases the lock: closing the file drops it.
func unlockState(l stateLock) error { return l.Close() }
