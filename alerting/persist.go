package alerting

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/listsync/otelmon/alerting/silence"
)

// This file owns the state file: its lock, its atomic writes, its
// temporary and corrupt copies. What it holds is statefile.go's.

// statePersister keeps the alert state in a file it owns. Its zero value
// (no path) keeps nothing.
//
// One owner per file: openState takes an exclusive lock on a lock file beside
// the state file (<path>.lock, flock(2) where the platform has it), held
// until close or until the process dies, when the OS releases it. A second
// engine on the same path, in this process or another, is refused with
// ErrStateLocked instead of silently overwriting the first one's state.
// The path is resolved first (resolveStatePath): a symbolic link to the
// file, or to its directory, leads to the same lock file, and saves go to
// the link's target, which they replace, leaving the link a link.
// The lock file itself is left in place: removing it would let a third
// engine lock a new file while the second still holds the old one.
//
// Writes are made one at a time, in the order the changes were decided:
// the ledger calls write under its change lock; mu only orders writes
// with close.
type statePersister struct {
	path string
	log  *slog.Logger

	mu     sync.Mutex // guards the fields below
	lock   stateLock  // held from open to close; nil without a path
	closed bool
	dirty  bool // the last write failed: the next change writes again
}

// openState takes ownership of the state file at path and reads it (see
// New for what happens with each kind of problem): it returns the alerts
// and puts the silences in silences (nil: silences are not read). now
// names a corrupt file's copy, and tells the silences expired.
func openState(path string, log *slog.Logger, now time.Time, silences *silence.Store) (*statePersister, []*alertRecord, error) {
	p := &statePersister{path: path, log: log}
	if path == "" {
		return p, nil, nil
	}
	// Two paths to one file have one owner, and a save through a link
	// replaces the file it points to, not the link.
	resolved, err := resolveStatePath(path)
	if err != nil {
		return nil, nil, fmt.Errorf("alerting: resolve alert state path %s: %w", path, err)
	}
	p.path = resolved
	shown := path
	if resolved != path {
		shown = fmt.Sprintf("%s (that is, %s)", path, resolved)
	}
	lock, err := lockState(resolved, shown)
	if err != nil {
		return nil, nil, err
	}
	recs, err := p.start(now, silences)
	if err != nil {
		if uerr := unlockState(lock); uerr != nil {
			log.Debug("alerting: release state lock", slog.String("path", path), slog.Any("error", uerr))
		}
		return nil, nil, err
	}
	p.lock = lock
	return p, recs, nil
}

// maxStateLinks bounds the symbolic links resolveStatePath follows to a
// file that does not exist yet.
const maxStateLinks = 40

// resolveStatePath returns the file path names once symbolic links are
// followed, in its directories and in its last element: the file itself
// when it exists (filepath.EvalSymlinks); otherwise the file a first save
// will create, in its directory resolved, at the end of the links that
// lead to it, if any. A directory that cannot be resolved (it does not
// exist) leaves path as it is: opening the state then fails on it as it
// would have. A loop of links is an error.
func resolveStatePath(path string) (string, error) {
	p := path
	for range maxStateLinks {
		resolved, err := filepath.EvalSymlinks(p)
		if err == nil {
			return resolved, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		dir, base := splitPath(p)
		if base == "" {
			return path, nil
		}
		rdir, err := filepath.EvalSymlinks(dir)
		if err != nil {
			return path, nil
		}
		p = filepath.Join(rdir, base)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return p, nil // not there yet: the file a first save creates
		}
		target, err := os.Readlink(p) // a link to a file not there yet
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(rdir, target)
		}
		p = target
	}
	return "", fmt.Errorf("more than %d symbolic links to follow", maxStateLinks)
}

// start checks that the state file's directory can be written, removes
// the temporary files of saves that a crash interrupted, and loads the
// state. It runs with the lock held, so no other engine is writing.
func (p *statePersister) start(now time.Time, silences *silence.Store) ([]*alertRecord, error) {
	dir, base := splitPath(p.path)
	// Probe: a directory in which the state cannot be saved is an error
	// now rather than a log line at every change.
	if err := probeWritable(dir, base); err != nil {
		return nil, fmt.Errorf("alerting: alert state directory %s is not writable: %w", dir, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("alerting: list alert state directory: %w", err)
	}
	for _, de := range entries {
		if name := de.Name(); strings.HasPrefix(name, base+tmpInfix) && de.Type().IsRegular() {
			tmp := filepath.Join(dir, name)
			if err := os.Remove(tmp); err != nil {
				return nil, fmt.Errorf("alerting: remove stale temporary state file: %w", err)
			}
			p.log.Info("alerting: removed temporary state file left by an interrupted save", slog.String("path", tmp))
		}
	}
	return p.load(now, silences)
}

// write saves a snapshot atomically; a nil snapshot saves nothing. After a
// failed write, retry asks the caller for a fresh snapshot at its next
// change.
func (p *statePersister) write(sf *stateFile) error {
	if sf == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return ErrShutdown
	}
	data, err := json.Marshal(sf)
	if err == nil {
		err = writeAtomic(p.path, data)
	}
	p.dirty = err != nil
	if err != nil {
		return fmt.Errorf("alerting: save alert state: %w", err)
	}
	return nil
}

// retry reports whether the last write failed, so that the next change
// writes the whole state again even if it changed nothing itself.
func (p *statePersister) retry() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dirty && !p.closed
}

// close releases the lock; later writes return ErrShutdown. It waits for a
// write in progress.
func (p *statePersister) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.lock == nil {
		return
	}
	if err := unlockState(p.lock); err != nil {
		p.log.Warn("alerting: release state lock", slog.String("path", p.path), slog.Any("error", err))
	}
}

// tmpInfix marks the temporary files of the state file (<base>.tmp-*):
// those of saves and of the start-up probe, which a crash may leave.
const tmpInfix = ".tmp-"

func splitPath(path string) (dir, base string) {
	dir, base = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// writeAtomic writes data to a temporary file beside path, syncs it,
// renames it over path and syncs the directory, so that the rename itself
// survives a power loss: a change reported as saved is on disk.
func writeAtomic(path string, data []byte) error {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, base+tmpInfix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// syncDir flushes dir's entries (a rename) to disk. Platforms whose
// directories cannot be synced (EINVAL, as some file systems answer) are
// left as they are: the rename is then as durable as the platform makes it.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, errors.ErrUnsupported) {
		err = nil
	}
	return errors.Join(err, d.Close())
}

// probeWritable creates and removes a temporary file of the state file,
// as a save would.
func probeWritable(dir, base string) error {
	f, err := os.CreateTemp(dir, base+tmpInfix+"*")
	if err != nil {
		return err
	}
	return errors.Join(f.Close(), os.Remove(f.Name()))
}

// maxAsideTries bounds the names moveAside tries for one timestamp.
const maxAsideTries = 1000

// moveAside renames a corrupt state file to <path>.corrupt-<UTC time>,
// adding -2, -3, ... when that name is taken, and returns the new name. It
// never replaces an earlier copy: the name is first claimed with O_EXCL.
func moveAside(path string, now time.Time) (string, error) {
	stem := path + ".corrupt-" + now.UTC().Format("20060102T150405Z")
	for i := 1; i <= maxAsideTries; i++ {
		name := stem
		if i > 1 {
			name += "-" + strconv.Itoa(i)
		}
		f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := f.Close(); err != nil {
			return "", err
		}
		if err := os.Rename(path, name); err != nil {
			_ = os.Remove(name)
			return "", err
		}
		return name, nil
	}
	return "", fmt.Errorf("no free name after %s (%d tried)", stem, maxAsideTries)
}
