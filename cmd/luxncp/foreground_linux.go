package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// takeTerminal moves luxncp into a process group of its own and makes it
// the terminal's foreground group, so that Ctrl-C reaches luxncp alone and
// not the make that started it: GNU make dies of a SIGINT it receives
// (exit 130) even when its recipe then exits 0. Ctrl-Z is ignored (a
// stopped luxncp would hold the terminal while make waits). restore hands
// the terminal back. Without a controlling terminal, or when luxncp is not
// in the foreground, it does nothing.
func takeTerminal() (restore func(), err error) {
	noop := func() {}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return noop, nil
	}
	fd := tty.Fd()
	orig, err := tcgetpgrp(fd)
	if err != nil || orig != syscall.Getpgrp() {
		tty.Close()
		return noop, nil
	}
	// Setting the foreground group from a background group raises SIGTTOU.
	signal.Ignore(syscall.SIGTTOU, syscall.SIGTSTP)
	if err := syscall.Setpgid(0, 0); err != nil {
		tty.Close()
		return noop, fmt.Errorf("--foreground: own process group: %w", err)
	}
	if err := tcsetpgrp(fd, syscall.Getpid()); err != nil {
		tty.Close()
		return noop, fmt.Errorf("--foreground: terminal foreground: %w", err)
	}
	return func() {
		tcsetpgrp(fd, orig)
		tty.Close()
	}, nil
}

func tcgetpgrp(fd uintptr) (int, error) {
	var pgrp int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCGPGRP, uintptr(unsafe.Pointer(&pgrp))); e != 0 {
		return 0, e
	}
	return int(pgrp), nil
}

func tcsetpgrp(fd uintptr, pgrp int) error {
	p := int32(pgrp)
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCSPGRP, uintptr(unsafe.Pointer(&p))); e != 0 {
		return e
	}
	return nil
}
