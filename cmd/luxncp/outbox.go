package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/outbox"
)

const outboxUsage = `Usage:
  luxncp outbox list [--state pending|delivered|dead] [--json] [--state-dir var]
      the eDispensations and discards accepted from partner NCPs, and their delivery to the national system
  luxncp outbox replay KEY [--state-dir var]
      put a dead letter back in the queue (after fixing what the national system refused)
  luxncp outbox resolve KEY --note "why" [--state-dir var]
      close a dead letter without delivering it (handled outside luxncp); releases its reservation
A dead letter is an acknowledged eDispensation the national system refused for
good or that outlived the delivery horizon: list shows why (LAST ERROR).
With LUXNCP_OUTBOX_TABLE (and LUXNCP_OUTBOX_QUEUE_URL) set, both work on the AWS
outbox (DynamoDB + SQS; list shows pending and dead messages there).
`

func runOutbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, outboxUsage)
		return nil
	}
	cmd := args[0]
	fs := newFlagSet("outbox "+cmd, outboxUsage, stderr)
	stateDir := fs.String("state-dir", envOr("LUXNCP_STATE_DIR", "var"), "state directory")
	state := fs.String("state", "", "list only this state")
	asJSON := fs.Bool("json", false, "JSON output")
	note := fs.String("note", "", "resolve: why the dead letter is closed (kept with the message)")
	rest := args[1:]
	var pos []string
	for len(rest) > 0 {
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
		rest = fs.Args()
		if len(rest) > 0 {
			pos = append(pos, rest[0])
			rest = rest[1:]
		}
	}
	var store outbox.Admin
	if table := os.Getenv("LUXNCP_OUTBOX_TABLE"); table != "" {
		// On AWS: the DynamoDB + SQS outbox (pending and dead letters).
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return fmt.Errorf("aws config: %w", err)
		}
		d, err := outbox.NewDynamo(dynamodb.NewFromConfig(cfg), sqs.NewFromConfig(cfg),
			outbox.DynamoOptions{Table: table, QueueURL: os.Getenv("LUXNCP_OUTBOX_QUEUE_URL")})
		if err != nil {
			return err
		}
		store = d
	} else {
		fsStore, err := outbox.OpenFile(filepath.Join(*stateDir, "outbox"))
		if err != nil {
			return err
		}
		store = fsStore
	}
	switch cmd {
	case "list":
		msgs, err := store.List(ctx, outbox.State(*state))
		if err != nil {
			return err
		}
		if *asJSON {
			for i := range msgs {
				msgs[i].Resource = nil
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(msgs)
		}
		if len(msgs) == 0 {
			fmt.Fprintln(stdout, "the outbox is empty")
			return nil
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ACCEPTED\tKIND\tSTATE\tATTEMPTS\tCOUNTRY\tPRESCRIPTION\tKEY\tLAST ERROR")
		for _, m := range msgs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", m.Accepted.Format(time.RFC3339), m.Kind, m.State, m.Attempts, m.Country, m.PrescriptionID, m.Key, m.LastError)
		}
		return tw.Flush()
	case "replay":
		if len(pos) != 1 {
			return badUsage("replay needs the message KEY (see 'luxncp outbox list --state dead')")
		}
		if err := store.Replay(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is pending again; a running gateway delivers it within seconds\n", pos[0])
		return nil
	case "resolve":
		if len(pos) != 1 || *note == "" {
			return badUsage("resolve needs the message KEY and --note \"why\" (see 'luxncp outbox list --state dead')")
		}
		if err := store.Resolve(ctx, pos[0], *note); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is resolved; its reservation is released\n", pos[0])
		return nil
	}
	fmt.Fprint(stderr, outboxUsage)
	return badUsage("unknown outbox command %q (list, replay, resolve)", cmd)
}
