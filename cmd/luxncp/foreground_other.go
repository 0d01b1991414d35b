//go:build !linux

package main

// takeTerminal is a no-op outside Linux: Ctrl-C reaches make as well.
func takeTerminal() (restore func(), err error) { return func() {}, nil }
