package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testutil"
)

// TestServeAWSWalkThrough runs `luxncp serve-aws` (make run-aws) with the
// real function binaries and answers the README's XCPD walk-through
// through it: the request goes through the mutual TLS API Gateway front,
// a payload 2.0 event, the xcpd binary's lambda.Start loop under the local
// Runtime API, and the node it builds from terraform/'s environment on the
// emulators. Ctrl-C then stops it with status 0 and leaves no emulator
// listening.
func TestServeAWSWalkThrough(t *testing.T) {
	bin := buildLuxncp(t)
	fns := t.TempDir()
	build := exec.Command("go", "build", "-o", fns+string(filepath.Separator), "./functions/...")
	build.Dir = testutil.RepoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./functions/...: %v\n%s", err, out)
	}
	state := t.TempDir()
	env := append(cleanEnv(), "LUXNCP_STATE_DIR="+state)
	if v := os.Getenv("LUXNCP_CLOCK_OFFSET"); v != "" {
		env = append(env, "LUXNCP_CLOCK_OFFSET="+v)
	}
	cmd := exec.Command(bin, "serve-aws", "--functions", fns, "--terraform", filepath.Join(testutil.RepoRoot(t), "terraform"),
		"--addr", "127.0.0.1:0", "--national-addr", "127.0.0.1:0")
	cmd.Env, cmd.Dir = env, t.TempDir()
	stderr := &testutil.SyncBuffer{}
	cmd.Stderr = stderr
	out := startWatched(t, cmd, "demo national", 3*time.Minute) // printed after the front and the emulators
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Signal(syscall.SIGINT)
			exitWithin(t, cmd, time.Minute)
		}
	})
	gw := regexp.MustCompile(`API Gateway front\s+(https://\S+)`).FindStringSubmatch(out.String())
	emu := regexp.MustCompile(`emulators\s+(\{.*\})`).FindStringSubmatch(out.String())
	if gw == nil || emu == nil {
		t.Fatalf("no front or emulators in:\n%s", out.String())
	}

	// The README's commands: the assertion, the request, curl, show.
	cli := func(stdin []byte, args ...string) (string, string) {
		t.Helper()
		c := exec.Command(bin, args...)
		c.Env, c.Stdin = env, bytes.NewReader(stdin)
		var o, e bytes.Buffer
		c.Stdout, c.Stderr = &o, &e
		if err := c.Run(); err != nil {
			t.Fatalf("luxncp %s: %v\n%s", strings.Join(args, " "), err, e.String())
		}
		return o.String(), e.String()
	}
	hcp, _ := cli(nil, "assertion", "hcp", "--country", "FR", "--role", "pharmacist")
	hcpFile := filepath.Join(t.TempDir(), "hcp.xml")
	if err := os.WriteFile(hcpFile, []byte(hcp), 0o600); err != nil {
		t.Fatal(err)
	}
	body, ctype := cli(nil, "request", "xcpd", "--country", "FR", "--hcp", hcpFile, "--patient", "1971011007114")
	pkiDir := filepath.Join(state, "pki")
	fr, err := pki.LoadCredential(pkiDir, "fr", pki.KindTLS)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ReadCertificate(filepath.Join(pkiDir, pki.CAFile))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{fr.TLSCertificate()}, Time: clock.System()}}}
	req, _ := http.NewRequest(http.MethodPost, gw[1]+"/openncp-ws-server/services/XCPD_Service", strings.NewReader(body))
	h, v, _ := strings.Cut(strings.TrimSpace(ctype), ":")
	req.Header.Set(strings.TrimSpace(h), strings.TrimSpace(v))
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var reply bytes.Buffer
	_, _ = reply.ReadFrom(res.Body)
	res.Body.Close()
	shown, _ := cli(reply.Bytes(), "show")
	if !strings.Contains(shown, "XCPD        OK") || !strings.Contains(shown, "Thomas Lefebvre") {
		t.Fatalf("XCPD on the AWS path: HTTP %d\n%s\n%s\nfunctions:\n%s", res.StatusCode, shown, reply.String(), stderr.String())
	}

	// The operator CLI on the emulated DynamoDB outbox, under the
	// environment serve-aws prints for it (a wrong table or endpoint
	// fails).
	line := regexp.MustCompile(`outbox \(CLI\)\s+(.*) luxncp outbox list`).FindStringSubmatch(out.String())
	if line == nil {
		t.Fatalf("no outbox (CLI) line in:\n%s", out.String())
	}
	c := exec.Command(bin, "outbox", "list")
	c.Env = append(append([]string{}, env...), strings.Fields(line[1])...)
	if o, err := c.CombinedOutput(); err != nil || !strings.Contains(string(o), "the outbox is empty") {
		t.Fatalf("%s luxncp outbox list: %v\n%s", line[1], err, o)
	}

	// API Gateway's mutual TLS: no client certificate, no handshake.
	anon := &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Time: clock.System()}}}
	if res, err := anon.Get(gw[1] + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatalf("GET /healthz without a client certificate: HTTP %d, want a refused handshake", res.StatusCode)
	}

	// Ctrl-C: exit 0, and every emulator is gone (their process groups).
	_ = cmd.Process.Signal(syscall.SIGINT)
	stopped = true
	if code := exitWithin(t, cmd, time.Minute); code != 0 {
		t.Fatalf("exit %d after SIGINT\n%s\n%s", code, out.String(), stderr.String())
	}
	var urls map[string]string
	if err := json.Unmarshal([]byte(emu[1]), &urls); err != nil || len(urls) != 4 {
		t.Fatalf("emulators %q: %v", emu[1], err)
	}
	for name, u := range urls {
		if c, err := net.DialTimeout("tcp", strings.TrimPrefix(u, "http://"), time.Second); err == nil {
			c.Close()
			t.Errorf("%s still listening on %s after serve-aws stopped", name, u)
		}
	}
}
