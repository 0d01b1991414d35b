// Package s3store is the AWS twin of evidence.FileStore: each signed
// non-repudiation evidence (internal/evidence, ETSI TS 102 640-2 REM as
// eHDSI uses it) becomes one S3 object in the audit bucket, written under
// S3 Object Lock in compliance mode, as the audit records are
// (internal/audit/s3sink): same bucket, same retention, keys under their
// own prefix (default "evidence/"): <prefix>YYYY/MM/DD/<time>_<nro|nrr>_<id>.xml.
// Put returns once S3 has the object; a failure is returned, never hidden.
package s3store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/luxncp/luxncp/internal/audit/s3sink"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/evidence"
)

// DefaultPrefix is the key prefix when Options.Prefix is empty.
const DefaultPrefix = "evidence/"

// Options configures the store. Bucket is required.
type Options struct {
	Bucket string
	// Prefix of the keys (default DefaultPrefix).
	Prefix string
	// Retention: objects are locked until now + Retention (default
	// s3sink.DefaultRetention, the audit's).
	Retention time.Duration
	// Now defaults to the system clock.
	Now func() time.Time
}

// Store writes evidence to S3 under Object Lock.
type Store struct {
	api  s3sink.PutObjectAPI
	opts Options
}

var _ evidence.Store = (*Store)(nil)

// New returns a store writing through api.
func New(api s3sink.PutObjectAPI, opts Options) (*Store, error) {
	if opts.Bucket == "" || api == nil {
		return nil, errors.New("evidence s3: bucket and client are required")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultPrefix
	}
	if opts.Retention <= 0 {
		opts.Retention = s3sink.DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = clock.System()
	}
	return &Store{api: api, opts: opts}, nil
}

// Key is the object key of e.
func (s *Store) Key(e evidence.Entry) string { return s.opts.Prefix + e.Name() }

// Put uploads data under Object Lock (compliance mode), refusing to
// replace an existing object.
func (s *Store) Put(ctx context.Context, e evidence.Entry, data []byte) error {
	sum := md5.Sum(data) // Object Lock puts need an integrity check
	sha := sha256.Sum256(data)
	_, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:                    aws.String(s.opts.Bucket),
		Key:                       aws.String(s.Key(e)),
		Body:                      bytes.NewReader(data),
		ContentLength:             aws.Int64(int64(len(data))),
		ContentType:               aws.String("application/xml"),
		ContentMD5:                aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		IfNoneMatch:               aws.String("*"),
		Metadata:                  map[string]string{"sha256": hex.EncodeToString(sha[:]), "kind": e.Kind, "event": ascii(e.Event)},
		ObjectLockMode:            types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: aws.Time(s.opts.Now().Add(s.opts.Retention).UTC()),
	})
	if err != nil {
		return fmt.Errorf("evidence s3: put %s: %w", s.Key(e), err)
	}
	return nil
}

// ascii keeps printable ASCII (S3 user metadata travels in HTTP headers).
func ascii(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '_'
		}
	}
	return string(b)
}
