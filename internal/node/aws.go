package node

import (
	"cmp"
	"context"
	"crypto"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/audit"
	"github.com/luxncp/luxncp/internal/audit/s3sink"
	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/countryb"
	"github.com/luxncp/luxncp/internal/evidence/s3store"
	"github.com/luxncp/luxncp/internal/gateway"
	"github.com/luxncp/luxncp/internal/kmssigner"
	"github.com/luxncp/luxncp/internal/national"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/telemetry"
	"github.com/luxncp/luxncp/internal/wssec"
)

// AWSEnv is the AWS part of the configuration: the variables the Terraform
// deployment sets on every function (terraform/main.tf). An empty field
// keeps the local twin of that edge.
type AWSEnv struct {
	Function string // LUXNCP_FUNCTION: xcpd, xca, xdr, api, dispatcher, maintenance
	// AuditBucket selects the S3 Object Lock audit sink (LUXNCP_AUDIT_BUCKET,
	// prefix LUXNCP_AUDIT_PREFIX).
	AuditBucket, AuditPrefix string
	// AuditRetention: LUXNCP_AUDIT_RETENTION, a number of days (as Terraform
	// sets it) or a Go duration ("87600h"). Default s3sink.DefaultRetention.
	AuditRetention time.Duration
	// EvidencePrefix: key prefix of the non-repudiation evidence in the
	// audit bucket (LUXNCP_EVIDENCE_PREFIX, default "evidence/").
	EvidencePrefix string
	// ConfigBucket holds the trust bundle (TrustBundleKey), the eHDSI
	// directory (DirectoryKey) and own certificates (LUXNCP_CONFIG_BUCKET,
	// LUXNCP_TRUST_BUNDLE_KEY, LUXNCP_DIRECTORY_KEY).
	ConfigBucket, TrustBundleKey, DirectoryKey string
	// ConfigTTL: how long configuration objects are cached
	// (LUXNCP_CONFIG_TTL, default 5m).
	ConfigTTL time.Duration
	// LocalTrustBundle: LUXNCP_TRUST_BUNDLE names a file, which wins over
	// the bucket's trust bundle.
	LocalTrustBundle bool
	// OutboxTable and OutboxQueueURL select the DynamoDB + SQS outbox
	// (LUXNCP_OUTBOX_TABLE, LUXNCP_OUTBOX_QUEUE_URL).
	OutboxTable, OutboxQueueURL string
	// IdempotencyTable selects the DynamoDB replay guard
	// (LUXNCP_IDEMPOTENCY_TABLE).
	IdempotencyTable string
	// SealKMSKey selects the KMS seal signer (LUXNCP_SEAL_KMS_KEY).
	SealKMSKey string
	// TLSClientKMSKey selects the KMS key of the outbound TLS client
	// certificate (LUXNCP_TLS_CLIENT_KMS_KEY): Country B's mutual TLS to
	// partner NCPs signs its handshakes in KMS. Its certificate chain is
	// the configuration bucket's TLSClientCertKey
	// (LUXNCP_TLS_CLIENT_CERT_KEY, default awsconfig.KeyTLSClient).
	TLSClientKMSKey, TLSClientCertKey string
	// CertWarnDays: certificate-expiry warning threshold
	// (LUXNCP_CERT_WARN_DAYS, default 30).
	CertWarnDays int
	// OnLambda: AWS_LAMBDA_FUNCTION_NAME is set.
	OnLambda bool
}

// Any reports whether any AWS twin is selected.
func (e AWSEnv) Any() bool {
	return e.AuditBucket != "" || e.ConfigBucket != "" || e.OutboxTable != "" || e.IdempotencyTable != "" || e.SealKMSKey != "" || e.TLSClientKMSKey != ""
}

