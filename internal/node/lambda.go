package node

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/luxncp/luxncp/internal/host"
)

// RunLambda is the whole body of an HTTP function's main: build the node
// from the environment (AWS twins where configured) and serve one endpoint
// (xcpd, xca, xdr) or, for "api", the node's full handler, through the API
// Gateway HTTP API adapter. It does not return.
func RunLambda(endpoint string) {
	SetMemoryLimit(nil)
	fn, _, err := LambdaFromEnvironment(context.Background(), endpoint)
	if err != nil {
		slog.Error("luxncp "+endpoint+": start", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(fn)
}

// LambdaFromEnvironment is the composition root of an HTTP function: the
// node FromEnvironment builds and the Lambda handler that serves endpoint
// (xcpd, xca, xdr) or, for "api", the node's full handler.
func LambdaFromEnvironment(ctx context.Context, endpoint string) (host.LambdaFunc, *Node, error) {
	n, err := FromEnvironment(ctx)
	if err != nil {
		return nil, nil, err
	}
	h, ok := n.Endpoint(endpoint)
	if !ok {
		h = n.Handler()
	}
	return host.LambdaHandler(h), n, nil
}
