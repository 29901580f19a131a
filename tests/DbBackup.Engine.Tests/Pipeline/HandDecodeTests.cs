using System.Diagnostics;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using DbBackup.Engine.Storage;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

/// <summary>An unencrypted backup's volumes, concatenated, are a standard file for the system tools (docs/format.md).</summary>
public sealed class HandDecodeTests
{
    [Theory]
    [InlineData(CompressionCodec.Zstd, "zstd -d -c")]
    [InlineData(CompressionCodec.Gzip, "gzip -d -c")]
    [InlineData(CompressionCodec.None, "cat")]
    public async Task CatOfTheVolumesDecodesWithTheSystemTool(CompressionCodec codec, string decoder)
    {
        using var temp = new TempFolder();
        var storage = new LocalFileStorage(temp.Combine("repo"));
        var data = PipelineTestData.SqlText(2 * 1024 * 1024 + 777, seed: 99);
        var options = new PipelineOptions { Chunker = PipelineTestData.SmallChunker(), Compression = codec, VolumeSize = 150 * 1024, MaxParallelism = 2 };
        var summary = await PipelineTestData.WriteAsync(storage, "db/hand/", "hand", data, options, null);
        Assert.True(summary.VolumeCount > 1);

        var folder = temp.Combine("repo", "db", "hand");
        var restored = temp.Combine("restored.sql");
        RunShell($"cat data.* | {decoder} > '{restored}'", folder);
        Assert.Equal(data, await File.ReadAllBytesAsync(restored));
    }

    [Fact]
    public async Task WriterFailureSurfacesAndLeavesNothingBehind()
    {
        using var temp = new TempFolder();
        var storage = new FailingStorage(new LocalFileStorage(temp.Combine("repo")), failOn: "data.000003");
        var options = new PipelineOptions { Chunker = PipelineTestData.SmallChunker(), VolumeSize = 100 * 1024, MaxParallelism = 2 };
        var data = PipelineTestData.SqlText(2 * 1024 * 1024, seed: 4);
        var error = await Assert.ThrowsAsync<IOException>(() => PipelineTestData.WriteAsync(storage, "db/f/", "f", data, options, null));
        Assert.Contains("disk full", error.Message);
        Assert.Empty(Directory.EnumerateFiles(temp.Combine("repo"), "*", SearchOption.AllDirectories));
    }

    private static void RunShell(string script, string workingDirectory)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = workingDirectory, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("set -o pipefail; " + script);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"'{script}' failed ({process.ExitCode}): {stderr}");
    }

    /// <summary>Fails when an object whose key ends with <c>failOn</c> is opened for writing (a full disk, say).</summary>
    private sealed class FailingStorage(IBackupStorage inner, string failOn) : IBackupStorage
    {
        public string DisplayLocation => inner.DisplayLocation;

        public Task<IObjectWriter> OpenWriteAsync(string key, CancellationToken cancellationToken) =>
            key.EndsWith(failOn, StringComparison.Ordinal) ? throw new IOException("No space left on device (disk full)") : inner.OpenWriteAsync(key, cancellationToken);

        public Task<Stream> OpenReadAsync(string key, long offset, long? length, CancellationToken cancellationToken) => inner.OpenReadAsync(key, offset, length, cancellationToken);
        public IAsyncEnumerable<StorageItem> ListAsync(string prefix, CancellationToken cancellationToken) => inner.ListAsync(prefix, cancellationToken);
        public Task<StorageItem?> StatAsync(string key, CancellationToken cancellationToken) => inner.StatAsync(key, cancellationToken);
        public Task DeleteAsync(string key, CancellationToken cancellationToken) => inner.DeleteAsync(key, cancellationToken);
    }
}
