package awsemu

import (
	"bytes"
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

// tool returns an installed emulator's path or fails t naming the script.
func tool(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(ToolsDir(), rel)
	if fi, err := os.Stat(p); err != nil || fi.IsDir() {
		t.Fatalf("%s is not installed: run scripts/install-test-tools (make test does)", p)
	}
	return p
}

// Emulators are the four endpoints of one test's AWS.
type Emulators struct {
	DynamoDB, SQS, KMS, S3 string // base URLs on 127.0.0.1
}

// Start starts every emulator for t; they stop when t ends.
func Start(t testing.TB) *Emulators {
	t.Helper()
	e := &Emulators{}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); e.DynamoDB = startDynalite(t) }()
	go func() { defer wg.Done(); e.SQS = startGoaws(t) }()
	go func() { defer wg.Done(); e.KMS = startLocalKMS(t) }()
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	e.S3 = S3(t)
	return e
}

// Config is an SDK configuration whose clients reach the emulators.
func (e *Emulators) Config() aws.Config {
	cfg := aws.Config{Region: Region, Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		Retryer: func() aws.Retryer { return aws.NopRetryer{} }}
	return cfg
}

// Env is the environment under which config.LoadDefaultConfig, as a
// Lambda function calls it, reaches the emulators: static credentials,
// the region and one AWS_ENDPOINT_URL_<SERVICE> per service.
func (e *Emulators) Env() map[string]string {
	return map[string]string{
		"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_REGION": Region, "AWS_DEFAULT_REGION": Region,
		"AWS_ENDPOINT_URL_DYNAMODB": e.DynamoDB, "AWS_ENDPOINT_URL_SQS": e.SQS,
		"AWS_ENDPOINT_URL_KMS": e.KMS, "AWS_ENDPOINT_URL_S3": e.S3,
		"AWS_S3_USE_PATH_STYLE": "true", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true",
	}
}

// S3 serves gofakes3 in process and returns its URL.
func S3(t testing.TB) string {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	return srv.URL
}

// DynamoDB starts dynalite and returns its URL.
func DynamoDB(t testing.TB) string { t.Helper(); return startDynalite(t) }

// SQS starts goaws behind the JSON bridge and returns the bridge's URL.
func SQS(t testing.TB) string { t.Helper(); return startGoaws(t) }

// KMS starts local-kms and returns its URL.
func KMS(t testing.TB) string { t.Helper(); return startLocalKMS(t) }

func startDynalite(t testing.TB) string {
	bin := tool(t, filepath.Join("dynalite-"+DynaliteVersion, "node_modules", ".bin", "dynalite"))
	return run(t, "dynalite", func(port int) *exec.Cmd {
		// Tables are ACTIVE at once (AWS takes seconds; tests need not wait).
		return exec.Command(bin, "--host", "127.0.0.1", "--port", strconv.Itoa(port), "--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0")
	})
}

func startLocalKMS(t testing.TB) string {
	bin := tool(t, filepath.Join("local-kms-"+LocalKMSVersion, "local-kms"))
	data := t.TempDir()
	return run(t, "local-kms", func(port int) *exec.Cmd {
		c := exec.Command(bin)
		c.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "KMS_REGION="+Region, "KMS_ACCOUNT_ID="+Account,
			"KMS_DATA_PATH="+data, "KMS_SEED_PATH="+filepath.Join(data, "no-seed.yaml"))
		return c
	})
}

func startGoaws(t testing.TB) string {
	bin := tool(t, filepath.Join("goaws-"+GoawsVersion, "goaws"))
	dir := t.TempDir()
	url := run(t, "goaws", func(port int) *exec.Cmd {
		conf := filepath.Join(dir, "goaws.yaml")
		yaml := fmt.Sprintf("Local:\n  Host: 127.0.0.1\n  Port: %d\n  Region: %s\n  AccountId: %q\n  LogToFile: false\n"+
			"  QueueAttributeDefaults:\n    VisibilityTimeout: 30\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n"+
			"  Queues: []\n  Topics: []\n", port, Region, Account)
		if err := os.WriteFile(conf, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return exec.Command(bin, "-config", conf, "Local")
	})
	br := httptest.NewServer(&sqsBridge{upstream: url, client: &http.Client{}})
	t.Cleanup(br.Close)
	return br.URL
}

// run starts an emulator on a free loopback port, waits until it accepts
// connections, and stops it when t ends. A port taken between the probe
// and the start is retried.
func run(t testing.TB, name string, cmd func(port int) *exec.Cmd) string {
	t.Helper()
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		c := cmd(port)
		var out bytes.Buffer
		c.Stdout, c.Stderr = &syncWriter{w: &out}, &syncWriter{w: &out}
		if err := c.Start(); err != nil {
			t.Fatalf("%s: %v (run scripts/install-test-tools)", name, err)
		}
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		addr := "127.0.0.1:" + strconv.Itoa(port)
		if err := waitReady(addr, done); err != nil {
			_ = c.Process.Kill()
			last = fmt.Errorf("%s did not start on %s: %w\n%s", name, addr, err, out.String())
			continue
		}
		t.Cleanup(func() {
			_ = c.Process.Kill()
			<-done
		})
		return "http://" + addr
	}
	t.Fatal(last)
	return ""
}

var errExited = errors.New("exited")

func waitReady(addr string, done <-chan error) error {
	for i := 0; i < 300; i++ {
		select {
		case err := <-done:
			return fmt.Errorf("%w: %v", errExited, err)
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
