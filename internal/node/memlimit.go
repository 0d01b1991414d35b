package node

import (
	"os"
	"runtime/debug"
	"strconv"
)

// DefaultMemoryLimit is the Go memory limit when nothing sets one: the
// garbage collector works harder near it instead of letting a burst of
// large bodies grow the heap without bound.
const DefaultMemoryLimit = 768 << 20

// SetMemoryLimit applies a default GOMEMLIMIT unless the environment sets
// one (getenv nil: os.Getenv): 80% of the function's memory on AWS Lambda
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, MiB), DefaultMemoryLimit elsewhere. It
// returns the limit in force.
func SetMemoryLimit(getenv func(string) string) int64 {
	if getenv == nil {
		getenv = os.Getenv
	}
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1) // the runtime read it at start
	}
	limit := int64(DefaultMemoryLimit)
	if mb, err := strconv.ParseInt(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"), 10, 64); err == nil && mb > 0 {
		limit = mb << 20 * 8 / 10
	}
	debug.SetMemoryLimit(limit)
	return limit
}
