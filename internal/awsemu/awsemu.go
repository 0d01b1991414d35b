package awsemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Pinned versions; scripts/install-aws-emulators installs the same.
const (
	DynaliteVersion = "4.0.0"
	GoawsVersion    = "v0.4.5"
	LocalKMSVersion = "v0.0.0-20260228092603-2a5e92d09ab6"
)

// Region and Account are what the emulators are started with.
const (
	Region  = "eu-central-1"
	Account = "111122223333"
)

// ToolsDir is the tools cache the install scripts fill.
func ToolsDir() string {
	if d := os.Getenv("LUXNCP_TOOLS_DIR"); d != "" {
		return d
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "luxncp", "tools")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "luxncp", "tools")
}

// tool returns an installed emulator's path or an error naming the script.
func tool(rel string) (string, error) {
	p := filepath.Join(ToolsDir(), rel)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		return "", fmt.Errorf("awsemu: %s is not installed: run scripts/install-test-tools (make test does)", p)
	}
	return p, nil
}

// Emulators are the four endpoints of one test's (or one make run-aws's)
// AWS.
type Emulators struct {
	DynamoDB, SQS, KMS, S3 string // base URLs on 127.0.0.1

	mu   sync.Mutex
	stop []func()
}

// Start starts every emulator for t; they stop when t ends.
func Start(t testing.TB) *Emulators {
	t.Helper()
	e, err := StartAll(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

// StartAll starts every emulator on loopback, each emulator process in a
// process group of its own, with its files under dir (which must exist).
// Close stops them all (the whole process groups): call it on every path,
// make run-aws does on Ctrl-C.
func StartAll(ctx context.Context, dir string) (*Emulators, error) {
	e := &Emulators{}
	var (
		wg   sync.WaitGroup
		errs [3]error
	)
	wg.Add(3)
	go func() { defer wg.Done(); e.DynamoDB, errs[0] = e.startDynalite(ctx) }()
	go func() { defer wg.Done(); e.SQS, errs[1] = e.startGoaws(ctx, filepath.Join(dir, "goaws")) }()
	go func() { defer wg.Done(); e.KMS, errs[2] = e.startLocalKMS(ctx, filepath.Join(dir, "local-kms")) }()
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		e.Close()
		return nil, err
	}
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	e.onClose(srv.Close)
	e.S3 = srv.URL
	return e, nil
}

// Close stops every emulator StartAll started; it is idempotent.
func (e *Emulators) Close() {
	e.mu.Lock()
	stop := e.stop
	e.stop = nil
	e.mu.Unlock()
	for i := len(stop) - 1; i >= 0; i-- {
		stop[i]()
	}
}

func (e *Emulators) onClose(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stop = append(e.stop, f)
}

// Config is an SDK configuration whose clients reach the emulators.
func (e *Emulators) Config() aws.Config {
	cfg := aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return cfg
}

// Env is the environment under which config.LoadDefaultConfig, as a
// Lambda function calls it, reaches the emulators: static credentials,
// the region and one AWS_ENDPOINT_URL_<SERVICE> per service. gofakes3
// returns no object checksums, so the SDK validates them only where an
// operation asks (AWS_RESPONSE_CHECKSUM_VALIDATION=when_required) instead
// of logging "no supported checksum" on every read.
func (e *Emulators) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": Region, "AWS_DEFAULT_REGION": Region,
		"AWS_ENDPOINT_URL_DYNAMODB": e.DynamoDB, "AWS_ENDPOINT_URL_SQS": e.SQS,
		"AWS_ENDPOINT_URL_KMS": e.KMS, "AWS_ENDPOINT_URL_S3": e.S3,
		"AWS_S3_USE_PATH_STYLE": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
	}
}

