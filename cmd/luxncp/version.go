package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

const versionUsage = `Usage:
  luxncp version
Prints the module version, the VCS commit (with its time, and "modified"
when the working tree had uncommitted changes) and the Go version this binary
was built with. Binaries built by 'go run' or 'go test' carry no commit.
`

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("version", versionUsage, stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return badUsage("version takes no arguments (got %q)", fs.Arg(0))
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return errors.New("this binary carries no build information")
	}
	return writeVersion(stdout, bi)
}

// writeVersion prints what a build says about itself.
func writeVersion(w io.Writer, bi *debug.BuildInfo) error {
	set := map[string]string{}
	for _, s := range bi.Settings {
		set[s.Key] = s.Value
	}
	commit := "unknown (no VCS stamp: built by go run or go test, or outside a git checkout)"
	if rev := set["vcs.revision"]; rev != "" {
		commit = rev
		if t := set["vcs.time"]; t != "" {
			commit += " " + t
		}
		if set["vcs.modified"] == "true" {
			commit += " (modified)"
		}
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	platform := ""
	if set["GOOS"] != "" {
		platform = " " + set["GOOS"] + "/" + set["GOARCH"]
	}
	_, err := fmt.Fprintf(w, "luxncp %s\n  module   %s %s\n  commit   %s\n  go       %s%s\n",
		version, bi.Main.Path, version, commit, bi.GoVersion, platform)
	return err
}
