output "database_name" {
  description = "Glue database of the plain lake's tables."
  value       = aws_glue_catalog_database.lake.name
}

output "database_arn" {
  description = "ARN of the plain lake's Glue database."
  value       = aws_glue_catalog_database.lake.arn
}

output "iceberg_database_name" {
  description = "Glue database of the Iceberg tables (the Iceberg sink's namespace); null when none was made."
  value       = var.iceberg_database_name == null ? null : aws_glue_catalog_database.iceberg[0].name
}

output "iceberg_database_arn" {
  description = "ARN of the Iceberg tables' Glue database; null when none was made."
  value       = var.iceberg_database_name == null ? null : aws_glue_catalog_database.iceberg[0].arn
}

output "table_names" {
  description = "The plain lake's tables."
  value       = sort([for table in aws_glue_catalog_table.lake : table.name])
}

output "workgroup_name" {
  description = "The Athena workgroup for the lake's queries."
  value       = aws_athena_workgroup.lake.name
}

output "results_bucket_name" {
  description = "Bucket of the Athena query results."
  value       = module.results.name
}

output "results_bucket_arn" {
  description = "ARN of the Athena query results bucket."
  value       = module.results.arn
}

output "table_definitions" {
  description = "Each table's location, partition keys, SerDe and parameters (partition projection), for review and tests."
  value = {
    for name, table in aws_glue_catalog_table.lake : name => {
      location       = table.storage_descriptor[0].location
      partition_keys = [for key in table.partition_keys : key.name]
      serde          = table.storage_descriptor[0].ser_de_info[0].serialization_library
      parameters     = table.parameters
    }
  }
}

output "workgroup" {
  description = "The workgroup's enforced settings: where results go and how they are encrypted."
  value = {
    enforced          = aws_athena_workgroup.lake.configuration[0].enforce_workgroup_configuration
    output_location   = aws_athena_workgroup.lake.configuration[0].result_configuration[0].output_location
    encryption_option = aws_athena_workgroup.lake.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option
    kms_key_arn       = aws_athena_workgroup.lake.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn
    scan_cutoff_bytes = aws_athena_workgroup.lake.configuration[0].bytes_scanned_cutoff_per_query
  }
}
