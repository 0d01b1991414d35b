// Command echo is a tiny Lambda function for lambdabench's tests: it
// answers {"echo": <event>} and fails on {"fail": true}; with
// ECHO_INIT_FAIL set it never starts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	if os.Getenv("ECHO_INIT_FAIL") != "" {
		os.Exit(3)
	}
	lambda.Start(func(_ context.Context, ev json.RawMessage) (map[string]json.RawMessage, error) {
		var in struct{ Fail bool }
		_ = json.Unmarshal(ev, &in)
		if in.Fail {
			return nil, errors.New("asked to fail")
		}
		return map[string]json.RawMessage{"echo": ev}, nil
	})
}
