package node

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/luxncp/luxncp/internal/audit"
)

type sinkFunc func(context.Context, audit.Record) error

func (f sinkFunc) Write(ctx context.Context, r audit.Record) error { return f(ctx, r) }

// TestMeteredSinkCountsFailures: a failed audit write becomes one
// AuditWriteFailures metric; a good one none.
func TestMeteredSinkCountsFailures(t *testing.T) {
	var out bytes.Buffer
	fail := false
	m := &meteredSink{Sink: sinkFunc(func(context.Context, audit.Record) error {
		if fail {
			return errors.New("s3 down")
		}
		return nil
	}), out: &out}
	if err := m.Write(context.Background(), audit.Record{}); err != nil || out.Len() != 0 {
		t.Fatalf("good write: %v, %q", err, out.String())
	}
	fail = true
	if err := m.Write(context.Background(), audit.Record{}); err == nil {
		t.Fatal("failure swallowed")
	}
	if !strings.Contains(out.String(), `"AuditWriteFailures":1`) || strings.Count(out.String(), "\n") != 1 {
		t.Fatalf("metric = %q", out.String())
	}
}
