package awsfake

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
)

// KMS is a fake of the AWS KMS JSON 1.1 API holding RSA signing keys.
type KMS struct {
	*server
	region, account string

	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey // by key id
}

// NewKMS starts a fake KMS. Close it when done.
func NewKMS() *KMS {
	k := &KMS{region: "eu-west-1", account: "111122223333", keys: map[string]*rsa.PrivateKey{}}
	k.server = newServer("TrentService.", "application/x-amz-json-1.1", "", map[string]handlerFunc{
		"Sign":         k.sign,
		"GetPublicKey": k.getPublicKey,
		"Verify":       k.verify,
	})
	return k
}

// AddKey registers an RSA private key under id (a key id such as a UUID)
// and returns its ARN. Requests may name the key by id or ARN.
func (k *KMS) AddKey(id string, key *rsa.PrivateKey) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.keys[id] = key
	return k.arn(id)
}

func (k *KMS) arn(id string) string {
	return fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", k.region, k.account, id)
}

func (k *KMS) lookup(keyID string) (string, *rsa.PrivateKey, *apiError) {
	id := keyID
	if rest, ok := strings.CutPrefix(keyID, "arn:aws:kms:"); ok {
		_, after, found := strings.Cut(rest, ":key/")
		if !found {
			return "", nil, &apiError{status: 400, code: "NotFoundException", message: "unsupported key ARN " + keyID}
		}
		id = after
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	key, ok := k.keys[id]
	if !ok {
		return "", nil, &apiError{status: 400, code: "NotFoundException", message: "Key '" + k.arn(id) + "' does not exist"}
	}
	return id, key, nil
}

var kmsAlgorithms = map[string]crypto.Hash{
	"RSASSA_PKCS1_V1_5_SHA_256": crypto.SHA256,
	"RSASSA_PKCS1_V1_5_SHA_384": crypto.SHA384,
	"RSASSA_PKCS1_V1_5_SHA_512": crypto.SHA512,
	// AWS KMS's RSASSA-PSS uses a salt as long as the digest (KMS
	// developer guide, "Signing algorithms"); local-kms signs with the
	// longest salt instead, which TLS 1.3 peers refuse, so the PSS path of
	// internal/kmssigner is tested here.
	"RSASSA_PSS_SHA_256": crypto.SHA256,
	"RSASSA_PSS_SHA_384": crypto.SHA384,
	"RSASSA_PSS_SHA_512": crypto.SHA512,
}

// kmsPSS is AWS KMS's PSS salt: the digest's length.
var kmsPSS = &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

type kmsSignRequest struct {
	KeyID            string `json:"KeyId"`
	Message          []byte `json:"Message"`
	MessageType      string `json:"MessageType"`
	SigningAlgorithm string `json:"SigningAlgorithm"`
	Signature        []byte `json:"Signature"` // Verify only
}

func (k *KMS) digest(req *kmsSignRequest) (string, *rsa.PrivateKey, crypto.Hash, []byte, *apiError) {
	id, key, aerr := k.lookup(req.KeyID)
	if aerr != nil {
		return "", nil, 0, nil, aerr
	}
	h, ok := kmsAlgorithms[req.SigningAlgorithm]
	if !ok {
		return "", nil, 0, nil, &apiError{status: 400, code: "InvalidKeyUsageException", message: "unsupported signing algorithm " + req.SigningAlgorithm}
	}
	msg := req.Message
	switch req.MessageType {
	case "DIGEST":
		if len(msg) != h.Size() {
			return "", nil, 0, nil, errValidation("digest length %d does not match %s", len(msg), req.SigningAlgorithm)
		}
	case "RAW", "":
		if len(msg) > 4096 {
			return "", nil, 0, nil, errValidation("message longer than 4096 bytes")
		}
		hh := h.New()
		hh.Write(msg)
		msg = hh.Sum(nil)
	default:
		return "", nil, 0, nil, errValidation("unsupported MessageType %q", req.MessageType)
	}
	return id, key, h, msg, nil
}

func (k *KMS) sign(_ context.Context, body []byte) (any, *apiError) {
	var req kmsSignRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	id, key, h, digest, aerr := k.digest(&req)
	if aerr != nil {
		return nil, aerr
	}
	var sig []byte
	var err error
	if strings.HasPrefix(req.SigningAlgorithm, "RSASSA_PSS_") {
		sig, err = rsa.SignPSS(rand.Reader, key, h, digest, kmsPSS)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, h, digest)
	}
	if err != nil {
		return nil, &apiError{status: 500, code: KMSInternal, message: err.Error()}
	}
	return map[string]any{"KeyId": k.arn(id), "Signature": sig, "SigningAlgorithm": req.SigningAlgorithm}, nil
}

func (k *KMS) verify(_ context.Context, body []byte) (any, *apiError) {
	var req kmsSignRequest
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	id, key, h, digest, aerr := k.digest(&req)
	if aerr != nil {
		return nil, aerr
	}
	verify := func() error { return rsa.VerifyPKCS1v15(&key.PublicKey, h, digest, req.Signature) }
	if strings.HasPrefix(req.SigningAlgorithm, "RSASSA_PSS_") {
		verify = func() error { return rsa.VerifyPSS(&key.PublicKey, h, digest, req.Signature, kmsPSS) }
	}
	if err := verify(); err != nil {
		return nil, &apiError{status: 400, code: "KMSInvalidSignatureException", message: "signature is not valid"}
	}
	return map[string]any{"KeyId": k.arn(id), "SignatureValid": true, "SigningAlgorithm": req.SigningAlgorithm}, nil
}

func (k *KMS) getPublicKey(_ context.Context, body []byte) (any, *apiError) {
	var req struct {
		KeyID string `json:"KeyId"`
	}
	if aerr := decode(body, &req); aerr != nil {
		return nil, aerr
	}
	id, key, aerr := k.lookup(req.KeyID)
	if aerr != nil {
		return nil, aerr
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, &apiError{status: 500, code: KMSInternal, message: err.Error()}
	}
	spec := fmt.Sprintf("RSA_%d", key.N.BitLen())
	return map[string]any{
		"KeyId":                 k.arn(id),
		"PublicKey":             der,
		"KeySpec":               spec,
		"CustomerMasterKeySpec": spec,
		"KeyUsage":              "SIGN_VERIFY",
		"SigningAlgorithms": []string{"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512",
			"RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512"},
	}, nil
}
