package idtoken

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/luxncp/luxncp/internal/clock"
)

// DevAudience is the audience of dev tokens and luxncp's default.
const DevAudience = "luxncp"

// Files of the development issuer under its directory (<state>/idp).
const (
	DevKeyFile    = "signing.key" // ES256 private key, PKCS#8 PEM, 0600, generated
	DevIssuerFile = "issuer"      // the issuer URL `luxncp serve` publishes it at
)

// DevIssuer is a development OpenID provider: an ES256 key generated on
// first use, its discovery document and JWKS, and Mint for demo tokens. It
// has no login: it is for `make run`, the README walk-throughs and tests,
// never for production.
type DevIssuer struct {
	URL string // the issuer identifier (iss), e.g. http://127.0.0.1:8081/idp
	key *ecdsa.PrivateKey
	kid string
	Now func() time.Time
}

// NewDevIssuer returns an issuer with a fresh in-memory key (tests).
func NewDevIssuer(url string) (*DevIssuer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return newDev(url, k)
}

// OpenDevIssuer loads the key under dir (DevKeyFile), generating it on
// first use. The key never leaves dir.
func OpenDevIssuer(dir, url string) (*DevIssuer, error) {
	path := filepath.Join(dir, DevKeyFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		k, gerr := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if gerr != nil {
			return nil, gerr
		}
		der, merr := x509.MarshalPKCS8PrivateKey(k)
		if merr != nil {
			return nil, merr
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("dev identity provider: %w", err)
		}
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			return nil, fmt.Errorf("dev identity provider: %w", err)
		}
		return newDev(url, k)
	}
	if err != nil {
		return nil, fmt.Errorf("dev identity provider: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("dev identity provider: %s: no PEM key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("dev identity provider: %s: %w", path, err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("dev identity provider: %s: not an ECDSA key", path)
	}
	return newDev(url, ek)
}

func newDev(url string, k *ecdsa.PrivateKey) (*DevIssuer, error) {
	jwk := jose.JSONWebKey{Key: k.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &DevIssuer{URL: strings.TrimSuffix(url, "/"), key: k, kid: base64.RawURLEncoding.EncodeToString(tp)[:16]}, nil
}

// KeySet is the issuer's public JWKS.
func (d *DevIssuer) KeySet() jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: d.key.Public(), KeyID: d.kid, Algorithm: string(jose.ES256), Use: "sig"}}}
}

// KeyID is the signing key's id.
func (d *DevIssuer) KeyID() string { return d.kid }

// Signer is the issuer's private key (tests forge with other keys).
func (d *DevIssuer) Signer() crypto.Signer { return d.key }

// Handler serves the discovery document and the JWKS at
// <path of URL>/.well-known/openid-configuration and …/jwks.json.
func (d *DevIssuer) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v any
		switch {
		case strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration"):
			v = map[string]any{"issuer": d.URL, "jwks_uri": d.URL + "/jwks.json",
				"id_token_signing_alg_values_supported": []string{"ES256"}, "subject_types_supported": []string{"public"},
				"response_types_supported": []string{"id_token"}, "claims_supported": []string{"sub", "name", "acr", "amr", "hcp_id", "hcp_role",
					"organisation", "organisation_id", "facility_type", "locality", "matricule", "roles"},
				"acr_values_supported": []string{ACRLow, ACRSubstantial, ACRHigh}}
		case strings.HasSuffix(r.URL.Path, "/jwks.json"):
			v = d.KeySet()
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=300")
		_ = json.NewEncoder(w).Encode(v)
	})
}

// Mint signs a token with c's claims, completed: iss (the issuer), aud
// (DevAudience when empty), iat and nbf now, exp now+valid, a fresh jti.
func (d *DevIssuer) Mint(c Claims, valid time.Duration) (string, error) {
	now := clock.Or(d.Now)()
	if c.Issuer == "" {
		c.Issuer = d.URL
	}
	if len(c.Audience) == 0 {
		c.Audience = jwt.Audience{DevAudience}
	}
	if c.IssuedAt == nil {
		c.IssuedAt = jwt.NewNumericDate(now)
	}
	if c.NotBefore == nil {
		c.NotBefore = jwt.NewNumericDate(now)
	}
	if c.Expiry == nil {
		c.Expiry = jwt.NewNumericDate(now.Add(valid))
	}
	if c.AuthTime == nil {
		c.AuthTime = jwt.NewNumericDate(now)
	}
	if c.ID == "" {
		var b [16]byte
		_, _ = rand.Read(b[:])
		c.ID = hex.EncodeToString(b[:])
	}
	return Sign(c, jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: d.key, KeyID: d.kid}})
}

// Sign serialises c as a compact JWS with key (tests use it to forge).
func Sign(c Claims, key jose.SigningKey) (string, error) {
	s, err := jose.NewSigner(key, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", err
	}
	return jwt.Signed(s).Claims(c).Serialize()
}
