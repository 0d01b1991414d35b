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
	n, err := FromEnvironment(context.Background())
	if err != nil {
		slog.Error("luxncp "+endpoint+": start", "error", err.Error())
		os.Exit(1)
	}
	h, ok := n.Endpoint(endpoint)
	if !ok {
		h = n.Handler()
	}
	lambda.Start(host.LambdaHandler(h))
}
