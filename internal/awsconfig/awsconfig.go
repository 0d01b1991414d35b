package awsconfig

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
)

// Default object keys in the configuration bucket.
const (
	KeyTrustBundle = "truststores/mtls-truststore.pem"
	KeyDirectory   = "directory/directory.json"
	KeySeal        = "certificates/seal.pem"
	// KeyTLSClient: the outbound TLS client certificate chain (leaf first)
	// of the KMS key LUXNCP_TLS_CLIENT_KMS_KEY.
	KeyTLSClient = "certificates/tls-client.pem"
)

// GetObjectAPI is the part of the S3 client the Store uses.
type GetObjectAPI interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// ErrNotFound: the bucket has no such object.
var ErrNotFound = errors.New("awsconfig: no such object")

// Options configure a Store. Zero values are working defaults.
type Options struct {
	Bucket string
	// TTL is how long an object is served from the cache (default 5 min).
	TTL time.Duration
	// StaleFor is how long past its TTL the last good copy is still served
	// when a refresh fails (default 1 h).
	StaleFor time.Duration
	// MaxBytes bounds an object (default 4 MiB).
	MaxBytes int64
	// Timeout bounds each GetObject (default 5 s).
	Timeout time.Duration
	// Now is the clock (nil: the system clock).
	Now func() time.Time
}

// Store reads configuration objects from one bucket through a TTL cache.
// It is safe for concurrent use.
type Store struct {
	api GetObjectAPI
	opt Options

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	data    []byte
	sum     [32]byte
	fetched time.Time
	parsed  any // the last parse of data (by Directory)
}

// New returns a Store on opt.Bucket.
func New(api GetObjectAPI, opt Options) (*Store, error) {
	if api == nil || opt.Bucket == "" {
		return nil, errors.New("awsconfig: an S3 client and a bucket are required")
	}
	if opt.TTL <= 0 {
		opt.TTL = 5 * time.Minute
	}
	if opt.StaleFor <= 0 {
		opt.StaleFor = time.Hour
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = 4 << 20
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 5 * time.Second
	}
	return &Store{api: api, opt: opt, cache: map[string]cached{}}, nil
}

func (s *Store) now() time.Time {
	return clock.Or(s.opt.Now)()
}

// Get returns an object's bytes, from the cache while they are fresh.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	c, err := s.entry(ctx, key)
	return c.data, err
}

func (s *Store) entry(ctx context.Context, key string) (cached, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[key]
	s.mu.Unlock()
	if ok && now.Sub(c.fetched) < s.opt.TTL {
		return c, nil
	}
	data, err := s.fetch(ctx, key)
	if err != nil {
		if ok && !errors.Is(err, ErrNotFound) && now.Sub(c.fetched) < s.opt.TTL+s.opt.StaleFor {
			return c, nil // serve the last good copy through a brief outage
		}
		return cached{}, err
	}
	sum := sha256.Sum256(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, had := s.cache[key]; had && old.sum == sum {
		old.fetched = now // unchanged: keep the parse
		s.cache[key] = old
		return old, nil
	}
	c = cached{data: data, sum: sum, fetched: now}
	s.cache[key] = c
	return c, nil
}

func (s *Store) fetch(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	out, err := s.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, fmt.Errorf("%w: s3://%s/%s", ErrNotFound, s.opt.Bucket, key)
		}
		return nil, fmt.Errorf("awsconfig: get s3://%s/%s: %w", s.opt.Bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(io.LimitReader(out.Body, s.opt.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("awsconfig: read s3://%s/%s: %w", s.opt.Bucket, key, err)
	}
	if int64(len(data)) > s.opt.MaxBytes {
		return nil, fmt.Errorf("awsconfig: s3://%s/%s is larger than %d bytes", s.opt.Bucket, key, s.opt.MaxBytes)
	}
	return data, nil
}

// Certificates returns the certificates of a PEM object.
func (s *Store) Certificates(ctx context.Context, key string) ([]*x509.Certificate, error) {
	data, err := s.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	certs, err := pki.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("awsconfig: %s: %w", key, err)
	}
	return certs, nil
}

// TrustStore returns the trust store of a trust-list object (docs/trust.md),
// reloaded when the object changes (checked every refresh; the Store's TTL
// bounds how often S3 is asked).
func (s *Store) TrustStore(ctx context.Context, key string, refresh time.Duration) (*pki.TrustStore, error) {
	return pki.OpenTrustStore(ctx, TrustSource{Store: s, Key: key}, refresh, s.now())
}

// TrustSource is a trust list in the bucket: its version is the SHA-256 of
// the object, re-read through the Store's TTL cache.
type TrustSource struct {
	Store *Store
	Key   string
}

// Load implements pki.TrustSource.
func (t TrustSource) Load(ctx context.Context, since string) ([]pki.Entry, string, error) {
	c, err := t.Store.entry(ctx, t.Key)
	if err != nil {
		return nil, "", err
	}
	version := fmt.Sprintf("%x", c.sum)
	if version == since {
		return nil, since, nil
	}
	entries, err := pki.ParseTrustList(c.data, "", "")
	if err == nil && len(entries) == 0 {
		err = errors.New("no trust-list entries")
	}
	if err != nil {
		return nil, "", fmt.Errorf("awsconfig: %s: %w", t.Key, err)
	}
	return entries, version, nil
}

// WriteFile copies an object to path (for code that reads its
// configuration from files, such as the node's trust bundle at start).
func (s *Store) WriteFile(ctx context.Context, key, path string) error {
	data, err := s.Get(ctx, key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("awsconfig: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("awsconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("awsconfig: %w", err)
	}
	return nil
}

// Directory is the routing.Directory read from a directory document in the
// bucket: re-read when the cache expires, re-parsed only when it changed.
type Directory struct {
	Store *Store
	Key   string // default KeyDirectory
}

var _ routing.Directory = (*Directory)(nil)

func (d *Directory) static(ctx context.Context) (*routing.Static, error) {
	key := d.Key
	if key == "" {
		key = KeyDirectory
	}
	c, err := d.Store.entry(ctx, key)
	if err != nil {
		return nil, err
	}
	if st, ok := c.parsed.(*routing.Static); ok {
		return st, nil
	}
	st, err := routing.Parse(c.data)
	if err != nil {
		return nil, fmt.Errorf("awsconfig: %s: %w", key, err)
	}
	d.Store.mu.Lock()
	if cur, ok := d.Store.cache[key]; ok && bytes.Equal(cur.data, c.data) {
		cur.parsed = st
		d.Store.cache[key] = cur
	}
	d.Store.mu.Unlock()
	return st, nil
}

// Lookup implements routing.Directory.
func (d *Directory) Lookup(ctx context.Context, cc string) (routing.Country, error) {
	st, err := d.static(ctx)
	if err != nil {
		return routing.Country{}, err
	}
	return st.Lookup(ctx, cc)
}

// Countries implements routing.Directory.
func (d *Directory) Countries(ctx context.Context) ([]routing.Country, error) {
	st, err := d.static(ctx)
	if err != nil {
		return nil, err
	}
	return st.Countries(ctx)
}
