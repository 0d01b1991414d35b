# The HTTP API partners and national software call: reachable only through
# the custom domain with mutual TLS (the default execute-api endpoint is
# off), Lambda proxy integrations with payload format 2.0 (the client
# certificate arrives in requestContext.authentication.clientCert), stage
# throttling and JSON access logs.

resource "aws_apigatewayv2_api" "this" {
  name                         = var.name_prefix
  protocol_type                = "HTTP"
  description                  = "luxncp NCPeH gateway"
  disable_execute_api_endpoint = true
  tags                         = var.tags
}

resource "aws_apigatewayv2_domain_name" "this" {
  domain_name = var.domain_name
  tags        = var.tags

  domain_name_configuration {
    certificate_arn = var.certificate_arn
    endpoint_type   = "REGIONAL"
    security_policy = "TLS_1_2"
  }

  mutual_tls_authentication {
    truststore_uri     = var.truststore_uri
    truststore_version = var.truststore_version
  }
}

resource "aws_cloudwatch_log_group" "access" {
  name              = "/aws/apigateway/${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true
  tags        = var.tags

  default_route_settings {
    throttling_rate_limit  = var.throttle_rate_limit
    throttling_burst_limit = var.throttle_burst_limit
  }

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.access.arn
    # No query strings, headers or bodies: nothing about patients.
    format = jsonencode({
      requestId          = "$context.requestId"
      time               = "$context.requestTimeEpoch"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      latencyMs          = "$context.responseLatency"
      integrationLatency = "$context.integration.latency"
      integrationError   = "$context.integrationErrorMessage"
      clientCertIssuer   = "$context.identity.clientCert.issuerDN"
      clientCertSerial   = "$context.identity.clientCert.serialNumber"
      sourceIp           = "$context.identity.sourceIp"
    })
  }
}

resource "aws_apigatewayv2_api_mapping" "this" {
  api_id      = aws_apigatewayv2_api.this.id
  domain_name = aws_apigatewayv2_domain_name.this.id
  stage       = aws_apigatewayv2_stage.default.id
}

locals {
  # One integration per function, shared by its routes.
  functions = { for route, r in var.routes : r.function_name => r... }
}

resource "aws_apigatewayv2_integration" "function" {
  for_each = local.functions

  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = each.value[0].invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = each.value[0].timeout_ms
}

resource "aws_apigatewayv2_route" "this" {
  for_each = var.routes

  api_id    = aws_apigatewayv2_api.this.id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.function[each.value.function_name].id}"
}

resource "aws_lambda_permission" "invoke" {
  for_each = local.functions

  statement_id  = "AllowHTTPAPIInvoke"
  action        = "lambda:InvokeFunction"
  function_name = each.key
  qualifier     = each.value[0].qualifier
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/*"
}

resource "aws_route53_record" "this" {
  count = var.route53_zone_id == "" ? 0 : 1

  zone_id = var.route53_zone_id
  name    = var.domain_name
  type    = "A"

  alias {
    name                   = aws_apigatewayv2_domain_name.this.domain_name_configuration[0].target_domain_name
    zone_id                = aws_apigatewayv2_domain_name.this.domain_name_configuration[0].hosted_zone_id
    evaluate_target_health = false
  }
}
