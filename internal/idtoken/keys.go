package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/luxncp/luxncp/internal/clock"
)

// StaticKeys is a fixed key set (tests, a key set pinned in configuration).
type StaticKeys struct{ Set jose.JSONWebKeySet }

// Keys implements KeySource.
func (s StaticKeys) Keys(_ context.Context, kid string) ([]jose.JSONWebKey, error) {
	return s.Set.Key(kid), nil
}

// RemoteKeys reads the issuer's keys from its OpenID Connect discovery
// document (<issuer>/.well-known/openid-configuration, jwks_uri) and keeps
// them at most MaxAge; a key id it does not know makes it read them again
// (key rotation), at most once per MinRefresh.
type RemoteKeys struct {
	Issuer string
	// JWKSURL skips discovery when set.
	JWKSURL string
	Client  *http.Client
	// MaxAge: how long a key set is used before it is read again (default
	// 10 min): a key the issuer withdraws stops working within MaxAge.
	MaxAge time.Duration
	// MinRefresh: unknown key ids trigger at most one read per MinRefresh
	// (default 30 s), so forged kids cannot hammer the issuer.
	MinRefresh time.Duration
	Now        func() time.Time

	mu      sync.Mutex
	jwksURL string
	set     *jose.JSONWebKeySet
	fetched time.Time
	tried   time.Time
}

// maxDocBytes bounds the discovery document and the key set.
const maxDocBytes = 1 << 20

// Keys implements KeySource.
func (r *RemoteKeys) Keys(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	now := clock.Or(r.Now)()
	maxAge, minRefresh := r.MaxAge, r.MinRefresh
	if maxAge == 0 {
		maxAge = 10 * time.Minute
	}
	if minRefresh == 0 {
		minRefresh = 30 * time.Second
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	fresh := r.set != nil && now.Sub(r.fetched) < maxAge && !now.Before(r.fetched)
	if fresh {
		if ks := r.set.Key(kid); len(ks) > 0 {
			return ks, nil
		}
		if !r.tried.IsZero() && now.Sub(r.tried) < minRefresh && !now.Before(r.tried) {
			return nil, nil // unknown key, asked recently
		}
		r.tried = now
	}
	set, err := r.fetch(ctx)
	if err != nil {
		if fresh {
			return r.set.Key(kid), nil
		}
		return nil, err
	}
	r.set, r.fetched = set, now
	return set.Key(kid), nil
}

func (r *RemoteKeys) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return &http.Client{Timeout: 5 * time.Second}
}

func (r *RemoteKeys) fetch(ctx context.Context) (*jose.JSONWebKeySet, error) {
	if r.jwksURL == "" {
		r.jwksURL = r.JWKSURL
	}
	if r.jwksURL == "" {
		var doc struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := r.getJSON(ctx, strings.TrimSuffix(r.Issuer, "/")+"/.well-known/openid-configuration", &doc); err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		if doc.Issuer != r.Issuer {
			return nil, fmt.Errorf("discovery: issuer %q, want %q", doc.Issuer, r.Issuer)
		}
		if doc.JWKSURI == "" {
			return nil, errors.New("discovery: no jwks_uri")
		}
		r.jwksURL = doc.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := r.getJSON(ctx, r.jwksURL, &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	return &set, nil
}

func (r *RemoteKeys) getJSON(ctx context.Context, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := r.client().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: HTTP %d", url, res.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, maxDocBytes+1))
	if err != nil {
		return err
	}
	if len(b) > maxDocBytes {
		return fmt.Errorf("%s: larger than %d bytes", url, maxDocBytes)
	}
	return json.Unmarshal(b, v)
}
