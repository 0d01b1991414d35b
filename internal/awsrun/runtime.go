package awsrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/lambdabench"
)

// maxPayload is Lambda's synchronous invocation limit (request and
// response: 6 MB).
const maxPayload = 6 << 20

// errFunction is an invocation the function answered with an error (the
// Runtime API's /error), as Lambda reports a function error.
var errFunction = errors.New("function error")

// Function is one function binary running its lambda.Start loop against
// a Runtime API of its own (lambdabench.RuntimeAPI, the module's one), as
// one Lambda execution environment: invocations are answered one at a
// time, in turn.
type Function struct {
	Name string

	api     *lambdabench.RuntimeAPI
	timeout time.Duration
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	alive   context.Context // ends when the process does
}

// FunctionOptions start one function.
type FunctionOptions struct {
	Name    string            // luxncp-<name> is AWS_LAMBDA_FUNCTION_NAME
	Binary  string            // the function's bootstrap (go build ./functions/<name>)
	Env     map[string]string // terraform's environment and the emulators'
	Timeout time.Duration     // per invocation (terraform timeout_s); 0: 29 s
	TempDir string            // the function's /tmp
	Log     io.Writer         // the function's stdout and stderr (CloudWatch Logs)
}

// StartFunction serves a Runtime API on loopback, starts the binary
// under it (in a process group of its own, with only the environment
// Lambda gives) and waits until it asks for its first invocation.
func StartFunction(ctx context.Context, o FunctionOptions) (*Function, error) {
	if o.Timeout == 0 {
		o.Timeout = 29 * time.Second
	}
	api := lambdabench.NewRuntimeAPI()
	api.FunctionARN = "arn:aws:lambda:" + awsemu.Region + ":" + awsemu.Account + ":function:luxncp-" + o.Name
	api.Deadline = o.Timeout
	f := &Function{Name: o.Name, api: api, timeout: o.Timeout, exited: make(chan struct{})}
	env := []string{"PATH=" + os.Getenv("PATH"), "TMPDIR=" + o.TempDir, "HOME=" + o.TempDir, "LAMBDA_TASK_ROOT=" + filepath.Dir(o.Binary),
		"AWS_LAMBDA_RUNTIME_API=" + api.Addr(), "AWS_LAMBDA_FUNCTION_NAME=luxncp-" + o.Name, "AWS_LAMBDA_FUNCTION_VERSION=$LATEST", "_HANDLER=bootstrap"}
	if v := os.Getenv(clock.OffsetEnv); v != "" {
		env = append(env, clock.OffsetEnv+"="+v) // the test suite's year-ahead runs shift every process
	}
	for k, v := range o.Env {
		env = append(env, k+"="+v)
	}
	f.cmd = exec.Command(o.Binary)
	f.cmd.Env, f.cmd.Dir = env, o.TempDir
	f.cmd.Stdout, f.cmd.Stderr = o.Log, o.Log
	awsemu.OwnProcessGroup(f.cmd)
	if err := f.cmd.Start(); err != nil {
		api.Close()
		return nil, fmt.Errorf("awsrun: start %s: %w", o.Name, err)
	}
	alive, dead := context.WithCancel(context.Background())
	f.alive = alive
	go func() { f.exitErr = f.cmd.Wait(); dead(); close(f.exited) }()
	select {
	case <-api.Ready():
		return f, nil
	case fe := <-api.InitError():
		f.Close()
		return nil, fmt.Errorf("awsrun: %s failed to start: %w", o.Name, fe)
	case <-f.exited:
		f.Close()
		return nil, fmt.Errorf("awsrun: %s exited at start: %v", o.Name, f.exitErr)
	case <-ctx.Done():
		f.Close()
		return nil, ctx.Err()
	}
}

// Close kills the function's process group and stops its Runtime API.
func (f *Function) Close() {
	awsemu.KillProcessGroup(f.cmd)
	<-f.exited
	f.api.Close()
}

// Invoke is a synchronous invocation (RequestResponse): the function's
// JSON answer, or an error for a function error, a timeout or an ended
// process.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if len(payload) > maxPayload {
		return nil, fmt.Errorf("awsrun: %s: request payload %d bytes exceeds Lambda's %d", f.Name, len(payload), maxPayload)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	stop := context.AfterFunc(f.alive, cancel)
	defer stop()
	r, err := f.api.Invoke(ctx, payload)
	switch {
	case err != nil && f.alive.Err() != nil:
		return nil, fmt.Errorf("awsrun: %s: the runtime exited: %v", f.Name, f.exitErr)
	case err != nil:
		return nil, fmt.Errorf("awsrun: %s: %w", f.Name, err)
	case r.Error != nil:
		return nil, fmt.Errorf("awsrun: %s: %w: %w", f.Name, errFunction, r.Error)
	}
	return r.Payload, nil
}

// prefixWriter writes each line of a function's output with its name, as
// CloudWatch Logs keeps one log group per function.
type prefixWriter struct {
	mu     sync.Mutex
	prefix []byte
	out    io.Writer
	buf    bytes.Buffer
}

// LogWriter returns a writer that prefixes each line with "name| ".
func LogWriter(out io.Writer, name string) io.Writer {
	return &prefixWriter{prefix: []byte(name + "| "), out: out}
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf.Write(b)
	for {
		line, err := p.buf.ReadBytes('\n')
		if err != nil {
			p.buf.Write(line) // partial: wait for the rest
			return len(b), nil
		}
		if _, err := p.out.Write(append(append([]byte{}, p.prefix...), line...)); err != nil {
			return len(b), err
		}
	}
}
