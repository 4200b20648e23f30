# `terraform test` of the lake as tables (issue 19) against the mocked AWS provider, like
# network.tftest.hcl (tests/infra/test_terraform_plan.py runs every file here): the plain
# lake's tables with partition projection over the S3 sinks' folders, the Athena workgroup
# and its encrypted results, the Iceberg sink's database reaching the tasks' environment.
# tests/infra/test_terraform_lake.py pins the same templates to what sluice's own DDL
# (`sluice validate --ddl`) prints.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  bucket_name  = "sluice-test-lake"
  image_digest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"
}

# (The mocked provider names buckets at random: expected locations are built from them.)
run "lake_tables_and_workgroup" {
  assert {
    condition     = output.lake_catalog.tables == tolist(["page_views", "purchases", "purchases_parquet"])
    error_message = "the example pipeline's routes are tables: page views and purchases as JSON Lines, purchases as Parquet"
  }

  assert {
    condition     = module.lake_catalog.table_definitions["page_views"].parameters["storage.location.template"] == "s3://${module.bucket.name}/lake/page_views/dt=$${dt}/hr=$${hr}"
    error_message = "an hourly route's partitions are projected onto the S3 sink's dt=/hr= folders"
  }

  assert {
    condition     = module.lake_catalog.table_definitions["page_views"].partition_keys == ["dt", "hr"] && module.lake_catalog.table_definitions["purchases"].partition_keys == ["dt"]
    error_message = "hourly routes are partitioned by dt and hr, daily ones by dt"
  }

  assert {
    condition     = module.lake_catalog.table_definitions["purchases_parquet"].parameters["storage.location.template"] == "s3://${module.bucket.name}/parquet/purchases/dt=$${dt}" && module.lake_catalog.table_definitions["purchases_parquet"].serde == "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
    error_message = "the Parquet table reads the Parquet sink's folders with the Parquet SerDe"
  }

  assert {
    condition     = module.lake_catalog.table_definitions["page_views"].parameters["projection.enabled"] == "true" && module.lake_catalog.table_definitions["page_views"].parameters["projection.hr.range"] == "0,23"
    error_message = "partition projection is on"
  }

  assert {
    condition     = module.lake_catalog.workgroup.enforced && module.lake_catalog.workgroup.encryption_option == "SSE_KMS" && module.lake_catalog.workgroup.kms_key_arn == module.kms.key_arn
    error_message = "the workgroup enforces results encrypted with the deployment's key"
  }

  assert {
    condition     = module.lake_catalog.workgroup.output_location == "s3://${output.lake_catalog.results_bucket}/results/" && output.lake_catalog.results_bucket != module.bucket.name
    error_message = "query results go to their own bucket"
  }

  assert {
    condition     = local.environment["SLUICE__SINKS__TABLES__NAMESPACE"] == "sluice_tables" && jsondecode(local.environment["SLUICE__SINKS__TABLES__CATALOG"]).warehouse == "s3://${module.bucket.name}/warehouse"
    error_message = "the Iceberg sink commits through Glue into the Iceberg database, under the bucket's warehouse prefix"
  }

  assert {
    condition     = output.lake_catalog.iceberg_database == "sluice_tables"
    error_message = "the Iceberg sink's namespace is a Glue database"
  }
}

run "without_an_iceberg_sink" {
  command = plan

  variables {
    iceberg_database_name = null
  }

  assert {
    condition     = output.lake_catalog.iceberg_database == null && !contains(keys(local.environment), "SLUICE__SINKS__TABLES__CATALOG")
    error_message = "no Iceberg database and no Iceberg catalog override without an Iceberg sink"
  }
}
