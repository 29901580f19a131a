using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class CodecAvailabilityTests
{
    [Fact]
    public void MissingLibzstdIsCodecUnavailableWithAnActionableMessage()
    {
        Assert.Null(ZstdLibrary.TryLoad("/nonexistent/libzstd.so.1"));
        Assert.NotNull(ZstdLibrary.TryLoad(null));
        var error = Assert.Throws<DbBackupException>(() => ZstdCodec.Create(null, null));
        Assert.Equal(ErrorIds.CodecUnavailable, error.ErrorId);
        Assert.Contains("libzstd", error.Message);
        Assert.Contains("apt-get install libzstd1", error.RecommendedAction);
        Assert.Contains("DBBACKUP_LIBZSTD", error.RecommendedAction);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(23)]
    [InlineData(-8)]
    public void ZstdLevelsOutOfRangeAreRejected(int level)
    {
        var error = Assert.Throws<DbBackupException>(() => ZstdCodec.Create(level));
        Assert.Equal(ErrorIds.InvalidArgument, error.ErrorId);
    }
}
