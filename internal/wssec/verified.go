package wssec

import (
	"container/list"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"time"

	"github.com/beevik/etree"
)

// verifiedCache remembers the outcome of XML-DSig validations that
// succeeded, keyed by the SHA-256 of everything the validation reads (the
// assertion's subtree, token by token, and the namespace declarations in
// scope from its ancestors: assertionKey). A partner sends the same HCP
// assertion with every request of a session and the same TRC with each of
// a patient's requests; an identical assertion verifies identically, so
// the canonicalisation, digest and signature check run once per assertion
// instead of once per request. Only the XML-DSig step is skipped on a hit:
// the signing certificate is checked against the trust list at the
// current time again (signer), entries are dropped when the trust list
// changes or after cacheTTL, and every assertion rule (validity window,
// qualifier, attributes, TRC ↔ HCP binding) still runs on each request.
// Failures are never cached. The cached verified element is shared:
// callers only read it (checkCommon, VerifyHCP, VerifyTRC).
//
// Eviction is least recently used: a session's HCP assertion, used on
// every request, stays while one-visit TRCs come and go (with first-in
// first-out, a TRC per visit pushed a busy pharmacist's HCP out within
// seconds at 100 visits/s).
type verifiedCache struct {
	mu      sync.Mutex
	entries map[[32]byte]*list.Element // of *cachedAssertion, in lru
	lru     list.List                  // least recently used first
}

type cachedAssertion struct {
	key [32]byte
	e   verifiedEntry
}

// verifiedCacheSize bounds the cache: 128 distinct assertions (each
// a few tens of KB of tree) — the sessions active in the last few seconds
// to minutes; a miss costs only a full verification.
const verifiedCacheSize = 128

// maxCachedAssertion bounds what one entry may hold: an assertion whose
// size (assertionKey's estimate of its tree in memory) is larger is
// validated on every request and never kept, so 128 entries hold at most
// ≈ 8 MiB. eHDSI assertions are 5–10 KB of XML (≈ 15–30 KB of tree).
// Without this bound a partner could sign 128 assertions of up to the
// body limit (10 MiB) each and have the gateway keep their trees —
// gigabytes, outside the body memory budget (LUXNCP_MAX_BODY_MEMORY)
// that bounds what requests hold.
const maxCachedAssertion = 64 << 10

// nodeCost is the memory of one node of an etree tree (an element, an
// attribute, a text) beyond its strings: structs, slices, pointers.
const nodeCost = 96

type verifiedEntry struct {
	a   *etree.Element // the verified assertion goxmldsig returned
	der []byte         // the signing certificate, checked again on a hit
	gen uint64         // the trust list's generation at verification
	at  time.Time
}

func (c *verifiedCache) get(key [32]byte, gen uint64, now time.Time) (verifiedEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return verifiedEntry{}, false
	}
	e := el.Value.(*cachedAssertion).e
	if e.gen != gen || now.Sub(e.at) >= cacheTTL || e.at.Sub(now) >= cacheTTL {
		delete(c.entries, key)
		c.lru.Remove(el)
		return verifiedEntry{}, false
	}
	c.lru.MoveToBack(el)
	return e, true
}

func (c *verifiedCache) put(key [32]byte, e verifiedEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[32]byte]*list.Element, verifiedCacheSize)
	}
	if el, ok := c.entries[key]; ok {
		el.Value.(*cachedAssertion).e = e
		c.lru.MoveToBack(el)
		return
	}
	for c.lru.Len() >= verifiedCacheSize {
		old := c.lru.Front()
		delete(c.entries, old.Value.(*cachedAssertion).key)
		c.lru.Remove(old)
	}
	c.entries[key] = c.lru.PushBack(&cachedAssertion{key: key, e: e})
}

var keyBufs = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// assertionKey is the SHA-256 of an unambiguous encoding (a type byte per
// token, length-prefixed strings) of what validating el's signature
// depends on: the namespace declarations and xml:* attributes (what a
// canonicalisation can inherit) of every ancestor, nearest first, then el's whole subtree — elements with their prefixes, names
// and attributes in order, text (and whether it is CDATA), comments,
// processing instructions and directives. Two elements with the same key
// are the same input to the validation.
//
// size estimates what el's tree holds in memory (what verifySignature
// compares with maxCachedAssertion): the encoding's length plus
// nodeCost per node, since a tree of many small elements costs far
// more than its text.
func assertionKey(el *etree.Element) (key [32]byte, size int) {
	bp := keyBufs.Get().(*[]byte)
	b := (*bp)[:0]
	str := func(t byte, s string) {
		b = append(b, t)
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	for p := el.Parent(); p != nil; p = p.Parent() {
		for _, a := range p.Attr {
			if a.Space == "xmlns" || a.Space == "xml" || (a.Space == "" && a.Key == "xmlns") {
				str('N', a.Space)
				str('n', a.Key)
				str('v', a.Value)
			}
		}
		b = append(b, '|')
	}
	b = append(b, '#')
	var walk func(e *etree.Element)
	nodes := 0
	walk = func(e *etree.Element) {
		nodes += 1 + len(e.Attr) + len(e.Child)
		str('<', e.Space)
		str(':', e.Tag)
		for _, a := range e.Attr {
			str('@', a.Space)
			str(':', a.Key)
			str('=', a.Value)
		}
		for _, t := range e.Child {
			switch t := t.(type) {
			case *etree.Element:
				walk(t)
			case *etree.CharData:
				if t.IsCData() {
					str('C', t.Data)
				} else {
					str('T', t.Data)
				}
			case *etree.Comment:
				str('!', t.Data)
			case *etree.ProcInst:
				str('?', t.Target)
				str(' ', t.Inst)
			case *etree.Directive:
				str('D', t.Data)
			default:
				b = append(b, 0) // unknown token: never equal to a known one
			}
		}
		b = append(b, '>')
	}
	walk(el)
	sum, size := sha256.Sum256(b), len(b)+nodeCost*nodes
	if cap(b) <= 1<<20 {
		*bp = b
		keyBufs.Put(bp)
	}
	return sum, size
}
