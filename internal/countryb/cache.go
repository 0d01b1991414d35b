package countryb

import (
	"sync"
	"time"

	"github.com/beevik/etree"
)

// assertionCache keeps issued assertions for reuse within their validity,
// as an eHDSI portal keeps a professional's assertion for the session: an
// HCP assertion per professional (as stated), a TRC assertion per HCP
// assertion, patient and purpose. An entry is reused only during the
// first half of its validity, so a reused assertion always has at least
// half its window left. Bounded: when full, it is emptied.
type assertionCache struct {
	mu  sync.Mutex
	m   map[string]cachedAssertion
	max int
}

type cachedAssertion struct {
	el       *etree.Element
	reuseTil time.Time
}

func newAssertionCache(max int) *assertionCache {
	return &assertionCache{m: map[string]cachedAssertion{}, max: max}
}

func (c *assertionCache) get(key string, now time.Time) *etree.Element {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || !now.Before(e.reuseTil) {
		return nil
	}
	return e.el
}

func (c *assertionCache) put(key string, el *etree.Element, issued time.Time, valid time.Duration) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = cachedAssertion{el: el, reuseTil: issued.Add(valid / 2)}
}
