// Package awsconfig loads luxncp's configuration objects from the S3
// configuration bucket the deployment creates (terraform/modules/config_bucket):
// the trust bundle (PEM CA certificates, e.g. truststores/mtls-truststore.pem),
// the eHDSI country directory (the JSON document of internal/routing, e.g.
// directory/directory.json) and luxncp's own public certificates (e.g.
// certificates/seal.pem). Objects are cached with a time to live; when a
// refresh fails, the last good copy is served for a bounded time, so a brief
// S3 outage does not stop the gateway. It is the AWS twin of reading the same
// files from the local state directory.
package awsconfig
