namespace DbBackup.Engine.Storage.Gcs;

/// <summary>Explicit Google Cloud Storage settings given by the host. Unset values fall back to GOOGLE_* variables and application-default credentials.</summary>
public sealed class GcsSettings
{
}
