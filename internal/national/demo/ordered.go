package demo

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// field is one member of a JSON object, in document order.
type field struct {
	key string
	val json.RawMessage
}

// decodeObject splits a JSON object into its members, keeping their order.
func decodeObject(raw []byte) ([]field, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("not a JSON object")
	}
	var out []field
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, field{k, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// encodeObject writes members in order.
func encodeObject(fs []field) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// setMember sets key to val in the object raw, in place when present, else
// after the member named after (or first when after is absent).
func setMember(raw []byte, key string, val any, after string) ([]byte, error) {
	fs, err := decodeObject(raw)
	if err != nil {
		return nil, err
	}
	v, err := marshal(val)
	if err != nil {
		return nil, err
	}
	for i := range fs {
		if fs[i].key == key {
			fs[i].val = v
			return encodeObject(fs), nil
		}
	}
	pos := 0
	for i := range fs {
		if fs[i].key == after {
			pos = i + 1
		}
	}
	fs = append(fs[:pos], append([]field{{key, v}}, fs[pos:]...)...)
	return encodeObject(fs), nil
}

// marshal is json.Marshal without HTML escaping and without the trailing newline.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// compact returns raw without insignificant whitespace.
func compact(raw []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