// LoadAWSEnv reads the AWS variables (getenv nil: os.Getenv).
func LoadAWSEnv(getenv func(string) string) (AWSEnv, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	e := AWSEnv{
		Function:    getenv("LUXNCP_FUNCTION"),
		AuditBucket: getenv("LUXNCP_AUDIT_BUCKET"), AuditPrefix: getenv("LUXNCP_AUDIT_PREFIX"), EvidencePrefix: getenv("LUXNCP_EVIDENCE_PREFIX"),
		ConfigBucket: getenv("LUXNCP_CONFIG_BUCKET"), TrustBundleKey: getenv("LUXNCP_TRUST_BUNDLE_KEY"), DirectoryKey: getenv("LUXNCP_DIRECTORY_KEY"),
		OutboxTable: getenv("LUXNCP_OUTBOX_TABLE"), OutboxQueueURL: getenv("LUXNCP_OUTBOX_QUEUE_URL"),
		IdempotencyTable: getenv("LUXNCP_IDEMPOTENCY_TABLE"), SealKMSKey: getenv("LUXNCP_SEAL_KMS_KEY"),
		TLSClientKMSKey: getenv("LUXNCP_TLS_CLIENT_KMS_KEY"), TLSClientCertKey: getenv("LUXNCP_TLS_CLIENT_CERT_KEY"), CertWarnDays: 30,
		OnLambda:         getenv("AWS_LAMBDA_FUNCTION_NAME") != "",
		LocalTrustBundle: getenv("LUXNCP_TRUST_BUNDLE") != "",
	}
	if e.TrustBundleKey == "" {
		e.TrustBundleKey = awsconfig.KeyTrustBundle
	}
	if e.DirectoryKey == "" {
		e.DirectoryKey = awsconfig.KeyDirectory
	}
	if e.TLSClientCertKey == "" {
		e.TLSClientCertKey = awsconfig.KeyTLSClient
	}
	var err error
	if e.AuditRetention, err = daysOrDuration(getenv("LUXNCP_AUDIT_RETENTION")); err != nil {
		return e, fmt.Errorf("LUXNCP_AUDIT_RETENTION: %w", err)
	}
	if e.ConfigTTL, err = envDuration(getenv, "LUXNCP_CONFIG_TTL"); err != nil {
		return e, err
	}
	if v := getenv("LUXNCP_CERT_WARN_DAYS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return e, fmt.Errorf("LUXNCP_CERT_WARN_DAYS: %q is not a positive number of days", v)
		}
		e.CertWarnDays = n
	}
	if (e.OutboxTable == "") != (e.OutboxQueueURL == "") {
		return e, errors.New("LUXNCP_OUTBOX_TABLE and LUXNCP_OUTBOX_QUEUE_URL go together")
	}
	return e, nil
}

// daysOrDuration parses "2555" (days) or a Go duration; "" is 0.
func daysOrDuration(v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is neither a number of days nor a positive duration", v)
	}
	return d, nil
}

// ConfigFromEnv reads the node configuration as FromEnv does, and also
// accepts the Terraform deployment's names: LUXNCP_NATIONAL_FHIR_URL when
// LUXNCP_NATIONAL_URL is unset, and on AWS Lambda (whose only writable
// directory is /tmp) a state directory under /tmp when LUXNCP_STATE_DIR
// is unset.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	alias := func(name string) string {
		if v := getenv(name); v != "" {
			return v
		}
		switch name {
		case "LUXNCP_NATIONAL_URL":
			return getenv("LUXNCP_NATIONAL_FHIR_URL")
		case "LUXNCP_STATE_DIR":
			if getenv("AWS_LAMBDA_FUNCTION_NAME") != "" {
				return filepath.Join(os.TempDir(), "luxncp-state")
			}
		}
		return ""
	}
	return FromEnv(alias)
}

// AWSClients are the service clients the twins use.
type AWSClients struct {
	S3       *s3.Client
	DynamoDB *dynamodb.Client
	SQS      *sqs.Client
	KMS      *kms.Client
}

// NewAWSClients builds the clients from one SDK configuration.
func NewAWSClients(cfg aws.Config) AWSClients {
	return AWSClients{S3: s3.NewFromConfig(cfg), DynamoDB: dynamodb.NewFromConfig(cfg), SQS: sqs.NewFromConfig(cfg), KMS: kms.NewFromConfig(cfg)}
}

