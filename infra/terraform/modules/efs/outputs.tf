output "file_system_id" {
  description = "ID of the file system."
  value       = aws_efs_file_system.this.id
}

output "file_system_arn" {
  description = "ARN of the file system (the task role's EFS statement)."
  value       = aws_efs_file_system.this.arn
}

output "access_point_id" {
  description = "ID of the access point the tasks mount."
  value       = aws_efs_access_point.this.id
}

output "security_group_id" {
  description = "Security group of the mount targets (allow NFS egress to it from the tasks)."
  value       = aws_security_group.this.id
}