// S3 serves gofakes3 in process and returns its URL.
func S3(t testing.TB) string {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// DynamoDB starts dynalite and returns its URL.
func DynamoDB(t testing.TB) string {
	t.Helper()
	return one(t, func(e *Emulators) (string, error) { return e.startDynalite(context.Background()) })
}

// SQS starts goaws behind the JSON bridge and returns the bridge's URL.
func SQS(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	return one(t, func(e *Emulators) (string, error) { return e.startGoaws(context.Background(), dir) })
}

// KMS starts local-kms and returns its URL.
func KMS(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	return one(t, func(e *Emulators) (string, error) { return e.startLocalKMS(context.Background(), dir) })
}

func one(t testing.TB, start func(*Emulators) (string, error)) string {
	t.Helper()
	e := &Emulators{}
	t.Cleanup(e.Close)
	url, err := start(e)
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func (e *Emulators) startDynalite(ctx context.Context) (string, error) {
	bin, err := tool(filepath.Join("dynalite-"+DynaliteVersion, "node_modules", ".bin", "dynalite"))
	if err != nil {
		return "", err
	}
	return e.run(ctx, "dynalite", func(port int) *exec.Cmd {
		// Tables are ACTIVE at once (AWS takes seconds; tests need not wait).
		return exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	})
}

func (e *Emulators) startLocalKMS(ctx context.Context, data string) (string, error) {
	bin, err := tool(filepath.Join("local-kms-"+LocalKMSVersion, "local-kms"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(data, 0o700); err != nil {
		return "", err
	}
	return e.run(ctx, "local-kms", func(port int) *exec.Cmd {
		c := exec.Command(bin)
		c.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_REGION="+Region, "KMS_ACCOUNT_ID="+Account,
			"KMS_DATA_PATH="+data, "KMS_SEED_PATH="+filepath.Join(data, "no-seed.yaml"))
		return c
	})
}

func (e *Emulators) startGoaws(ctx context.Context, dir string) (string, error) {
	bin, err := tool(filepath.Join("goaws-"+GoawsVersion, "goaws"))
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	var werr error
	url, err := e.run(ctx, "goaws", func(port int) *exec.Cmd {
		conf := filepath.Join(dir, "goaws.yaml")
		yaml := fmt.Sprintf("Local:\n  Host: 127.0.0.1\n  Port: %d\n  Region: %s\n  AccountId: %q\n  LogToFile: false\n"+
			"  QueueAttributeDefaults:\n    VisibilityTimeout: 30\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n"+
			"  Queues: []\n  Topics: []\n", port, Region, Account)
		werr = os.WriteFile(conf, []byte(yaml), 0o600)
		return exec.Command(bin, "-config", conf, "Local")
	})
	if err != nil || werr != nil {
		return "", errors.Join(err, werr)
	}
	br := httptest.NewServer(&sqsBridge{upstream: url, client: &http.Client{}})
	e.onClose(br.Close)
	return br.URL, nil
}

// run starts an emulator on a free loopback port in a process group of
// its own, waits until it accepts connections, and registers its stop
// (the whole group) with e. A port taken between the probe and the start
// is retried.
func (e *Emulators) run(ctx context.Context, name string, cmd func(port int) *exec.Cmd) (string, error) {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return "", err
		}
		c := cmd(port)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
		OwnProcessGroup(c)
		if err := c.Start(); err != nil {
			return "", fmt.Errorf("awsemu: %s: %w (run scripts/install-test-tools)", name, err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		stop := func() {
			KillProcessGroup(c)
			<-done
		}
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := waitReady(ctx, addr, done); err != nil {
			stop()
			last = fmt.Errorf("awsemu: %s did not start on %s: %w\n%s", name, addr, err, out.String())
			if ctx.Err() != nil {
				break
			}
			continue
		}
		// The port answered, but perhaps for another process that took it
		// between the probe and the start, while the emulator exits with
		// "address in use" (seen under a loaded make test): give it a
		// moment to fail before trusting the port.
		select {
		case err := <-done:
			KillProcessGroup(c)
			last = fmt.Errorf("awsemu: %s exited after %s answered (port taken?): %v\n%s", name, addr, err, out.String())
			continue
		case <-time.After(150 * time.Millisecond):
		}
		e.onClose(stop)
		return "http://" + addr, nil
	}
	return "", last
}

var errExited = errors.New("exited")

func waitReady(ctx context.Context, addr string, done <-chan error) error {
	for i := 0; i < 300; i++ {
		select {
		case err := <-done:
			return fmt.Errorf("%w: %v", errExited, err)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not listening after 15 s")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w.Len() > 64<<10 {
		return len(p), nil
	}
	return s.w.Write(p)
}
