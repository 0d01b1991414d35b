package awsfake_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/luxncp/luxncp/internal/awsfake"
)

func newKMS(t *testing.T) (*awsfake.KMS, *kms.Client, *rsa.PrivateKey, string) {
	t.Helper()
	f := awsfake.NewKMS()
	t.Cleanup(f.Close)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	arn := f.AddKey("0b5c3a52-seal", key)
	return f, kms.NewFromConfig(f.AWSConfig()), key, arn
}

func TestKMSSignAndPublicKey(t *testing.T) {
	f, c, key, arn := newKMS(t)
	ctx := context.Background()
	digest := sha256.Sum256([]byte("eHDSI assertion"))
	for _, keyID := range []string{arn, "0b5c3a52-seal"} {
		out, err := c.Sign(ctx, &kms.SignInput{
			KeyId: aws.String(keyID), Message: digest[:],
			MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
		})
		if err != nil {
			t.Fatalf("Sign(%s): %v", keyID, err)
		}
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest[:], out.Signature); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		if aws.ToString(out.KeyId) != arn {
			t.Errorf("KeyId = %s, want %s", aws.ToString(out.KeyId), arn)
		}
	}
	pk, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.ParsePKIXPublicKey(pk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	if !key.PublicKey.Equal(pub) || pk.KeySpec != types.KeySpecRsa2048 || pk.KeyUsage != types.KeyUsageTypeSignVerify {
		t.Errorf("GetPublicKey = %v %v %v", pub, pk.KeySpec, pk.KeyUsage)
	}
	if got := f.Calls("Sign"); got != 2 {
		t.Errorf("Calls(Sign) = %d, want 2", got)
	}
}

func TestKMSErrors(t *testing.T) {
	digest := sha256.Sum256([]byte("x"))
	tests := []struct {
		name      string
		keyID     string
		digest    []byte
		fail      *awsfake.Failure
		wantCode  string
		wantCalls int
	}{
		{name: "unknown key", keyID: "missing", digest: digest[:], wantCode: "NotFoundException", wantCalls: 1},
		{name: "short digest", digest: digest[:10], wantCode: "ValidationException", wantCalls: 1},
		{name: "disabled key", digest: digest[:], fail: &awsfake.Failure{Code: awsfake.KMSDisabled}, wantCode: "DisabledException", wantCalls: 1},
		{name: "throttled: retried, bounded", digest: digest[:], fail: &awsfake.Failure{Code: awsfake.Throttling}, wantCode: "ThrottlingException", wantCalls: 3},
		{name: "internal: retried, bounded", digest: digest[:], fail: &awsfake.Failure{Code: awsfake.KMSInternal}, wantCode: "KMSInternalException", wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, _, arn := newKMS(t)
			if tt.keyID == "" {
				tt.keyID = arn
			}
			if tt.fail != nil {
				f.FailAlways("Sign", *tt.fail)
			}
			_, err := c.Sign(context.Background(), &kms.SignInput{
				KeyId: aws.String(tt.keyID), Message: tt.digest,
				MessageType: types.MessageTypeDigest, SigningAlgorithm: types.SigningAlgorithmSpecRsassaPkcs1V15Sha256,
			})
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
				t.Fatalf("err = %v, want code %s", err, tt.wantCode)
			}
			if got := f.Calls("Sign"); got != tt.wantCalls {
				t.Errorf("Calls(Sign) = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}

func TestKMSThrottledThenHealed(t *testing.T) {
	f, c, _, arn := newKMS(t)
	f.FailNext("GetPublicKey", 2, awsfake.Failure{Code: awsfake.Throttling})
	if _, err := c.GetPublicKey(context.Background(), &kms.GetPublicKeyInput{KeyId: aws.String(arn)}); err != nil {
		t.Fatalf("after two throttles the third attempt should succeed: %v", err)
	}
	if got := f.Calls("GetPublicKey"); got != 3 {
		t.Errorf("Calls = %d, want 3", got)
	}
}

func TestKMSTimeout(t *testing.T) {
	f, c, _, arn := newKMS(t)
	f.FailAlways("GetPublicKey", awsfake.Failure{Delay: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: aws.String(arn)})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestKMSUnknownOperation(t *testing.T) {
	_, c, _, arn := newKMS(t)
	_, err := c.Encrypt(context.Background(), &kms.EncryptInput{KeyId: aws.String(arn), Plaintext: []byte("x")})
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "UnknownOperationException" {
		t.Fatalf("err = %v, want UnknownOperationException", err)
	}
}
