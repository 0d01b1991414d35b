package soap

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// decodeBase64Cleaned is what decodeBase64 always did: decode a copy
// without the four XML whitespace characters.
func decodeBase64Cleaned(s string) ([]byte, error) {
	return base64.StdEncoding.DecodeString(strings.NewReplacer(" ", "", "\t", "", "\r", "", "\n", "").Replace(s))
}

// TestDecodeBase64AsCleaned: decoding text without whitespace as it is
// gives what the cleaned copy gave, for valid and broken text alike.
func TestDecodeBase64AsCleaned(t *testing.T) {
	doc := bytes.Repeat([]byte("%PDF-1.7 eHDSI \x00\xff"), 300)
	enc := base64.StdEncoding.EncodeToString(doc)
	var wrapped strings.Builder
	for i := 0; i < len(enc); i += 76 {
		wrapped.WriteString(enc[i:min(i+76, len(enc))] + "\r\n")
	}
	inputs := []string{
		enc, wrapped.String(), " " + enc + "\t", strings.ReplaceAll(enc, "A", "A\n"), "", " \n", "QQ==", "QQ", "QQ=", "Q Q = =",
		enc[:len(enc)-1], enc + "!", "Zm9v\u00a0YmFy", "Zm9v\u2028YmFy", "Zm9v\x00YmFy", "Zm9vYmFy\v",
	}
	for _, in := range inputs {
		got, err := decodeBase64(in)
		want, werr := decodeBase64Cleaned(in)
		if !bytes.Equal(got, want) || (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Errorf("%.40q: %d bytes, %v; cleaned copy: %d bytes, %v", in, len(got), err, len(want), werr)
		}
	}
}

func BenchmarkDecodeBase64(b *testing.B) {
	enc := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("%PDF-1.7 eHDSI"), 3000))
	b.SetBytes(int64(len(enc)))
	for b.Loop() {
		if _, err := decodeBase64(enc); err != nil {
			b.Fatal(err)
		}
	}
}
