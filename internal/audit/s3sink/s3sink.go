package s3sink

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/luxncp/luxncp/internal/audit"
)

// PutObjectAPI is the one S3 call the sink makes (*s3.Client has it).
type PutObjectAPI interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// DefaultRetention is how long objects stay locked when Options.Retention
// is zero.
const DefaultRetention = 10 * 365 * 24 * time.Hour

// Options configures the sink. Bucket and SpoolDir are required.
type Options struct {
	Bucket string
	// Prefix of the object keys (default "audit/"); keys are
	// <prefix>YYYY/MM/DD/<record time>_<record id>.json.
	Prefix string
	// Retention: objects are locked until now + Retention (default DefaultRetention).
	Retention time.Duration
	// SpoolDir holds records not yet in S3; it must survive restarts.
	SpoolDir string
	// AcceptSpooled: when the upload fails but the record is safely in the
	// spool, Write returns nil (the record reaches S3 later). Only for hosts
	// whose SpoolDir is durable (not AWS Lambda's /tmp). Default: Write
	// fails, and the record is still uploaded later.
	AcceptSpooled bool
	// Now defaults to the system clock.
	Now func() time.Time
	// Logger defaults to slog.Default(). The sink logs keys and counts only.
	Logger *slog.Logger
}

// Sink writes audit records to S3 under Object Lock.
type Sink struct {
	api     PutObjectAPI
	opts    Options
	pending atomic.Bool // the spool may hold records
	drainMu sync.Mutex
}

var _ audit.Sink = (*Sink)(nil)

// New prepares the spool and uploads what a previous run left in it. A
// failed upload there is logged, not fatal: the records stay spooled.
func New(ctx context.Context, api PutObjectAPI, opts Options) (*Sink, error) {
	if opts.Bucket == "" || opts.SpoolDir == "" {
		return nil, errors.New("audit s3: bucket and spool dir are required")
	}
	if opts.Prefix == "" {
		opts.Prefix = "audit/"
	}
	if opts.Retention <= 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Now == nil {
		opts.Now = clock.System()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(opts.SpoolDir, 0o700); err != nil {
		return nil, fmt.Errorf("audit s3: spool: %w", err)
	}
	s := &Sink{api: api, opts: opts}
	s.pending.Store(true)
	if _, err := s.spooled(true); err != nil {
		return nil, err
	}
	if n, err := s.Drain(ctx); err != nil {
		opts.Logger.Warn("audit s3: spooled records not uploaded yet", "uploaded", n, "err", err)
	}
	return s, nil
}

// Key is the object key of r.
func (s *Sink) Key(r audit.Record) string {
	t := r.Event.Time.UTC()
	id := strings.TrimPrefix(r.ID, "urn:uuid:")
	id = strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' {
			return c
		}
		return '_'
	}, id)
	return s.opts.Prefix + t.Format("2006/01/02/20060102T150405.000Z") + "_" + id + ".json"
}

// Write spools r durably, uploads it under Object Lock and then removes it
// from the spool.
func (s *Sink) Write(ctx context.Context, r audit.Record) error {
	body, err := audit.MarshalRecord(r)
	if err != nil {
		return fmt.Errorf("audit s3: %w", err)
	}
	key := s.Key(r)
	file, err := s.spool(key, body)
	if err != nil {
		return err
	}
	if err := s.putIndexed(ctx, key, body); err != nil {
		s.pending.Store(true)
		s.opts.Logger.Warn("audit s3: upload failed, record kept in the spool", "key", key, "err", err)
		if s.opts.AcceptSpooled {
			return nil
		}
		return fmt.Errorf("audit s3: put %s: %w (kept in the spool)", key, err)
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.opts.Logger.Warn("audit s3: spool cleanup", "err", err)
	}
	if s.pending.Load() {
		if n, err := s.Drain(ctx); err != nil {
			s.opts.Logger.Warn("audit s3: spool drain stopped", "uploaded", n, "err", err)
		}
	}
	return nil
}

// Drain uploads every spooled record, oldest first, and stops at the first
// failure. It returns how many it uploaded.
func (s *Sink) Drain(ctx context.Context) (int, error) {
	if !s.drainMu.TryLock() {
		return 0, nil // another writer is draining
	}
	defer s.drainMu.Unlock()
	s.pending.Store(false) // a failure from here on sets it again
	names, err := s.spooled(false)
	if err != nil {
		s.pending.Store(true)
		return 0, err
	}
	n := 0
	for _, name := range names {
		path := filepath.Join(s.opts.SpoolDir, name)
		body, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue // uploaded meanwhile by its own Write
		}
		if err != nil {
			s.pending.Store(true)
			return n, fmt.Errorf("audit s3: spool: %w", err)
		}
		key := keyOf(name)
		if err := s.putIndexed(ctx, key, body); err != nil {
			s.pending.Store(true)
			return n, fmt.Errorf("audit s3: put %s: %w", key, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.pending.Store(true)
			return n, fmt.Errorf("audit s3: spool: %w", err)
		}
		n++
	}
	return n, nil
}

// Pending counts the records waiting in the spool.
func (s *Sink) Pending() (int, error) {
	names, err := s.spooled(false)
	return len(names), err
}

func (s *Sink) put(ctx context.Context, key string, body []byte) error {
	sum := md5.Sum(body) // Object Lock puts need an integrity check
	_, err := s.api.PutObject(ctx, &s3.PutObjectInput{
		Bucket:                    aws.String(s.opts.Bucket),
		Key:                       aws.String(key),
		Body:                      bytes.NewReader(body),
		ContentLength:             aws.Int64(int64(len(body))),
		ContentType:               aws.String("application/json"),
		ContentMD5:                aws.String(base64.StdEncoding.EncodeToString(sum[:])),
		ObjectLockMode:            types.ObjectLockModeCompliance,
		ObjectLockRetainUntilDate: aws.Time(s.opts.Now().Add(s.opts.Retention).UTC()),
	})
	return err
}

// Spool file names are the object keys with '/' as '!' (keys never hold '!').
func spoolName(key string) string { return strings.ReplaceAll(key, "/", "!") }
func keyOf(name string) string    { return strings.ReplaceAll(name, "!", "/") }

func (s *Sink) spool(key string, body []byte) (string, error) {
	final := filepath.Join(s.opts.SpoolDir, spoolName(key))
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("audit s3: spool: %w", err)
	}
	_, err = f.Write(body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(s.opts.SpoolDir)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("audit s3: spool: %w", err)
	}
	return final, nil
}

// spooled lists complete spool files, oldest key first. With cleanTmp (at
// start only, when no Write runs) it removes the leftovers of a crash during
// spooling (.tmp): those records were never acknowledged.
func (s *Sink) spooled(cleanTmp bool) ([]string, error) {
	ents, err := os.ReadDir(s.opts.SpoolDir)
	if err != nil {
		return nil, fmt.Errorf("audit s3: spool: %w", err)
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			if cleanTmp {
				os.Remove(filepath.Join(s.opts.SpoolDir, name))
			}
			continue
		}
		if strings.HasSuffix(name, ".json") {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
