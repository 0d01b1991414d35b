package node

import "github.com/luxncp/luxncp/internal/lurecords"

// orcdBuilder returns the original clinical documents builder (nil until
// the OrCD templates are wired).
func orcdBuilder() lurecords.ORCDBuilder { return nil }
