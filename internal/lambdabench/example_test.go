package lambdabench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/luxncp/luxncp/internal/lambdabench"
)

// Run a bootstrap under the fake Runtime API and send it one event, e.g. an
// API Gateway HTTP API (payload 2.0) request.
func ExampleRuntimeAPI() {
	api := lambdabench.NewRuntimeAPI()
	defer api.Close()
	cmd := exec.Command("/path/to/bootstrap")
	cmd.Env = append(os.Environ(), api.Env()...)
	if err := cmd.Start(); err != nil {
		fmt.Println(err)
		return
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := api.Invoke(ctx, []byte(`{"version":"2.0","rawPath":"/healthz","requestContext":{"http":{"method":"GET","path":"/healthz"}}}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %v\n", resp.Payload, resp.Error)
}

// Cold start and peak memory of one bootstrap.
func ExampleMeasure() {
	res, err := lambdabench.Measure(context.Background(), "/path/to/bootstrap", nil, []byte(`{}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Init, res.FirstInvoke, res.PeakRSSBytes>>20, "MB")
}
