package kmssigner_test

import (
	"context"
	"crypto/x509/pkix"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/luxncp/luxncp/internal/kmssigner"
)

// The seal key in production: a KMS signer for goxmldsig, and the CSR for
// `luxncp pki csr --kms-key ARN`.
func Example() {
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		panic(err)
	}
	signer, err := kmssigner.New(ctx, kms.NewFromConfig(cfg), "arn:aws:kms:eu-central-1:111122223333:key/example", kmssigner.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	csr, err := kmssigner.CreateCSR(nil, signer, pkix.Name{Country: []string{"LU"}, CommonName: "NCPeH-LU seal"}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s", csr)
	var sealCertDER []byte // the certificate the eHDSI PKI issued for csr
	sc, err := dsig.NewSigningContext(signer, [][]byte{sealCertDER})
	if err != nil {
		panic(err)
	}
	sc.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
}
