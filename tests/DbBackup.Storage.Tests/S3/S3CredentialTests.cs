using System.Text.Json;
using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.ObjectStore;
using DbBackup.Engine.Storage.S3;
using DbBackup.TestSupport;
using Microsoft.AspNetCore.Http;
using Xunit;

namespace DbBackup.Storage.Tests.S3;

/// <summary>
/// Each source of the AWS credential chain. The environment is injected through <see cref="StorageOptions.Environment"/>
/// (never the process's), so these run in parallel. fauxqs does not verify signatures, so which key signed a request
/// is asserted from the Authorization header an S3 double received; round trips against fauxqs prove the wiring.
/// The container-credentials endpoint and EC2 instance metadata are local doubles of the documented protocols.
/// </summary>
public sealed class S3CredentialTests(S3Fixture fixture) : IClassFixture<S3Fixture>
{
    private static CancellationToken Ct => CancellationToken.None;

    /// <summary>An environment with nothing but <paramref name="vars"/>: HOME points at an empty folder, IMDS at a closed 127.0.0.1 port.</summary>
    private static Func<string, string?> Env(params (string Name, string Value)[] vars)
    {
        var home = Directory.CreateTempSubdirectory("dbbackup-s3-home-").FullName;
        var env = new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = $"http://127.0.0.1:{LocalEndpoints.ClosedPort()}",
        };
        foreach (var (n, v) in vars) env[n] = v;
        return env.GetValueOrDefault;
    }

    private static S3ObjectStoreClient Client(string location, Func<string, string?> env, S3Settings? settings = null)
        => (S3ObjectStoreClient)S3ObjectStoreClient.Create(new Uri(location), new StorageOptions { Environment = env, S3 = settings ?? new S3Settings(), MaxRetries = 0 });

    /// <summary>An S3 double that answers every request with an empty listing and records the Authorization header.</summary>
    private static Task<S3HttpDouble> S3DoubleAsync() => S3HttpDouble.StartAsync(async c =>
    {
        c.Response.ContentType = "application/xml";
        await c.Response.WriteAsync("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bkt</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>");
    });

    /// <summary>Lists through the S3 double and returns the access key id and session token the request was signed with.</summary>
    private static async Task<(string KeyId, string? Token)> SignedWithAsync(Func<string, string?> env, S3Settings? settings = null)
    {
        await using var s3 = await S3DoubleAsync();
        var client = Client($"s3://bkt/p?endpoint={s3.Endpoint.ToString().TrimEnd('/')}&region=us-east-1", env, settings);
        await client.ListPageAsync("", null, Ct);
        var seen = Assert.Single(s3.Requests);
        var auth = seen.Headers["Authorization"];
        var credential = auth[(auth.IndexOf("Credential=", StringComparison.Ordinal) + "Credential=".Length)..];
        return (credential[..credential.IndexOf('/')], seen.Headers.GetValueOrDefault("X-Amz-Security-Token"));
    }

    private async Task RoundTripOnFauxqsAsync(Func<string, string?> env, S3Settings? settings = null)
    {
        var storage = StorageRegistry.Open(fixture.NewLocation(), new StorageOptions { Environment = env, S3 = settings ?? new S3Settings() });
        await using (var w = await storage.OpenWriteAsync("cred-check", Ct))
        {
            await w.Stream.WriteAsync("hello"u8.ToArray(), Ct);
            await w.CommitAsync(Ct);
        }
        Assert.Equal(5, (await storage.StatAsync("cred-check", Ct))!.Size);
    }

    [Fact]
    public async Task Explicit_settings_sign_requests_and_win_over_the_environment_S3_double()
    {
        var env = Env(("AWS_ACCESS_KEY_ID", "AKIAFROMENV"), ("AWS_SECRET_ACCESS_KEY", "env-secret"));
        var settings = new S3Settings { AccessKeyId = "AKIAEXPLICIT", SecretAccessKey = new SecretValue("explicit-secret"), SessionToken = new SecretValue("explicit-session") };
        Assert.Equal(("AKIAEXPLICIT", "explicit-session"), await SignedWithAsync(env, settings));
        await RoundTripOnFauxqsAsync(env, settings);
    }

    [Fact]
    public async Task An_explicit_key_id_without_its_secret_is_a_clear_error()
    {
        var client = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(), new S3Settings { AccessKeyId = "AKIAHALF" });
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, Ct));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("secret access key", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_variables_sign_requests_with_the_session_token_S3_double_and_fauxqs()
    {
        var env = Env(("AWS_ACCESS_KEY_ID", "AKIAENVTEST"), ("AWS_SECRET_ACCESS_KEY", "env-secret"), ("AWS_SESSION_TOKEN", "env-session-token"));
        Assert.Equal(("AKIAENVTEST", "env-session-token"), await SignedWithAsync(env));
        await RoundTripOnFauxqsAsync(env);
        var client = Client("s3://bkt/p", env);
        await client.Credentials!.GetCredentialsAsync();
        Assert.Equal("environment variables", client.Credentials.Source);
    }

    [Fact]
    public async Task The_shared_profile_named_by_AWS_PROFILE_is_read_from_the_credentials_and_config_files()
    {
        var dir = Directory.CreateTempSubdirectory("dbbackup-s3-profile-").FullName;
        var credentials = Path.Combine(dir, "credentials");
        var config = Path.Combine(dir, "config");
        await File.WriteAllTextAsync(credentials, "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = default-secret\n\n[backup]\naws_access_key_id = AKIABACKUPPROFILE\naws_secret_access_key = profile-secret\n", Ct);
        await File.WriteAllTextAsync(config, "[profile fromconfig]\naws_access_key_id = AKIACONFIGFILE\naws_secret_access_key = config-secret\naws_session_token = config-session\nregion = eu-west-1\n", Ct);
        var files = new[] { ("AWS_SHARED_CREDENTIALS_FILE", credentials), ("AWS_CONFIG_FILE", config) };

        Assert.Equal(("AKIABACKUPPROFILE", (string?)null), await SignedWithAsync(Env([.. files, ("AWS_PROFILE", "backup")])));
        Assert.Equal(("AKIADEFAULT", (string?)null), await SignedWithAsync(Env(files)));
        Assert.Equal(("AKIACONFIGFILE", "config-session"), await SignedWithAsync(Env([.. files, ("AWS_PROFILE", "fromconfig")])));
        Assert.Equal(("AKIACONFIGFILE", "config-session"), await SignedWithAsync(Env(files), new S3Settings { Profile = "fromconfig" }));
        await RoundTripOnFauxqsAsync(Env([.. files, ("AWS_PROFILE", "backup")]));
    }

    [Fact]
    public async Task The_default_profile_is_found_under_HOME_dot_aws()
    {
        var env = Env();
        var home = env("HOME")!;
        Directory.CreateDirectory(Path.Combine(home, ".aws"));
        await File.WriteAllTextAsync(Path.Combine(home, ".aws", "credentials"), "[default]\naws_access_key_id=AKIAHOMEDEFAULT\naws_secret_access_key=home-secret\n", Ct);
        Assert.Equal("AKIAHOMEDEFAULT", (await SignedWithAsync(env)).KeyId);
    }

    [Fact]
    public async Task A_profile_that_assumes_a_role_is_reported_as_unsupported_rather_than_silently_skipped()
    {
        var config = Path.Combine(Directory.CreateTempSubdirectory("dbbackup-s3-role-").FullName, "config");
        await File.WriteAllTextAsync(config, "[profile ops]\nrole_arn = arn:aws:iam::123456789012:role/backup\nsource_profile = default\n", Ct);
        var client = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(("AWS_CONFIG_FILE", config), ("AWS_PROFILE", "ops"), ("AWS_EC2_METADATA_DISABLED", "true")));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, Ct));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("shared profile 'ops'", e.Message, StringComparison.Ordinal);
        Assert.Contains("role_arn", e.Message, StringComparison.Ordinal);
    }

    private static string CredentialsJson(string keyId, DateTimeOffset expires, string? code = null) => JsonSerializer.Serialize(new Dictionary<string, string?>
    {
        ["Code"] = code,
        ["LastUpdated"] = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ"),
        ["Type"] = "AWS-HMAC",
        ["AccessKeyId"] = keyId,
        ["SecretAccessKey"] = "role-secret-" + keyId,
        ["Token"] = "role-session-" + keyId,
        ["Expiration"] = expires.ToString("yyyy-MM-ddTHH:mm:ssZ"),
    });

    [Fact]
    public async Task Container_credentials_come_from_the_full_URI_with_the_authorization_token_container_endpoint_double()
    {
        await using var ecs = await S3HttpDouble.StartAsync(async c =>
        {
            if (c.Request.Path != "/v2/credentials/task" || c.Request.Headers.Authorization != "container-auth-token") { c.Response.StatusCode = 401; return; }
            c.Response.ContentType = "application/json";
            await c.Response.WriteAsync(CredentialsJson("ASIACONTAINER", DateTimeOffset.UtcNow.AddHours(6)));
        });
        var full = new Uri(ecs.Endpoint, "/v2/credentials/task").ToString();
        Assert.Equal(("ASIACONTAINER", "role-session-ASIACONTAINER"),
            await SignedWithAsync(Env(("AWS_CONTAINER_CREDENTIALS_FULL_URI", full), ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token"))));

        var tokenFile = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokenFile, "container-auth-token\n", Ct);
        var env = Env(("AWS_CONTAINER_CREDENTIALS_FULL_URI", full), ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", tokenFile));
        Assert.Equal("ASIACONTAINER", (await SignedWithAsync(env)).KeyId);
        await RoundTripOnFauxqsAsync(env);
        File.Delete(tokenFile);
    }

    [Fact]
    public async Task A_container_endpoint_that_refuses_is_reported_by_name_container_endpoint_double()
    {
        await using var ecs = await S3HttpDouble.StartAsync(c => { c.Response.StatusCode = 401; return Task.CompletedTask; });
        var client = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(("AWS_CONTAINER_CREDENTIALS_FULL_URI", ecs.Endpoint + "creds")));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, Ct));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("container credentials", e.Message, StringComparison.Ordinal);
        Assert.Contains("HTTP 401", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_container_full_URI_over_plain_http_to_a_remote_host_is_refused()
    {
        var client = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://no-such-host.invalid/creds")));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, Ct));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Contains("AWS_CONTAINER_CREDENTIALS_FULL_URI", e.Message, StringComparison.Ordinal);
    }

    /// <summary>An IMDSv2 double: PUT /latest/api/token, then the role list and the role's credentials, each requiring the token.</summary>
    private static Task<S3HttpDouble> ImdsDoubleAsync(Func<DateTimeOffset> expires) => S3HttpDouble.StartAsync(async c =>
    {
        if (c.Request.Method == "PUT" && c.Request.Path == "/latest/api/token")
        {
            if (c.Request.Headers["X-aws-ec2-metadata-token-ttl-seconds"].Count == 0) { c.Response.StatusCode = 400; return; }
            await c.Response.WriteAsync("imds-session-token");
            return;
        }
        if (c.Request.Headers["X-aws-ec2-metadata-token"] != "imds-session-token") { c.Response.StatusCode = 401; return; }
        if (c.Request.Path == "/latest/meta-data/iam/security-credentials/") { await c.Response.WriteAsync("backup-role"); return; }
        if (c.Request.Path == "/latest/meta-data/iam/security-credentials/backup-role")
        {
            await c.Response.WriteAsync(CredentialsJson("ASIAINSTANCEROLE", expires(), "Success"));
            return;
        }
        c.Response.StatusCode = 404;
    });

    [Fact]
    public async Task The_EC2_instance_role_comes_from_IMDSv2_instance_metadata_double()
    {
        await using var imds = await ImdsDoubleAsync(() => DateTimeOffset.UtcNow.AddHours(6));
        var env = Env(("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.Endpoint.ToString()));
        Assert.Equal(("ASIAINSTANCEROLE", "role-session-ASIAINSTANCEROLE"), await SignedWithAsync(env));
        Assert.Equal(["PUT /latest/api/token", "GET /latest/meta-data/iam/security-credentials/", "GET /latest/meta-data/iam/security-credentials/backup-role"],
            imds.Requests.Select(r => r.Method + " " + r.PathAndQuery));
        await RoundTripOnFauxqsAsync(env);
    }

    [Fact]
    public async Task Instance_role_credentials_close_to_expiry_are_fetched_again_instance_metadata_double()
    {
        await using var imds = await ImdsDoubleAsync(() => DateTimeOffset.UtcNow.AddMinutes(2)); // inside the 5-minute refresh window
        var client = Client("s3://bkt/p", Env(("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.Endpoint.ToString())));
        await client.Credentials!.GetCredentialsAsync();
        await client.Credentials.GetCredentialsAsync();
        Assert.Equal(2, imds.Requests.Count(r => r.Method == "PUT"));
        Assert.Equal("EC2 instance role 'backup-role'", client.Credentials.Source);

        await using var longLived = await ImdsDoubleAsync(() => DateTimeOffset.UtcNow.AddHours(6));
        var cached = Client("s3://bkt/p", Env(("AWS_EC2_METADATA_SERVICE_ENDPOINT", longLived.Endpoint.ToString())));
        await cached.Credentials!.GetCredentialsAsync();
        await cached.Credentials.GetCredentialsAsync();
        Assert.Equal(1, longLived.Requests.Count(r => r.Method == "PUT"));
    }

    [Fact]
    public async Task With_no_source_the_error_is_StorageCredentialsMissing_naming_every_source_tried()
    {
        var secretLooking = "not-a-real-secret-value";
        var client = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(("AWS_SECRET_ACCESS_KEY", secretLooking)));
        var e = await Assert.ThrowsAsync<DbBackupException>(() => client.ListPageAsync("", null, Ct));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Equal(ErrorKind.AuthenticationError, e.Kind);
        foreach (var source in new[] { "explicit S3 settings", "AWS_ACCESS_KEY_ID is not set", "shared profile 'default'", "container credentials", "EC2 instance role" })
            Assert.Contains(source, e.Message, StringComparison.Ordinal);
        Assert.Contains("s3://bkt/p", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(secretLooking, e.ToString(), StringComparison.Ordinal);
        Assert.Contains("AWS_ACCESS_KEY_ID", e.RecommendedAction, StringComparison.Ordinal);

        var disabled = Client("s3://bkt/p?endpoint=http://127.0.0.1:1", Env(("AWS_EC2_METADATA_DISABLED", "true")));
        var e2 = await Assert.ThrowsAsync<DbBackupException>(() => disabled.StatAsync("x", Ct));
        Assert.Contains("AWS_EC2_METADATA_DISABLED", e2.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_credentials_are_not_retried_through_the_registry()
    {
        var storage = StorageRegistry.Open("s3://bkt/p?endpoint=http://127.0.0.1:1", new StorageOptions { Environment = Env(("AWS_EC2_METADATA_DISABLED", "true")), RetryBaseDelay = TimeSpan.FromSeconds(30) });
        var e = await Assert.ThrowsAnyAsync<DbBackupException>(() => storage.StatAsync("x", Ct)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(ErrorIds.StorageCredentialsMissing, e.ErrorId);
        Assert.Equal(0, ((RetryingObjectStoreClient)((ObjectStoreStorage)storage).Client).Retries);
    }
}
