package s3sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/audit"
)

// The per-patient index on S3 is a key layout, written with each record
// under the same Object Lock:
//
//	<prefix>patients/<pseudonym>/<record time>_<record id>.json
//
// an empty object per record and patient key (audit.Event.PatientKeys);
// pseudonym is hex(SHA-256("luxncp-audit-patient|" + key))[:32], so object
// keys (which CloudTrail and S3 inventories show) carry no matricule. One
// patient's log is a LIST of that prefix and a GET of each record it names:
// no scan of the bucket. docs/audit.md argues the choice over DynamoDB.

// ReadAPI is what reading the access log needs (*s3.Client has it).
type ReadAPI interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ audit.PatientReader = (*Sink)(nil)

func pseudonym(key string) string {
	h := sha256.Sum256([]byte("luxncp-audit-patient|" + key))
	return hex.EncodeToString(h[:16])
}

func (s *Sink) patientPrefix(key string) string {
	return s.opts.Prefix + "patients/" + pseudonym(key) + "/"
}

// indexKeys are the index objects of the record stored under recordKey.
func (s *Sink) indexKeys(recordKey string, body []byte) ([]string, error) {
	var r audit.Record
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("audit s3: index: %w", err)
	}
	base := recordKey[strings.LastIndexByte(recordKey, '/')+1:]
	var out []string
	for _, k := range r.Event.PatientKeys() {
		out = append(out, s.patientPrefix(k)+base)
	}
	return out, nil
}

// recordKeyOf maps an index key back to its record's key: the record's
// base name starts with its UTC time, 20060102T…, which gives the date path.
func (s *Sink) recordKeyOf(indexKey string) (string, bool) {
	base := indexKey[strings.LastIndexByte(indexKey, '/')+1:]
	if len(base) < 9 || base[8] != 'T' {
		return "", false
	}
	return s.opts.Prefix + base[0:4] + "/" + base[4:6] + "/" + base[6:8] + "/" + base, true
}

// putIndexed uploads a record and then its index objects.
func (s *Sink) putIndexed(ctx context.Context, key string, body []byte) error {
	if err := s.put(ctx, key, body); err != nil {
		return err
	}
	idx, err := s.indexKeys(key, body)
	if err != nil {
		return err
	}
	for _, k := range idx {
		if err := s.put(ctx, k, nil); err != nil {
			return fmt.Errorf("index: %w", err)
		}
	}
	return nil
}

// PatientEntries implements audit.PatientReader: the records the index
// names under key (Seq is 0: S3 records are not chained).
func (s *Sink) PatientEntries(ctx context.Context, key string) ([]audit.Entry, error) {
	api, ok := s.api.(ReadAPI)
	if !ok {
		return nil, errors.New("audit s3: this client cannot read the bucket")
	}
	var keys []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.opts.Bucket), Prefix: aws.String(s.patientPrefix(key))}
	for {
		out, err := api.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("audit s3: list: %w", err)
		}
		for _, o := range out.Contents {
			if rk, ok := s.recordKeyOf(aws.ToString(o.Key)); ok {
				keys = append(keys, rk)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	// GET the records, 16 at a time.
	out := make([]audit.Entry, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i], errs[i] = s.get(ctx, api, k)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Sink) get(ctx context.Context, api ReadAPI, key string) (audit.Entry, error) {
	o, err := api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opts.Bucket), Key: aws.String(key)})
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit s3: get %s: %w", key, err)
	}
	defer o.Body.Close()
	b, err := io.ReadAll(io.LimitReader(o.Body, 16<<20))
	if err != nil {
		return audit.Entry{}, fmt.Errorf("audit s3: get %s: %w", key, err)
	}
	var r audit.Record
	if err := json.Unmarshal(b, &r); err != nil {
		return audit.Entry{}, fmt.Errorf("audit s3: %s: %w", key, err)
	}
	return audit.Entry{Record: r}, nil
}
