package soap

import (
	"crypto/rand"
	"encoding/hex"
)

// NewUUID returns a random RFC 4122 version-4 UUID (8-4-4-4-12 hex): the
// one generator of message and query ids in luxncp.
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return formatV4(b[:])
}

// NewMessageID returns a fresh WS-Addressing MessageID: urn:uuid: and a
// version-4 UUID. Every request, and every retry of one, gets its own.
func NewMessageID() string { return "urn:uuid:" + NewUUID() }

// formatV4 sets the version (4) and variant (RFC 4122) bits of 16 random
// bytes and formats them.
func formatV4(b []byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
