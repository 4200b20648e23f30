# The lake as tables Athena can query, without a crawler (issue 19, docs/lake.md):
#
# - a Glue database whose tables read the S3 sinks' JSON Lines and Parquet objects under
#   their Hive-style folders (`dt=yyyy-MM-dd/hr=HH`), with partition projection: Athena
#   computes the partitions from the query's predicates, nothing is added or repaired;
# - optionally a second database for the Iceberg tables sluice creates and commits to
#   itself (pyiceberg's Glue catalog), so their metadata is not mixed with these;
# - an Athena workgroup that enforces its settings: results in their own bucket, encrypted
#   with the deployment's KMS key, a cap on the bytes one query may scan, CloudWatch
#   metrics on.
#
# `sluice validate --config FILE --ddl ROUTE --ddl-format terraform` prints a route's entry
# of var.tables from its row model, so the columns are the ones sluice writes.

locals {
  serde = {
    jsonl = {
      library        = "org.openx.data.jsonserde.JsonSerDe"
      input_format   = "org.apache.hadoop.mapred.TextInputFormat"
      output_format  = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
      classification = "json"
    }
    parquet = {
      library        = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
      input_format   = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
      output_format  = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
      classification = "parquet"
    }
  }

  # The partition keys of each table, in the order of the S3 sink's folders.
  partition_keys = {
    for name, table in var.tables : name => concat(
      ["dt"], table.granularity == "hour" ? ["hr"] : [], table.fields,
    )
  }

  projection = {
    for name, table in var.tables : name => merge(
      {
        "projection.enabled"          = "true"
        "projection.dt.type"          = "date"
        "projection.dt.format"        = "yyyy-MM-dd"
        "projection.dt.range"         = "${var.projection_start},NOW"
        "projection.dt.interval"      = "1"
        "projection.dt.interval.unit" = "DAYS"
        "storage.location.template" = "s3://${var.bucket_name}/${table.prefix}/${join("/", [
          for key in local.partition_keys[name] : "${key}=$${${key}}"
        ])}"
      },
      table.granularity == "hour" ? {
        "projection.hr.type"   = "integer"
        "projection.hr.range"  = "0,23"
        "projection.hr.digits" = "2"
      } : {},
      { for field in table.fields : "projection.${field}.type" => "injected" },
    )
  }
}

resource "aws_glue_catalog_database" "lake" {
  name        = var.database_name
  description = "sluice: the data lake's JSON Lines and Parquet objects as tables"
  tags        = var.tags
}

resource "aws_glue_catalog_database" "iceberg" {
  count       = var.iceberg_database_name == null ? 0 : 1
  name        = var.iceberg_database_name
  description = "sluice: Iceberg tables, created and committed to by sluice's Iceberg sink"
  tags        = var.tags
}

resource "aws_glue_catalog_table" "lake" {
  for_each = var.tables

  name          = each.key
  database_name = aws_glue_catalog_database.lake.name
  table_type    = "EXTERNAL_TABLE"
  parameters = merge(local.projection[each.key], {
    EXTERNAL       = "TRUE"
    classification = local.serde[each.value.format].classification
  })

  dynamic "partition_keys" {
    for_each = local.partition_keys[each.key]

    content {
      name = partition_keys.value
      type = "string"
    }
  }

  storage_descriptor {
    location      = "s3://${var.bucket_name}/${each.value.prefix}/"
    input_format  = local.serde[each.value.format].input_format
    output_format = local.serde[each.value.format].output_format

    ser_de_info {
      serialization_library = local.serde[each.value.format].library
    }

    dynamic "columns" {
      for_each = each.value.columns

      content {
        name = columns.value.name
        type = columns.value.type
      }
    }
  }
}

# Query results: their own bucket (private, TLS only, SSE-KMS with the deployment's key),
# every object expiring after results_expiration_days (the module's expiry rule on the
# prefix "", which is the whole bucket).
module "results" {
  source = "../s3_bucket"

  name                       = var.results_bucket_name
  kms_key_arn                = var.kms_key_arn
  quarantine_prefix          = ""
  quarantine_expiration_days = var.results_expiration_days
  noncurrent_version_days    = 1
  access_log_bucket          = var.access_log_bucket
  force_destroy              = var.force_destroy
  tags                       = var.tags
}

resource "aws_athena_workgroup" "lake" {
  name          = "${var.name}-lake"
  description   = "sluice: queries of the data lake's tables"
  force_destroy = var.force_destroy
  tags          = var.tags

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location = "s3://${module.results.name}/results/"

      encryption_configuration {
        encryption_option = "SSE_KMS"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }
}
