//go:build (unix || windows) && !plan9

package alerting

import (
	"fmt"

	"github.com/gofrs/flock"
)

// stateLock is the held lock on a state file: an OS lock on its lock
// file <path>.lock (statelock*.go).
type stateLock = *flock.Flock

// lockState takes an exclusive OS lock on <path>.lock without waiting;
// shown names the state file in errors. The lock is flock(2) on most Unix
// systems, fcntl(2) on AIX and Solaris, LockFileEx on Windows: in every
// case a second holder, in this process or another, is refused, and the
// OS releases the lock when the process dies, so a crash leaves nothing to
// remove by hand. The lock file itself stays.
func lockState(path, shown string) (stateLock, error) {
	name := path + ".lock"
	l := flock.New(name, flock.SetPermissions(0o600))
	ok, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("alerting: take the alert state lock file: %w", err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s (lock file %s held by another engine)", ErrStateLocked, shown, name)
	}
	return l, nil
}

// unlockState releases the lock and closes the lock file.
func unlockState(l stateLock) error { return l.Close() }
