package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

// proc is one luxncp process the run starts, kills and restarts; each
// start logs to <logs>/<name>-<n>.log.
type proc struct {
	name string
	bin  string
	args []string
	env  []string
	dir  string // working directory
	logs string

	mu     sync.Mutex
	cmd    *exec.Cmd
	starts int
	paused bool
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts++
	f, err := os.Create(filepath.Join(p.logs, fmt.Sprintf("%s-%d.log", p.name, p.starts)))
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = p.dir, p.env, f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	f.Close() // the child holds its own descriptor
	p.cmd, p.paused = cmd, false
	return nil
}

// signal sends sig to the running process (none: nothing).
func (p *proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(sig)
	switch sig {
	case syscall.SIGSTOP:
		p.paused = true
	case syscall.SIGCONT:
		p.paused = false
	}
}

// kill ends the process with SIGKILL and reaps it.
func (p *proc) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
	p.cmd = nil
}

// stop ends the process cleanly (SIGTERM; SIGKILL after 30 s).
func (p *proc) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	if p.paused {
		p.cmd.Process.Signal(syscall.SIGCONT)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-done
	}
	p.cmd = nil
}

// freePort is a loopback address nobody listens on (just now).
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// childEnv is this process's environment without LUXNCP_* settings (but
// the clock offset, so that a shifted run shifts every process), plus add.
func childEnv(add ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LUXNCP_") || strings.HasPrefix(kv, clock.OffsetEnv+"=") {
			env = append(env, kv)
		}
	}
	return append(env, add...)
}

// waitHTTP polls url until it answers 200, for at most d.
func waitHTTP(ctx context.Context, c *http.Client, url string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := c.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer within %s (last: %v)", url, d, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// healthClient checks the gateway's /healthz (no client certificate),
// trusting the dev CA once the first start has written it.
func healthClient(pkiDir string) *http.Client {
	return &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			pem, err := os.ReadFile(filepath.Join(pkiDir, "ca.pem"))
			if err != nil {
				return nil, err
			}
			roots := x509.NewCertPool()
			roots.AppendCertsFromPEM(pem)
			d := tls.Dialer{Config: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12, Time: clock.System()}}
			return d.DialContext(ctx, network, addr)
		},
	}}
}
