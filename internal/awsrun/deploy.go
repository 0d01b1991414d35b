package awsrun

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/kmssigner"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
)

// Resource names on the emulators (terraform/ prefixes them with
// var.name_prefix, default "luxncp").
const (
	AuditBucket      = "luxncp-audit"
	ConfigBucket     = "luxncp-config"
	OutboxTable      = "luxncp-outbox"
	IdempotencyTable = "luxncp-idempotency"
	QueueName        = "luxncp-outbox"
)

// Uploads are what the operator puts into the configuration bucket
// before the first deployment (docs/deploy.md); the seal and TLS client
// certificates are made here, for the KMS keys Deploy creates.
type Uploads struct {
	TrustList []byte // awsconfig.KeyTrustBundle
	Directory []byte // awsconfig.KeyDirectory; nil: none
}

// Deploy creates on cl what terraform/ creates (the audit and
// configuration buckets, the outbox and idempotency tables, the outbox
// queue, the seal and TLS client KMS keys) and uploads up, and returns
// the resource names module "function"'s environment references.
func Deploy(ctx context.Context, cl node.AWSClients, up Uploads) (map[string]string, error) {
	for _, b := range []string{AuditBucket, ConfigBucket} {
		if _, err := cl.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			return nil, fmt.Errorf("awsrun: bucket %s: %w", b, err)
		}
	}
	// The outbox table with its sparse by-state index, as
	// terraform/modules/outbox creates it (a test in internal/outbox
	// compares the two).
	for table, in := range map[string]*dynamodb.CreateTableInput{OutboxTable: outbox.TableInput(OutboxTable), IdempotencyTable: awsemu.TableInput(IdempotencyTable, "key")} {
		if _, err := cl.DynamoDB.CreateTable(ctx, in); err != nil {
			return nil, fmt.Errorf("awsrun: table %s: %w", table, err)
		}
	}
	q, err := cl.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(QueueName)})
	if err != nil {
		return nil, fmt.Errorf("awsrun: queue: %w", err)
	}
	seal, err := cl.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		return nil, fmt.Errorf("awsrun: seal key: %w", err)
	}
	tlsKey, err := cl.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		return nil, fmt.Errorf("awsrun: TLS client key: %w", err)
	}
	sealARN, tlsARN := aws.ToString(seal.KeyMetadata.Arn), aws.ToString(tlsKey.KeyMetadata.Arn)
	objects := map[string][]byte{awsconfig.KeyTrustBundle: up.TrustList}
	if up.Directory != nil {
		objects[awsconfig.KeyDirectory] = up.Directory
	}
	for key, cn := range map[string]string{awsconfig.KeySeal: "seal.ncp.example.lu", awsconfig.KeyTLSClient: "ncp.example.lu"} {
		arn := sealARN
		if key == awsconfig.KeyTLSClient {
			arn = tlsARN
		}
		if objects[key], err = KMSCertificate(ctx, cl.KMS, arn, cn); err != nil {
			return nil, err
		}
	}
	for key, b := range objects {
		if _, err := cl.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(ConfigBucket), Key: aws.String(key), Body: bytes.NewReader(b)}); err != nil {
			return nil, fmt.Errorf("awsrun: upload %s: %w", key, err)
		}
	}
	return map[string]string{
		"audit_bucket": AuditBucket, "config_bucket": ConfigBucket,
		"seal_key_arn": sealARN, "tls_client_key_arn": tlsARN,
		"outbox_table_name": OutboxTable, "queue_url": aws.ToString(q.QueueUrl), "idempotency_table_name": IdempotencyTable,
	}, nil
}

// KMSCertificate is a year's self-signed certificate (PEM) for the KMS key
// keyARN, signed in KMS: the stand-in for the certificate the operator
// has issued for it.
func KMSCertificate(ctx context.Context, api kmssigner.API, keyARN, cn string) ([]byte, error) {
	s, err := kmssigner.New(ctx, api, keyARN, kmssigner.Options{})
	if err != nil {
		return nil, fmt.Errorf("awsrun: %w", err)
	}
	now := clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn, Country: []string{"LU"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		return nil, fmt.Errorf("awsrun: certificate of %s: %w", keyARN, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}