// AWSTwins are the AWS implementations of the node's edges that the
// environment selected; nil fields keep the local twins. Options carries
// everything node.New uses (audit sink and reader, evidence, outbox, trust
// source, replay guard, Country B's shared submissions, the KMS seal).
type AWSTwins struct {
	Options
	// Config reads the configuration bucket; Directory is the eHDSI
	// directory in it.
	Config    *awsconfig.Store
	Directory routing.Directory
	// Seal is the KMS seal signer.
	Seal crypto.Signer
}

// BuildAWS builds the twins env selects. With a configuration bucket it
// downloads the trust bundle to cfg.TrustBundle (the node reads it at
// start), unless LUXNCP_TRUST_BUNDLE names a file of its own
// (env.LocalTrustBundle).
func BuildAWS(ctx context.Context, env AWSEnv, cl AWSClients, cfg Config, log *slog.Logger) (AWSTwins, error) {
	var tw AWSTwins
	cfg = cfg.Defaults()
	if log == nil {
		log = slog.Default()
	}
	if env.Function == "xdr" && env.OnLambda && env.OutboxTable == "" {
		// The local outbox in Lambda's /tmp would lose accepted
		// eDispensations with the instance.
		return tw, errors.New("node: the xdr function needs LUXNCP_OUTBOX_TABLE and LUXNCP_OUTBOX_QUEUE_URL on AWS Lambda")
	}
	if env.OnLambda && env.AuditBucket == "" && env.Function != "maintenance" {
		// The local audit directory in Lambda's /tmp dies with the
		// instance: every access would escape the patient's access log.
		return tw, fmt.Errorf("node: the %s function needs LUXNCP_AUDIT_BUCKET on AWS Lambda (the audit trail cannot live in the instance's /tmp)", cmp.Or(env.Function, "gateway"))
	}
	if env.AuditBucket != "" {
		retention := env.AuditRetention
		if retention == 0 {
			retention = s3sink.DefaultRetention
		}
		sink, err := s3sink.New(ctx, cl.S3, s3sink.Options{
			Bucket: env.AuditBucket, Prefix: env.AuditPrefix, Retention: retention,
			SpoolDir: filepath.Join(cfg.StateDir, "audit-spool"), Logger: log,
		})
		if err != nil {
			return tw, fmt.Errorf("node: audit sink: %w", err)
		}
		tw.AuditSink = &meteredSink{Sink: sink, out: os.Stdout}
		// The access log reads what the sink writes, never the local directory.
		tw.AuditReader = sink
		// Evidence beside the audit records, under the same Object Lock.
		ev, err := s3store.New(cl.S3, s3store.Options{Bucket: env.AuditBucket, Prefix: env.EvidencePrefix, Retention: retention})
		if err != nil {
			return tw, fmt.Errorf("node: evidence store: %w", err)
		}
		tw.Evidence = ev
	}
	if env.ConfigBucket != "" {
		st, err := awsconfig.New(cl.S3, awsconfig.Options{Bucket: env.ConfigBucket, TTL: env.ConfigTTL})
		if err != nil {
			return tw, fmt.Errorf("node: %w", err)
		}
		tw.Config = st
		tw.Directory = &awsconfig.Directory{Store: st, Key: env.DirectoryKey}
		if !env.LocalTrustBundle {
			// The node reads the trust list from the bucket and re-reads it
			// when the object changes (the Store's TTL); the copy on disk is
			// for the CLI.
			if err := st.WriteFile(ctx, env.TrustBundleKey, cfg.TrustBundle); err != nil {
				return tw, fmt.Errorf("node: trust bundle: %w", err)
			}
			tw.Options.TrustSource = awsconfig.TrustSource{Store: st, Key: env.TrustBundleKey}
		}
	}
	if env.OutboxTable != "" {
		ob, err := outbox.NewDynamo(cl.DynamoDB, cl.SQS, outbox.DynamoOptions{
			Table: env.OutboxTable, QueueURL: env.OutboxQueueURL, Log: log.With("component", "outbox"),
		})
		if err != nil {
			return tw, fmt.Errorf("node: %w", err)
		}
		tw.Outbox = ob
	}
	if env.IdempotencyTable != "" {
		tw.Options.Replay = &gateway.DynamoReplayGuard{DB: cl.DynamoDB, Table: env.IdempotencyTable}
		// Country B's sent eDispensations, shared by every api instance.
		tw.Options.CountryB.Submissions = &countryb.DynamoSubmissions{DB: cl.DynamoDB, Table: env.IdempotencyTable}
	}
	// Evidence covers XCA retrieves and XDR: the other functions neither
	// need the seal for it nor should log its absence as an error.
	tw.Options.NoEvidence = env.Function != "" && env.Function != "xca" && env.Function != "xdr"
	if env.SealKMSKey != "" {
		cred, err := kmsCredential(ctx, tw.Config, cl.KMS, "seal", "LUXNCP_SEAL_KMS_KEY", env.SealKMSKey, awsconfig.KeySeal)
		if err != nil {
			return tw, err
		}
		tw.Seal = cred.Signer
		seal := &wssec.Signer{Key: cred.Signer, Cert: cred.Cert}
		tw.Options.CountryB.Seal = seal
		tw.Options.EvidenceSeal = seal
	}
	if env.TLSClientKMSKey != "" {
		cred, err := kmsCredential(ctx, tw.Config, cl.KMS, "TLS client", "LUXNCP_TLS_CLIENT_KMS_KEY", env.TLSClientKMSKey, env.TLSClientCertKey)
		if err != nil {
			return tw, err
		}
		tw.Options.CountryB.TLS = cred
	}
	return tw, nil
}

