//go:build !(unix || windows) || plan9

package alerting

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// stateLock is the held lock on a state file: its lock file, created
// exclusively (statelock*.go).
type stateLock = *os.File

// lockState creates the lock file <path>.lock exclusively, on platforms
// without an OS file lock (Plan 9, WebAssembly); shown names the state
// file in errors. Unlike flock it
// outlives a crash: a lock file left by a process that died must be
// removed by hand, and the error says which file it is.
func lockState(path, shown string) (stateLock, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("%w: %s (lock file %s exists: another engine holds it, or a process that held it died, then remove it)", ErrStateLocked, shown, name)
	}
	if err != nil {
		return nil, fmt.Errorf("alerting: create alert state lock file: %w", err)
	}
	return f, nil
}

// unlockState closes and removes the lock file.
func unlockState(l stateLock) error { return errors.Join(l.Close(), os.Remove(l.Name())) }
