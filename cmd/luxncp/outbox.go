package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/audit/s3sink"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
)

const outboxUsage = `Usage:
  luxncp outbox list [--state pending|delivered|dead] [--json] [--state-dir var]
      the eDispensations and discards accepted from partner NCPs, and their delivery to the national system
  luxncp outbox replay KEY [--operator NAME] [--state-dir var]
      put a dead letter back in the queue (after fixing what the national system refused);
      the operator defaults to the login name
  luxncp outbox resolve KEY --note "why" --operator NAME [--state-dir var]
      close a dead letter without delivering it (handled outside luxncp); releases its reservation
A dead letter is an acknowledged eDispensation the national system refused for
good or that outlived the delivery horizon: list shows why (LAST ERROR).
replay and resolve are audited before they act, under the dispensation's
patient, with the operator, the time and the note: in the operator log
<state-dir>/audit/operator/ (hash-chained, checked by 'luxncp audit verify',
shown by 'luxncp audit patient'), which a running gateway does not lock.
With LUXNCP_OUTBOX_TABLE (and LUXNCP_OUTBOX_QUEUE_URL) set, both work on the AWS
outbox (DynamoDB + SQS; list shows pending and dead messages there), and the
record goes to the S3 audit bucket (LUXNCP_AUDIT_BUCKET, required then).
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
	operator := fs.String("operator", "", "replay, resolve: who acts (recorded in the audit trail; required for resolve)")
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
	var operatorLog audit.Sink // on AWS: the S3 audit store
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
		if cmd == "replay" || cmd == "resolve" {
			sink, done, err := s3OperatorLog(ctx, cfg)
			if err != nil {
				return err
			}
			defer done()
			operatorLog = sink
		}
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
			return printJSON(stdout, msgs)
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
		if *operator == "" {
			*operator = loginName()
		}
		act := operatorAction{store: store, sink: operatorLog, auditDir: envOr("LUXNCP_AUDIT_DIR", audit.Dir(*stateDir)),
			event: audit.EventOutboxReplay, key: pos[0], operator: *operator}
		if err := act.do(ctx, func() error { return store.Replay(ctx, pos[0]) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is pending again; a running gateway delivers it within seconds (audited: replayed by %s)\n", pos[0], *operator)
		return nil
	case "resolve":
		if len(pos) != 1 || *note == "" || *operator == "" {
			return badUsage("resolve needs the message KEY, --note \"why\" and --operator NAME (see 'luxncp outbox list --state dead')")
		}
		act := operatorAction{store: store, sink: operatorLog, auditDir: envOr("LUXNCP_AUDIT_DIR", audit.Dir(*stateDir)),
			event: audit.EventOutboxResolve, key: pos[0], operator: *operator, note: *note}
		if err := act.do(ctx, func() error { return store.Resolve(ctx, pos[0], *note) }); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is resolved; its reservation is released (audited: resolved by %s)\n", pos[0], *operator)
		return nil
	}
	fmt.Fprint(stderr, outboxUsage)
	return badUsage("unknown outbox command %q (list, replay, resolve)", cmd)
}

// operatorAction is one audited operator action on an outbox message.
type operatorAction struct {
	store    outbox.Admin
	sink     audit.Sink // nil: the operator log of auditDir
	auditDir string
	event    audit.EventType
	key      string
	operator string
	note     string
}

// do records the action under the message's patient, then acts (audit
// before effect: no action without its record); an action that then fails
// gets a second record saying so.
func (a operatorAction) do(ctx context.Context, effect func() error) error {
	ev := audit.Event{Type: a.event, HCP: audit.HCP{ID: a.operator, Name: a.operator, RoleDisplay: "luxncp operator"},
		Documents: []string{a.key}, Note: a.note}
	if g, ok := a.store.(interface {
		Get(context.Context, string) (outbox.Message, error)
	}); ok {
		m, err := g.Get(ctx, a.key)
		if err != nil {
			return fmt.Errorf("%s: %w", a.key, err)
		}
		if m.State != outbox.StateDead {
			return fmt.Errorf("%w: %s is %s (nothing done, nothing recorded)", outbox.ErrNotDead, a.key, m.State)
		}
		if m.Matricule != "" {
			ev.Patients = []audit.PatientID{{Root: ehdsi.OIDMatricule, Extension: m.Matricule}}
		}
		if m.Target != "" {
			ev.Documents = append(ev.Documents, m.Target)
		}
	}
	write := func(e audit.Event) error {
		e.Time = clock.Now()
		var err error
		if a.sink != nil {
			_, err = audit.WriteOperator(ctx, a.sink, e)
		} else {
			_, err = audit.RecordOperator(ctx, a.auditDir, e)
		}
		return err
	}
	if err := write(ev); err != nil {
		return fmt.Errorf("not done: the action cannot be audited: %w", err)
	}
	if err := effect(); err != nil {
		ev.Outcome, ev.ErrorCode, ev.ErrorText = audit.OutcomeSeriousFailure, "LU_OPERATOR_ACTION_FAILED", err.Error()
		if werr := write(ev); werr != nil {
			return errors.Join(err, fmt.Errorf("recording the failure: %w", werr))
		}
		return err
	}
	return nil
}

// loginName is the operator's login name, when --operator is not given.
func loginName() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username + " (login)"
	}
	return "unknown (login)"
}

// s3OperatorLog is the S3 audit store (Object Lock) the operator records go
// to on AWS, as the gateway's own records.
func s3OperatorLog(ctx context.Context, cfg aws.Config) (audit.Sink, func(), error) {
	env, err := node.LoadAWSEnv(nil)
	if err != nil {
		return nil, nil, err
	}
	if env.AuditBucket == "" {
		return nil, nil, errors.New("not done: on AWS the action is audited in the S3 audit bucket: set LUXNCP_AUDIT_BUCKET (terraform output audit_bucket)")
	}
	spool, err := os.MkdirTemp("", "luxncp-operator-spool")
	if err != nil {
		return nil, nil, err
	}
	sink, err := s3sink.New(ctx, s3.NewFromConfig(cfg), s3sink.Options{Bucket: env.AuditBucket, Prefix: env.AuditPrefix,
		Retention: env.AuditRetention, SpoolDir: spool})
	if err != nil {
		os.RemoveAll(spool)
		return nil, nil, err
	}
	return sink, func() { os.RemoveAll(spool) }, nil
}
