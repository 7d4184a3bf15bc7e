package alerting

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if path := os.Getenv(lockHolderEnv); path != "" {
		holdStateLock(path) // the child process of TestStateFileHasOneOwnerAcrossProcesses
	}
	goleak.VerifyTestMain(m)
}
