package lambdabench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/lambdabench"
)

var (
	buildOnce sync.Once
	echoBin   string
	buildErr  error
	buildOut  []byte
)

// echoBootstrap builds testdata/echo once per test binary, as a Lambda
// build does (-tags lambda.norpc, static), for the host architecture.
func echoBootstrap(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lambdabench")
		if err != nil {
			buildErr = err
			return
		}
		echoBin = filepath.Join(dir, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", echoBin, "./testdata/echo")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		buildOut, buildErr = cmd.CombinedOutput()
	})
	if buildErr != nil {
		t.Fatalf("build echo bootstrap: %v\n%s", buildErr, buildOut)
	}
	return echoBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if echoBin != "" {
		os.RemoveAll(filepath.Dir(echoBin))
	}
	os.Exit(code)
}

func TestMeasure(t *testing.T) {
	bin := echoBootstrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := lambdabench.Measure(ctx, bin, nil, []byte(`{"hello":"lu"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Response.Payload); got != `{"echo":{"hello":"lu"}}` {
		t.Errorf("payload = %s", got)
	}
	if res.Init <= 0 || res.FirstInvoke < res.Init {
		t.Errorf("Init %v, FirstInvoke %v: want 0 < Init <= FirstInvoke", res.Init, res.FirstInvoke)
	}
	if res.PeakRSSBytes < 1<<20 || res.PeakRSSBytes > 1<<30 {
		t.Errorf("PeakRSSBytes = %d, not a plausible RSS", res.PeakRSSBytes)
	}
	t.Logf("echo: init %v, first invoke %v, peak RSS %.1f MB", res.Init, res.FirstInvoke, float64(res.PeakRSSBytes)/(1<<20))
}

func TestRuntimeAPIInvocations(t *testing.T) {
	bin := echoBootstrap(t)
	api := lambdabench.NewRuntimeAPI()
	defer api.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), api.Env()...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tests := []struct {
		event     string
		want      string
		wantError string
	}{
		{event: `{"n":1}`, want: `{"echo":{"n":1}}`},
		{event: `{"fail":true}`, wantError: "asked to fail"},
		{event: `"after an error"`, want: `{"echo":"after an error"}`},
	}
	for _, tt := range tests {
		resp, err := api.Invoke(ctx, []byte(tt.event))
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case tt.wantError != "":
			if resp.Error == nil || resp.Error.Message != tt.wantError || resp.Payload != nil {
				t.Errorf("%s: response %+v, want error %q", tt.event, resp, tt.wantError)
			}
		case resp.Error != nil || string(resp.Payload) != tt.want:
			t.Errorf("%s: response %s %v, want %s", tt.event, resp.Payload, resp.Error, tt.want)
		}
	}
	select {
	case <-api.Ready():
	default:
		t.Error("Ready not closed after invocations")
	}
}

func TestMeasureProcessExits(t *testing.T) {
	bin := echoBootstrap(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := lambdabench.Measure(ctx, bin, []string{"ECHO_INIT_FAIL=1"}, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "exited before answering") {
		t.Fatalf("err = %v, want an early-exit error", err)
	}
}

func TestInitErrorAndUnknownRequest(t *testing.T) {
	api := lambdabench.NewRuntimeAPI()
	defer api.Close()
	base := "http://" + api.Addr() + "/2018-06-01/runtime/"
	body, _ := json.Marshal(map[string]string{"errorMessage": "missing LUXNCP_KMS_KEY", "errorType": "ConfigError"})
	resp, err := http.Post(base+"init/error", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Errorf("init/error status %d", resp.StatusCode)
	}
	select {
	case fe := <-api.InitError():
		if fe.Type != "ConfigError" || fe.Message != "missing LUXNCP_KMS_KEY" {
			t.Errorf("init error = %+v", fe)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no init error delivered")
	}
	resp, err = http.Post(base+"invocation/nope/response", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unknown request id: status %d, want 400", resp.StatusCode)
	}
}

// runtimeClient is a function's side of the Runtime API, by hand.
type runtimeClient struct {
	t    *testing.T
	base string
}

// next is GET invocation/next: the request id and the event.
func (c runtimeClient) next() (string, string) {
	c.t.Helper()
	resp, err := http.Get(c.base + "invocation/next")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Header.Get("Lambda-Runtime-Aws-Request-Id"), string(b)
}

// answer posts a response and returns the status.
func (c runtimeClient) answer(id, payload string) int {
	c.t.Helper()
	resp, err := http.Post(c.base+"invocation/"+id+"/response", "application/json", strings.NewReader(payload))
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAbandonedInvocationStillAnswers: the caller of an invocation gives
// up while the function works on it (a client hung up on the front, the
// front's timeout). The function's late answer is taken, as Lambda takes
// it: refused, it would end aws-lambda-go's loop and with it the process,
// and every later request would fail. A second answer to the same
// invocation is refused.
func TestAbandonedInvocationStillAnswers(t *testing.T) {
	api := lambdabench.NewRuntimeAPI()
	defer api.Close()
	rt := runtimeClient{t: t, base: "http://" + api.Addr() + "/2018-06-01/runtime/"}
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { _, err := api.Invoke(ctx, []byte(`"first"`)); gaveUp <- err }()
	id, event := rt.next()
	if event != `"first"` {
		t.Fatalf("event %s", event)
	}
	cancel() // the caller hangs up while the function works
	if err := <-gaveUp; err == nil {
		t.Fatal("Invoke returned no error after its context ended")
	}
	if code := rt.answer(id, `"late"`); code != http.StatusAccepted {
		t.Fatalf("the late answer to an abandoned invocation: HTTP %d, want 202", code)
	}
	if code := rt.answer(id, `"again"`); code != http.StatusBadRequest {
		t.Errorf("a second answer to the same invocation: HTTP %d, want 400", code)
	}
	// The function goes on serving.
	got := make(chan lambdabench.Response, 1)
	go func() {
		resp, err := api.Invoke(context.Background(), []byte(`"second"`))
		if err != nil {
			t.Error(err)
		}
		got <- resp
	}()
	id2, event := rt.next()
	if event != `"second"` {
		t.Fatalf("second event %s", event)
	}
	if code := rt.answer(id2, `"ok"`); code != http.StatusAccepted {
		t.Fatalf("second answer: HTTP %d", code)
	}
	if resp := <-got; string(resp.Payload) != `"ok"` || resp.RequestID != id2 {
		t.Fatalf("second invocation answered %+v", resp)
	}
}

func TestPeakRSS(t *testing.T) {
	rss, err := lambdabench.PeakRSS(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if rss <= 0 {
		t.Errorf("PeakRSS(self) = %d", rss)
	}
	if _, err := lambdabench.PeakRSS(1 << 30); err == nil {
		t.Error("PeakRSS of a missing process succeeded")
	}
}

func report(b *testing.B, results []lambdabench.Result) {
	var init, first time.Duration
	var rss int64
	for _, r := range results {
		init += r.Init
		first += r.FirstInvoke
		rss = max(rss, r.PeakRSSBytes)
	}
	n := time.Duration(len(results))
	b.ReportMetric(float64((init/n).Microseconds())/1000, "init-ms")
	b.ReportMetric(float64((first/n).Microseconds())/1000, "first-invoke-ms")
	b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MB")
}

func measureN(b *testing.B, bin string, env []string, event []byte) {
	var results []lambdabench.Result
	for b.Loop() {
		res, err := lambdabench.Measure(context.Background(), bin, env, event)
		if err != nil {
			b.Fatal(err)
		}
		results = append(results, res)
	}
	report(b, results)
}

// BenchmarkColdStartEcho: the floor, a function that does nothing.
//
//	go test ./internal/lambdabench -run '^$' -bench ColdStart -benchtime=20x
func BenchmarkColdStartEcho(b *testing.B) {
	measureN(b, echoBootstrap(b), nil, []byte(`{}`))
}
