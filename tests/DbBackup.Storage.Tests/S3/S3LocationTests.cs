using DbBackup.Engine;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using DbBackup.Engine.Storage.S3;
using Xunit;

namespace DbBackup.Storage.Tests.S3;

public sealed class S3LocationTests
{
    private static S3Location Parse(string uri, S3Settings? settings = null) => S3Location.Parse(new Uri(uri), settings);

    [Fact]
    public void Bucket_and_prefix_are_parsed_and_AWS_defaults_to_virtual_hosted_style()
    {
        var l = Parse("s3://my-bucket/backups/prod");
        Assert.Equal("my-bucket", l.Bucket);
        Assert.Equal("backups/prod", l.Prefix);
        Assert.Null(l.Region);
        Assert.Null(l.Endpoint);
        Assert.False(l.ForcePathStyle);
        Assert.Equal("s3://my-bucket/backups/prod", l.Display);
    }

    [Theory]
    [InlineData("s3://b-1", "")]
    [InlineData("s3://b-1/", "")]
    [InlineData("s3://b-1/a/", "a/")]
    [InlineData("s3://b-1/with%20space/%C3%BC", "with space/ü")]
    public void Prefix_forms(string uri, string prefix) => Assert.Equal(prefix, Parse(uri).Prefix);

    [Fact]
    public void Query_options_give_region_endpoint_and_path_style_defaulting_to_true_with_an_endpoint()
    {
        var l = Parse("s3://bkt/p?region=eu-central-1&endpoint=http://127.0.0.1:9000");
        Assert.Equal("eu-central-1", l.Region);
        Assert.Equal(new Uri("http://127.0.0.1:9000"), l.Endpoint);
        Assert.True(l.ForcePathStyle);
        Assert.Equal("s3://bkt/p?endpoint=http://127.0.0.1:9000", l.Display);
        Assert.False(Parse("s3://bkt/p?endpoint=https%3A%2F%2Fminio.example.com&path-style=false").ForcePathStyle);
        Assert.True(Parse("s3://bkt/p?path-style=true").ForcePathStyle);
    }

    [Fact]
    public void Settings_override_the_query()
    {
        var settings = new S3Settings { Region = "ap-south-1", Endpoint = new Uri("https://r2.example.com"), ForcePathStyle = false };
        var l = Parse("s3://bkt/p?region=eu-central-1&endpoint=http://127.0.0.1:9000&path-style=true", settings);
        Assert.Equal("ap-south-1", l.Region);
        Assert.Equal(new Uri("https://r2.example.com"), l.Endpoint);
        Assert.False(l.ForcePathStyle);
    }