// kmsCredential pairs the KMS key keyID with the certificate chain at
// certKey in the configuration bucket (leaf first): the key must sign and
// the leaf must carry its public key, else the start fails rather than
// running without the credential or presenting a certificate the key
// cannot prove. what and variable name the credential in errors.
func kmsCredential(ctx context.Context, st *awsconfig.Store, api kmssigner.API, what, variable, keyID, certKey string) (*pki.Credential, error) {
	if st == nil {
		// The certificate lives in the configuration bucket: a key without
		// it would silently turn the credential off.
		return nil, fmt.Errorf("node: %s needs LUXNCP_CONFIG_BUCKET (the %s certificate %s)", variable, what, certKey)
	}
	s, err := kmssigner.New(ctx, api, keyID, kmssigner.Options{})
	if err != nil {
		return nil, fmt.Errorf("node: %s key: %w", what, err)
	}
	certs, err := st.Certificates(ctx, certKey)
	if err != nil {
		return nil, fmt.Errorf("node: %s certificate: %w", what, err)
	}
	if pub, ok := certs[0].PublicKey.(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(s.Public()) {
		return nil, fmt.Errorf("node: the %s certificate %s (%s) is not the certificate of KMS key %s", what, certKey, certs[0].Subject, keyID)
	}
	return &pki.Credential{Cert: certs[0], Chain: certs[1:], Signer: s}, nil
}

func awsFromEnv(ctx context.Context, cfg Config, log *slog.Logger) (AWSTwins, error) {
	env, err := LoadAWSEnv(nil)
	if err != nil {
		return AWSTwins{}, err
	}
	if !env.Any() {
		if env.Function == "xdr" && env.OnLambda {
			return BuildAWS(ctx, env, AWSClients{}, cfg, log) // refuses
		}
		return AWSTwins{}, nil
	}
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return AWSTwins{}, fmt.Errorf("aws config: %w", err)
	}
	return BuildAWS(ctx, env, NewAWSClients(awsCfg), cfg, log)
}

// FromEnvironment builds the node a Lambda function (or any host) runs:
// configuration from LUXNCP_* variables (with the Terraform names), AWS
// twins where configured.
func FromEnvironment(ctx context.Context) (*Node, error) {
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		return nil, err
	}
	log := NewLogger(cfg.LogLevel, os.Stderr)
	tw, err := awsFromEnv(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	env, err := LoadAWSEnv(nil)
	if err != nil {
		return nil, err
	}
	opt := tw.Options
	opt.CountryB.Directory = tw.Directory
	opt.Telemetry = lambdaTelemetry(env, os.Stdout)
	return New(cfg, log, opt)
}

