package awsemu

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// PSSKMS is a narrow stand-in for KMS's RSASSA-PSS signing, the one KMS
// behaviour local-kms gets wrong: it signs PSS with the largest salt
// (src/cmk/rsa_key.go: rsa.SignPSS(..., nil)), while AWS KMS uses a salt
// as long as the digest, which is what TLS 1.3 (RFC 8446 §4.2.3) and Go's
// crypto/tls verify. It holds one RSA 2048 key and answers GetPublicKey
// and Sign only, with KMS's limits: a DIGEST message of exactly the
// algorithm's digest length, at most 4096 bytes, a known algorithm.
// Everything else about KMS is tested against local-kms.
type PSSKMS struct {
	URL string
	ARN string
	key *rsa.PrivateKey
}

// NewPSSKMS serves a PSSKMS for t.
func NewPSSKMS(t testing.TB) *PSSKMS {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k := &PSSKMS{ARN: "arn:aws:kms:" + Region + ":" + Account + ":key/00000000-0000-4000-8000-00000000f55c", key: key}
	srv := httptest.NewServer(http.HandlerFunc(k.serve))
	t.Cleanup(srv.Close)
	k.URL = srv.URL
	return k
}

// Public is the key's public half.
func (k *PSSKMS) Public() *rsa.PublicKey { return &k.key.PublicKey }

// signingAlgorithm is the digest and padding of a KMS RSA algorithm.
func signingAlgorithm(name string) (h crypto.Hash, pss, ok bool) {
	for _, a := range []struct {
		name string
		h    crypto.Hash
	}{{"SHA_256", crypto.SHA256}, {"SHA_384", crypto.SHA384}, {"SHA_512", crypto.SHA512}} {
		switch name {
		case "RSASSA_PSS_" + a.name:
			return a.h, true, true
		case "RSASSA_PKCS1_V1_5_" + a.name:
			return a.h, false, true
		}
	}
	return 0, false, false
}

func (k *PSSKMS) serve(w http.ResponseWriter, r *http.Request) {
	var in struct {
		KeyID            string `json:"KeyId"`
		Message          []byte
		MessageType      string
		SigningAlgorithm string
	}
	fail := func(code, format string, args ...any) {
		writeFailure(w, "TrentService", &Failure{Code: code, Message: fmt.Sprintf(format, args...)})
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	if err != nil {
		fail("ValidationException", "malformed request: %v", err)
		return
	}
	if in.KeyID != k.ARN && !strings.HasSuffix(k.ARN, ":key/"+in.KeyID) {
		fail("NotFoundException", "key %q does not exist", in.KeyID)
		return
	}
	var out any
	switch op, _ := strings.CutPrefix(r.Header.Get("X-Amz-Target"), "TrentService."); op {
	case "GetPublicKey":
		der, _ := x509.MarshalPKIXPublicKey(&k.key.PublicKey)
		out = map[string]any{"KeyId": k.ARN, "PublicKey": der, "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY",
			"SigningAlgorithms": []string{"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512"}}
	case "Sign":
		hash, pss, ok := signingAlgorithm(in.SigningAlgorithm)
		switch {
		case !ok:
			fail("ValidationException", "unknown signing algorithm %q", in.SigningAlgorithm)
			return
		case len(in.Message) < 1 || len(in.Message) > 4096:
			fail("ValidationException", "Message must have length between 1 and 4096")
			return
		case in.MessageType != "DIGEST":
			fail("ValidationException", "this stand-in signs digests only")
			return
		case len(in.Message) != hash.Size():
			fail("ValidationException", "Digest is invalid length for algorithm %s.", in.SigningAlgorithm)
			return
		}
		var sig []byte
		if pss {
			sig, err = rsa.SignPSS(rand.Reader, k.key, hash, in.Message, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		} else {
			sig, err = rsa.SignPKCS1v15(rand.Reader, k.key, hash, in.Message)
		}
		if err != nil {
			fail("KMSInternalException", "%v", err)
			return
		}
		out = map[string]any{"KeyId": k.ARN, "Signature": sig, "SigningAlgorithm": in.SigningAlgorithm}
	default:
		fail("UnsupportedOperationException", "the PSS stand-in answers GetPublicKey and Sign only")
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}
