namespace DbBackup.Engine.Storage.S3;

/// <summary>
/// Explicit S3 settings given by the host (cmdlet parameters, CLI, config). A value set here wins over the same option
/// in the location's query (<c>?region=</c>, <c>?endpoint=</c>, <c>?path-style=</c>); unset credentials fall back to
/// the AWS default chain: environment, shared profile, container credentials, EC2 instance role.
/// </summary>
public sealed class S3Settings
{
    /// <summary>Access key id of an explicit key pair (needs <see cref="SecretAccessKey"/>).</summary>
    public string? AccessKeyId { get; init; }

    /// <summary>Secret access key of an explicit key pair.</summary>
    public SecretValue? SecretAccessKey { get; init; }

    /// <summary>Session token that goes with temporary explicit keys.</summary>
    public SecretValue? SessionToken { get; init; }

    /// <summary>Shared-config profile to read instead of AWS_PROFILE / "default".</summary>
    public string? Profile { get; init; }

    /// <summary>Region (e.g. eu-west-1); overrides <c>?region=</c>, AWS_REGION, AWS_DEFAULT_REGION and the profile's region.</summary>
    public string? Region { get; init; }

    /// <summary>Endpoint of an S3-compatible store (MinIO, Ceph, R2, Wasabi, ...); overrides <c>?endpoint=</c>.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>Path-style addressing (<c>endpoint/bucket/key</c>); overrides <c>?path-style=</c>. Default: true with a custom endpoint, false on AWS.</summary>
    public bool? ForcePathStyle { get; init; }
}
