using System.Security.Cryptography;
using DbBackup.Engine.Errors;
using DbBackup.Engine.Pipeline;
using Xunit;

namespace DbBackup.Engine.Tests.Pipeline;

public sealed class IntegrityTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task BitFlipInAVolumeIsRejected(bool encrypted)
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        var path = backup.PathOf(backup.Summary.Volumes[1].Name);
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[bytes.Length / 2] ^= 0x10;
        await File.WriteAllBytesAsync(path, bytes);

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
        Assert.Contains("data.000002", error.Message);
        Assert.True(returned < backup.Data.Length);
    }

    [Fact]
    public async Task BitFlipWithForgedHashesFailsAuthenticationWhenEncrypted()
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted: true);
        var (frames, end) = backup.ReadIndex();
        var victim = frames[3];
        var path = backup.PathOf(DbBackup.Engine.Pipeline.VolumeSink.VolumeName(victim.Volume));
        var bytes = await File.ReadAllBytesAsync(path);
        bytes[victim.Offset + 5] ^= 0x01;
        await File.WriteAllBytesAsync(path, bytes);
        frames[3] = victim with { StoredSha256 = SHA256.HashData(bytes.AsSpan((int)victim.Offset, victim.StoredLength)) };
        backup.WriteIndex(frames, end);
        backup.RehashVolumes();

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupTampered, error.ErrorId);
        Assert.Contains("Frame 3", error.Message);
        Assert.True(returned < backup.Data.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TruncatedVolumeIsRejected(bool encrypted)
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        var path = backup.PathOf(backup.LastVolume);
        var bytes = await File.ReadAllBytesAsync(path);
        await File.WriteAllBytesAsync(path, bytes[..^100]);

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupTruncated, error.ErrorId);
        Assert.Contains(backup.LastVolume, error.Message);
        Assert.True(returned < backup.Data.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task MissingLastVolumeIsRejected(bool encrypted)
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        File.Delete(backup.PathOf(backup.LastVolume));

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupTruncated, error.ErrorId);
        Assert.Contains(backup.LastVolume, error.Message);
        Assert.True(returned < backup.Data.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task DroppingTheLastFramesFromDataAndIndexIsTruncation(bool encrypted)
    {
        // An index rewritten consistently without the final frame: the final flag is missing.
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        var (frames, end) = backup.ReadIndex();
        var kept = frames.Where(f => f.Volume < backup.Summary.VolumeCount).ToList();
        File.Delete(backup.PathOf(backup.LastVolume));
        backup.Summary = DamagedBackup.With(backup.Summary, volumes: backup.Summary.Volumes.Take(backup.Summary.VolumeCount - 1).ToList(),
            frameCount: kept.Count, size: kept.Sum(f => (long)f.PlainLength));
        backup.WriteIndex(kept, new IndexEnd(kept.Count, kept.Sum(f => (long)f.PlainLength), kept.Sum(f => (long)f.StoredLength)));

        var (error, _) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupTruncated, error.ErrorId);
        Assert.Contains("final frame", error.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TwoFramesSwappedInDataAndIndexAreRejected(bool encrypted)
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        var (frames, end) = backup.ReadIndex();
        var (a, b) = (frames[1], frames[2]);
        Assert.Equal(a.Volume, b.Volume);
        var path = backup.PathOf(DbBackup.Engine.Pipeline.VolumeSink.VolumeName(a.Volume));
        var bytes = await File.ReadAllBytesAsync(path);
        var first = bytes.AsSpan((int)a.Offset, a.StoredLength).ToArray();
        var second = bytes.AsSpan((int)b.Offset, b.StoredLength).ToArray();
        second.CopyTo(bytes, a.Offset);
        first.CopyTo(bytes, a.Offset + second.Length);
        await File.WriteAllBytesAsync(path, bytes);
        // A consistent index for the new order: numbered 1 and 2, offsets following each other.
        frames[1] = b with { Index = 1, Offset = a.Offset };
        frames[2] = a with { Index = 2, Offset = a.Offset + b.StoredLength };
        backup.WriteIndex(frames, end);
        backup.RehashVolumes();

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        if (encrypted)
        {
            Assert.Equal(ErrorIds.BackupTampered, error.ErrorId);
            Assert.Contains("Frame 1", error.Message);
            Assert.True(returned < backup.Data.Length);
        }
        else
        {
            // Without encryption every hash in the index was forged consistently; the whole-dump SHA-256 of
            // the manifest still catches it, before the reader reports the end of the data.
            Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
            Assert.Contains("SHA-256 of the whole dump", error.Message);
        }
    }

    [Fact]
    public async Task IndexEntriesOutOfOrderAreRejected()
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted: false);
        var (frames, end) = backup.ReadIndex();
        (frames[1], frames[2]) = (frames[2], frames[1]);
        backup.WriteIndex(frames, end);

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
        Assert.Contains("out of order", error.Message);
        Assert.True(returned < backup.Data.Length);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TamperedIndexIsRejectedBeforeAnyData(bool encrypted)
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted);
        var bytes = await File.ReadAllBytesAsync(backup.PathOf("index"));
        bytes[FrameIndex.Magic.Length + 30] ^= 0x40;
        await File.WriteAllBytesAsync(backup.PathOf("index"), bytes);

        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
        Assert.Contains("frame index", error.Message);
        Assert.Equal(0, returned);
    }

    [Fact]
    public async Task MissingIndexIsRejected()
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted: false);
        File.Delete(backup.PathOf("index"));
        var (error, _) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
        Assert.Contains("missing", error.Message);
    }

    [Fact]
    public async Task BytesAppendedToAVolumeAreRejected()
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted: false);
        await File.AppendAllTextAsync(backup.PathOf(backup.Summary.Volumes[0].Name), "junk");
        var (error, returned) = await backup.ReadExpectingFailureAsync();
        Assert.Equal(ErrorIds.BackupCorrupted, error.ErrorId);
        Assert.True(returned < backup.Data.Length);
    }

    [Fact]
    public async Task EncryptedBackupWithoutKeysIsRejected()
    {
        using var backup = await DamagedBackup.CreateAsync(encrypted: true);
        var error = await Assert.ThrowsAsync<BackupIntegrityException>(() =>
            BackupDataReader.OpenAsync(backup.Storage, DamagedBackup.Prefix, DamagedBackup.BackupId, backup.Summary, null, CancellationToken.None));
        Assert.Equal(ErrorIds.KeyRequired, error.ErrorId);
    }

    [Fact]
    public async Task FramesOfAnotherBackupFailAuthentication()
    {
        // Same keys, another backup id: the id is bound into every frame.
        using var backup = await DamagedBackup.CreateAsync(encrypted: true);
        var error = await Assert.ThrowsAsync<BackupIntegrityException>(async () =>
        {
            await using var reader = await BackupDataReader.OpenAsync(backup.Storage, DamagedBackup.Prefix, "other-id", backup.Summary, backup.Keys, CancellationToken.None);
            await reader.CopyToAsync(Stream.Null);
        });
        Assert.Equal(ErrorIds.BackupTampered, error.ErrorId);
    }
}
