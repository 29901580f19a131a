namespace DbBackup.Engine.Storage.Gcs;

/// <summary>
/// Explicit Google Cloud Storage settings given by the host (cmdlet parameters, config). Unset values fall back to
/// the environment (<c>GOOGLE_OAUTH_ACCESS_TOKEN</c>, <c>GOOGLE_APPLICATION_CREDENTIALS</c>, <c>STORAGE_EMULATOR_HOST</c>,
/// <c>GCE_METADATA_HOST</c>), application-default credentials and the GCE metadata server, in the order documented in
/// docs/storage/gcs.md.
/// </summary>
public sealed class GcsSettings
{
    /// <summary>Service endpoint, e.g. <c>http://127.0.0.1:9199</c> for an emulator; default <c>https://storage.googleapis.com</c>. A <c>?endpoint=</c> in the URI wins.</summary>
    public Uri? Endpoint { get; init; }

    /// <summary>An OAuth 2.0 access token used as is (first credential source tried).</summary>
    public SecretValue? AccessToken { get; init; }

    /// <summary>Path of a JSON key file (service account, or an authorized_user file written by gcloud).</summary>
    public string? CredentialsFile { get; init; }

    /// <summary>The content of a JSON key file (service account or authorized_user), e.g. from a secret store.</summary>
    public SecretValue? CredentialsJson { get; init; }

    /// <summary>Send requests without credentials (public buckets, emulators). Plain-http endpoints (emulators) fall back to this by themselves when no credential is found.</summary>
    public bool Anonymous { get; init; }
}
