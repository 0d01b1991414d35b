// Command luxncp is the operator CLI of Luxembourg's National Contact Point
// for eHealth: it serves the gateway locally, mints test assertions, and runs
// the terminology, audit, outbox, directory, peer and conformance tools.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
)

// command is one luxncp subcommand.
type command struct {
	name  string
	usage string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "serve [flags]                 start the gateway, demo national backend and simulated peers locally", runServe},
		{"serve-aws", "serve-aws --functions DIR [flags]  the AWS path locally: emulators, function binaries, API Gateway front", runServeAWS},
		{"national", "national [--addr A]            run the demo national backend alone (point a gateway at it with LUXNCP_NATIONAL_URL)", runNational},
		{"assertion", "assertion hcp|trc [flags]     print a signed eHDSI HCP or TRC assertion made with a dev seal key", runAssertion},
		{"token", "token professional|patient|…    print a dev national identity token (JWT) for /api/v1/", runToken},
		{"request", "request xcpd|… [flags]        print a signed eHDSI SOAP request envelope, ready for curl", runRequest},
		{"show", "show [--out DIR] [--ids] [FILE]  summarise an eHDSI SOAP response (fault, match, documents)", runShow},
		{"terminology", "terminology import|coverage|lookup …  terminology catalogue tools", runTerminology},
		{"audit", "audit verify|patient …        check the audit chain; list who accessed a patient's data", runAudit},
		{"evidence", "evidence verify|list …        check and list the signed non-repudiation evidence", runEvidence},
		{"outbox", "outbox list|replay|resolve …  eDispensation outbox and dead letters", runOutbox},
		{"pki", "pki init|csr …                dev PKI and certificate requests", runPKI},
		{"conformance", "conformance run|load …        test an NCP (ours or a partner's) and load-test it", runConformance},
		{"peer", "peer --country FR [--fail …]  run a simulated neighbour NCP (Country A of a foreign patient)", runPeer},
		{"directory", "directory list|check          show and probe the country directory", runDirectory},
		{"smp", "smp generate|sign|publish|check  Luxembourg's SMP metadata: write, seal, publish, compare", runSMP},
		{"trust", "trust list|check|add …        the trust list: partner countries' TLS and seal certificates", runTrust},
		{"version", "version                       print the module version, VCS commit and Go version of this binary", runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr) // a script that forgot the command must notice
		return exitUsage
	}
	if isHelpFlag(args[0]) {
		usage(stdout)
		return exitOK
	}
	if args[0] == "help" {
		if len(args) == 1 {
			usage(stdout)
			return exitOK
		}
		// luxncp help <cmd> [<sub>]: that command's -h, on stdout.
		return run(ctx, append(append([]string{}, args[1:]...), "-h"), stdout, stderr)
	}
	c, ok := findCommand(args[0])
	if !ok {
		fmt.Fprintf(stderr, "luxncp: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	if wantsHelp(args[1:]) {
		// Asked-for help is output, not a diagnostic.
		stderr = stdout
	}
	err := c.run(ctx, args[1:], stdout, stderr)
	code := exitStatus(err)
	if code != exitOK {
		fmt.Fprintf(stderr, "luxncp %s: %v\n", c.name, err)
	}
	return code
}

func findCommand(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "luxncp — Luxembourg's National Contact Point for eHealth (MyHealth@EU)")
	fmt.Fprintln(w, "\nUsage: luxncp <command> [arguments]\n\nCommands:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, c := range commands() {
		syntax, what, _ := strings.Cut(c.usage, "  ")
		fmt.Fprintf(tw, "  %s\t%s\n", syntax, strings.TrimSpace(what))
	}
	tw.Flush()
	fmt.Fprint(w, `
Test assertions (signed with a country's development seal key under var/pki):
  luxncp assertion hcp --country FR --role pharmacist|physician|nurse [--purpose TREATMENT|EMERGENCY] [--valid 1h]
  luxncp assertion trc --country FR --hcp FILE --patient <id> [--root 1.3.182.4.4] [--valid 1h]

Run 'luxncp help <command>' or 'luxncp <command> -h' for a command's flags.
Exit status: 0 success, 1 failure, 2 wrong arguments.
`)
}
