namespace DbBackup.Engine.Storage.S3;

/// <summary>Explicit S3 settings given by the host (cmdlet parameters, CLI, config). Unset values fall back to the location's query, then the AWS SDK's environment/profile/role chain.</summary>
public sealed class S3Settings
{
}
