package host_test

import (
	"time"

	"github.com/luxncp/luxncp/internal/clock"
)

func testNow() time.Time { return clock.Now() }
