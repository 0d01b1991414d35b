package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"
)

// addrFlag is a listen address with the two ways to change it.
type addrFlag struct {
	addr    string
	flag    string // e.g. --addr
	makeVar string // e.g. ADDR
}

// checkFree fails fast, before anything is set up, when the address is
// taken.
func (a addrFlag) checkFree() error {
	ln, err := net.Listen("tcp", a.addr)
	if err != nil {
		return a.listenError(err)
	}
	return ln.Close()
}

// listenError explains a failure to listen; a busy port names the address
// and how to choose another (a free one, found now).
func (a addrFlag) listenError(err error) error {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s %s: %w", a.flag, a.addr, err)
	}
	other := freeAddr(a.addr)
	return fmt.Errorf("%s is already in use (another luxncp?); choose another with make run %s=%s or %s %s: %w",
		a.addr, a.makeVar, other, a.flag, other, err)
}

// freeAddr is a free port on the host of addr, to suggest.
func freeAddr(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return net.JoinHostPort(host, "9443")
	}
	defer ln.Close()
	return ln.Addr().String()
}
