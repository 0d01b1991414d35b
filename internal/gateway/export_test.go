package gateway

import "os"

// SetSyncFile replaces the replay guard's fsync for a test; the returned
// function restores it.
func SetSyncFile(f func(*os.File) error) (restore func()) {
	old := syncFile
	syncFile = f
	return func() { syncFile = old }
}
