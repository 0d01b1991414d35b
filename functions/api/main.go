// Command api is luxncp's JSON API as an AWS Lambda function: /api/v1 for
// Luxembourg's professional software (Country B) and the patient access
// log, and /healthz. It serves the same handler `luxncp serve` mounts.
package main

import "github.com/luxncp/luxncp/internal/node"

func main() { node.RunLambda("api") }
