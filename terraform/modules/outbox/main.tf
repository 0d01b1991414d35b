# The eDispensation outbox: a DynamoDB table of messages, one item each
# (conditional writes make enqueueing idempotent and guard every state
# change) with a sparse index of the pending and dead ones, an
# idempotency-key table, and an SQS queue with a dead-letter queue (the root
# module connects the queue to the dispatcher).

resource "aws_dynamodb_table" "outbox" {
  name                        = "${var.name_prefix}-outbox"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "id"
  deletion_protection_enabled = true
  tags                        = var.tags

  attribute {
    name = "id"
    type = "S"
  }

  attribute {
    name = "state_key"
    type = "S"
  }

  attribute {
    name = "accepted_at"
    type = "N"
  }

  # The backlog, sparse: only pending and dead messages carry state_key
  # ("pending#0".."pending#3", "dead#0".."dead#3"; internal/outbox
  # StateIndex, StateShards), removed in the write that delivers them. It
  # projects what Due and the sweep filter on, not the message body, so an
  # entry stays about a hundred bytes. internal/outbox.TableInput is the
  # same table for the emulators (a test compares them).
  global_secondary_index {
    name               = "by-state"
    hash_key           = "state_key"
    range_key          = "accepted_at"
    projection_type    = "INCLUDE"
    non_key_attributes = ["next_at", "since", "queued"]
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_dynamodb_table" "idempotency" {
  name                        = "${var.name_prefix}-idempotency"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "key"
  deletion_protection_enabled = true
  tags                        = var.tags

  attribute {
    name = "key"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_sqs_queue" "dead_letter" {
  name                              = "${var.name_prefix}-outbox-dlq"
  message_retention_seconds         = 1209600 # 14 days, the SQS maximum
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags
}

resource "aws_sqs_queue" "outbox" {
  name = "${var.name_prefix}-outbox"
  # Above the consumer's timeout (AWS advises 6x for SQS event sources), so a
  # message is never handed to a second dispatcher while the first still runs.
  visibility_timeout_seconds        = var.consumer_timeout_s * 6
  message_retention_seconds         = 345600 # 4 days
  receive_wait_time_seconds         = 20
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = var.tags

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.max_receive_count
  })
}

resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.outbox.arn]
  })
}
