package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/luxncp/luxncp/internal/clock"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/telemetry"
)

// Default keys in the configuration bucket.
const (
	defaultSource  = "directory/incoming.json" // where operators (or a sync job) drop the new directory
	maxSourceBytes = 4 << 20
)

// ownCertificateKeys are luxncp's own public certificates in the bucket
// (the seal's and the TLS client chain, env.TLSClientCertKey); a missing
// one is skipped.
func ownCertificateKeys(env node.AWSEnv) []string {
	return []string{awsconfig.KeySeal, env.TLSClientCertKey}
}

// putter writes the published directory (*s3.Client).
type putter interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// requeuer is the outbox sweeper (*outbox.DynamoStore).
type requeuer interface {
	Requeue(ctx context.Context) (int, error)
	List(ctx context.Context, state outbox.State) ([]outbox.Message, error)
}

type maintenance struct {
	config *awsconfig.Store
	put    putter
	bucket string
	env    node.AWSEnv
	// source of the directory: an https URL, or a key in the bucket
	// (default directory/incoming.json). LUXNCP_DIRECTORY_SOURCE.
	source string
	http   *http.Client
	outbox requeuer // nil: no outbox here
	now    func() time.Time
	out    io.Writer // metrics (stdout on Lambda)
	log    *slog.Logger
}

// Event is the EventBridge input.
type Event struct {
	Task string `json:"task"`
}

// Result is what an invocation returns (and logs).
type Result struct {
	Task   string `json:"task"`
	Status string `json:"status"`
	// Countries in the published directory.
	Countries int `json:"countries,omitempty"`
	// Certificates checked, the fewest days left, and those under the
	// warning threshold (subject and days).
	Certificates int      `json:"certificates,omitempty"`
	MinDays      float64  `json:"minDays,omitempty"`
	Expiring     []string `json:"expiring,omitempty"`
	Requeued     int      `json:"requeued,omitempty"`
}

func (m *maintenance) clock() time.Time {
	return clock.Or(m.now)()
}

func (m *maintenance) handle(ctx context.Context, ev Event) (Result, error) {
	var (
		res Result
		err error
	)
	switch ev.Task {
	case "directory-refresh":
		res, err = m.refreshDirectory(ctx)
	case "certificate-expiry":
		res, err = m.checkCertificates(ctx)
	case "outbox-sweep":
		res, err = m.sweep(ctx)
	default:
		m.failed("unknown")
		return Result{Task: ev.Task, Status: "unknown-task"}, fmt.Errorf("maintenance: unknown task %q", ev.Task)
	}
	res.Task = ev.Task
	if err != nil {
		m.log.Error("maintenance: task failed", "task", ev.Task, "error", err.Error())
		m.failed(ev.Task)
		return res, err
	}
	m.log.Info("maintenance: task done", "task", ev.Task, "status", res.Status)
	return res, nil
}

// failed counts a failed task as the CloudWatch metric MaintenanceFailures
// (dimensions Function, Task).
func (m *maintenance) failed(task string) {
	_ = telemetry.WriteEMF(m.out, m.clock(), map[string]any{"Function": "maintenance", "Task": task},
		telemetry.EMFMetric{Name: "MaintenanceFailures", Unit: "Count", Value: 1.0, Dimensions: [][]string{{"Function", "Task"}}})
}

// readSource returns the incoming directory document (nil: none).
func (m *maintenance) readSource(ctx context.Context) ([]byte, error) {
	src := m.source
	if src == "" {
		src = defaultSource
	}
	if !strings.HasPrefix(src, "https://") {
		b, err := m.config.Get(ctx, src)
		if errors.Is(err, awsconfig.ErrNotFound) {
			return nil, nil
		}
		return b, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := m.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("directory source: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("directory source: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxSourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("directory source: %w", err)
	}
	if len(b) > maxSourceBytes {
		return nil, fmt.Errorf("directory source: larger than %d bytes", maxSourceBytes)
	}
	return b, nil
}

// refreshDirectory validates the incoming directory (internal/routing's
// format and rules) and publishes its canonical form when it changed. An
// invalid document is refused and the published one kept.
func (m *maintenance) refreshDirectory(ctx context.Context) (Result, error) {
	raw, err := m.readSource(ctx)
	if err != nil {
		return Result{Status: "failed"}, err
	}
	if raw == nil {
		return Result{Status: "no-source"}, nil
	}
	st, err := routing.Parse(raw)
	if err != nil {
		return Result{Status: "invalid"}, fmt.Errorf("maintenance: incoming directory refused: %w", err)
	}
	countries, _ := st.Countries(ctx)
	if len(countries) == 0 {
		return Result{Status: "invalid"}, errors.New("maintenance: incoming directory lists no country; refused")
	}
	now := m.clock()
	for _, c := range countries {
		for _, e := range c.Endpoints {
			if now.After(e.Cert().NotAfter) {
				m.log.Warn("maintenance: directory endpoint certificate expired", "country", c.Code, "transaction", string(e.Transaction))
			}
		}
	}
	canon, err := st.Marshal()
	if err != nil {
		return Result{Status: "failed"}, err
	}
	res := Result{Countries: len(countries)}
	cur, err := m.config.Get(ctx, m.env.DirectoryKey)
	if err != nil && !errors.Is(err, awsconfig.ErrNotFound) {
		return Result{Status: "failed"}, err
	}
	if bytes.Equal(cur, canon) {
		res.Status = "unchanged"
		return res, nil
	}
	_, err = m.put.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(m.bucket), Key: aws.String(m.env.DirectoryKey),
		Body: bytes.NewReader(canon), ContentType: aws.String("application/json")})
	if err != nil {
		return Result{Status: "failed"}, fmt.Errorf("maintenance: publish directory: %w", err)
	}
	res.Status = "published"
	return res, nil
}

