package wssec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/pki"
)

// TestVerifiedCache: a second identical assertion is a cache hit (the
// XML-DSig validation is not run again: the same verified element comes
// back), while anything that differs is validated in full and refused
// when the signature no longer covers it; on a hit the assertion rules
// and the signer's trust at the current time still decide.
func TestVerifiedCache(t *testing.T) {
	// A trust list of our own (a copy), to withdraw FR's seal later.
	trustDir := t.TempDir()
	src := filepath.Join(testPKI(t), pki.TrustDir)
	files, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(trustDir, f.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	trust, err := pki.LoadTrustStore(trustDir)
	if err != nil {
		t.Fatal(err)
	}
	now := t0.Add(time.Minute)
	v := &Verifier{Trust: trust, Now: func() time.Time { return now }, Skew: time.Second}
	p := hcpParams()
	p.Valid = 3 * time.Minute
	a, err := IssueHCP(p, seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _, err := v.verifySignature(roundTrip(t, a))
	if err != nil {
		t.Fatal(err)
	}
	again, _, _, err := v.verifySignature(roundTrip(t, a))
	if err != nil || again != first {
		t.Fatalf("identical assertion: %v, cache hit %v", err, again == first)
	}
	if _, err := v.VerifyHCP(roundTrip(t, a)); err != nil {
		t.Fatal(err)
	}

	refused := func(name string, el *etree.Element, code ehdsi.Code) {
		t.Helper()
		_, err := v.VerifyHCP(el)
		var f *ehdsi.Fault
		if !errors.As(err, &f) || f.Code != code {
			t.Errorf("%s: err = %v, want %s", name, err, code)
		}
	}
	// Altered after signing, with the cached original's signature.
	alt := roundTrip(t, a)
	alt.FindElement(".//NameID").SetText("someone-else")
	refused("altered", alt, ehdsi.ErrSecDataIntegrityNotEnsured)
	wrapped := roundTrip(t, a)
	at := wrapped.FindElement("./AttributeStatement").CreateElement("saml:Attribute")
	at.CreateAttr("Name", AttrPermission)
	at.CreateElement("saml:AttributeValue").SetText(ehdsi.PermissionPrefix + "PRD-003")
	refused("wrapping", wrapped, ehdsi.ErrSecDataIntegrityNotEnsured)
	commented := roundTrip(t, a)
	commented.FindElement(".//NameID").CreateComment("x")
	if k1, k2 := key(roundTrip(t, a)), key(commented); k1 == k2 {
		t.Error("a comment added does not change the key")
	}

	// The same bytes under an ancestor binding a prefix differently: a
	// different key (validated in full; still valid here).
	b, _ := Serialize(a)
	doc := etree.NewDocument()
	if err := doc.ReadFromString(`<w:Security xmlns:w="` + NSWSSE + `" xmlns:saml="urn:other" xml:lang="fr">` + string(b) + `</w:Security>`); err != nil {
		t.Fatal(err)
	}
	if key(doc.Root().ChildElements()[0]) == key(roundTrip(t, a)) {
		t.Error("the ancestors' namespace declarations are not in the key")
	}
	cdata, text := etree.NewElement("x"), etree.NewElement("x")
	cdata.CreateCData("a")
	text.CreateText("a")
	if key(cdata) == key(text) {
		t.Error("CDATA and text share a key")
	}

	// A hit still applies the validity window: expired 3 minutes after
	// issue, 2 minutes after it was cached.
	now = t0.Add(3*time.Minute + 2*time.Second)
	if el, _, _, err := v.verifySignature(roundTrip(t, a)); err != nil || el != first {
		t.Fatalf("within the cache's TTL: %v, hit %v", err, el == first)
	}
	refused("expired on a hit", roundTrip(t, a), ehdsi.ErrNotValidAssertion)

	// The seal certificate expires between two requests (same trust
	// list, within the cache's TTL): the hit re-checks it and refuses.
	notAfter := seal(t, "fr").Cert.NotAfter
	pe := hcpParams()
	pe.IssueInstant = notAfter.Add(-2 * time.Minute)
	ae, err := IssueHCP(pe, seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	now = notAfter.Add(-time.Minute)
	if _, err := v.VerifyHCP(roundTrip(t, ae)); err != nil {
		t.Fatalf("a minute before the seal expires: %v", err)
	}
	now = notAfter.Add(time.Minute)
	refused("seal expired on a hit", roundTrip(t, ae), ehdsi.ErrSecDataIntegrityNotEnsured)

	// Withdrawn from the trust list: refused although cached.
	now = t0.Add(time.Minute)
	if err := os.Remove(filepath.Join(trustDir, "fr-seal.pem")); err != nil {
		t.Fatal(err)
	}
	if changed, err := trust.Reload(context.Background(), now); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	refused("seal withdrawn", roundTrip(t, a), ehdsi.ErrSecDataIntegrityNotEnsured)
}

func key(el *etree.Element) [32]byte {
	k, _ := assertionKey(el)
	return k
}

// TestVerifiedCacheBounds: an assertion larger than maxCachedAssertion is
// validated in full each time and never kept (128 of them, signed by one
// partner with up to 10 MiB each, would otherwise stay in memory), an
// ordinary one is kept; with NoAssertionCache nothing is kept and every
// request is validated in full.
func TestVerifiedCacheBounds(t *testing.T) {
	v := verifier(t, t0.Add(time.Minute))
	p := hcpParams()
	a, err := IssueHCP(p, seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	if _, size := assertionKey(roundTrip(t, a)); size > maxCachedAssertion/2 {
		t.Fatalf("an ordinary HCP assertion encodes to %d bytes: maxCachedAssertion %d leaves no room", size, maxCachedAssertion)
	}
	p.Organisation = strings.Repeat("Pharmacie du Centre ", maxCachedAssertion/20+1)
	big, err := IssueHCP(p, seal(t, "fr"))
	if err != nil {
		t.Fatal(err)
	}
	twice := func(v *Verifier, el *etree.Element) (hit bool) {
		t.Helper()
		first, _, _, err := v.verifySignature(roundTrip(t, el))
		if err != nil {
			t.Fatal(err)
		}
		again, _, _, err := v.verifySignature(roundTrip(t, el))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.VerifyHCP(roundTrip(t, el)); err != nil {
			t.Fatal(err)
		}
		return first == again
	}
	if !twice(v, a) {
		t.Error("an ordinary assertion is not cached")
	}
	// Many small nodes cost more memory than their text: 2,000 empty
	// elements, 12 KB of encoding, are ≈ 200 KB of tree.
	many := etree.NewElement("x")
	for range 2000 {
		many.CreateElement("a")
	}
	if _, size := assertionKey(many); size <= maxCachedAssertion {
		t.Errorf("2,000 elements estimated at %d bytes: within maxCachedAssertion", size)
	}
	if twice(v, big) {
		t.Error("an assertion larger than maxCachedAssertion is cached")
	}
	if n := len(v.verified.entries); n != 1 {
		t.Errorf("%d entries, want 1 (the ordinary assertion)", n)
	}

	off := verifier(t, t0.Add(time.Minute))
	off.NoAssertionCache = true
	if twice(off, a) {
		t.Error("NoAssertionCache: a cache hit")
	}
	if n := len(off.verified.entries); n != 0 {
		t.Errorf("NoAssertionCache: %d entries kept", n)
	}
}

// TestVerifiedCacheKeepsWhatIsUsed: the cache evicts the least recently
// used entry, so a session's HCP assertion used on every request stays
// while a stream of one-visit TRCs passes through; it never holds more
// than verifiedCacheSize entries.
func TestVerifiedCacheKeepsWhatIsUsed(t *testing.T) {
	var c verifiedCache
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	hcp := [32]byte{1}
	c.put(hcp, verifiedEntry{at: now})
	for i := 0; i < 4*verifiedCacheSize; i++ {
		trc := [32]byte{2, byte(i), byte(i >> 8)}
		c.put(trc, verifiedEntry{at: now})
		if _, ok := c.get(hcp, 0, now); !ok {
			t.Fatalf("the HCP assertion in use was evicted after %d other assertions", i+1)
		}
	}
	if len(c.entries) != verifiedCacheSize || c.lru.Len() != verifiedCacheSize {
		t.Errorf("%d entries, %d in the eviction list; want %d", len(c.entries), c.lru.Len(), verifiedCacheSize)
	}
	// Unused, it goes like any other.
	for i := 0; i < verifiedCacheSize; i++ {
		c.put([32]byte{3, byte(i)}, verifiedEntry{at: now})
	}
	if _, ok := c.get(hcp, 0, now); ok {
		t.Error("an unused entry survived a full turn of the cache")
	}
	// An expired entry leaves the eviction list too.
	c.put(hcp, verifiedEntry{at: now})
	if _, ok := c.get(hcp, 0, now.Add(cacheTTL)); ok || c.lru.Len() != len(c.entries) {
		t.Errorf("expired entry: hit %v, %d in the list, %d entries", ok, c.lru.Len(), len(c.entries))
	}
}
