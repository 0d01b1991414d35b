package lurecords

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
)

// docCache keeps recently built pivot documents. The transforms are pure
// and deterministic, so a document is keyed by what it was built from —
// the national content's SHA-256, the document id and the level — and a
// hit is byte-for-byte what a rebuild would give. A changed national
// document has another key; nothing stale can be served.
type docCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // front: most recent
	items map[[32]byte]*list.Element
}

type cached struct {
	key [32]byte
	val any
}

func newDocCache(max int) *docCache {
	return &docCache{max: max, order: list.New(), items: map[[32]byte]*list.Element{}}
}

// cacheKey is unambiguous: the content and every part are
// length-prefixed, so keys of different kinds of value (a document, a
// parsed prescription, a PS pair) never meet.
func cacheKey(national []byte, parts ...string) [32]byte {
	h := sha256.New()
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(national)))
	h.Write(n[:])
	h.Write(national)
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// builtDoc is a built document with what a listing says of it, its size
// and SHA-1 (the XDS hash): pure functions of the bytes, computed once
// when the document is built rather than at every listing.
type builtDoc struct {
	data []byte
	sha1 string
}

func newBuiltDoc(data []byte) *builtDoc { return &builtDoc{data: data, sha1: sha1hex(data)} }

// get returns the cached document or builds, stores and returns it.
func (c *docCache) get(key [32]byte, build func() ([]byte, error)) (*builtDoc, error) {
	v, err := c.value(key, func() (any, error) {
		b, err := build()
		if err != nil {
			return nil, err
		}
		return newBuiltDoc(b), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*builtDoc), nil
}

// value is get for any immutable value.
func (c *docCache) value(key [32]byte, build func() (any, error)) (any, error) {
	if c == nil {
		return build()
	}
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		v := e.Value.(*cached).val
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	v, err := build()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; !ok {
		c.items[key] = c.order.PushFront(&cached{key: key, val: v})
		for c.order.Len() > c.max {
			last := c.order.Back()
			c.order.Remove(last)
			delete(c.items, last.Value.(*cached).key)
		}
	}
	return v, nil
}
