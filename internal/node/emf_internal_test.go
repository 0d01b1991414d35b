package node

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/outbox"
)

// TestLambdaTelemetryOnlyOnLambda: a function on Lambda writes EMF with its
// name as the Function dimension; off Lambda nothing is built (`luxncp
// serve` has its own telemetry).
func TestLambdaTelemetryOnlyOnLambda(t *testing.T) {
	var out bytes.Buffer
	if tel := lambdaTelemetry(AWSEnv{Function: "xdr"}, &out); tel != nil {
		t.Fatal("telemetry off Lambda")
	}
	tel := lambdaTelemetry(AWSEnv{Function: "dispatcher", OnLambda: true}, &out)
	if tel == nil {
		t.Fatal("no telemetry on Lambda")
	}
	_, end := tel.Delivery(context.Background(), outbox.Message{Kind: outbox.KindDispense})
	end(outbox.StatePending, nil)
	if s := out.String(); !strings.Contains(s, `"DispatcherFailures":1`) || !strings.Contains(s, `"Function":"dispatcher"`) {
		t.Fatalf("EMF = %q", s)
	}
}
