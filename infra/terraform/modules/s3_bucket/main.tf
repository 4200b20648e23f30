# The data lake bucket: sluice's S3 sink writes `<prefix>/<route>/dt=.../` objects and the
# quarantine sink writes error envelopes under the quarantine prefix.
#
# Encrypted with SSE-KMS (bucket key on, so KMS is called per object rather than per
# request), no public access, TLS-only, versioned (a replay overwrites an object with the
# same content; old versions expire), quarantine objects expire, incomplete multipart
# uploads are aborted.
#
# With an SQS source the S3 sinks write each batch under `<prefix>/_staging/<cut id>/` first
# and copy it to its final key once the cut is committed in the ledger (issue 18), then
# delete the staged object. The staging rules expire what stays there (the orphans of cuts
# that were never committed) after staging_expiration_days (the queue's retention plus 2),
# and drop the versions the consumer's deletes leave behind after staging_noncurrent_days
# instead of the lake's noncurrent_version_days: on this versioned bucket a plain delete
# only hides the staged copy.

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:access logging needs a separate log bucket; set access_log_bucket to enable it
  #checkov:skip=CKV_AWS_144:cross-region replication is a per-deployment DR decision, not a default
  #checkov:skip=CKV2_AWS_62:sluice writes here and reads nothing back; event notifications are not needed
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_logging" "this" {
  count         = var.access_log_bucket == null ? 0 : 1
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3-access/${var.name}/"
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"

    filter {}

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_upload_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
  }

  rule {
    id     = "quarantine-expiry"
    status = "Enabled"

    filter {
      prefix = var.quarantine_prefix
    }

    expiration {
      days = var.quarantine_expiration_days
    }
  }

  dynamic "rule" {
    for_each = var.staging_prefixes

    content {
      id     = "staging-expiry-${trimsuffix(rule.value, "/_staging/")}"
      status = "Enabled"

      filter {
        prefix = rule.value
      }

      expiration {
        days = var.staging_expiration_days
      }

      noncurrent_version_expiration {
        noncurrent_days = var.staging_noncurrent_days
      }
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyOldTls"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}
