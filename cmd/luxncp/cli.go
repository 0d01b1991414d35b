package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
)

// Exit statuses of luxncp, the same for every command.
const (
	exitOK      = 0 // done; for show: the answer says success
	exitFailure = 1 // the command failed, or the answer it read is a failure
	exitUsage   = 2 // wrong arguments: an unknown command or flag, a bad value
)

// usageError is a mistake in the arguments (exit status 2). Its message
// names the argument that is wrong.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// badUsage builds a usageError; the message should start with the flag it
// is about, e.g. badUsage("--rate: %q is not a rate like 20/s", v).
func badUsage(format string, a ...any) error {
	return usageError{fmt.Errorf(format, a...)}
}

// exitStatus maps what a command returned onto the process exit status:
// -h is a success, argument mistakes are 2, other errors 1.
func exitStatus(err error) int {
	var ue usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	}
	return exitFailure
}

// newFlagSet is the flag set of a (sub)command: its messages go to out, and
// -h prints usage followed by the flags and their defaults.
func newFlagSet(name, usage string, out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprint(out, usage)
		fmt.Fprintf(out, "\nFlags of luxncp %s:\n", name)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; a parse error is a usage error (exit 2) and -h
// stays flag.ErrHelp (exit 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}

// isHelpFlag reports whether an argument asks for help.
func isHelpFlag(a string) bool {
	return a == "-h" || a == "-help" || a == "--help"
}

// wantsHelp reports whether args ask for help before any "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		if isHelpFlag(a) {
			return true
		}
	}
	return false
}

// printJSON writes v to w as indented JSON (the --json output of the
// operator commands: values as recorded, no escaping beyond JSON's own).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
