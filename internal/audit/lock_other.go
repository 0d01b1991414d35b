//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package audit

import "os"

// lockDir: no advisory lock on this platform; run one writer per directory.
func lockDir(dir string) (*os.File, error) { return nil, nil }
