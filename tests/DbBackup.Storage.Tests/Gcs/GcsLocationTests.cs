using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.Gcs;
using Xunit;

namespace DbBackup.Storage.Tests.Gcs;

public sealed class GcsLocationTests
{
    private static StorageOptions Env(params (string Name, string Value)[] vars)
    {
        var map = vars.ToDictionary(v => v.Name, v => v.Value);
        return new StorageOptions { Environment = n => map.GetValueOrDefault(n) };
    }

    [Theory]
    [InlineData("gs://my-bucket", "my-bucket", "")]
    [InlineData("gs://my-bucket/", "my-bucket", "")]
    [InlineData("gs://my.bucket_1/backups/prod", "my.bucket_1", "backups/prod")]
    [InlineData("gs://b12/a%20b/c/", "b12", "a b/c")]
    public void Parses_bucket_and_prefix_with_the_default_endpoint(string uri, string bucket, string prefix)
    {
        var location = GcsLocation.Parse(new Uri(uri), new GcsSettings(), _ => null);
        Assert.Equal(bucket, location.Bucket);
        Assert.Equal(prefix, location.Prefix);
        Assert.Equal(GcsLocation.DefaultEndpoint, location.Endpoint);
        Assert.False(location.IsEmulator);
        Assert.Equal("gs://" + bucket + (prefix.Length > 0 ? "/" + prefix : ""), location.Display);
    }

    [Fact]
    public void The_endpoint_comes_from_the_query_then_settings_then_STORAGE_EMULATOR_HOST()
    {
        var options = Env(("STORAGE_EMULATOR_HOST", "127.0.0.1:9199"));
        var fromQuery = GcsLocation.Parse(new Uri("gs://bkt/p?endpoint=http://127.0.0.1:1234"), new GcsSettings { Endpoint = new Uri("http://127.0.0.1:5678") }, options.Environment);
        Assert.Equal(new Uri("http://127.0.0.1:1234/"), fromQuery.Endpoint);
        Assert.True(fromQuery.IsEmulator);
        Assert.Equal("gs://bkt/p?endpoint=http://127.0.0.1:1234", fromQuery.Display);
        var fromSettings = GcsLocation.Parse(new Uri("gs://bkt/p"), new GcsSettings { Endpoint = new Uri("http://127.0.0.1:5678") }, options.Environment);
        Assert.Equal(new Uri("http://127.0.0.1:5678/"), fromSettings.Endpoint);
        var fromEnv = GcsLocation.Parse(new Uri("gs://bkt/p"), new GcsSettings(), options.Environment);
        Assert.Equal(new Uri("http://127.0.0.1:9199/"), fromEnv.Endpoint);
        var withScheme = GcsLocation.Parse(new Uri("gs://bkt/p"), new GcsSettings(), Env(("STORAGE_EMULATOR_HOST", "https://gcs.example.test/base")).Environment);
        Assert.Equal(new Uri("https://gcs.example.test/base/"), withScheme.Endpoint);
        Assert.False(withScheme.IsEmulator);
    }

    [Theory]
    [InlineData("gs://UPPER/x")]
    [InlineData("gs://ab/x")]
    [InlineData("gs://-bad/x")]
    [InlineData("gs://bkt/a/../b")]
    [InlineData("gs://bkt/p?token=abc")]
    [InlineData("gs://bkt/p?endpoint=ftp://127.0.0.1:1")]
    [InlineData("gs://bkt/p?endpoint=http://user:pw@127.0.0.1:1")]
    [InlineData("gs://user:secret@bkt/p")]
    public void Invalid_locations_are_rejected_with_InvalidArgument(string uri)
    {
        var e = Assert.ThrowsAny<DbBackupException>(() => GcsClient.Create(new Uri(uri), Env()));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.DoesNotContain("secret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("pw@", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registry_routes_gs_and_the_display_location_carries_no_credential()
    {
        var token = "ya29.secret-token-" + Guid.NewGuid().ToString("N");
        var storage = StorageRegistry.Open("gs://bkt/backups?endpoint=http://127.0.0.1:4443", new StorageOptions
        {
            Environment = _ => null,
            Gcs = new GcsSettings { AccessToken = new SecretValue(token), CredentialsJson = new SecretValue("{\"private_key\":\"k\"}") },
        });
        Assert.Equal("gs://bkt/backups?endpoint=http://127.0.0.1:4443", storage.DisplayLocation);
        Assert.DoesNotContain(token, storage.DisplayLocation, StringComparison.Ordinal);
    }

    [Fact]
    public void Part_size_is_a_multiple_of_256_KiB_one_part_in_flight_and_large_on_plain_http_emulators()
    {
        var real = GcsClient.Create(new Uri("gs://bkt/p"), new StorageOptions { Environment = _ => null });
        Assert.Equal(GcsClient.DefaultPartSize, real.Limits.PartSize);
        Assert.Equal(1, real.Limits.MaxConcurrentParts);
        var emulator = GcsClient.Create(new Uri("gs://bkt/p?endpoint=http://127.0.0.1:1"), new StorageOptions { Environment = _ => null });
        Assert.Equal(GcsClient.EmulatorPartSize, emulator.Limits.PartSize);
        var odd = GcsClient.Create(new Uri("gs://bkt/p"), new StorageOptions { Environment = _ => null, PartSize = 1_000_000, MaxConcurrentParts = 8, ListPageSize = 5000 });
        Assert.Equal(4 * GcsClient.ChunkGranularity, odd.Limits.PartSize);
        Assert.Equal(1, odd.Limits.MaxConcurrentParts);
        Assert.Equal(1000, odd.Limits.ListPageSize);
    }

    [Fact]
    public void The_chunk_size_can_be_tuned_through_the_environment_and_options_win()
    {
        var env = new Dictionary<string, string> { ["DBBACKUP_GCS_CHUNK_SIZE_MIB"] = "8" };
        Assert.Equal(8 << 20, GcsClient.Create(new Uri("gs://bkt/p"), new StorageOptions { Environment = env.GetValueOrDefault }).Limits.PartSize);
        Assert.Equal(8 << 20, GcsClient.Create(new Uri("gs://bkt/p?endpoint=http://127.0.0.1:1"), new StorageOptions { Environment = env.GetValueOrDefault }).Limits.PartSize);
        Assert.Equal(4 << 20, GcsClient.Create(new Uri("gs://bkt/p"), new StorageOptions { Environment = env.GetValueOrDefault, PartSize = 4 << 20 }).Limits.PartSize);
        foreach (var junk in new[] { "0", "2048", "lots", "-8" })
        {
            var options = new StorageOptions { Environment = name => name == "DBBACKUP_GCS_CHUNK_SIZE_MIB" ? junk : null };
            Assert.Equal(GcsClient.DefaultPartSize, GcsClient.Create(new Uri("gs://bkt/p"), options).Limits.PartSize);
        }
    }
}
