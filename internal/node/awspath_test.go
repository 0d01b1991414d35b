package node_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"

	"github.com/luxncp/luxncp/internal/awsconfig"
	"github.com/luxncp/luxncp/internal/awsemu"
	"github.com/luxncp/luxncp/internal/clock"
	"github.com/luxncp/luxncp/internal/ehdsi"
	"github.com/luxncp/luxncp/internal/host"
	"github.com/luxncp/luxncp/internal/kmssigner"
	"github.com/luxncp/luxncp/internal/national/demo"
	"github.com/luxncp/luxncp/internal/ncpclient"
	"github.com/luxncp/luxncp/internal/node"
	"github.com/luxncp/luxncp/internal/outbox"
	"github.com/luxncp/luxncp/internal/pki"
	"github.com/luxncp/luxncp/internal/routing"
	"github.com/luxncp/luxncp/internal/testkit"
)

// awsDeployment is what terraform/ would have created, on the emulators.
type awsDeployment struct {
	names map[string]string // resource attribute -> value, as main.tf references them
	vars  map[string]cty.Value
}

// terraformEnvironment evaluates the environment terraform/main.tf gives
// function fn (module "function", attribute environment, with each.key =
// fn and each.value = local.functions[fn]) against dep, dropping empty
// values as modules/function does. A variable main.tf adds that this test
// does not provide fails the evaluation: the two cannot drift.
func terraformEnvironment(t *testing.T, fn string, dep awsDeployment) map[string]string {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(filepath.Join("..", "..", "terraform", "main.tf"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	body := f.Body.(*hclsyntax.Body)
	var env, functions hclsyntax.Expression
	for _, b := range body.Blocks {
		if b.Type == "module" && len(b.Labels) == 1 && b.Labels[0] == "function" {
			env = b.Body.Attributes["environment"].Expr
		}
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes["functions"]; ok {
				functions = a.Expr
			}
		}
	}
	if env == nil || functions == nil {
		t.Fatal("terraform/main.tf: module \"function\" environment or local.functions not found")
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(map[string]cty.Value{"ihe_base": cty.StringVal(ehdsi.PathXCPD[:strings.LastIndex(ehdsi.PathXCPD, "/")])})},
		Functions: map[string]function.Function{"jsonencode": stdlib.JSONEncodeFunc, "tostring": function.New(&function.Spec{
			Params: []function.Parameter{{Name: "v", Type: cty.DynamicPseudoType}}, Type: function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				v := args[0]
				if v.Type() == cty.Number {
					return cty.StringVal(v.AsBigFloat().Text('f', -1)), nil
				}
				return v, nil
			}})}}
	all, diags := functions.Value(ctx)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	each := cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(fn), "value": all.GetAttr(fn)})
	obj := func(m map[string]string) cty.Value {
		o := map[string]cty.Value{}
		for k, v := range m {
			o[k] = cty.StringVal(v)
		}
		return cty.ObjectVal(o)
	}
	n := dep.names
	ctx.Variables = map[string]cty.Value{
		"each": each,
		"var":  cty.ObjectVal(dep.vars),
		"module": cty.ObjectVal(map[string]cty.Value{
			"audit_bucket":  obj(map[string]string{"bucket_name": n["audit_bucket"]}),
			"config_bucket": obj(map[string]string{"bucket_name": n["config_bucket"]}),
			"keys":          obj(map[string]string{"seal_key_arn": n["seal_key_arn"], "tls_client_key_arn": n["tls_client_key_arn"]}),
			"outbox": obj(map[string]string{"outbox_table_name": n["outbox_table_name"], "queue_url": n["queue_url"],
				"idempotency_table_name": n["idempotency_table_name"]}),
		}),
	}
	v, diags := env.Value(ctx)
	if diags.HasErrors() {
		t.Fatalf("terraform/main.tf function environment: %v (give the new variable a value in this test)", diags)
	}
	out := map[string]string{}
	for k, val := range v.AsValueMap() {
		if s := val.AsString(); s != "" {
			out[k] = s
		}
	}
	return out
}

