//go:build linux

package evidence

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames old to new unless new exists (renameat2 with
// RENAME_NOREPLACE: one atomic step where link and unlink are two; fails
// with fs.ErrExist as link does). errors.ErrUnsupported where the
// filesystem cannot (the caller links instead).
func renameNoReplace(old, new string) error {
	err := ignoringEINTR(func() error { return unix.Renameat2(unix.AT_FDCWD, old, unix.AT_FDCWD, new, unix.RENAME_NOREPLACE) })
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EOPNOTSUPP):
		return errors.ErrUnsupported
	}
	return &os.LinkError{Op: "renameat2", Old: old, New: new, Err: err}
}

// createSync writes data to a new file name (mode 0400, truncated if a
// crash left it), fsyncs and closes it: open, write, fsync, close, and no
// more — os.File adds fcntl and epoll_ctl calls for a file it could never
// poll.
func createSync(name string, data []byte) error {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o400)
		return err
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	op := "write"
	for len(data) > 0 && err == nil {
		var n int
		if n, err = unix.Write(fd, data); err == nil {
			if n == 0 {
				err = unix.EIO
			}
			data = data[n:]
		} else if errors.Is(err, unix.EINTR) {
			err = nil
		}
	}
	if err == nil {
		op = "fsync"
		err = ignoringEINTR(func() error { return unix.Fsync(fd) })
	}
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		op, err = "close", cerr
	}
	if err != nil {
		return &fs.PathError{Op: op, Path: name, Err: err}
	}
	return nil
}

// fsyncPath fsyncs a file or directory by name (open, fsync, close).
func fsyncPath(name string) error {
	var fd int
	err := ignoringEINTR(func() (err error) {
		fd, err = unix.Open(name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		return err
	})
	if err != nil {
		return &fs.PathError{Op: "open", Path: name, Err: err}
	}
	err = ignoringEINTR(func() error { return unix.Fsync(fd) })
	unix.Close(fd)
	if err != nil {
		return &fs.PathError{Op: "fsync", Path: name, Err: err}
	}
	return nil
}

func ignoringEINTR(f func() error) error {
	for {
		if err := f(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