    [Theory]
    [InlineData("s3://ab/p", "bucket name")]
    [InlineData("s3://Upper/p", "bucket name")]
    [InlineData("s3://bkt/a//b", "prefix")]
    [InlineData("s3://bkt/a/../b", "prefix")]
    [InlineData("s3://bkt/p?path-style=maybe", "path-style")]
    [InlineData("s3://bkt/p?endpoint=ftp://x", "endpoint")]
    [InlineData("s3://bkt/p?endpoint=http://user:pw@127.0.0.1:9000", "credentials")]
    [InlineData("s3://AKIAEXAMPLE:topsecret@bkt/p", "credentials")]
    [InlineData("s3://bkt/p?region=eu west", "region")]
    public void Invalid_locations_are_rejected_with_InvalidArgument(string uri, string mentions)
    {
        var e = Assert.Throws<DbBackupException>(() => Parse(uri));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains(mentions, e.Message, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("topsecret", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(":pw", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_option_is_named_but_its_value_is_not_echoed()
    {
        var e = Assert.Throws<DbBackupException>(() => Parse("s3://bkt/p?secret-access-key=wJalrXUtnFEMI"));
        Assert.Contains("secret-access-key", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wJalrXUtnFEMI", e.Message + e.RecommendedAction, StringComparison.Ordinal);
    }

    [Fact]
    public void The_display_location_of_an_opened_repository_has_neither_keys_nor_session_token()
    {
        var options = new StorageOptions
        {
            Environment = _ => null,
            S3 = new S3Settings { AccessKeyId = "AKIADISPLAYTEST", SecretAccessKey = new SecretValue("display-secret-value"), SessionToken = new SecretValue("display-session-token") },
        };
        var storage = StorageRegistry.Open("s3://bkt/some/prefix?endpoint=http://127.0.0.1:1&region=us-east-1", options);
        Assert.Equal("s3://bkt/some/prefix?endpoint=http://127.0.0.1:1", storage.DisplayLocation);
        Assert.DoesNotContain("AKIA", storage.DisplayLocation, StringComparison.Ordinal);
        Assert.DoesNotContain("display-", storage.DisplayLocation, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_default_to_8_MiB_parts_and_clamp_to_the_S3_minimum()
    {
        var d = S3ObjectStoreClient.LimitsFor(new StorageOptions { Environment = _ => null });
        Assert.Equal(8 << 20, d.PartSize);
        Assert.Equal(1000, d.ListPageSize);
        Assert.Equal(5 << 20, S3ObjectStoreClient.LimitsFor(new StorageOptions { PartSize = 1024 }).PartSize);
        Assert.Equal(1000, S3ObjectStoreClient.LimitsFor(new StorageOptions { ListPageSize = 5000 }).ListPageSize);
    }

    [Fact]
    public void Part_size_and_concurrency_can_be_tuned_through_the_environment_but_options_win()
    {
        var env = new Dictionary<string, string> { ["DBBACKUP_S3_PART_SIZE_MIB"] = "16", ["DBBACKUP_S3_MAX_CONCURRENT_PARTS"] = "10" };
        var tuned = S3ObjectStoreClient.LimitsFor(new StorageOptions { Environment = env.GetValueOrDefault });
        Assert.Equal((16 << 20, 10), (tuned.PartSize, tuned.MaxConcurrentParts));
        var explicit_ = S3ObjectStoreClient.LimitsFor(new StorageOptions { Environment = env.GetValueOrDefault, PartSize = 6 << 20, MaxConcurrentParts = 2 });
        Assert.Equal((6 << 20, 2), (explicit_.PartSize, explicit_.MaxConcurrentParts));
        var junk = new Dictionary<string, string> { ["DBBACKUP_S3_PART_SIZE_MIB"] = "lots", ["DBBACKUP_S3_MAX_CONCURRENT_PARTS"] = "-3" };
        var d = S3ObjectStoreClient.LimitsFor(new StorageOptions { Environment = junk.GetValueOrDefault });
        Assert.Equal((S3ObjectStoreClient.DefaultPartSize, S3ObjectStoreClient.DefaultMaxConcurrentParts), (d.PartSize, d.MaxConcurrentParts));
    }

    [Fact]
    public void The_SDK_is_configured_without_its_own_retries_and_with_checksums_only_when_required()
    {
        var location = S3Location.Parse(new Uri("s3://bkt/p?endpoint=http://127.0.0.1:9000&region=eu-west-3"));
        var config = S3ObjectStoreClient.CreateConfig(location, new StorageOptions { Environment = _ => null });
        Assert.Equal(0, config.MaxErrorRetry);
        Assert.Equal(Amazon.Runtime.RequestChecksumCalculation.WHEN_REQUIRED, config.RequestChecksumCalculation);
        Assert.Equal(Amazon.Runtime.ResponseChecksumValidation.WHEN_REQUIRED, config.ResponseChecksumValidation);
        Assert.True(config.ForcePathStyle);
        Assert.Equal("eu-west-3", config.AuthenticationRegion);
    }

    [Fact]
    public void The_region_falls_back_to_AWS_REGION_then_the_profile_then_us_east_1()
    {
        var location = S3Location.Parse(new Uri("s3://bkt/p"));
        Assert.Equal("sa-east-1", S3ObjectStoreClient.CreateConfig(location, new StorageOptions { Environment = n => n == "AWS_REGION" ? "sa-east-1" : null }).RegionEndpoint.SystemName);
        var config = Path.GetTempFileName();
        try
        {
            File.WriteAllText(config, "[profile work]\nregion = eu-north-1\n");
            var env = new Dictionary<string, string> { ["AWS_CONFIG_FILE"] = config, ["AWS_PROFILE"] = "work" };
            Assert.Equal("eu-north-1", S3ObjectStoreClient.CreateConfig(location, new StorageOptions { Environment = env.GetValueOrDefault }).RegionEndpoint.SystemName);
        }
        finally { File.Delete(config); }
        Assert.Equal("us-east-1", S3ObjectStoreClient.CreateConfig(location, new StorageOptions { Environment = _ => null }).RegionEndpoint.SystemName);
    }
}
