package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/beevik/etree"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/lambdabench"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/testkit"
)

// TestBootstrapUnderRuntimeAPI builds this function's bootstrap as it is
// deployed (-tags lambda.norpc) and serves one XCPD request through a fake
// Lambda Runtime API, as API Gateway (payload 2.0, mutual TLS) delivers it.
func TestBootstrapUnderRuntimeAPI(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	dir := t.TempDir()
	bootstrap := filepath.Join(dir, "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", bootstrap, ".")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	b, err := demo.New("")
	if err != nil {
		t.Fatal(err)
	}
	fhir := httptest.NewServer(b)
	defer fhir.Close()

	id := testkit.Identity(t, "be", nil)
	hcp, err := id.HCP(ncpclient.DemoProfessional("BE", "physician"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var c ncpclient.Client
	ctype, body, err := c.Marshal(ncpclient.Request{URL: "https://ncp.example.lu" + ehdsi.PathXCPD, Action: ehdsi.ActionXCPD,
		Body: ncpclient.XCPDBody(ncpclient.XCPDQuery{SenderHCID: "1.3.6.1.4.1.48336", ReceiverHCID: ehdsi.HomeCommunityLU,
			PatientID: "1983030506626", PatientRoot: ehdsi.OIDMatricule}), Assertions: []*etree.Element{hcp}})
	if err != nil {
		t.Fatal(err)
	}
	tlsCert := testkit.Credential(t, "be", pki.KindTLS).Cert
	ev := events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST " + ehdsi.PathXCPD, RawPath: ehdsi.PathXCPD,
		Headers: map[string]string{"content-type": ctype}, Body: base64.StdEncoding.EncodeToString(body), IsBase64Encoded: true,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			DomainName: "ncp.example.lu", HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: ehdsi.PathXCPD, SourceIP: "192.0.2.10"},
			Authentication: events.APIGatewayV2HTTPRequestContextAuthentication{ClientCert: events.APIGatewayV2HTTPRequestContextAuthenticationClientCert{
				ClientCertPem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsCert.Raw})),
			}},
		},
	}
	payload, _ := json.Marshal(ev)
	// The audit sink Terraform gives every gateway function (an S3 bucket
	// with Object Lock; here gofakes3): on Lambda there is no local one.
	s3srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(s3srv.Close)
	s3c := s3.New(s3.Options{BaseEndpoint: aws.String(s3srv.URL), UsePathStyle: true, Region: "eu-west-1",
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")})
	if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String("audit")}); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=eu-west-1", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_S3=" + s3srv.URL, "LUXNCP_AUDIT_BUCKET=audit", "LUXNCP_FUNCTION=xcpd",
		"LUXNCP_STATE_DIR=" + filepath.Join(dir, "state"),
		"LUXNCP_TRUST_BUNDLE=" + filepath.Join(testkit.PKIDir(t), pki.TrustDir),
		"LUXNCP_NATIONAL_URL=" + fhir.URL + "/fhir",
		"LUXNCP_LOG_LEVEL=warn",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := lambdabench.Measure(ctx, bootstrap, env, payload)
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Error != nil {
		t.Fatalf("function error: %v", res.Response.Error)
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(res.Response.Payload, &out); err != nil {
		t.Fatal(err)
	}
	respBody := out.Body
	if out.IsBase64Encoded {
		b, _ := base64.StdEncoding.DecodeString(out.Body)
		respBody = string(b)
	}
	if out.StatusCode != 200 || !strings.Contains(respBody, `queryResponseCode code="OK"`) {
		t.Fatalf("status %d body %.600s", out.StatusCode, respBody)
	}
	// The transaction's audit record is in the bucket, not in /tmp.
	objs, err := s3c.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("audit")})
	if err != nil || len(objs.Contents) == 0 {
		t.Fatalf("no audit record in the bucket: %v", err)
	}
	t.Logf("cold start to first response %v, peak RSS %.1f MB", res.FirstInvoke, float64(res.PeakRSSBytes)/1e6)
}
