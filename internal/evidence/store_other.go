//go:build !linux

package evidence

import (
	"errors"
	"os"
)

// renameNoReplace: not available here; the caller links and unlinks.
func renameNoReplace(_, _ string) error { return errors.ErrUnsupported }

// createSync writes data to a new file name (mode 0400, truncated if a
// crash left it), fsyncs and closes it.
func createSync(name string, data []byte) error {
	return writeSync(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o400, data)
}

// fsyncPath fsyncs a file or directory by name.
func fsyncPath(name string) error {
	f, err := os.Open(name)
	if err == nil {
		err = f.Sync()
		f.Close()
	}
	return err
}
