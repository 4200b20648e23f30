variable "name" {
  description = "Name prefix of the Athena workgroup (<name>-lake)."
  type        = string
}

variable "database_name" {
  description = "Glue database of the plain lake's tables (JSON Lines and Parquet objects). Letters, digits and underscores."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_]+$", var.database_name))
    error_message = "database_name may hold lower-case letters, digits and underscores only (Athena)."
  }
}

variable "iceberg_database_name" {
  description = "Glue database of the Iceberg tables sluice creates and commits to (the Iceberg sink's `namespace`); null creates none."
  type        = string
  default     = null

  validation {
    condition     = var.iceberg_database_name == null || can(regex("^[a-z0-9_]+$", coalesce(var.iceberg_database_name, "x")))
    error_message = "iceberg_database_name may hold lower-case letters, digits and underscores only."
  }
}

variable "bucket_name" {
  description = "The data lake bucket the tables read (the S3 sinks' bucket)."
  type        = string
}

variable "tables" {
  description = "The lake's tables by name, as `sluice validate --config FILE --ddl ROUTE --ddl-format terraform` prints them: the route's folder under the bucket, its format (jsonl or parquet), its partition granularity (hour or day), extra partition fields, and its columns in Hive types. Partition projection finds every partition; no crawler runs."
  type = map(object({
    prefix      = string
    format      = string
    granularity = string
    fields      = optional(list(string), [])
    columns = list(object({
      name = string
      type = string
    }))
  }))
  default = {}

  validation {
    condition     = alltrue([for table in values(var.tables) : contains(["jsonl", "parquet"], table.format) && contains(["hour", "day"], table.granularity)])
    error_message = "Every table's format is jsonl or parquet, its granularity hour or day."
  }

  validation {
    condition     = alltrue([for table in values(var.tables) : !startswith(table.prefix, "/") && !endswith(table.prefix, "/")])
    error_message = "A table's prefix is its folder under the bucket, without leading or trailing slash."
  }
}

variable "projection_start" {
  description = "First day (yyyy-MM-dd) the dt partition projection lists; a query's dt predicate narrows it."
  type        = string
  default     = "2024-01-01"
}

variable "kms_key_arn" {
  description = "ARN of the KMS key encrypting the Athena query results (and their bucket)."
  type        = string
}

variable "results_bucket_name" {
  description = "Globally unique name of the bucket for Athena query results."
  type        = string
}

variable "results_expiration_days" {
  description = "Days query results are kept."
  type        = number
  default     = 30
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query of the workgroup that would scan more bytes than this (a cost guard); at least 10 MB."
  type        = number
  default     = 100000000000

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10000000
    error_message = "bytes_scanned_cutoff_per_query must be at least 10 MB (Athena's minimum)."
  }
}

variable "access_log_bucket" {
  description = "Bucket receiving the results bucket's S3 server access logs; null disables them."
  type        = string
  default     = null
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the workgroup's saved results and a non-empty results bucket (examples and tests only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource of this module."
  type        = map(string)
  default     = {}
}