// withEnv runs f with exactly the process environment a Lambda function
// of that name gets: env, the emulators' endpoints, and a /tmp of its own.
func withEnv(t *testing.T, fn string, env, emu map[string]string, f func()) {
	t.Helper()
	saved := os.Environ()
	defer func() {
		os.Clearenv()
		for _, kv := range saved {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
	}()
	for _, kv := range saved {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LUXNCP_") && k != "LUXNCP_CLOCK_OFFSET" {
			os.Unsetenv(k)
		}
	}
	tmp := t.TempDir()
	set := map[string]string{"AWS_LAMBDA_FUNCTION_NAME": "luxncp-" + fn, "TMPDIR": tmp, "LUXNCP_LOG_LEVEL": "error"}
	for k, v := range emu {
		set[k] = v
	}
	for k, v := range env {
		set[k] = v
	}
	for k, v := range set {
		os.Setenv(k, v)
	}
	f()
}

// TestAllFunctionsOnTheEmulators deploys every function as terraform/
// configures it, on independent AWS emulators, and drives the README's
// journeys through the Lambda handlers behind a local API Gateway front
// (mutual TLS, payload 2.0): XCPD, XCA list + retrieve, an XDR
// eDispensation delivered by the dispatcher from SQS, and the patient's
// access log read back from the S3 audit sink.
func TestAllFunctionsOnTheEmulators(t *testing.T) {
	emu := awsemu.Start(t)
	ctx := context.Background()
	var cl node.AWSClients
	withEnv(t, "setup", nil, emu.Env(), func() {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cl = node.NewAWSClients(cfg)
	})

	// What terraform/ creates.
	for _, b := range []string{"luxncp-audit", "luxncp-config"} {
		if _, err := cl.S3.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	for table, key := range map[string]string{"luxncp-outbox": "id", "luxncp-idempotency": "key"} {
		if _, err := cl.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String(table), BillingMode: ddbtypes.BillingModePayPerRequest,
			AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(key), AttributeType: ddbtypes.ScalarAttributeTypeS}},
			KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(key), KeyType: ddbtypes.KeyTypeHash}}}); err != nil {
			t.Fatal(err)
		}
	}
	q, err := cl.SQS.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("luxncp-outbox")})
	if err != nil {
		t.Fatal(err)
	}
	key, err := cl.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	tlsKey, err := cl.KMS.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecEccNistP256, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	// What the operator uploads (docs/deploy.md): the trust list and the
	// seal and TLS client certificates of the KMS keys.
	put := func(k string, b []byte) {
		if _, err := cl.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("luxncp-config"), Key: aws.String(k), Body: bytes.NewReader(b)}); err != nil {
			t.Fatal(err)
		}
	}
	put(awsconfig.KeyTrustBundle, pki.FormatTrustList(testkit.Trust(t).Entries()))
	put(awsconfig.KeySeal, sealCertificate(t, cl, aws.ToString(key.KeyMetadata.Arn)))
	put(awsconfig.KeyTLSClient, sealCertificate(t, cl, aws.ToString(tlsKey.KeyMetadata.Arn)))
	noCountries, err := routing.NewStatic()
	if err != nil {
		t.Fatal(err)
	}
	dirJSON, err := noCountries.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	put(awsconfig.KeyDirectory, dirJSON)

	b, err := demo.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fhir := testServer(t, b)
	idp, idpURL := startIDP(t)
	luCN := testkit.Credential(t, "lu", pki.KindTLS).Cert.Subject.CommonName
	dep := awsDeployment{
		names: map[string]string{"audit_bucket": "luxncp-audit", "config_bucket": "luxncp-config", "seal_key_arn": aws.ToString(key.KeyMetadata.Arn),
			"outbox_table_name": "luxncp-outbox", "queue_url": aws.ToString(q.QueueUrl), "idempotency_table_name": "luxncp-idempotency",
			"tls_client_key_arn": aws.ToString(tlsKey.KeyMetadata.Arn)},
		vars: map[string]cty.Value{
			"audit_retention_days": cty.NumberIntVal(2555), "national_fhir_base_url": cty.StringVal(fhir + "/fhir"),
			"certificate_expiry_warning_days": cty.NumberIntVal(30), "identity_issuer_url": cty.StringVal(idpURL),
			"identity_audience": cty.StringVal("luxncp"), "outbox_horizon_days": cty.NumberIntVal(30),
			"api_callers": cty.MapVal(map[string]cty.Value{luCN: cty.ListVal([]cty.Value{cty.StringVal("*")})}),
		},
	}
	_ = idp

	// Every HTTP function, built by its own composition root.
	fns := map[string]host.LambdaFunc{}
	for _, fn := range []string{"xcpd", "xca", "xdr", "api"} {
		env := terraformEnvironment(t, fn, dep)
		withEnv(t, fn, env, emu.Env(), func() {
			h, n, err := node.LambdaFromEnvironment(ctx, fn)
			if err != nil {
				t.Fatalf("%s: %v", fn, err)
			}
			t.Cleanup(func() { n.Close() })
			if fn == "api" && n.CountryB == nil {
				t.Fatal("api: Country B is off (TLS client key in KMS not wired)")
			}
			fns[fn] = h
		})
	}
	front := testkit.Server(t, host.Front("ncp.example.lu", func(r *http.Request) host.LambdaFunc {
		switch p := r.URL.Path; {
		case strings.HasPrefix(p, ehdsi.PathXCPD):
			return fns["xcpd"]
		case strings.HasPrefix(p, ehdsi.PathXCA):
			return fns["xca"]
		case strings.HasPrefix(p, ehdsi.PathXDR):
			return fns["xdr"]
		case strings.HasPrefix(p, "/api/v1/"), p == "/healthz":
			return fns["api"]
		}
		return nil
	}))
	g := &gateway{url: front.URL, idp: idp}

	// Country B answers on the api function (not the catch-all 404).
	req, _ := http.NewRequest(http.MethodGet, g.url+"/api/v1/countries", nil)
	req.Header.Set("Authorization", "Bearer "+g.token(t, "professional", "lu-hcp-2001"))
	res, err := testkit.Client(t, "lu").HTTP.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/countries: HTTP %d, want 200 (Country B on)", res.StatusCode)
	}

	// XCPD, XCA list + retrieve.
	ph := newPharmacist(t, "fr", "pharmacist")
	const patient = "1971011007114"
	trc, docs := identifyAndListEP(t, g, ph, patient)
	d := docs[0]
	rep := ph.call(g.url+ehdsi.PathXCA, ehdsi.ActionXCARetrieve, ncpclient.XCARetrieveBody(
		ncpclient.DocRef{HomeCommunityID: d.HomeCommunityID, RepositoryUniqueID: d.RepositoryUniqueID, DocumentUniqueID: d.UniqueID}), true, ph.hcp, trc)
	st, got, errs, err := ncpclient.ParseRetrieveResponse(rep.Env, rep.Env.Body)
	if err != nil || !ncpclient.IsSuccess(st) || len(got) != 1 || !bytes.Contains(got[0].Data, []byte("ClinicalDocument")) {
		t.Fatalf("retrieve: %s %d %+v %v", st, len(got), errs, err)
	}

	// XDR: accepted into the DynamoDB outbox, queued on SQS.
	ed := dispensation{id: "aws-1", patient: patient, presc: "ep-0003", item: "rx-0003", atc: "A02BC01", quantity: 1}
	if ok, e := xdrSend(t, g, ph, ed, patient, false); !ok {
		t.Fatalf("XDR refused: %+v", e)
	}
	// The dispatcher function, as SQS triggers it.
	withEnv(t, "dispatcher", terraformEnvironment(t, "dispatcher", dep), emu.Env(), func() {
		disp, _, err := node.DispatcherFromEnvironment(ctx)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := cl.SQS.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
		if err != nil || len(msgs.Messages) != 1 {
			t.Fatalf("queue: %d messages, %v", len(msgs.Messages), err)
		}
		state, err := disp.Deliver(ctx, aws.ToString(msgs.Messages[0].Body))
		if err != nil || state != outbox.StateDelivered {
			t.Fatalf("delivery: %s %v", state, err)
		}
	})

	// The patient reads who saw their record: from the S3 audit sink.
	tok := g.token(t, "patient", patient)
	code, log := accessLogAs(t, g, patient, tok, "")
	if code != http.StatusOK || len(log.Accesses) < 3 {
		t.Fatalf("access log: HTTP %d, %d accesses", code, len(log.Accesses))
	}
}

// sealCertificate is a certificate for the KMS key (self-signed by KMS).
func sealCertificate(t *testing.T, cl node.AWSClients, keyARN string) []byte {
	t.Helper()
	s, err := kmssigner.New(context.Background(), cl.KMS, keyARN, kmssigner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	now := clock.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "seal.ncp.example.lu", Country: []string{"LU"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageContentCommitment}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, s.Public(), s)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func testServer(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
