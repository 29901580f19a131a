using DbBackup.Engine.Errors;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Repository;

public sealed class StorageRegistryTests
{
    [Theory]
    [InlineData("./backups", null)]
    [InlineData("/var/backups", null)]
    [InlineData(@"C:\backups", null)]
    [InlineData("file:///var/backups", "file")]
    [InlineData("s3://bucket/prefix", "s3")]
    public void Scheme_is_recognised(string location, string? scheme) => Assert.Equal(scheme, StorageRegistry.SchemeOf(location));

    [Fact]
    public void A_path_opens_local_storage() => Assert.IsType<LocalFileStorage>(StorageRegistry.Open("./backups"));

    [Fact]
    public void An_unknown_scheme_is_a_clear_error()
    {
        var e = Assert.Throws<DbBackupException>(() => StorageRegistry.Open("ftp://example/x"));
        Assert.Equal(ErrorIds.InvalidArgument, e.ErrorId);
        Assert.Contains("ftp", e.Message);
    }

    [Fact]
    public void An_empty_location_is_a_clear_error()
        => Assert.Equal(ErrorIds.InvalidArgument, Assert.Throws<DbBackupException>(() => StorageRegistry.Open(" ")).ErrorId);
}
