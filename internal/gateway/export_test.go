package gateway

import "os"

// SetSyncFile replaces the replay guard's fsync for a test; the returned
// function restores it.
func SetSyncFile(f func(*os.File) error) (restore func()) {
	old := syncFile
	syncFile = f
	return func() { syncFile = old }
}

// SetWriteFile replaces the replay guard's append for a test; the returned
// function restores it.
func SetWriteFile(f func(*os.File, []byte) (int, error)) (restore func()) {
	old := writeFile
	writeFile = f
	return func() { writeFile = old }
}
