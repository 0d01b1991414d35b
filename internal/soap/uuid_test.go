package soap

import (
	"regexp"
	"testing"
)

func TestNewMessageIDIsV4(t *testing.T) {
	v4 := regexp.MustCompile(`^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		id := NewMessageID()
		if !v4.MatchString(id) || seen[id] {
			t.Fatalf("%s: not a fresh RFC 4122 v4 urn:uuid", id)
		}
		seen[id] = true
	}
}