// DispatcherFromEnvironment builds the outbox dispatcher alone, as the
// SQS-triggered dispatcher function runs it: the DynamoDB + SQS outbox
// (LUXNCP_OUTBOX_TABLE and LUXNCP_OUTBOX_QUEUE_URL are required) and the
// national FHIR client. Transient failures are retried until the horizon
// (LUXNCP_OUTBOX_HORIZON_DAYS); a queue message SQS gave up on is sent
// again by the maintenance sweep (outbox.DynamoOptions.Overdue), so the
// SQS dead-letter queue never ends a delivery.
func DispatcherFromEnvironment(ctx context.Context) (*outbox.Dispatcher, *outbox.DynamoStore, error) {
	cfg, err := ConfigFromEnv(nil)
	if err != nil {
		return nil, nil, err
	}
	env, err := LoadAWSEnv(nil)
	if err != nil {
		return nil, nil, err
	}
	if env.OutboxTable == "" {
		return nil, nil, errors.New("node: the dispatcher needs LUXNCP_OUTBOX_TABLE and LUXNCP_OUTBOX_QUEUE_URL")
	}
	log := NewLogger(cfg.LogLevel, os.Stderr)
	awsCfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("aws config: %w", err)
	}
	cl := NewAWSClients(awsCfg)
	store, err := outbox.NewDynamo(cl.DynamoDB, cl.SQS, outbox.DynamoOptions{Table: env.OutboxTable, QueueURL: env.OutboxQueueURL, Log: log.With("component", "outbox")})
	if err != nil {
		return nil, nil, err
	}
	nat, err := national.NewClient(cfg.NationalURL, national.WithTimeout(cfg.NationalTimeout), national.WithClientLogger(log))
	if err != nil {
		return nil, nil, fmt.Errorf("node: national source: %w", err)
	}
	d := &outbox.Dispatcher{Queue: store, National: nat, Horizon: cfg.OutboxHorizon, MaxBackoff: cfg.OutboxMaxBackoff,
		Log: log.With("component", "outbox")}
	observeDispatcher(d, lambdaTelemetry(env, os.Stdout))
	return d, store, nil
}

// meteredSink counts failed audit writes as the CloudWatch metric
// AuditWriteFailures (the audit-write-failures alarm).
type meteredSink struct {
	audit.Sink
	out io.Writer
}

func (m *meteredSink) Write(ctx context.Context, r audit.Record) error {
	err := m.Sink.Write(ctx, r)
	if err != nil {
		_ = WriteMetric(m.out, clock.Now(), "AuditWriteFailures", 1, "Count", nil)
	}
	return err
}

// MetricNamespace is the CloudWatch namespace of luxncp's metrics.
const MetricNamespace = telemetry.MetricNamespace

// WriteMetric writes one CloudWatch Embedded Metric Format record (a JSON
// line that CloudWatch Logs turns into a metric) in MetricNamespace, with
// no dimensions; props are logged beside it but are not dimensions. The
// writer is telemetry.WriteEMF, which the request metrics use too.
func WriteMetric(w io.Writer, now time.Time, name string, value float64, unit string, props map[string]string) error {
	fields := make(map[string]any, len(props))
	for k, v := range props {
		fields[k] = v
	}
	return telemetry.WriteEMF(w, now, fields, telemetry.EMFMetric{Name: name, Unit: unit, Value: value})
}

// lambdaTelemetry is the telemetry of a function on AWS Lambda: the
// Prometheus instruments, exported as CloudWatch EMF records on w (stdout)
// with env.Function as the Function dimension. Off Lambda: nil (`luxncp
// serve` builds its own, with the admin listener).
func lambdaTelemetry(env AWSEnv, w io.Writer) *telemetry.Telemetry {
	if !env.OnLambda {
		return nil
	}
	return telemetry.New(telemetry.Options{EMF: w, Function: cmp.Or(env.Function, "unknown")})
}