type checked struct {
	source string
	kind   string // the metric's Kind dimension: seal, tls or partner
	cert   *x509.Certificate
}

// checkCertificates writes one CertificateDaysToExpiry metric per own and
// trusted certificate (the alarm takes the daily minimum). Finding none is
// an error, and the missing metric sets the alarm off as well.
func (m *maintenance) checkCertificates(ctx context.Context) (Result, error) {
	var certs []checked
	var errs []error
	add := func(source, kind string, cs ...*x509.Certificate) {
		for _, c := range cs {
			certs = append(certs, checked{source: source, kind: kind, cert: c})
		}
	}
	for _, key := range ownCertificateKeys(m.env) {
		cs, err := m.config.Certificates(ctx, key)
		if errors.Is(err, awsconfig.ErrNotFound) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		kind := "tls"
		if key == awsconfig.KeySeal {
			kind = "seal"
		}
		add("own:"+key, kind, cs...)
	}
	if cs, err := m.config.Certificates(ctx, m.env.TrustBundleKey); err != nil {
		errs = append(errs, err)
	} else {
		add("trusted:"+m.env.TrustBundleKey, "partner", cs...)
	}
	dir := &awsconfig.Directory{Store: m.config, Key: m.env.DirectoryKey}
	if countries, err := dir.Countries(ctx); err == nil {
		for _, c := range countries {
			for _, e := range c.Endpoints {
				add("directory:"+c.Code+":"+string(e.Transaction), "partner", e.Cert())
			}
		}
	} else if !errors.Is(err, awsconfig.ErrNotFound) {
		errs = append(errs, err)
	}
	now := m.clock()
	res := Result{Status: "checked", Certificates: len(certs), MinDays: math.Inf(1)}
	warn := float64(m.env.CertWarnDays)
	for _, c := range certs {
		days := math.Floor(c.cert.NotAfter.Sub(now).Hours()/24*10) / 10
		res.MinDays = min(res.MinDays, days)
		country, _ := pki.Country(c.cert)
		// Two series: the minimum over every certificate (no dimension:
		// its absence means the check stopped) and one per Kind, so the
		// seal, the TLS chain and the partners each have their alarm.
		if err := telemetry.WriteEMF(m.out, now, map[string]any{
			"source": c.source, "subject": c.cert.Subject.CommonName, "country": country, "Kind": c.kind,
			"notAfter": c.cert.NotAfter.UTC().Format(time.RFC3339),
		}, telemetry.EMFMetric{Name: "CertificateDaysToExpiry", Unit: "None", Value: days, Dimensions: [][]string{{}, {"Kind"}}}); err != nil {
			return res, err
		}
		if days < warn {
			res.Expiring = append(res.Expiring, fmt.Sprintf("%s %s: %.1f days", c.source, c.cert.Subject.CommonName, days))
		}
	}
	sort.Strings(res.Expiring)
	if len(certs) == 0 {
		res.MinDays = 0
		errs = append(errs, errors.New("maintenance: no certificate found to check"))
	}
	if len(res.Expiring) > 0 {
		m.log.Warn("maintenance: certificates expiring soon", "count", len(res.Expiring), "certificates", strings.Join(res.Expiring, "; "))
	}
	if len(errs) > 0 {
		res.Status = "incomplete"
		return res, errors.Join(errs...)
	}
	return res, nil
}

func (m *maintenance) sweep(ctx context.Context) (Result, error) {
	if m.outbox == nil {
		return Result{Status: "no-outbox"}, nil
	}
	n, err := m.outbox.Requeue(ctx)
	if err != nil {
		return Result{Status: "failed", Requeued: n}, err
	}
	// The outbox-oldest-pending and outbox-dead-letters alarms watch these.
	pending, err := m.outbox.List(ctx, outbox.StatePending)
	if err != nil {
		return Result{Status: "failed", Requeued: n}, err
	}
	dead, err := m.outbox.List(ctx, outbox.StateDead)
	if err != nil {
		return Result{Status: "failed", Requeued: n}, err
	}
	now := m.clock()
	if err := node.WriteMetric(m.out, now, "OutboxOldestPendingSeconds", outbox.OldestPending(pending, now).Seconds(), "Seconds", nil); err != nil {
		return Result{Status: "failed", Requeued: n}, err
	}
	if err := node.WriteMetric(m.out, now, "OutboxDeadLetters", float64(len(dead)), "Count", nil); err != nil {
		return Result{Status: "failed", Requeued: n}, err
	}
	return Result{Status: "swept", Requeued: n}, nil
}
